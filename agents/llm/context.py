"""The conversation an LLM agent sends, kept so that an inference server's prefix cache hits.

- The system prompt and the tool list are built once per episode and never change.
- History is append-only between trims, so each request extends the previous one.
- When the estimated prompt passes the budget, the oldest turns go in one large chunk
  (down to `trim_to` of the budget), not one turn per call: the prefix is broken once per
  trim instead of on every call. The first user message (the episode's opening) stays,
  with a note that earlier turns were dropped and that the memory tools hold what the
  agent saved.

Token counts are estimated from characters, calibrated by the server's `prompt_tokens`.
Each request is recorded as a delta from the previous one (`keep`, `append`, `new`), and
`prefix_reuse` measures how much of the prompt extends the previous call's prompt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

TRIM_NOTE = (
    "[Context note: {dropped} earlier messages were removed to fit the context window. "
    "What you saved with scratchpad_write, kv_set or memory_add is still there: read it "
    "back with scratchpad_read, kv_get or memory_search.]"
)
DEFAULT_CHARS_PER_TOKEN = 3.5


@dataclass
class RequestDelta:
    """How this request's messages follow from the previous request's."""

    keep: int  # previous messages[:keep] are this request's first messages
    append: list[dict[str, Any]]
    new: int  # the last `new` of `append` are new to the conversation
    prefix_reuse: float  # share of this prompt's characters that the previous prompt covers
    trimmed: bool

    def to_json(self) -> dict[str, Any]:
        return {"keep": self.keep, "append": self.append, "new": self.new}


def message_size(message: dict[str, Any]) -> int:
    """A message's size in characters, as the budget counts it."""
    return len(json.dumps(message, ensure_ascii=False))


_size = message_size


