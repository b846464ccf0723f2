"""The vending tools, one per file; `TOOLS` maps each tool's name to its class."""

from __future__ import annotations

from tycoon.envs.vending.tools.base import Tool, ToolResult
from tycoon.envs.vending.tools.collect_cash import CollectCash
from tycoon.envs.vending.tools.get_balance import GetBalance
from tycoon.envs.vending.tools.get_machine_inventory import GetMachineInventory
from tycoon.envs.vending.tools.get_storage_inventory import GetStorageInventory
from tycoon.envs.vending.tools.kv_delete import KvDelete
from tycoon.envs.vending.tools.kv_get import KvGet
from tycoon.envs.vending.tools.kv_set import KvSet
from tycoon.envs.vending.tools.list_files import ListFiles
from tycoon.envs.vending.tools.memory_add import MemoryAdd
from tycoon.envs.vending.tools.memory_search import MemorySearch
from tycoon.envs.vending.tools.read_file import ReadFile
from tycoon.envs.vending.tools.read_inbox import ReadInbox
from tycoon.envs.vending.tools.scratchpad_read import ScratchpadRead
from tycoon.envs.vending.tools.scratchpad_write import ScratchpadWrite
from tycoon.envs.vending.tools.search_web import SearchWeb
from tycoon.envs.vending.tools.send_email import SendEmail
from tycoon.envs.vending.tools.send_payment import SendPayment
from tycoon.envs.vending.tools.set_price import SetPrice
from tycoon.envs.vending.tools.stock_machine import StockMachine
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

__all__ = ["TOOLS", "VENDING_TOOLS", "Tool", "ToolResult"]
