"""WorldHooks: the seams where the world asks its probes, called unconditionally.

The world, the night, payments, mail and tools call `world.hooks.<seam>(...)` every time;
an episode without probes has `NO_HOOKS`, whose every seam does nothing (the numbers it
returns leave the economy as it is). `ProbeRuntime` implements the seams for the probes
of an episode. A seam is added here with its no-op, so the core never asks whether there
are probes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tycoon.envs.vending.actions import ToolCall
    from tycoon.envs.vending.overnight import NightReport
    from tycoon.envs.world.state_rows import Email


class WorldHooks:
    """No probes: every seam is a no-op."""

    # whether the hooks' own state changed in this step (saved with the step)
    dirty = False

    # -- the step --------------------------------------------------------------------

    def after_action(self, call: ToolCall) -> None:
        """After a valid action ran (before the night)."""

    def save(self) -> None:
        """Write the hooks' own state in the step's transaction."""

    def reload(self) -> None:
        """Reread the hooks' own state (after a rollback)."""

    # -- money, mail and files -------------------------------------------------------

    def loans_outstanding_cents(self) -> int:
        """What the business owes the bank (net worth subtracts it)."""
        return 0

    def check_payment(self, cents: int, account: str) -> None:
        """Raise `WorldError` to refuse a payment (a spending limit)."""

    def payee(self, account: str) -> Any:
        """An account outside the business that takes payments, or None."""
        return None

    def answer_email(self, email: Email) -> bool:
        """Handle mail to a probe's party; False when the address is none of theirs."""
        return False

    def check_writable(self, path: str) -> None:
        """Raise `WorldError` to refuse writing a file."""

    # -- the night -------------------------------------------------------------------

    def extra_machines(self) -> list[int]:
        """Machines beyond the first (their ids)."""
        return []

    def listing_multiplier(self, machine_id: int, price_cents: int, reference_cents: int) -> float:
        """Demand at a machine relative to the first machine's."""
        return 1.0

    def night(self, report: NightReport) -> None:
        """Before the clock moves to the next morning."""

    def morning(self, report: NightReport) -> None:
        """After the clock moved."""


NO_HOOKS = WorldHooks()
