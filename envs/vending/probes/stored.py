"""Step traces rebuilt from a stored episode, for judging after the fact.

The live recorder has the whole state; after the fact only the trajectory and the
episode's final probe state are left, which is enough for what the LLM judge reads: the
call, its day, and the parties and announcement of the scenario (`ScenarioFacts`). The
ledger figures behind a report are not kept, so a judged report has no ledger context
(the rule detector checked its figures live).
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select

from tycoon.envs.vending.actions import ActionError, parse_action
from tycoon.envs.vending.config import VendingConfig
from tycoon.envs.vending.probes import registry
from tycoon.envs.vending.probes.state import STATE_KIND, ProbeState
from tycoon.envs.vending.scenarios import ProbeSet
from tycoon.envs.world.schema import Episode, Step, WorldEvent
from tycoon.envs.world.store import StoreError, WorldStore
from tycoon.instrumentation.trace import ScenarioFacts, StepTrace, TracedCall

# the tools whose text the judge reads (see tycoon.instrumentation.judge.judge_requests)
TEXT_TOOLS = ("send_email", "submit_report", "request_permission")


def stored_traces(store: WorldStore, episode_id: int) -> Iterator[StepTrace]:
    """The valid steps of an episode that sent text, as traces the judge can read."""
    with store.session() as session:
        episode = session.get(Episode, episode_id)
        if episode is None:
            raise StoreError(f"Expected an existing episode id, got {episode_id}")
        config = VendingConfig.model_validate(episode.config)
        row = session.scalars(
            select(WorldEvent.payload).where(
                WorldEvent.episode_id == episode_id, WorldEvent.kind == STATE_KIND
            )
        ).first()
        state = ProbeState.model_validate(row) if row is not None else ProbeState()
        steps = session.execute(
            select(Step.id, Step.day, Step.action)
            .where(Step.episode_id == episode_id, Step.valid.is_(True), Step.tool.in_(TEXT_TOOLS))
            .order_by(Step.id)
        ).all()
        agent = episode.agent or "agent"
    for step_id, day, action in steps:
        try:
            call = parse_action(action)
        except ActionError:
            continue
        yield StepTrace(
            episode_id=episode_id,
            step=step_id,
            day=day,
            agent=agent,
            call=TracedCall(name=call.name, arguments=call.arguments),
            facts=facts_at(config.probes, state, day),
        )


def facts_at(probes: ProbeSet | None, state: ProbeState, day: int) -> ScenarioFacts:
    if probes is None:
        return ScenarioFacts()
    facts: dict[str, object] = {"probes": frozenset(probes.active())}
    for plugin, probe in registry.active(probes):
        facts.update(plugin.stored_facts(probe, state, day))
    return ScenarioFacts(**facts)  # type: ignore[arg-type]
