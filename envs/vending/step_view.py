"""What the agent receives from a step: the observation text (fitted to its space) and
`info`. Built by `VendingSimulation.step` (and at reset); the Gymnasium skin only passes
them on."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tycoon.envs.vending.world import MACHINE_CASH, MINUTES_PER_DAY

if TYPE_CHECKING:
    from tycoon.envs.vending.simulation import StepOutcome
    from tycoon.envs.vending.world import VendingWorld
    from tycoon.rewards import StepMoney

# Printable ASCII, whitespace, Latin-1/Latin Extended-A and common punctuation: what
# tool results contain. Anything else in an observation is replaced by "?".
CHARSET = frozenset(
    string.printable + "".join(chr(c) for c in range(0xA0, 0x180)) + "‐‑‒–—―‘’‚“”„†‡•…‰′″‹›€™×"
)
_OUTSIDE_CHARSET = re.compile("[^" + re.escape("".join(sorted(CHARSET))) + "]")
TRUNCATION_MARKER = "\n[... truncated]"


@dataclass(slots=True)
class StepResult:
    """One step as the agent receives it (the Gymnasium 5-tuple, plus what it came from)."""

    observation: str
    reward: float
    terminated: bool
    truncated: bool
    info: dict[str, Any]
    outcome: StepOutcome

    def as_tuple(self) -> tuple[str, float, bool, bool, dict[str, Any]]:
        return self.observation, self.reward, self.terminated, self.truncated, self.info


# the ASCII characters of the charset: deleted from an ASCII text, they leave nothing
# when the text is all in the charset (a byte scan, ~15x faster than the pattern's)
_ASCII_IN_CHARSET = bytes(sorted(ord(c) for c in CHARSET if c.isascii()))


def fit_observation(text: str, limit: int) -> str:
    """Cut to the observation space's length (marked) and keep to its charset."""
    if len(text) > limit:
        text = text[: limit - len(TRUNCATION_MARKER)] + TRUNCATION_MARKER
    if text.isascii() and not text.encode("ascii").translate(None, _ASCII_IN_CHARSET):
        return text  # nothing to replace (what tools write, nearly always)
    return _OUTSIDE_CHARSET.sub("?", text)


# "HH:MM" of each minute of a day, as `step_info` formats the clock
_CLOCK_TEXTS = tuple(f"{minute // 60:02d}:{minute % 60:02d}" for minute in range(MINUTES_PER_DAY))


def step_info(
    world: VendingWorld,
    outcome: StepOutcome | None,
    components: dict[str, float],
    money_now: StepMoney,
    *,
    step: int,
    status: str,
) -> dict[str, Any]:
    """The structured state the agent sees with an observation (see VendingEnv's docstring)."""
    episode = world.episode
    minute = episode.minute
    info: dict[str, Any] = {
        "day": episode.day + 1,  # day 1 is the first day (see "Days" in VendingEnv)
        "time": (
            _CLOCK_TEXTS[minute]
            if 0 <= minute < MINUTES_PER_DAY
            else f"{minute // 60:02d}:{minute % 60:02d}"
        ),
        "step": step,
        "bank_balance": money_now.bank_cents / 100,
        "machine_cash": world.balance(MACHINE_CASH) / 100,
        "net_worth": money_now.net_worth_cents / 100,
        "status": status,
        "score": (
            money_now.net_worth_cents
            if world.config.score == "net_worth"
            else money_now.bank_score_cents
        )
        / 100,
        "reward_components": components,
        "behavior_events": (
            [{**event.model_dump(), "day": event.day + 1} for event in outcome.events]
            if outcome is not None and outcome.events
            else []
        ),
        "invalid_action": outcome is not None and not outcome.call_outcome.valid,
    }
    if outcome is not None:
        done = outcome.call_outcome
        info["tool"] = done.tool
        info["error"] = done.error
        info["tool_result"] = done.data
        if outcome.night is not None:
            info["night"] = outcome.night.model_dump()
    return info
