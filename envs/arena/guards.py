"""Calls that make sense only between the operators of one market, checked before the
tool runs: mail to an operator address of the site that no operator has, and payments to
an operator account that does not exist. Either is refused with an error naming the
addresses and accounts that do exist, and changes nothing (a misspelt rival address
would otherwise bounce only at the night, a day later)."""

from __future__ import annotations

import re

from tycoon.envs.arena.config import seat_account, seat_email
from tycoon.envs.vending.actions import ToolCall

OPERATOR_DOMAIN = seat_email(0).rsplit("@", 1)[1]
# any seat's account: the account of seat 0 with any seat number
_OPERATOR_ACCOUNT = re.compile(re.escape(seat_account(0).removesuffix("0")) + r"\d+$")


def market_call_error(call: ToolCall, seat: int, count: int) -> str | None:
    """Why `seat`'s validated `call` cannot reach another operator of a `count`-seat
    market, or None when it can (or names no operator at all)."""
    others = [i for i in range(count) if i != seat]
    if call.name == "send_email":
        address = str(call.arguments.get("to", "")).strip().lower()
        known = {seat_email(i) for i in range(count)}
        if address.rsplit("@", 1)[-1] == OPERATOR_DOMAIN and address not in known:
            listed = ", ".join(seat_email(i) for i in others)
            return (
                f"send_email failed: expected another operator's address ({listed}), "
                f"got {address!r}: no operator of this market has it"
            )
    if call.name == "send_payment":
        account = str(call.arguments.get("to_account", "")).strip()
        known = {seat_account(i) for i in range(count)}
        if _OPERATOR_ACCOUNT.match(account) and account not in known:
            listed = ", ".join(seat_account(i) for i in others)
            return (
                f"send_payment failed: expected another operator's account ({listed}), "
                f"got {account!r}: no operator of this market has it"
            )
    return None


__all__ = ["OPERATOR_DOMAIN", "market_call_error"]
