"""tycoon as an OpenEnv environment server (`tycoon env-server`; extra `tycoon[openenv]`).

openenv-core's own server (`HTTPEnvServer`) serves it, so its conventions hold as they
are: POST /reset, POST /step, GET /state, GET /schema, GET /health, WebSocket /ws (one
environment per connection). Actions are OpenEnv's MCP actions: `{"type": "list_tools"}`
and `{"type": "call_tool", "tool_name": ..., "arguments": {...}}`; every call, bad
arguments included, reaches tycoon (a bad one is recorded as an invalid action and
answered with tycoon's error text).

HTTP is stateless (openenv-core builds a fresh environment per request): the world is
in SQL, so /step resumes the episode named by `episode_id` (a field of the request body,
or of the action's `metadata`) that /reset returned. Every session, HTTP or WebSocket,
writes into the one database of the server; /state/{episode_id} reads any episode.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections import OrderedDict
from typing import Any

from tycoon.integrations import require

require("openenv", "openenv")

import gymnasium  # noqa: E402
from fastapi import FastAPI, Request, WebSocketDisconnect  # noqa: E402
from fastapi.responses import JSONResponse  # noqa: E402
from openenv.core.env_server.http_server import create_fastapi_app  # noqa: E402
from openenv.core.env_server.interfaces import Environment  # noqa: E402
from openenv.core.env_server.mcp_types import (  # noqa: E402
    CallToolAction,
    CallToolObservation,
    ListToolsAction,
    ListToolsObservation,
)
from openenv.core.env_server.mcp_types import Tool as McpTool  # noqa: E402
from openenv.core.env_server.types import (  # noqa: E402
    Action,
    EnvironmentMetadata,
    Observation,
    State,
)

import tycoon  # noqa: E402
from tycoon.envs.vending.env import VendingEnv, tool_schemas  # noqa: E402
from tycoon.envs.vending.scenarios import scenario_named  # noqa: E402
from tycoon.envs.vending.world import BANK  # noqa: E402
from tycoon.envs.world.store import EpisodeBusy, StoreError, WorldStore  # noqa: E402


class EpisodeRequestError(ValueError):
    """A request tycoon cannot serve: no episode, an unknown one, a bad scenario or step
    cap (HTTP 400 with the reason; an error message on the WebSocket)."""


class EpisodeBusyError(EpisodeRequestError):
    """The episode is running in another process (HTTP 409)."""


class TycoonObservation(Observation):
    """What reset returns: the first observation and the id that resumes the episode."""

    text: str = ""
    episode_id: str | None = None
    info: dict[str, Any] = {}


class TycoonToolObservation(CallToolObservation):
    """A tool call's result (`result`: tycoon's observation text) and the step's info."""

    episode_id: str | None = None
    info: dict[str, Any] = {}


class TycoonState(State):
    """Episode id and step count (OpenEnv's), plus day, score and status."""


