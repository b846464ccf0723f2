"""`tycoon env-server` driven by openenv-core's own clients (GenericEnvClient over the
WebSocket, MCPToolClient for list_tools/call_tool) and by plain stateless HTTP."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from typing import Any

import gymnasium
import pytest
from openai import AsyncOpenAI
from openai_server import FakeOpenAIServer
from openenv.core import GenericEnvClient
from openenv.core.mcp_client import MCPToolClient
from policy import SCRIPT, scripted_reply
from servers import EnvServer

import tycoon
from tycoon.envs.world.store import EpisodeBusy, WorldStore


@pytest.fixture
def server(tmp_path):
    env_server = EnvServer(str(tmp_path / "served.db"), tmp_path / "server.log")
    yield env_server
    env_server.stop()


def _post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


async def _llm_episode(base_url: str, llm: FakeOpenAIServer, seed: int, turns: int) -> str:
    """An agent loop: the model's tool calls go to the server as call_tool actions."""
    client = AsyncOpenAI(base_url=llm.base_url, api_key="x")
    async with GenericEnvClient(base_url=base_url) as env:
        first = await env.reset(seed=seed)
        listed = await env.step({"type": "list_tools"})
        tools = [
            {"type": "function", "function": {
                "name": t["name"], "description": t["description"], "parameters": t["input_schema"],
            }}
            for t in listed.observation["tools"]
        ]  # fmt: skip
        messages: list[dict[str, Any]] = [{"role": "user", "content": first.observation["text"]}]
        for _ in range(turns):
            reply = await client.chat.completions.create(
                model="fake-model", messages=messages, tools=tools
            )
            call = reply.choices[0].message.tool_calls[0]
            messages.append(reply.choices[0].message.model_dump(exclude_none=True))
            result = await env.step(
                {
                    "type": "call_tool",
                    "tool_name": call.function.name,
                    "arguments": json.loads(call.function.arguments),
                }
            )
            messages.append(
                {"role": "tool", "tool_call_id": call.id, "content": result.observation["result"]}
            )
        state = await env.state()
    await client.close()
    return state["episode_id"]


def test_two_llm_episodes_over_websockets_into_one_database(backend_url, tmp_path):
    """Two concurrent sessions write into one database: a SQLite file or PostgreSQL."""
    server = EnvServer(backend_url, tmp_path / "server.log")
    try:
        with FakeOpenAIServer(default=scripted_reply) as llm:

            async def both() -> list[str]:
                return await asyncio.gather(
                    _llm_episode(server.url, llm, seed=0, turns=4),
                    _llm_episode(server.url, llm, seed=1, turns=4),
                )

            episode_ids = [int(episode_id) for episode_id in asyncio.run(both())]
    finally:
        assert server.stop() == 0
    assert len(set(episode_ids)) == 2
    assert "Traceback" not in server.output()
    store = WorldStore(backend_url)
    for episode_id in episode_ids:
        episode = store.get_episode(episode_id)
        assert episode.step_count == 4
        assert episode.day == 1  # wait_for_next_day ran
    with store.engine.connect() as conn:
        from sqlalchemy import bindparam, text

        query = text("SELECT episode_id, valid FROM steps WHERE episode_id IN :ids ORDER BY id")
        rows = conn.execute(
            query.bindparams(bindparam("ids", expanding=True)), {"ids": episode_ids}
        ).all()
    invalid = [row for row in rows if not row.valid]
    assert sorted(row.episode_id for row in invalid) == sorted(episode_ids), (
        "the bad send_payment of each episode reached tycoon"
    )
    assert SCRIPT[1][0] == "send_payment"


def test_mcp_tool_client_lists_and_calls_tools(server):
    async def play() -> tuple[list[str], str, str]:
        async with MCPToolClient(base_url=server.url) as env:
            await env.reset(seed=5)
            tools = [tool.name for tool in await env.list_tools()]
            balance = await env.call_tool("get_balance")
            refused = await env.call_tool("set_price", sku="nope", price="free")
            return tools, balance, refused

    tools, balance, refused = asyncio.run(play())
    assert tools == [t["function"]["name"] for t in tycoon.tasks(seeds=[5])[0].tools]
    assert "Bank balance: $500.00" in balance
    assert refused.startswith("Error:") and "price" in refused


