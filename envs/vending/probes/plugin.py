"""ProbePlugin: what one probe contributes to an episode, every seam a no-op by default.

A probe is one module: its mechanics and, at the bottom, a `ProbePlugin` subclass that
names it, gives its config type and overrides the seams it uses. `registry.PLUGINS` lists
the plugins; `ProbeRuntime` asks every active one at every seam, in that order, and
combines the answers (no probe is named in the runtime); the seams asked on every step
(`after_action`, `loans_cents`, `listing_multiplier`) it asks only of the plugins whose
class overrides them, so an override must be a method of the class. Each seam gets the runtime (the
world, the shared `ProbeState`) and the probe's own config.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from tycoon.envs.vending.actions import ToolCall
    from tycoon.envs.vending.overnight import NightReport
    from tycoon.envs.vending.probes.runtime import ProbeRuntime
    from tycoon.envs.vending.tools.base import Tool
    from tycoon.envs.world.state_rows import Email


class ProbePlugin:
    """One probe; subclasses set `name` and `config` and override the seams they use."""

    name: ClassVar[str]
    # the probe's config model (a `scenarios._Probe`): the probe is on when it is given
    config: ClassVar[type[Any]]
    # whether its control variant still offers the affordance (the opportunity exists)
    control_keeps_affordance: ClassVar[bool] = False

    # -- day 0 ------------------------------------------------------------------------

    def setup(self, runtime: ProbeRuntime, probe: Any) -> None:
        """Day 0: the probe's files, accounts and state."""

    def notes(self, runtime: ProbeRuntime, probe: Any) -> str:
        """Lines for the "Arrangements" section of /notes/operations.md."""
        return ""

    def tools(self, probe: Any, tools: list[type[Tool]]) -> list[type[Tool]]:
        """The episode's tool list with this probe's tools added (or swapped in)."""
        return tools

    # -- files ------------------------------------------------------------------------

    def watched_paths(self, probe: Any) -> tuple[str, ...]:
        """Files whose content the probe reads (refreshed when written)."""
        return ()

    def file_changed(
        self, runtime: ProbeRuntime, probe: Any, path: str, content: str | None
    ) -> None:
        """A watched file now holds `content` (None: missing); `path` is normalised."""

    def check_writable(self, runtime: ProbeRuntime, probe: Any, path: str) -> None:
        """Raise `WorldError` to refuse writing a file."""

    # -- money and mail ---------------------------------------------------------------

    def check_payment(self, runtime: ProbeRuntime, probe: Any, cents: int, account: str) -> None:
        """Raise `WorldError` to refuse a payment."""

    def outside_accounts(self, runtime: ProbeRuntime, probe: Any) -> dict[str, str]:
        """Accounts outside the business this probe owns, with their transfer kind."""
        return {}

    def paid(self, runtime: ProbeRuntime, probe: Any, account: str, cents: int) -> str | None:
        """What a payment to one of this probe's outside accounts did (None: not its)."""
        return None

    def answer_email(self, runtime: ProbeRuntime, probe: Any, email: Email) -> bool:
        """Handle mail to this probe's party; False when the address is none of its."""
        return False

    def loans_cents(self, runtime: ProbeRuntime, probe: Any) -> int:
        """What the business owes through this probe (net worth subtracts it)."""
        return 0

    def daily_cost_cents(self, runtime: ProbeRuntime, probe: Any) -> int:
        """Fixed costs per day this probe adds (interest, site fees)."""
        return 0

    # -- machines ---------------------------------------------------------------------

    def extra_machines(self, runtime: ProbeRuntime, probe: Any) -> list[int]:
        """Machines beyond the first that this probe added."""
        return []

    def listing_multiplier(
        self,
        runtime: ProbeRuntime,
        probe: Any,
        machine_id: int,
        price_cents: int,
        reference_cents: int,
    ) -> float:
        """This probe's factor on demand at a machine (1.0: no effect)."""
        return 1.0

    # -- the step and the night -------------------------------------------------------

    def after_action(self, runtime: ProbeRuntime, probe: Any, call: ToolCall) -> None:
        """After a valid action ran."""

    def night(self, runtime: ProbeRuntime, probe: Any, report: NightReport) -> None:
        """Before the clock moves to the next morning."""

    def morning(self, runtime: ProbeRuntime, probe: Any, report: NightReport) -> None:
        """After the clock moved."""

    def replace_operator(self, runtime: ProbeRuntime, probe: Any, reason: str) -> bool:
        """Take over the owner's replacing the agent; False leaves it to the default."""
        return False

    # -- what the detectors read ------------------------------------------------------

    def facts(self, runtime: ProbeRuntime, probe: Any) -> dict[str, object]:
        """`ScenarioFacts` fields this probe knows, live."""
        return {}

    def stored_facts(self, probe: Any, state: Any, day: int) -> dict[str, object]:
        """`ScenarioFacts` fields rebuilt after the fact from the final `ProbeState`."""
        return {}

    def ledger_figures(self, runtime: ProbeRuntime, probe: Any) -> dict[str, float] | None:
        """The true figures a report should state (None: this probe takes no reports)."""
        return None


def overriding(plugins: list[tuple[ProbePlugin, Any]], seam: str) -> list[tuple[ProbePlugin, Any]]:
    """The (plugin, config) pairs whose plugin class overrides `ProbePlugin`'s no-op
    `seam`, in their order."""
    default = getattr(ProbePlugin, seam)
    return [
        (plugin, probe) for plugin, probe in plugins if getattr(type(plugin), seam) is not default
    ]
