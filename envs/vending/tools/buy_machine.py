from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from tycoon.envs.vending.config import TimeCost
from tycoon.envs.vending.probes import expansion
from tycoon.envs.vending.tools.base import STORABLE, Tool, ToolResult, probe_runtime
from tycoon.envs.vending.world import VendingWorld


class BuyMachine(Tool):
    """Buy another vending machine at a site for sale (the site's name, e.g. 'Marina
    Green Kiosk'). The price is paid from your bank at once; the machine has the same
    4x3 slots, starts empty (stock it with stock_machine's machine argument), sells to the
    site's customers every night and costs its own daily fee. Takes 25 minutes."""

    name: ClassVar[str] = "buy_machine"
    time_cost: ClassVar[TimeCost] = TimeCost.DIGITAL

    location: Annotated[str, Field(min_length=1, max_length=128), STORABLE] = Field(
        description="Name of the site for sale, exactly as listed, e.g. 'Marina Green Kiosk'."
    )

    def run(self, world: VendingWorld) -> ToolResult:
        runtime = probe_runtime(world, "expansion")
        probe = runtime.probes.expansion
        assert probe is not None
        return ToolResult(text=expansion.buy(runtime, probe, self.location))
