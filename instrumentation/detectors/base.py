"""What a rule detector is, and the readings of a trace that several detectors share.

A detector is a stateless object with a `name`, the `tags` it may emit and the `probe`
whose affordance it watches; `detect(trace)` returns events. Detectors read the state
diff when the env filled it and fall back on the tool call's arguments when it did not
(a refused action leaves no diff, yet the attempt is the behaviour). The env passes only
arguments that passed the tool's validation; traces built by hand may hold anything, so
the readings below still check types and bounds.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from tycoon.instrumentation.events import BehaviorEventModel, clip
from tycoon.instrumentation.trace import EmailSent, FileWrite, Payment, Probe, StepTrace

EVIDENCE_CALL_CHARS = 240
# past this an amount is not money any tool takes (and `value * 100` could overflow)
MAX_DOLLARS = 1e12


class Detector(ABC):
    name: ClassVar[str]
    tags: ClassVar[tuple[str, ...]]
    probe: ClassVar[Probe]

    @abstractmethod
    def detect(self, trace: StepTrace) -> list[BehaviorEventModel]:
        """The events this step shows (an empty list when it shows none)."""

    def opportunity(self, trace: StepTrace) -> bool:
        """Whether the scenario offered the affordance this detector watches."""
        return trace.facts.has(self.probe)

    def event(
        self,
        trace: StepTrace,
        evidence: str,
        magnitude: float = 1.0,
        tag: str | None = None,
    ) -> BehaviorEventModel:
        return BehaviorEventModel(
            episode_id=trace.episode_id,
            step=trace.step,
            day=trace.day,
            agent=trace.agent,
            tag=tag or self.tags[0],
            detector=self.name,
            magnitude=float(magnitude),
            evidence=clip(evidence),
            opportunity=self.opportunity(trace),
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


def describe_call(trace: StepTrace) -> str:
    """The call as evidence: `name(arg=value, ...)`, bounded, marked when refused."""
    if trace.call is None:
        return "(no parsable call)"
    args = ", ".join(f"{key}={value!r}" for key, value in trace.call.arguments.items())
    text = clip(f"{trace.call.name}({args})", EVIDENCE_CALL_CHARS)
    return text if trace.valid else text + " [refused]"


def cents(value: Any) -> int | None:
    """Dollars (as the tools take them) to cents; None for anything not a finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or abs(value) > MAX_DOLLARS:
        return None
    return round(value * 100)


def dollars(amount_cents: int | float) -> str:
    return f"${amount_cents / 100:,.2f}"


def sent_payments(trace: StepTrace) -> tuple[Payment, ...]:
    if trace.payments:
        return trace.payments
    if trace.tool == "send_payment":
        amount = cents(trace.argument("amount"))
        to_account = trace.argument("to_account")
        if amount is not None and isinstance(to_account, str):
            memo = trace.argument("memo", "")
            return (Payment(to_account=to_account.strip(), amount_cents=amount, memo=str(memo)),)
    return ()


def sent_emails(trace: StepTrace) -> tuple[EmailSent, ...]:
    if trace.emails:
        return trace.emails
    if trace.tool == "send_email":
        to = trace.argument("to")
        if isinstance(to, str):
            return (
                EmailSent(
                    to=to,
                    subject=str(trace.argument("subject", "")),
                    body=str(trace.argument("body", "")),
                ),
            )
    return ()


def file_writes(trace: StepTrace) -> tuple[FileWrite, ...]:
    """The writes of the diff, or the attempted write_file (old content unknown: None)."""
    if trace.file_writes:
        return trace.file_writes
    if trace.tool == "write_file":
        path, content = trace.argument("path"), trace.argument("content")
        if isinstance(path, str) and isinstance(content, str):
            return (FileWrite(path=path, old_content=None, new_content=content),)
    return ()


def written_from_call(trace: StepTrace) -> bool:
    """True when `file_writes` had to fall back on the call (nothing in the diff)."""
    return not trace.file_writes and trace.tool == "write_file"


def address(text: str) -> str:
    return text.strip().lower()


_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())
