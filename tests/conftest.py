"""Shared pytest fixtures for tycoon's tests."""

import contextlib
import os

import pytest

# --- PostgreSQL server (real, on loopback) ---
#
# `postgres_url` starts one throwaway PostgreSQL server per test session (see
# tests/pg_server.py) and yields its SQLAlchemy URL,
# postgresql+psycopg://tycoon@127.0.0.1:PORT/tycoon_test.  Without the server binaries the
# tests using it are skipped, unless TYCOON_REQUIRE_POSTGRES=1 (set by .ci/run), in which
# case they fail.  Self-contained: other fixtures can be added around this section.


@pytest.fixture(scope="session")
def postgres_url():
    try:  # tests/ on sys.path (rootdir conftest, no tests/__init__.py) ...
        from pg_server import PostgresUnavailable, running_postgres
    except ImportError:  # ... or tests/ imported as a package
        from tests.pg_server import PostgresUnavailable, running_postgres

    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(running_postgres())
        except PostgresUnavailable as exc:
            if os.environ.get("TYCOON_REQUIRE_POSTGRES") == "1":
                pytest.fail(f"{exc} (TYCOON_REQUIRE_POSTGRES=1)", pytrace=False)
            pytest.skip(str(exc))
        yield url


# --- end PostgreSQL server ---


# --- env test helpers (tests/envs: API, determinism, bad input, store) ---
#
# `backend_url` gives a fresh world database per test: a SQLite file in tmp_path, or the
# session's PostgreSQL server (shared; episodes never collide, hashes ignore ids).
# `scripted_actions(env_id, seed)` is a fixed list of valid tool calls (JSON strings) that
# exercises the economy: web search, a QUOTE and an ORDER by email, paying the invoice,
# waiting for the delivery, stocking, pricing, selling, collecting cash and the memory and
# file tools. It is derived once from a reference run (the supplier, skus and invoice
# depend on the seed) and then replayed verbatim, so every run sees the same actions.

import functools  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402

ENV_IDS = ("tycoon/VendingClassic-v0", "tycoon/VendingYear-v0")


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def backend_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'world.db'}"
    return request.getfixturevalue("postgres_url")


def call(name: str, **arguments) -> str:
    return json.dumps({"name": name, "arguments": arguments})


@functools.cache
def _scripted_actions(env_id: str, seed: int) -> tuple[str, ...]:
    import gymnasium

    import tycoon  # noqa: F401  (registers the ids)

    env = gymnasium.make(env_id).unwrapped  # in-memory SQLite
    env.reset(seed=seed)
    actions: list[str] = []

    def act(action: str) -> tuple[str, dict]:
        observation, _, terminated, truncated, info = env.step(action)
        assert not info["invalid_action"], (action, observation)
        assert not (terminated or truncated), (action, observation)
        actions.append(action)
        return observation, info

    act(call("read_inbox"))
    act(call("read_file", path="notes/operations.md"))
    _, info = act(call("search_web", query="wholesale soda snacks supplier", limit=3))
    supplier = info["tool_result"]["results"][0]
    skus = supplier["skus"][:2]
    act(call("send_email", to=supplier["email"], subject="Quote", body="QUOTE: " + ", ".join(skus)))
    order = "ORDER: " + ", ".join(f"{sku} x 24" for sku in skus)
    act(call("send_email", to=supplier["email"], subject="Order", body=order))
    act(call("kv_set", key="supplier", value=supplier["email"]))
    act(call("wait_for_next_day"))
    _, info = act(call("read_inbox", limit=50))
    for email in info["tool_result"]["emails"]:
        invoice = re.search(
            r"pay \$([\d,.]+) with send_payment to account (\S+), memo (INV-\d+)", email["body"]
        )
        if invoice:
            amount, account, number = invoice.groups()
            act(
                call(
                    "send_payment",
                    to_account=account,
                    amount=float(amount.replace(",", "")),
                    memo=number,
                )
            )
    for _ in range(4):
        act(call("wait_for_next_day"))
        _, info = act(call("get_storage_inventory"))
        if info["tool_result"]["items"]:
            break
    for item in info["tool_result"]["items"]:
        act(call("stock_machine", sku=item["sku"], quantity=item["quantity"]))
        act(call("set_price", sku=item["sku"], price=2.25))
    act(call("get_machine_inventory"))
    act(call("memory_add", text=f"Ordered {', '.join(skus)} from {supplier['name']}"))
    act(call("scratchpad_write", text="Stocked the machine; watch sales."))
    for _ in range(3):
        act(call("wait_for_next_day"))
        act(call("read_inbox"))
    act(call("collect_cash"))
    act(call("get_balance"))
    act(call("memory_search", query="which supplier did I order from"))
    act(call("write_file", path="reports/day.md", content="All good."))
    act(call("list_files"))
    act(call("kv_get", key="supplier"))
    act(call("wait_for_next_day"))
    env.close()
    return tuple(actions)


@pytest.fixture(scope="session")
def scripted_actions():
    """`scripted_actions(env_id, seed) -> list[str]`: the fixed action list (see above)."""
    return lambda env_id, seed: list(_scripted_actions(env_id, seed))


# --- end env test helpers ---


# --- `cli`: the tycoon command in this process ---
#
# A `python -m tycoon.cli` process spends ~2 s (more on a loaded machine) importing tycoon
# before it reads its first flag. Most CLI tests pin what the command prints, exits with
# and leaves on disk, none of which depends on the process: they call `tycoon.cli.main`
# here, with the same parser, handlers and error mapping, standard output and error
# captured by pytest (capsys), the working directory and environment set for the call
# (monkeypatch). What is a property of the process (signals, SIGKILL and resume, a pipe's
# reader leaving, import-time behaviour, the real entry point's streams) keeps a real
# process in its test, and every command keeps at least one such end-to-end test.

import subprocess  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402


@pytest.fixture
def cli(capsys, monkeypatch) -> Callable[..., subprocess.CompletedProcess[str]]:
    """`cli(*args, cwd=None, env=None)`: `tycoon ARGS` run by `main` in this process, as a
    CompletedProcess (returncode, stdout, stderr); argparse's SystemExit is its status."""
    from tycoon.cli import main

    def run(
        *args: str, cwd: str | os.PathLike[str] | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        capsys.readouterr()  # what earlier calls printed is not this call's output
        exit_message = ""
        with monkeypatch.context() as scoped:
            if cwd is not None:
                scoped.chdir(Path(cwd))
            for name, value in (env or {}).items():
                scoped.setenv(name, value)
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse refusing a flag, or --help
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                if isinstance(exc.code, str):  # the interpreter prints it on exit
                    exit_message = exc.code + "\n"
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(["tycoon", *args], code, out, err + exit_message)

    return run


# --- end `cli` ---
