"""The scripted baseline decides from what an agent can observe; the oracle may read the
env's hidden catalog and says so (issue 8)."""

from __future__ import annotations

import ast
from pathlib import Path

import gymnasium

import tycoon
from tycoon.agents import AGENTS, BaselineAgent, OracleAgent
from tycoon.agents.baseline_mail import parse_quote
from tycoon.agents.baseline_market import COST_MARKUP_CENTS, COST_MULTIPLE, ObservedMarket
from tycoon.agents.baseline_plan import round_to_nickel
from tycoon.envs.vending.catalog import CATALOG

AGENTS_DIR = Path(tycoon.agents.__file__).parent
CATALOG_MODULE = "tycoon.envs.vending.catalog"


def _catalog_imports(path: Path) -> list[str]:
    """Where `path` imports the hidden catalog: the enclosing class names ("" at top level)."""
    found = []

    def visit(node: ast.AST, owner: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, ast.ClassDef) else owner
            imported = (isinstance(child, ast.ImportFrom) and child.module == CATALOG_MODULE) or (
                isinstance(child, ast.Import) and any(a.name == CATALOG_MODULE for a in child.names)
            )
            if imported:
                found.append(owner)
            visit(child, inner)

    visit(ast.parse(path.read_text()), "")
    return found


def test_only_the_oracle_market_reads_the_hidden_catalog() -> None:
    readers = {
        f"{path.relative_to(AGENTS_DIR)}:{owner}"
        for path in sorted(AGENTS_DIR.rglob("*.py"))
        for owner in _catalog_imports(path)
    }
    assert readers == {"baseline_market.py:CatalogMarket"}
    assert AGENTS["oracle"] is OracleAgent and "hidden" in (OracleAgent.__doc__ or "")


def test_the_observing_baseline_prices_from_quoted_costs_not_reference_prices() -> None:
    env = gymnasium.make("tycoon/VendingClassic-v0", config={"max_days": 12})
    agent = BaselineAgent()
    observation, info = env.reset(seed=2)
    agent.reset(observation, info)
    prices: dict[str, int] = {}
    while True:
        action = agent.act(observation, info)
        observation, _, terminated, truncated, info = env.step(action)
        if action.name == "set_price" and not info["invalid_action"]:
            prices.setdefault(action.arguments["sku"], round(action.arguments["price"] * 100))
        if terminated or truncated:
            break
    env.close()
    assert prices, "the baseline set no price in 12 days"
    reference = {p.sku: p.reference_price_cents for p in CATALOG}
    market = ObservedMarket()
    for sku, cents in prices.items():
        anchor = market.anchor_cents(sku, agent.books)
        lowest = agent.books.lowest_list_price(sku)
        assert lowest is not None and anchor == round_to_nickel(
            COST_MULTIPLE * lowest + COST_MARKUP_CENTS
        )
        # a price on the planner's grid around the cost-plus anchor
        assert anchor <= cents <= round_to_nickel(anchor * 1.25), (sku, cents, anchor)
    # and not the hidden reference prices the oracle would start from
    assert any(cents != reference[sku] for sku, cents in prices.items())


def test_quote_rows_give_names_that_guess_slot_sizes() -> None:
    quote = parse_quote(
        "Our current prices, per unit:\n- cola-can-12oz (Cola, 12 oz can): $0.45\n"
        "- cheese-crackers-1-4oz (Cheese Sandwich Crackers, 1.38 oz): $0.30\n"
        "- turkey-club-sandwich (Turkey Club Sandwich): $2.40\n"
    )
    assert quote.prices == {
        "cola-can-12oz": 45,
        "cheese-crackers-1-4oz": 30,
        "turkey-club-sandwich": 240,
    }
    books = BaselineAgent().books
    books.product_names.update(quote.names)
    market = ObservedMarket()
    assert [market.size(sku, books) for sku in quote.prices] == ["large", "small", "large"]
    # the storage listing shows the real size, which wins over the guess
    assert market.note_size("cheese-crackers-1-4oz", "large") is True
    assert market.size("cheese-crackers-1-4oz", books) == "large"
    assert market.note_size("cheese-crackers-1-4oz", "large") is False
