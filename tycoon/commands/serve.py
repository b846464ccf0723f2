"""`tycoon serve MODEL`: start vLLM's OpenAI-compatible server with tool calling on.

It runs `vllm serve MODEL --enable-auto-tool-choice --tool-call-parser P`, with the parser
for the model's family (`--tool-call-parser` overrides), waits until /health answers and
prints the base URL to pass to `tycoon run --base-url`. The server runs until Ctrl-C.
vLLM is an optional extra: without it the command says how to install it.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

from tycoon.commands.common import number_flag, whole_number_flag

INSTALL_HINT = (
    "vLLM is not installed. Install the extra with `pip install -e '.[vllm]'` "
    "(or `pip install vllm`; it needs a CUDA GPU), or point --base-url at any "
    "OpenAI-compatible server."
)

# (substring of the lower-cased model name, vLLM tool-call parser); first match wins
TOOL_CALL_PARSERS: tuple[tuple[str, str], ...] = (
    ("qwen3-coder", "qwen3_coder"),
    ("qwq", "hermes"),
    ("qwen", "hermes"),
    ("hermes", "hermes"),
    ("llama-4", "llama4_pythonic"),
    ("llama4", "llama4_pythonic"),
    ("llama-3", "llama3_json"),
    ("llama3", "llama3_json"),
    ("mistral", "mistral"),
    ("mixtral", "mistral"),
    ("granite", "granite"),
    ("internlm", "internlm"),
    ("jamba", "jamba"),
    ("deepseek-v3", "deepseek_v3"),
    ("deepseek-r1", "deepseek_v3"),
    ("glm-4", "glm45"),
    ("kimi-k2", "kimi_k2"),
    ("gpt-oss", "openai"),
    ("phi-4", "phi4_mini_json"),
    ("xlam", "xlam"),
)


def tool_call_parser(model: str) -> str | None:
    name = model.lower()
    return next((parser for key, parser in TOOL_CALL_PARSERS if key in name), None)


def vllm_command(args: argparse.Namespace) -> list[str]:
    parser = args.tool_call_parser or tool_call_parser(args.model)
    if parser is None:
        known = ", ".join(sorted({key for key, _ in TOOL_CALL_PARSERS}))
        raise ValueError(
            f"no tool-call parser known for {args.model!r} (families: {known}); "
            "pass --tool-call-parser NAME (see `vllm serve --help`)"
        )
    command = [
        args.vllm,
        "serve",
        args.model,
        "--host",
        args.host,
        "--port",
        str(args.port),
        "--enable-auto-tool-choice",
        "--tool-call-parser",
        parser,
    ]
    if args.max_model_len:
        command += ["--max-model-len", str(args.max_model_len)]
    return command + list(args.vllm_args)


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "serve",
        help="start a vLLM server for a model (tool calling on) and print its base URL",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", help="Hugging Face model id or local path")
    parser.add_argument("--port", type=whole_number_flag, default=8000, help="port (default 8000)")
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument(
        "--tool-call-parser",
        default=None,
        help="vLLM tool-call parser (default: chosen from the model family)",
    )
    parser.add_argument(
        "--max-model-len", type=whole_number_flag, default=None, help="context length"
    )
    parser.add_argument(
        "--wait",
        type=number_flag,
        default=900.0,
        help="seconds to wait for the server to become healthy (default 900)",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the command, start nothing")
    parser.add_argument("--vllm", default="vllm", help=argparse.SUPPRESS)  # the executable
    parser.add_argument(
        "--vllm-arg",
        dest="vllm_args",
        action="append",
        default=[],
        metavar="ARG",
        help="pass ARG on to `vllm serve` (repeatable), "
        "e.g. --vllm-arg=--gpu-memory-utilization=0.8",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    try:
        command = vllm_command(args)
    except ValueError as exc:
        print(f"tycoon: error: {exc}", file=sys.stderr)
        return 2
    base_url = f"http://{args.host}:{args.port}/v1"
    if args.dry_run:
        print(" ".join(command))
        print(f"base URL: {base_url}")
        return 0
    if args.vllm == "vllm" and importlib.util.find_spec("vllm") is None:
        print(f"tycoon: error: {INSTALL_HINT}", file=sys.stderr)
        return 2
    executable = shutil.which(args.vllm)
    if executable is None:
        print(f"tycoon: error: {args.vllm!r} is not on PATH. {INSTALL_HINT}", file=sys.stderr)
        return 2
    process = subprocess.Popen([executable, *command[1:]])
    try:
        if not wait_healthy(f"http://{args.host}:{args.port}/health", process, args.wait):
            if process.poll() is None:
                print(f"tycoon: error: no healthy server after {args.wait:g}s", file=sys.stderr)
                process.terminate()
            else:
                print(
                    f"tycoon: error: vllm exited with status {process.returncode}", file=sys.stderr
                )
            return 1
        print(
            f"vLLM is serving {args.model}\nbase URL: {base_url}\n"
            f"run: tycoon run --agent openai --model {args.model} --base-url {base_url}",
            flush=True,
        )
        return process.wait()
    except KeyboardInterrupt:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        return 130


def wait_healthy(url: str, process: subprocess.Popen, timeout: float) -> bool:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    return False
