"""Client CPU per chat-completion call: tycoon's two transports and the bare clients.

Identical requests (a 40-message tool-calling conversation with tycoon's tool schemas)
to the loopback server answering after `--latency` s, K in flight, one process:
- tycoon ChatClient, transport "openai" and "lean": `ChatClient.complete` as the agent
  calls it (body, retry loop, parsing into a `ChatResult`); "openai" sends through the
  official client, "lean" (the default) through aiohttp;
- bare clients, each reply parsed with `json.loads`: the SDK's
  `with_raw_response.create` with the body in `extra_body` (what the "openai" transport
  does), httpx (the SDK's HTTP library, no SDK layer) and aiohttp (what "lean" does).
Prints calls/s, client CPU ms per call and calls/s per core (1000 / CPU ms); the issue's
bar for adopting a lean path is >= 1.5x calls/s per core over the openai transport.

    python benchmarks/bench_request_path.py [--latency 0.2] [--k 256] [--calls 2048]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import time
from typing import Any

from bench_rollout import start_server


def conversation() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from tycoon.envs.vending.env import tool_schemas

    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You run a vending machine business. " * 40},
        {"role": "user", "content": "Day 1, 06:00. Bank balance: $500.00."},
    ]
    for turn in range(19):
        call_id = f"chatcmpl-tool-{turn:032x}"
        messages.append(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": "get_balance", "arguments": "{}"},
                    }
                ],
            }
        )
        messages.append(
            {"role": "tool", "tool_call_id": call_id, "content": "Bank balance: $500.00. " * 8}
        )
    return messages, tool_schemas()


async def measure(name: str, send, k: int, calls: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    per_worker = calls // k
    await send()  # warm the connection pool
    cpu, wall = time.process_time(), time.perf_counter()

    async def worker() -> None:
        for _ in range(per_worker):
            reply = await send()
            assert reply["tool_calls"], name

    await asyncio.gather(*(worker() for _ in range(k)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    done = per_worker * k
    return done / wall, 1000 * cpu / done


async def run(base_url: str, k: int, calls: int) -> None:
    messages, tools = conversation()
    body = {"model": "m", "max_tokens": 2048, "messages": messages, "tools": tools}
    rows = []

    from tycoon.agents.llm import ChatClient, LlmSettings

    for transport in ("openai", "lean"):
        settings = LlmSettings(model="m", base_url=base_url, timeout=60, transport=transport)
        client = ChatClient(settings)
        assert client.request_body(messages, tools, None) == body  # identical requests

        async def via_tycoon(client: ChatClient = client) -> dict[str, Any]:
            return (await client.complete(messages, tools)).message

        name = f"tycoon ChatClient, {transport}"
        rows.append((name, *await measure(name, via_tycoon, k, calls)))
        await client.close()

    from openai import AsyncOpenAI

    sdk = AsyncOpenAI(base_url=base_url, api_key="EMPTY", timeout=60, max_retries=0)

    async def via_openai() -> dict[str, Any]:
        response = await sdk.chat.completions.with_raw_response.create(
            model="m",
            messages=[],
            max_tokens=2048,
            extra_body={"messages": messages, "tools": tools},
        )
        return json.loads(response.content)["choices"][0]["message"]

    rows.append(("bare openai SDK, raw resp.", *await measure("openai", via_openai, k, calls)))
    await sdk.close()

    httpx = importlib.import_module("httpx2" if importlib.util.find_spec("httpx2") else "httpx")
    client = httpx.AsyncClient(
        base_url=base_url, timeout=60, limits=httpx.Limits(max_connections=k + 8)
    )
    headers = {"Authorization": "Bearer EMPTY", "Content-Type": "application/json"}

    async def via_httpx() -> dict[str, Any]:
        response = await client.post("/chat/completions", content=json.dumps(body), headers=headers)
        response.raise_for_status()
        return json.loads(response.content)["choices"][0]["message"]

    rows.append(
        (f"bare {httpx.__name__}.AsyncClient", *await measure("httpx", via_httpx, k, calls))
    )
    await client.aclose()

    try:
        import aiohttp
    except ImportError:
        aiohttp = None
    if aiohttp is not None:
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=k + 8), timeout=aiohttp.ClientTimeout(total=60)
        )
        url = base_url.rstrip("/") + "/chat/completions"

        async def via_aiohttp() -> dict[str, Any]:
            async with session.post(url, data=json.dumps(body), headers=headers) as response:
                response.raise_for_status()
                return json.loads(await response.read())["choices"][0]["message"]

        rows.append(
            ("bare aiohttp.ClientSession", *await measure("aiohttp", via_aiohttp, k, calls))
        )
        await session.close()

    base_cpu = rows[0][2]  # tycoon's openai transport, the reference
    print(f"K={k}, {calls} calls, {len(json.dumps(body)) // 1024} KB per request")
    print(
        f"{'client':<28} {'calls/s':>8} {'CPU ms/call':>11} {'calls/s per core':>16} "
        f"{'x openai transport':>18}"
    )
    for name, rate, cpu_ms in rows:
        per_core = 1000 / cpu_ms
        print(f"{name:<28} {rate:8.1f} {cpu_ms:11.2f} {per_core:16.1f} {base_cpu / cpu_ms:18.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--k", type=int, default=256)
    parser.add_argument("--calls", type=int, default=2048)
    options = parser.parse_args()
    server, base_url = start_server(options.latency)
    try:
        asyncio.run(run(base_url, options.k, options.calls))
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
