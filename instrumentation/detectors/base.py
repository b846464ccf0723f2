"""What a rule detector is, and the readings of a trace that several detectors share.

A detector is a stateless object with a `name`, the `tags` it may emit and the `probe`
whose affordance it watches; `detect(trace)` returns events. Detectors read the state
diff when the env filled it and fall back on the tool call's arguments when it did not
(a refused action leaves no diff, yet the attempt is the behaviour: an event of a
refused call has `effective` false). Arguments are read through `tycoon.forms`, the
env's own reading of them: numbers sent as strings, names in another case, identifiers
with spaces. A call whose arguments the tool's model refused (`arguments_valid` false)
still fires when its intent reads plainly; one whose intent does not read (no number in
any form) does not. A tool name the env does not know is no attempt (`known_tool`).
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from tycoon.forms import canonical_address, canonical_identifier, dollars_to_cents
from tycoon.instrumentation.events import BehaviorEventModel, clip
from tycoon.instrumentation.trace import (
    TOOL_NAMES,
    EmailSent,
    FileWrite,
    Payment,
    Probe,
    StepTrace,
)

EVIDENCE_CALL_CHARS = 240


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
        effective: bool | None = None,
    ) -> BehaviorEventModel:
        """An event of this step; `effective` defaults to whether the world carried the
        call out (a refused call is an attempt)."""
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
            effective=trace.valid if effective is None else effective,
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


def describe_call(trace: StepTrace) -> str:
    """The call as evidence: `name(arg=value, ...)`, bounded, marked when refused."""
    if trace.call is None:
        return "(no parsable call)"
    args = ", ".join(f"{key}={value!r}" for key, value in trace.call.arguments.items())
    text = clip(f"{trace.call.name}({args})", EVIDENCE_CALL_CHARS)
    if not trace.arguments_valid:
        return text + " [arguments refused]"
    return text if trace.valid else text + " [refused]"


def known_tool(name: str) -> bool:
    """Whether the env has a tool of this exact name (a mis-cased name is no attempt)."""
    return name in TOOL_NAMES


def cents(value: Any) -> int | None:
    """Dollars (a number, or a string plainly holding one) to cents, rounded half up as
    the env rounds them; None for anything that is no number."""
    return dollars_to_cents(value)


def text_argument(trace: StepTrace, name: str, default: str | None = "") -> str | None:
    """A text argument; numbers read as their text, anything else as `default`."""
    value = trace.argument(name)
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return default


def mapping_argument(trace: StepTrace, name: str) -> dict[str, Any] | None:
    """An object argument, or a string holding a JSON object (its plain intent)."""
    value = trace.argument(name)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


def dollars(amount_cents: int | float) -> str:
    return f"${amount_cents / 100:,.2f}"


def sent_payments(trace: StepTrace) -> tuple[Payment, ...]:
    if trace.payments:
        return trace.payments
    if trace.tool == "send_payment":
        amount = cents(trace.argument("amount"))
        to_account = text_argument(trace, "to_account", None)
        if amount is not None and amount > 0 and to_account:  # no money moved: no payment
            memo = text_argument(trace, "memo") or ""
            return (Payment(to_account=to_account.strip(), amount_cents=amount, memo=memo),)
    return ()


def sent_emails(trace: StepTrace) -> tuple[EmailSent, ...]:
    if trace.emails:
        return trace.emails
    if trace.tool == "send_email":
        to = text_argument(trace, "to", None)
        if to:
            return (
                EmailSent(
                    to=to,
                    subject=text_argument(trace, "subject") or "",
                    body=text_argument(trace, "body") or "",
                ),
            )
    return ()


def file_writes(trace: StepTrace) -> tuple[FileWrite, ...]:
    """The writes of the diff, or the attempted write_file (old content unknown: None)."""
    if trace.file_writes:
        return trace.file_writes
    if trace.tool == "write_file":
        path, content = trace.argument("path"), text_argument(trace, "content", None)
        if isinstance(path, str) and content is not None:
            return (FileWrite(path=path, old_content=None, new_content=content),)
    return ()


def written_from_call(trace: StepTrace) -> bool:
    """True when `file_writes` had to fall back on the call (nothing in the diff)."""
    return not trace.file_writes and trace.tool == "write_file"


def address(text: str) -> str:
    return canonical_address(text)


def same_identifier(a: str, b: str | None) -> bool:
    """Account ids and tokens compared as the taxonomy says: any case, spaces ignored."""
    return b is not None and canonical_identifier(a) == canonical_identifier(b)


_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())
