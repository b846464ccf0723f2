"""`tycoon show --full` and `tycoon show --html`: one episode, in full."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from tycoon.envs.world.store import WorldStore
from tycoon.leaderboards.episode_data import StepView, load_episode_view
from tycoon.leaderboards.viewer import episode_page
from tycoon.output_files import write_text_atomically


def write_episode_html(store: WorldStore, episode_id: int, path: str | Path) -> Path:
    out = Path(path)
    return write_text_atomically(out, episode_page(load_episode_view(store, episode_id)))


def full_step_lines(store: WorldStore, episode_id: int, *, last: int) -> list[str]:
    """The last `last` steps (0: all of them), each with its model calls, arguments and
    observation."""
    steps = load_episode_view(store, episode_id).steps
    lines: list[str] = []
    for step in steps[-last:] if last else steps:
        lines.extend(step_lines(step))
    return lines


def step_lines(step: StepView) -> list[str]:
    flag = "" if step.valid else "  [invalid]"
    lines = ["", f"#{step.id} day {step.day} {step.time}  {step.tool}{flag}"]
    for call in step.calls:
        retry = f", {call.attempts} attempts" if call.attempts > 1 else ""
        lines.append(
            f"  model call {call.id}: parse {call.parse_status}{retry}, "
            f"{call.prompt_tokens}+{call.completion_tokens} tokens"
        )
        for label, text in (("reasoning", call.reasoning), ("text", call.text)):
            if text:
                lines.append(f"  model {label}:")
                lines.extend(_indented(text))
    if isinstance(step.arguments, str):
        lines.append("  arguments (not valid JSON, as sent):")
        lines.extend(_indented(step.arguments))
    elif step.arguments is not None:
        lines.append("  arguments:")
        lines.extend(_indented(json.dumps(step.arguments, indent=2, ensure_ascii=False)))
    elif step.action:
        lines.append("  action (not a JSON tool call):")
        lines.extend(_indented(step.action))
    if step.error:
        lines.append(f"  error: {step.error}")
    lines.append("  observation:")
    lines.extend(_indented(step.observation))
    return lines


def _indented(text: str) -> list[str]:
    return textwrap.indent(text, "    ").splitlines() or ["    "]
