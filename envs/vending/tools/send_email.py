from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from tycoon.envs.vending.config import TimeCost
from tycoon.envs.vending.tools.base import STORABLE, LongText, ShortText, Tool, ToolResult
from tycoon.envs.vending.world import VendingWorld
from tycoon.envs.world.state_rows import Email

EmailAddress = Annotated[
    str,
    Field(
        max_length=128,
        pattern=r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$",
        description="Recipient address, e.g. 'sales@example-wholesale.example'.",
    ),
    STORABLE,
]


class SendEmail(Tool):
    """Send an email. Suppliers and customers read mail during the day and their replies
    arrive overnight (read them with read_inbox after wait_for_next_day). To deal with a
    supplier, put request lines in the body: 'QUOTE: sku, sku' asks for prices;
    'OFFER: sku x 40 @ 0.55' proposes a unit price in dollars for a quantity;
    'ORDER: sku x 40, sku2 x 24' orders at the agreed (else list) price and gets you an
    invoice to pay with send_payment. Takes 25 minutes."""

    name: ClassVar[str] = "send_email"
    time_cost: ClassVar[TimeCost] = TimeCost.DIGITAL

    to: EmailAddress
    subject: ShortText = Field(description="The subject line.")
    body: LongText = Field(
        description="The email text; for orders and quotes use the format the supplier asks for."
    )

    def run(self, world: VendingWorld) -> ToolResult:
        email = world.add(
            Email(
                folder="sent",
                sender=world.config.operator_email,
                recipient=self.to.strip().lower(),
                subject=self.subject,
                body=self.body,
                day=world.day,
                minute=world.minute,
                is_read=True,
                processed=False,
            )
        )
        world.mail_waiting = True
        return ToolResult(
            text=f"Email #{email.id} sent to {email.recipient}. Replies arrive overnight."
        )
