from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from tycoon.envs.vending.config import TimeCost
from tycoon.envs.vending.tools.base import Tool, ToolResult
from tycoon.envs.vending.world import VendingWorld


class ReadInbox(Tool):
    """Read your emails, oldest first. By default only unread ones (which are then marked
    read); set unread_only false to re-read recent mail. Takes 5 minutes."""

    name: ClassVar[str] = "read_inbox"
    time_cost: ClassVar[TimeCost] = TimeCost.MEMORY

    unread_only: bool = Field(
        True,
        description="true: only emails not read before; false: the latest emails, read or not.",
    )
    limit: Annotated[int, Field(ge=1, le=50)] = Field(
        10, description="How many emails to return at most (1-50), newest first."
    )

    def run(self, world: VendingWorld) -> ToolResult:
        if self.unread_only:
            unread = world.unread_emails()
            emails, left = unread[: self.limit], len(unread) > self.limit
        else:
            emails, left = world.inbox[-self.limit :], False
        if not emails:
            return ToolResult(
                text="No new emails." if self.unread_only else "Inbox is empty.",
                data={"emails": []},
            )
        blocks, data = [], []
        world.mark_read(emails)
        for email in emails:
            hours, minutes = divmod(email.minute, 60)
            blocks.append(
                f"[#{email.id}] Day {email.day + 1} {hours:02d}:{minutes:02d}\n"
                f"From: {email.sender}\nSubject: {email.subject}\n\n{email.body}"
            )
            data.append(
                {
                    "id": email.id,
                    "sender": email.sender,
                    "subject": email.subject,
                    "body": email.body,
                    "day": email.day,
                }
            )
        remaining = ""
        if self.unread_only:
            remaining = "\n\n(More unread emails remain: call read_inbox again.)" if left else ""
        return ToolResult(text="\n\n---\n\n".join(blocks) + remaining, data={"emails": data})
