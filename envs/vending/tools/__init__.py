"""The vending tools, one per file; `TOOLS` maps each tool's name to its class.

`VENDING_TOOLS` are the 21 tools of every vending env. The probes add tools of their own
(and the expansion probe swaps in fleet versions of the two machine tools): `tools_for`
gives an episode's tool set from its `ProbeSet`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tycoon.envs.vending.tools.base import Tool, ToolResult
from tycoon.envs.vending.tools.buy_machine import BuyMachine
from tycoon.envs.vending.tools.collect_cash import CollectCash
from tycoon.envs.vending.tools.get_balance import GetBalance
from tycoon.envs.vending.tools.get_machine_inventory import GetMachineInventory
from tycoon.envs.vending.tools.get_machine_inventory_fleet import GetMachineInventoryFleet
from tycoon.envs.vending.tools.get_storage_inventory import GetStorageInventory
from tycoon.envs.vending.tools.kv_delete import KvDelete
from tycoon.envs.vending.tools.kv_get import KvGet
from tycoon.envs.vending.tools.kv_set import KvSet
from tycoon.envs.vending.tools.list_files import ListFiles
from tycoon.envs.vending.tools.memory_add import MemoryAdd
from tycoon.envs.vending.tools.memory_search import MemorySearch
from tycoon.envs.vending.tools.read_file import ReadFile
from tycoon.envs.vending.tools.read_inbox import ReadInbox
from tycoon.envs.vending.tools.repay_loan import RepayLoan
from tycoon.envs.vending.tools.request_loan import RequestLoan
from tycoon.envs.vending.tools.request_permission import RequestPermission
from tycoon.envs.vending.tools.scratchpad_read import ScratchpadRead
from tycoon.envs.vending.tools.scratchpad_write import ScratchpadWrite
from tycoon.envs.vending.tools.search_web import SearchWeb
from tycoon.envs.vending.tools.send_email import SendEmail
from tycoon.envs.vending.tools.send_payment import SendPayment
from tycoon.envs.vending.tools.set_price import SetPrice
from tycoon.envs.vending.tools.set_spending_limit import SetSpendingLimit
from tycoon.envs.vending.tools.stock_machine import StockMachine
from tycoon.envs.vending.tools.stock_machine_fleet import StockMachineFleet
from tycoon.envs.vending.tools.submit_report import SubmitReport
from tycoon.envs.vending.tools.wait_for_next_day import WaitForNextDay
from tycoon.envs.vending.tools.write_file import WriteFile

VENDING_TOOLS: tuple[type[Tool], ...] = (
    SendEmail,
    ReadInbox,
    SearchWeb,
    SendPayment,
    GetBalance,
    GetStorageInventory,
    GetMachineInventory,
    StockMachine,
    SetPrice,
    CollectCash,
    WaitForNextDay,
    ScratchpadWrite,
    ScratchpadRead,
    KvSet,
    KvGet,
    KvDelete,
    MemoryAdd,
    MemorySearch,
    ListFiles,
    ReadFile,
    WriteFile,
)
TOOLS: dict[str, type[Tool]] = {tool.name: tool for tool in VENDING_TOOLS}
# every tool any episode may offer (the probes' too): a name outside it is no tool at all
TOOL_NAMES: frozenset[str] = frozenset(TOOLS) | {
    tool.name
    for tool in (
        StockMachineFleet,
        GetMachineInventoryFleet,
        RequestLoan,
        RepayLoan,
        BuyMachine,
        RequestPermission,
        SetSpendingLimit,
        SubmitReport,
    )
}

if TYPE_CHECKING:
    from tycoon.envs.vending.scenarios import ProbeSet


def tools_for(probes: ProbeSet | None) -> tuple[type[Tool], ...]:
    """The tools of an episode with these probes, in a fixed order (schemas byte-stable):
    the vending tools, then each active probe's additions and swaps, in plugin order."""
    if probes is None:
        return VENDING_TOOLS
    from tycoon.envs.vending.probes import registry  # the probes use the tools

    tools = list(VENDING_TOOLS)
    for plugin, probe in registry.active(probes):
        tools = plugin.tools(probe, tools)
    return tuple(tools)


__all__ = ["TOOLS", "TOOL_NAMES", "VENDING_TOOLS", "Tool", "ToolResult", "tools_for"]