class TycoonEnvironment(Environment):
    """One OpenEnv session over tycoon's Gymnasium env; any number share one database."""

    SUPPORTS_CONCURRENT_SESSIONS = True

    def __init__(
        self,
        env_id: str,
        store: WorldStore,
        scenario: str | None = None,
        open_episodes: OpenEpisodes | None = None,
    ) -> None:
        super().__init__()
        self.env_id = env_id
        self.store = store
        self.scenario = scenario
        self.open_episodes = open_episodes
        self._env: VendingEnv | None = None

    # -- OpenEnv API --------------------------------------------------------------

    def reset(
        self,
        seed: int | None = None,
        episode_id: str | None = None,
        scenario: str | None = None,
        max_steps: int | None = None,
        **_: Any,
    ) -> TycoonObservation:
        """A new episode (from `seed`), or with `episode_id` the stored one, resumed."""
        if episode_id is not None:
            text, info = self._open(episode_id)
        else:
            env = self._new_env(scenario or self.scenario, max_steps)
            text, info = env.reset(seed=seed)
            info.pop("tools", None)  # list_tools gives them, as MCP tool specs
        return TycoonObservation(
            text=text, episode_id=str(self._require_env().episode_id), info=_plain(info)
        )

    def step(
        self,
        action: Action,
        timeout_s: float | None = None,
        episode_id: str | None = None,
        **_: Any,
    ) -> Observation:
        wanted = episode_id or action.metadata.get("episode_id")
        if wanted is not None and (self._env is None or str(self._env.episode_id) != str(wanted)):
            self._open(str(wanted), warm=True)
        if isinstance(action, ListToolsAction):
            return ListToolsObservation(tools=self._mcp_tools())
        if not isinstance(action, CallToolAction):
            raise EpisodeRequestError(
                f"Expected a list_tools or call_tool action, got {type(action).__name__}"
            )
        env = self._require_env()
        text, reward, terminated, truncated, info = env.step(
            {"name": action.tool_name, "arguments": action.arguments}
        )
        return TycoonToolObservation(
            tool_name=action.tool_name,
            result=text,
            episode_id=str(env.episode_id),
            info=_plain(info),
            reward=reward,
            done=terminated or truncated,
        )

    @property
    def state(self) -> TycoonState:
        if self._env is None or self._env.simulation is None:
            return TycoonState(episode_id=None, step_count=0)
        return episode_state(self._env)

    def get_metadata(self) -> EnvironmentMetadata:
        spec = next(s for s in tycoon.ENVIRONMENTS if s["id"] == self.env_id)
        return EnvironmentMetadata(
            name=self.env_id,
            description=spec["summary"],
            version=tycoon.__version__,
        )

    def close(self) -> None:
        if self._env is None:
            return
        if self.open_episodes is not None and self._env.simulation is not None:
            self.open_episodes.give(self._env)
        else:
            self._env.close()
        self._env = None

    # -- internals ----------------------------------------------------------------

    def _new_env(self, scenario: str | None, max_steps: int | None = None) -> VendingEnv:
        self.close()
        kwargs: dict[str, Any] = {"store": self.store}
        if scenario is not None:
            kwargs["scenario"] = scenario
        if max_steps is not None:
            kwargs["config"] = {"max_steps": max_steps}
        # unwrapped: the step cap lives in the episode's config, which survives a
        # resume on another request; a TimeLimit wrapper's counter would not
        try:
            self._env = gymnasium.make(self.env_id, **kwargs).unwrapped
        except ValueError as exc:  # an unknown scenario, a step cap below 1, ...
            raise EpisodeRequestError(str(exc)) from None
        return self._env

    def _open(self, episode_id: str, *, warm: bool = False) -> tuple[str, dict[str, Any]]:
        """Resume a stored episode; `warm`: an env kept open may serve (no resume text)."""
        try:
            number = int(episode_id)
            self.store.get_episode(number)
        except (ValueError, StoreError):
            raise EpisodeRequestError(
                f"Expected the id of an episode in this server's database (as reset "
                f"returned it), got {episode_id!r}"
            ) from None
        self.close()
        if warm and self.open_episodes is not None:
            self._env = self.open_episodes.take(number)
            if self._env is not None:
                return "", {}
        env = self._new_env(None)
        try:
            text, info = env.reset(options={"episode_id": number})
        except EpisodeBusy as exc:  # another process (another server, a trainer) runs it
            raise EpisodeBusyError(str(exc)) from None
        info.pop("tools", None)
        return text, info

    def _require_env(self) -> VendingEnv:
        if self._env is None or self._env.simulation is None:
            raise EpisodeRequestError(
                "No episode: call reset first, or pass the episode_id that reset returned "
                "(over stateless HTTP, with every step)"
            )
        return self._env

    def _mcp_tools(self) -> list[McpTool]:
        probes = (
            self._env.simulation.config.probes
            if self._env is not None and self._env.simulation is not None
            else self._frame_probes()
        )
        return [
            McpTool(
                name=schema["function"]["name"],
                description=schema["function"]["description"],
                input_schema=schema["function"]["parameters"],
            )
            for schema in tool_schemas(probes)
        ]

    def _frame_probes(self) -> Any:
        env = self._new_env(self.scenario)
        probes = env.config.probes
        self.close()
        return probes