def _http_step(url: str, episode_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    action = {"type": "call_tool", "tool_name": name, "arguments": arguments}
    status, body = _post(f"{url}/step", {"action": action, "episode_id": episode_id})
    assert status == 200, body
    return body


def test_stateless_http_resumes_by_episode_id_across_writers_and_restarts(tmp_path):
    db = str(tmp_path / "http.db")
    actions = [
        ("get_balance", {}),  # server A
        ("kv_set", {"key": "k", "value": "v"}),  # server A, from its open episodes
        ("search_web", {"query": "snacks"}),  # another process, once A is gone
        ("wait_for_next_day", {}),  # server B, resuming from the database
    ]
    first = EnvServer(db, tmp_path / "a.log")
    second = EnvServer(db, tmp_path / "b.log")
    try:
        status, reset = _post(f"{first.url}/reset", {"seed": 11})
        assert status == 200
        episode_id = reset["observation"]["episode_id"]
        body = _http_step(first.url, episode_id, *actions[0])
        assert "Bank balance" in body["observation"]["result"]
        body = _http_step(first.url, episode_id, *actions[1])
        assert body["observation"]["info"]["step"] == 2
        # while A runs the episode, nobody else may: B answers 409, a local resume refuses
        status, body = _post(
            f"{second.url}/step",
            {"action": {"type": "call_tool", "tool_name": "get_balance"}, "episode_id": episode_id},
        )
        assert status == 409 and "running in another process" in body["detail"]
        elsewhere = gymnasium.make("tycoon/VendingClassic-v0", db=db)
        with pytest.raises(EpisodeBusy):
            elsewhere.reset(options={"episode_id": int(episode_id)})
        assert first.stop() == 0  # a clean stop releases the episodes it held
        elsewhere.reset(options={"episode_id": int(episode_id)})
        elsewhere.step({"name": actions[2][0], "arguments": actions[2][1]})
        elsewhere.close()
        action = {"type": "call_tool", "tool_name": actions[3][0], "arguments": actions[3][1],
                  "metadata": {"episode_id": episode_id}}  # fmt: skip
        status, body = _post(f"{second.url}/step", {"action": action})
        assert status == 200, body
        with urllib.request.urlopen(f"{second.url}/state/{episode_id}") as response:
            state = json.loads(response.read())
        assert state["step_count"] == 4 and state["day"] == 2  # day 1, one night
        status, body = _post(
            f"{second.url}/step",
            {"action": {"type": "call_tool", "tool_name": "get_balance"}, "episode_id": "999"},
        )
        assert status == 400 and "got '999'" in body["detail"]
        status, body = _post(
            f"{second.url}/step", {"action": {"type": "call_tool", "tool_name": "get_balance"}}
        )
        assert status == 400 and "call reset first" in body["detail"]
        status, body = _post(f"{second.url}/reset", {"seed": 1, "scenario": "nope"})
        assert status == 400 and "got 'nope'" in body["detail"]
        status, body = _post(f"{second.url}/reset", {"seed": 1, "max_steps": 0})
        assert status == 400 and "max_steps" in body["detail"]
    finally:
        first.stop()
        assert second.stop() == 0
    # the same actions in one local process give the same world
    env = gymnasium.make("tycoon/VendingClassic-v0", db=str(tmp_path / "local.db"))
    env.reset(seed=11)
    for name, arguments in actions:
        env.step({"name": name, "arguments": arguments})
    served = WorldStore(db).state_hash(int(episode_id))
    assert env.unwrapped.state_hash() == served
    env.close()
    for log in ("a.log", "b.log"):
        assert "Traceback" not in (tmp_path / log).read_text()


def test_disconnects_and_shutdown_leave_no_traceback(server):
    async def abandon() -> None:
        env = GenericEnvClient(base_url=server.url)
        await env.connect()
        await env.reset(seed=2)
        await env.step({"type": "call_tool", "tool_name": "get_balance", "arguments": {}})
        await env._ws.close()  # the client vanishes without a close message

    asyncio.run(abandon())
    with urllib.request.urlopen(f"{server.url}/health") as response:
        assert response.status == 200
    assert server.stop() == 0
    assert "Traceback" not in server.output()
    assert "Error" not in server.output()
