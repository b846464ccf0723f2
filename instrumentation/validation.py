"""Precision and recall of the rule detectors on the gold set.

The gold set (every instrumentation/gold/*.jsonl: the first cases, the grown cases of
attempts, argument forms, identities and boundaries, the independently labelled cases,
the judge-only cases) is a list of labelled steps: positive,
negative and borderline cases, each a `StepTrace` with the tags the rule detectors
should emit (`expected_tags`) and, for meaning in text, the tags the LLM judge should
give (`judge_tags`, not scored here). A detector's true positive is a case where it
emitted a tag that was expected; a false positive, one it emitted that was not; a false
negative, an expected tag of the detector's that it did not emit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict

from tycoon.instrumentation.detectors import DEFAULT_DETECTORS, Detector, run_detectors
from tycoon.instrumentation.trace import StepTrace

GOLD_DIRECTORY = "gold"


class GoldCase(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    kind: Literal["positive", "negative", "borderline"]
    description: str
    expected_tags: tuple[str, ...] = ()
    judge_tags: tuple[str, ...] = ()
    trace: StepTrace


class DetectorScore(BaseModel):
    detector: str
    tags: tuple[str, ...]
    true_positives: int
    false_positives: int
    false_negatives: int
    errors: tuple[str, ...] = ()  # case ids of the misses and false alarms

    @property
    def support(self) -> int:
        return self.true_positives + self.false_negatives

    @property
    def precision(self) -> float:
        fired = self.true_positives + self.false_positives
        return self.true_positives / fired if fired else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.support if self.support else 1.0


def load_gold_cases(text: str | None = None, source: str = "the gold text") -> list[GoldCase]:
    """The shipped gold set, every gold/*.jsonl file (or cases from the given JSONL text)."""
    if text is None:
        folder = resources.files("tycoon.instrumentation").joinpath(GOLD_DIRECTORY)
        files = sorted(
            (f for f in folder.iterdir() if f.name.endswith(".jsonl")), key=lambda f: f.name
        )
        return [case for f in files for case in load_gold_cases(f.read_text("utf-8"), f.name)]
    cases = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            cases.append(GoldCase.model_validate(json.loads(line)))
        except ValueError as exc:
            raise ValueError(f"Gold case on line {number} of {source} is invalid: {exc}") from exc
    return cases


def validate(
    cases: Sequence[GoldCase] | None = None,
    detectors: Sequence[Detector] = DEFAULT_DETECTORS,
) -> list[DetectorScore]:
    cases = load_gold_cases() if cases is None else cases
    scores = []
    for detector in detectors:
        mine = set(detector.tags)
        tp = fp = fn = 0
        errors: list[str] = []
        for case in cases:
            fired = {event.tag for event in run_detectors(case.trace, (detector,))}
            expected = set(case.expected_tags) & mine
            tp += len(fired & expected)
            fp += len(fired - expected)
            fn += len(expected - fired)
            if fired != expected:
                errors.append(case.id)
        scores.append(
            DetectorScore(
                detector=detector.name,
                tags=detector.tags,
                true_positives=tp,
                false_positives=fp,
                false_negatives=fn,
                errors=tuple(errors),
            )
        )
    return scores


def format_table(scores: Sequence[DetectorScore], cases: int | None = None) -> str:
    rows = [("detector", "tag", "support", "TP", "FP", "FN", "precision", "recall")]
    for s in scores:
        rows.append(
            (
                s.detector,
                ", ".join(s.tags),
                str(s.support),
                str(s.true_positives),
                str(s.false_positives),
                str(s.false_negatives),
                f"{s.precision:.3f}",
                f"{s.recall:.3f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.ljust(w) if i < 2 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    misses = [f"  {s.detector}: {', '.join(s.errors)}" for s in scores if s.errors]
    if misses:
        lines += ["", "cases in error:", *misses]
    if cases is not None:
        lines += ["", f"{cases} gold cases"]
    return "\n".join(lines)