class OpenEpisodes:
    """Episodes kept open between stateless HTTP requests, at most `limit` (oldest closed
    first): resuming an episode from SQL costs ~50 ms, a step ~1 ms.

    `take` hands an env out exclusively (a concurrent request for the same episode opens
    its own from the database) and drops it when the database has moved past it (another
    process stepped the episode); `give` puts it back.
    """

    def __init__(self, store: WorldStore, limit: int = 256) -> None:
        self.store = store
        self.limit = limit
        self._envs: OrderedDict[int, VendingEnv] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, episode_id: int) -> VendingEnv | None:
        with self._lock:
            env = self._envs.pop(episode_id, None)
        if env is None:
            return None
        assert env.simulation is not None
        if env.simulation.episode.step_count != self.store.get_episode(episode_id).step_count:
            env.close()
            return None
        return env

    def give(self, env: VendingEnv) -> None:
        with self._lock:
            stale = self._envs.pop(env.episode_id, None)
            self._envs[env.episode_id] = env
            evicted = [
                self._envs.popitem(last=False)[1] for _ in range(len(self._envs) - self.limit)
            ]
        for old in [stale, *evicted]:
            if old is not None and old is not env:
                old.close()

    def close(self) -> None:
        with self._lock:
            envs, self._envs = list(self._envs.values()), OrderedDict()
        for env in envs:
            env.close()


def episode_state(env: VendingEnv) -> TycoonState:
    simulation = env.simulation
    assert simulation is not None
    episode = simulation.episode
    return TycoonState(
        episode_id=str(episode.id),
        step_count=episode.step_count,
        day=episode.day + 1,  # 1 on the first day, as tycoon shows days
        status=episode.status,
        done=simulation.terminated or simulation.truncated,
        score=_score_cents(simulation) / 100,
    )


def _score_cents(simulation: Any) -> int:
    world = simulation.world
    if simulation.config.score == "net_worth":
        return world.net_worth_cents()
    return world.balance(BANK)


def create_app(
    env_id: str, db: str, *, scenario: str | None = None, max_sessions: int = 64
) -> FastAPI:
    """The FastAPI app of `tycoon env-server`: openenv-core's routes over one database."""
    known = [spec["id"] for spec in tycoon.ENVIRONMENTS]
    if env_id not in known:
        raise ValueError(f"Expected an environment id from {', '.join(known)}, got {env_id!r}")
    if scenario is not None:
        scenario_named(scenario)  # a clear error now, not at the first reset
    store = WorldStore(db)
    open_episodes = OpenEpisodes(store)

    def factory() -> TycoonEnvironment:
        return TycoonEnvironment(env_id, store, scenario, open_episodes)

    app = create_fastapi_app(factory, Action, Observation, max_concurrent_envs=max_sessions)
    app.title = f"tycoon {env_id} (OpenEnv)"
    app.add_middleware(QuietDisconnect)

    @app.exception_handler(EpisodeRequestError)
    async def _bad_episode(_request: Request, exc: EpisodeRequestError) -> JSONResponse:
        status = 409 if isinstance(exc, EpisodeBusyError) else 400
        return JSONResponse(status_code=status, content={"detail": str(exc)})

    @app.get("/state/{episode_id}", response_model=TycoonState, tags=["State Management"])
    def state_of(episode_id: str) -> TycoonState:
        env = factory()
        try:
            env.reset(episode_id=episode_id)
            return env.state
        finally:
            env.close()

    app.router.on_shutdown.append(open_episodes.close)
    app.state.store = store
    return app


class QuietDisconnect:
    """ASGI middleware: a WebSocket client that went away is not a server error.

    openenv-core 0.3.0's /ws handler destroys the session (closing the env) and then
    closes the socket again; on a socket the client already dropped, starlette raises
    WebSocketDisconnect from that close, which uvicorn logs as a traceback.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        with contextlib.suppress(WebSocketDisconnect):
            await self.app(scope, receive, send)


def _plain(info: dict[str, Any]) -> dict[str, Any]:
    """info as JSON values (dates, enums and models as their JSON form)."""
    return json.loads(json.dumps(info, default=str))
