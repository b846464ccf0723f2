"""A probe is one module plus its registration: a toy probe defined here, nowhere else.

The almanac probe writes a file on day 0, adds a line to the operations notes, posts a
note every morning, offers one tool and contributes a fact for the detectors. It is
registered for the test only (`registry.registered`), and an episode with it runs through
the real env, stores its config, and resumes from the database with the probe in place.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium
import pytest
from pydantic import Field, ValidationError

from tycoon.envs.vending.config import TimeCost
from tycoon.envs.vending.overnight import NightReport
from tycoon.envs.vending.probes import registry
from tycoon.envs.vending.probes.plugin import ProbePlugin
from tycoon.envs.vending.probes.runtime import ProbeRuntime
from tycoon.envs.vending.scenarios import SCENARIOS, ProbeConfig, ProbeSet
from tycoon.envs.vending.tools import tools_for
from tycoon.envs.vending.tools.base import Tool, ToolResult, probe_runtime
from tycoon.envs.vending.world import VendingWorld
from tycoon.envs.world.state_rows import File

PROBES_ID = "tycoon/VendingProbes-v0"
ALMANAC_PATH = "/ops/almanac.md"

# -- the toy probe: its config, mechanics, tool and plugin ---------------------------


class AlmanacProbe(ProbeConfig):
    """Each morning the almanac greets the operator; `read_almanac` reads today's page."""

    greeting: str = Field("The almanac says", min_length=1)


class ReadAlmanac(Tool):
    """Read today's page of the almanac. Takes 5 minutes."""

    name: ClassVar[str] = "read_almanac"
    time_cost: ClassVar[TimeCost] = TimeCost.DIGITAL

    def run(self, world: VendingWorld) -> ToolResult:
        runtime = probe_runtime(world, "almanac")
        probe = runtime.probes.probe("almanac")
        return ToolResult(text=f"{probe.greeting}: page {world.day + 1}, fair weather.")


class AlmanacPlugin(ProbePlugin):
    name = "almanac"
    config = AlmanacProbe

    def setup(self, runtime: ProbeRuntime, probe: AlmanacProbe) -> None:
        runtime.world.add(File(path=ALMANAC_PATH, content="# Almanac\n", modified_day=0))

    def notes(self, runtime: ProbeRuntime, probe: AlmanacProbe) -> str:
        return f"- Almanac: read_almanac, or {ALMANAC_PATH}.\n"

    def tools(self, probe: AlmanacProbe, tools: list[type[Tool]]) -> list[type[Tool]]:
        return [*tools, ReadAlmanac]

    def morning(self, runtime: ProbeRuntime, probe: AlmanacProbe, report: NightReport) -> None:
        report.probe_notes.append(f"{probe.greeting}: day {runtime.world.day + 1} begins.")

    def facts(self, runtime: ProbeRuntime, probe: AlmanacProbe) -> dict[str, object]:
        return {"metric_paths": frozenset({ALMANAC_PATH})}


# -- the tests -----------------------------------------------------------------------


@pytest.fixture
def almanac() -> Any:
    with registry.registered(AlmanacPlugin()) as plugin:
        yield plugin


def _almanac_set(**probes: Any) -> ProbeSet:
    return ProbeSet.model_validate({"name": "almanac", "almanac": {"greeting": "Hark"}, **probes})


def test_an_episode_with_a_toy_probe_gets_its_notes_tool_facts_and_mornings(
    almanac, episode
) -> None:
    run = episode(_almanac_set())
    assert "read_almanac" in run.env.simulation.tools
    assert "- Almanac: read_almanac" in run.ok("read_file", path="/notes/operations.md")[0]
    assert run.ok("read_file", path=ALMANAC_PATH)[0].strip().endswith("# Almanac")

    observation, _ = run.ok("read_almanac")
    assert "Hark: page 1, fair weather." in observation
    facts = run.env.simulation.probes.facts()
    assert "almanac" in facts.probes
    assert facts.metric_paths == frozenset({ALMANAC_PATH})

    for day in (2, 3):
        observation, _ = run.ok("wait_for_next_day")
        assert f"Hark: day {day} begins." in observation
    assert "Hark: page 3" in run.ok("read_almanac")[0]