class ContextWindow:
    """The messages of the next request (system first), the tools, and the trimming policy."""

    def __init__(
        self,
        system: str,
        tools: list[dict[str, Any]],
        *,
        budget_tokens: int,
        trim_to: float = 0.6,
    ) -> None:
        self.tools = tools
        self.budget_tokens = budget_tokens
        self.trim_to = trim_to
        self.tools_chars = len(json.dumps(tools, ensure_ascii=False))
        self.chars_per_token = DEFAULT_CHARS_PER_TOKEN
        self.messages: list[dict[str, Any]] = []
        self._sizes: list[int] = []
        self._chars = 0
        self._opening: dict[str, Any] | None = None  # the first user message, untrimmed
        # The previous request was messages[:_sent_count] (history is append-only), unless
        # a trim rebuilt the list since: then `_before_trim` holds what was sent.
        self._sent_count = 0
        self._sent_chars = 0
        self._before_trim: list[dict[str, Any]] | None = None
        self._appended = 0  # messages appended since the previous request
        self.trims = 0
        self.append({"role": "system", "content": system})

    # -- building ---------------------------------------------------------------------------

    def append(self, message: dict[str, Any]) -> None:
        if self._opening is None and message["role"] == "user":
            self._opening = message
        size = _size(message)
        self.messages.append(message)
        self._sizes.append(size)
        self._chars += size
        self._appended += 1

    def extend(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            self.append(message)

    def estimated_tokens(self) -> int:
        return int((self._chars + self.tools_chars) / self.chars_per_token)

    def calibrate(self, prompt_tokens: int) -> None:
        """Learn characters per token from the server's count for the request just sent."""
        if prompt_tokens > 0 and self._sent_chars:
            self.chars_per_token = max(1.0, (self.tools_chars + self._sent_chars) / prompt_tokens)

    # -- sending ----------------------------------------------------------------------------

    def prepare(self) -> RequestDelta:
        """Trim if over budget, then describe this request relative to the previous one.

        Without a trim the previous request is a prefix of this one, so this costs the
        same at turn 1,000 as at turn 1; after a trim the shared prefix is looked up.
        """
        trimmed = False
        if self.estimated_tokens() > self.budget_tokens:
            trimmed = self._trim()
        first = self._sent_count == 0
        if self._before_trim is None:
            keep, shared = self._sent_count, self._sent_chars
        else:
            previous, keep = self._before_trim, 0
            limit = min(len(previous), len(self.messages))
            while keep < limit and previous[keep] is self.messages[keep]:
                keep += 1
            shared = sum(self._sizes[:keep])
            self._before_trim = None
        append = self.messages[keep:]
        total = self.tools_chars + self._chars
        delta = RequestDelta(
            keep=keep,
            append=append,
            new=min(self._appended, len(append)),
            prefix_reuse=0.0 if first else (self.tools_chars + shared) / total,
            trimmed=trimmed,
        )
        self._sent_count = len(self.messages)
        self._sent_chars = self._chars
        self._appended = 0
        return delta

    def _trim(self) -> bool:
        """Drop the oldest turns in one chunk, down to `trim_to` of the budget."""
        # the system prompt and the opening user message (maybe carrying a trim note) stay
        pinned = 2 if len(self.messages) > 1 and self.messages[1]["role"] == "user" else 1
        target_chars = self.trim_to * self.budget_tokens * self.chars_per_token - self.tools_chars
        chars = self._chars
        cut = pinned
        while cut < len(self.messages) and chars > target_chars:
            chars -= self._sizes[cut]
            cut += 1
        # a kept history starts with an assistant turn (never with an orphaned tool result)
        while cut < len(self.messages) and self.messages[cut]["role"] != "assistant":
            cut += 1
        if cut >= len(self.messages):  # keep at least the latest turn
            cut = max(
                (
                    i
                    for i, m in enumerate(self.messages)
                    if m["role"] == "assistant" and i >= pinned
                ),
                default=len(self.messages),
            )
        dropped = cut - pinned
        if dropped <= 0:
            return False
        if self._before_trim is None:
            self._before_trim = self.messages[: self._sent_count]
        head = self.messages[:pinned]
        if self._opening is not None and pinned >= 2:
            note = TRIM_NOTE.format(dropped=dropped + self._dropped_before())
            head[-1] = {"role": "user", "content": f"{self._opening['content']}\n\n{note}"}
        tail = self.messages[cut:]
        self.messages, self._sizes = [], []
        self._chars = 0
        appended = self._appended
        for message in head + tail:
            self.append(message)
        self._appended = appended
        self.trims += 1
        return True

    def _dropped_before(self) -> int:
        # the note counts every message dropped so far, across trims
        content = self.messages[1]["content"] if len(self.messages) > 1 else ""
        marker = "[Context note: "
        if isinstance(content, str) and marker in content:
            try:
                return int(content.split(marker, 1)[1].split(" ", 1)[0])
            except ValueError:
                return 0
        return 0

    # -- resuming ---------------------------------------------------------------------------

    def restore(
        self,
        messages: list[dict[str, Any]],
        *,
        opening: dict[str, Any] | None,
        calibration: tuple[int, int] | None = None,
    ) -> None:
        """Rebuild from recorded messages (those of the last request sent).

        `calibration` is (message characters, prompt tokens) of the last request the
        server counted: the ratio the uninterrupted run last learned, which the next
        trim depends on (the last request may have no count)."""
        self.messages, self._sizes, self._chars = [], [], 0
        self._opening = opening
        for message in messages:
            size = _size(message)
            self.messages.append(message)
            self._sizes.append(size)
            self._chars += size
        self._sent_count = len(self.messages)
        self._sent_chars = self._chars
        self._before_trim = None
        self._appended = 0
        if calibration is not None:
            chars, prompt_tokens = calibration
            self.chars_per_token = max(1.0, (self.tools_chars + chars) / prompt_tokens)


def apply_delta(previous: list[dict[str, Any]], request: dict[str, Any]) -> list[dict[str, Any]]:
    """The messages of a recorded request, from the previous request's messages."""
    return previous[: int(request.get("keep", 0))] + list(request.get("append", []))