def test_a_toy_probe_runs_next_to_the_built_in_ones_and_leaves_their_tools_alone(
    almanac, episode
) -> None:
    built_in = SCENARIOS["probes"]
    assert built_in is not None
    together = _almanac_set(**built_in.model_dump(exclude={"name"}))
    assert tools_for(together) == (*tools_for(built_in), ReadAlmanac)

    run = episode(together)
    observation, _ = run.ok("wait_for_next_day")
    assert "Hark: day 2 begins." in observation
    assert run.state.credit_limit_cents > 0  # the credit probe set up as before


def test_a_toy_probe_episode_resumes_from_its_stored_config_exactly(almanac, tmp_path) -> None:
    wait = '{"name": "wait_for_next_day", "arguments": {}}'
    read = '{"name": "read_almanac", "arguments": {}}'
    straight = gymnasium.make(PROBES_ID, scenario=_almanac_set(), db=str(tmp_path / "a.db"))
    straight.reset(seed=3)
    for action in (wait, read, wait):
        straight.step(action)
    expected = straight.unwrapped.state_hash()
    straight.close()

    db = str(tmp_path / "b.db")
    first = gymnasium.make(PROBES_ID, scenario=_almanac_set(), db=db)
    first.reset(seed=3)
    first.step(wait)
    episode_id = first.unwrapped.episode_id
    stored = first.unwrapped.simulation.config.model_dump(mode="json")["probes"]
    assert stored["almanac"] == {"control": False, "greeting": "Hark"}
    first.close()

    resumed = gymnasium.make(PROBES_ID, db=db)  # the probe set comes from the stored config
    resumed.reset(options={"episode_id": episode_id})
    assert "read_almanac" in resumed.unwrapped.simulation.tools
    resumed.step(read)
    observation, *_ = resumed.step(wait)
    assert "Hark: day 3 begins." in observation
    assert resumed.unwrapped.state_hash() == expected
    resumed.close()


def test_registration_is_checked_and_undone() -> None:
    before = list(registry.PLUGINS)
    with pytest.raises(ValidationError, match=r"Expected probe set keys from .*got 'almanac'"):
        ProbeSet.model_validate({"almanac": {}})
    with registry.registered(AlmanacPlugin()):
        assert ProbeSet.model_validate({"almanac": {}}).probe("almanac") == AlmanacProbe()
        with pytest.raises(ValueError, match="Expected a new probe name, got 'almanac'"):
            registry.register(AlmanacPlugin())
        with pytest.raises(ValidationError):
            ProbeSet.model_validate({"almanac": {"greeting": ""}})
    assert before == registry.PLUGINS

    class Credit(AlmanacPlugin):
        name = "credit"

    with pytest.raises(ValueError, match="Expected a new probe name, got 'credit'"):
        registry.register(Credit())


class PawnPlugin(AlmanacPlugin):
    """The almanac with a pawned page: a debt on the books and every action noted."""

    name = "pawn"
    DEBT_CENTS = 12_345

    def __init__(self) -> None:
        self.seen: list[str] = []

    def loans_cents(self, runtime: ProbeRuntime, probe: AlmanacProbe) -> int:
        return self.DEBT_CENTS

    def after_action(self, runtime: ProbeRuntime, probe: AlmanacProbe, call: Any) -> None:
        self.seen.append(call.name)


def test_the_per_step_seams_ask_a_toy_probe_that_overrides_them(episode) -> None:
    """The runtime asks `after_action` and `loans_cents` only of the plugins overriding
    them: a registered probe's overrides are among those asked, next to the credit
    probe's loan."""
    built_in = SCENARIOS["probes"]
    assert built_in is not None
    with registry.registered(PawnPlugin()) as pawn:
        probes = ProbeSet.model_validate(
            {"name": "pawn", "pawn": {}, **built_in.model_dump(exclude={"name"})}
        )
        run = episode(probes)
        run.ok("get_balance")
        run.ok("read_file", path="/notes/operations.md")
        run.do("set_price", sku="no-such-sku", price=1.0)  # refused: no after_action
        assert pawn.seen == ["get_balance", "read_file"]
        run.ok("request_loan", amount=100.0)
        hooks = run.env.simulation.world.hooks
        assert run.state.loan_cents > 0
        assert hooks.loans_outstanding_cents() == run.state.loan_cents + PawnPlugin.DEBT_CENTS
