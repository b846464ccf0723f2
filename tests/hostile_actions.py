"""Hostile and valid actions for the vending envs, shared by the tests that throw them:
`BAD_ACTIONS` (each with the error it must give, placeholders filled from the world by
`fill` and `world_context`), and seeded generators of random, hostile and valid calls."""

from __future__ import annotations

import json
import math
import random
import string
from typing import Any

from tycoon.envs.vending.actions import ToolCall
from tycoon.envs.vending.tools import TOOLS
from tycoon.envs.vending.world import BANK


def tool(name: str, **arguments: Any) -> dict[str, Any]:
    return {"name": name, "arguments": arguments}


def text(name: str, **arguments: Any) -> str:
    return json.dumps(tool(name, **arguments))


def nested_dict(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


# Placeholders filled from the world the fixture builds (see `world_context`):
# STORED / OTHER_STORED are skus with units in storage (STORED sits in the machine at
# STORED_ROW/STORED_COL), UNSTORED a real sku with none, WRONG_ROW a row of the other
# size, ACCOUNT a supplier's payment account.
BAD_ACTIONS: list[tuple[str, Any, str]] = [
    # -- not a tool call at all
    ("malformed-json", '{"name": "get_balance", ', "not valid JSON"),
    ("empty-text", "", "not valid JSON"),
    ("whitespace-text", " \n\t ", "not valid JSON"),
    ("plain-words", "please check my balance", "not valid JSON"),
    ("json-array", "[1, 2, 3]", "Expected a JSON object, got a JSON list"),
    ("json-number", "42", "Expected a JSON object, got a JSON int"),
    ("json-string", '"get_balance"', "Expected a JSON object, got a JSON str"),
    ("json-null", "null", "Expected a JSON object"),
    ("json-true", "true", "Expected a JSON object, got a JSON bool"),
    ("trailing-garbage", text("get_balance") + " extra", "not valid JSON"),
    ("deeply-nested-json", "[" * 5000 + "]" * 5000, "Expected"),
    (
        "nested-arguments",
        '{"name": "get_balance", "arguments": ' + "[" * 3000 + "]" * 3000 + "}",
        "Expected",
    ),
    (
        "over-long-text",
        text("write_file", path="a.txt", content="x" * 100_000),
        "at most 50000 characters, got 1000",
    ),
    ("raw-100k-garbage", "\u00e9" * 100_000, "at most 50000 characters"),
    (
        "deeply-nested-python-dict",
        tool("get_balance", a=nested_dict(5000)),
        "nested at most 32 levels deep",
    ),
    ("python-none", None, "Expected a tool call as a JSON string or dict, got NoneType"),
    ("python-int", 7, "got int"),
    ("python-float-nan", math.nan, "got float"),
    ("python-list", [tool("get_balance")], "got list"),
    ("python-tuple", ("get_balance", {}), "got tuple"),
    ("python-set", {"get_balance"}, "got set"),
    ("python-object", object(), "got object"),
    ("bytes-undecodable", b"\xff\xfe\xfa", "undecodable bytes"),
    ("bytes-unknown-tool", b'{"name": "format_disk"}', "Unknown tool 'format_disk'"),
    ("bytes-not-json", b"\x00\x01\x02", "not valid JSON"),
    # -- JSON's non-numbers
    (
        "nan-literal",
        '{"name": "set_price", "arguments": {"sku": "STORED", "price": NaN}}',
        "NaN is not a number JSON allows",
    ),
    (
        "infinity-literal",
        '{"name": "send_payment", "arguments": {"to_account": "ACCOUNT", "amount": Infinity}}',
        "Infinity is not a number JSON allows",
    ),
    (
        "minus-infinity-literal",
        '{"name": "set_price", "arguments": {"sku": "STORED", "price": -Infinity}}',
        "-Infinity is not a number JSON allows",
    ),
    (
        "nan-in-arguments-string",
        {"name": "set_price", "arguments": '{"sku": "STORED", "price": NaN}'},
        "NaN",
    ),
    (
        "overflow-literal-1e400",
        '{"name": "set_price", "arguments": {"sku": "STORED", "price": 1e400}}',
        "finite",
    ),
    ("python-nan-amount", tool("send_payment", to_account="ACCOUNT", amount=math.nan), "amount"),
    ("python-inf-price", tool("set_price", sku="STORED", price=math.inf), "price"),
    (
        "huge-integer-literal",
        '{"name": "set_price", "arguments": {"sku": "STORED", "price": ' + "9" * 5000 + "}}",
        "not valid JSON",
    ),
    # -- the call's shape
    ("missing-name", '{"arguments": {}}', 'Expected a "name" naming a tool, got None'),
    ("empty-name", tool(""), 'Expected a "name" naming a tool'),
    ("name-is-number", {"name": 5, "arguments": {}}, 'Expected a "name" naming a tool, got 5'),
    ("name-is-list", {"name": ["get_balance"]}, 'Expected a "name"'),
    ("unknown-tool", tool("rm_rf"), "Unknown tool 'rm_rf'. Available tools: collect_cash"),
    ("unknown-tool-case", tool("Get_Balance"), "Unknown tool 'Get_Balance'"),
    ("unknown-tool-fullwidth", tool("ｇｅｔ_balance"), "Unknown tool '"),
    ("unknown-tool-40k-name", tool("n" * 40_000), "Unknown tool 'nnnn"),
    ("unknown-tool-100k-name", tool("n" * 100_000), "at most 50000 characters as JSON"),
    ("unknown-tool-control-chars", tool("get_balance\x1b[2J"), "Unknown tool 'get_balance\\x1b"),
    (
        "arguments-list",
        {"name": "get_balance", "arguments": [1]},
        "Expected the arguments of get_balance as an object, got list",
    ),
    ("arguments-number", {"name": "get_balance", "arguments": 3}, "as an object, got int"),
    (
        "arguments-bad-json-string",
        {"name": "get_balance", "arguments": "{oops"},
        "Expected the arguments of get_balance as a JSON object, got invalid JSON",
    ),
    (
        "openai-shape-bad-arguments",
        {"function": {"name": "set_price", "arguments": "[1]"}},
        "as an object, got list",
    ),
    (
        "extra-top-level-key",
        {"name": "get_balance", "arguments": {}, "sudo": True},
        "Expected only 'name' and 'arguments' in a tool call, got also ['sudo']",
    ),
    (
        "toolcall-object-bad-arguments",
        ToolCall(name="set_price", arguments={"sku": 1}),
        "Invalid arguments for set_price",
    ),
    # -- arguments: missing, extra, mistyped
    ("missing-argument", tool("set_price", sku="STORED"), "price: required but missing"),
    ("missing-all-arguments", tool("send_email"), "to: required but missing"),
    (
        "extra-argument",
        tool("get_balance", verbose=True),
        "verbose: not an argument of get_balance",
    ),
    (
        "extra-argument-wait",
        tool("wait_for_next_day", days=30),
        "days: not an argument of wait_for_next_day",
    ),
    ("sku-is-number", tool("set_price", sku=123, price=1.5), "sku: input should be a valid string"),
    (
        "price-is-list",
        tool("set_price", sku="STORED", price=[1.5]),
        "price: input should be a valid number",
    ),
    ("price-is-object", tool("set_price", sku="STORED", price={"usd": 1}), "price"),
    ("price-is-word", tool("set_price", sku="STORED", price="cheap"), "price"),
    ("quantity-is-word", tool("stock_machine", sku="STORED", quantity="five"), "quantity"),
    ("quantity-is-fraction", tool("stock_machine", sku="STORED", quantity=1.5), "quantity"),
    ("unread-only-is-word", tool("read_inbox", unread_only="maybe"), "unread_only"),
    ("limit-is-null", tool("read_inbox", limit=None), "limit"),
    ("mode-not-allowed", tool("write_file", path="a.md", content="x", mode="delete"), "mode"),
    # -- amounts and quantities
    (
        "negative-payment",
        tool("send_payment", to_account="ACCOUNT", amount=-5),
        "amount: input should be greater than 0",
    ),
    ("zero-payment", tool("send_payment", to_account="ACCOUNT", amount=0), "greater than 0"),
    (
        "sub-cent-payment",
        tool("send_payment", to_account="ACCOUNT", amount=0.001),
        "at least $0.01",
    ),
    (
        "1e308-payment",
        tool("send_payment", to_account="ACCOUNT", amount=1e308),
        "less than or equal to 1000000",
    ),
    (
        "bool-payment",
        tool("send_payment", to_account="ACCOUNT", amount=True),
        "expected a number, got true",
    ),
    (
        "bool-false-price",
        tool("set_price", sku="STORED", price=False),
        "expected a number, got false",
    ),
    ("negative-price", tool("set_price", sku="STORED", price=-1.25), "greater than 0"),
    ("zero-price", tool("set_price", sku="STORED", price=0), "greater than 0"),
    ("1e308-price", tool("set_price", sku="STORED", price=1e308), "less than or equal to 1000000"),
    ("negative-quantity", tool("stock_machine", sku="STORED", quantity=-3), "greater than 0"),
    ("zero-quantity", tool("stock_machine", sku="STORED", quantity=0), "greater than 0"),
    (
        "huge-quantity",
        tool("stock_machine", sku="STORED", quantity=10**18),
        "less than or equal to 10000",
    ),
    (
        "bool-quantity",
        tool("stock_machine", sku="STORED", quantity=True),
        "expected a number, got true",
    ),
    ("row-out-of-range", tool("stock_machine", sku="STORED", quantity=1, row=5, col=1), "row"),
    ("col-zero", tool("stock_machine", sku="STORED", quantity=1, row=1, col=0), "col"),
    ("memory-search-limit-zero", tool("memory_search", query="x", limit=0), "limit"),
    ("read-inbox-limit-huge", tool("read_inbox", limit=10**9), "limit"),
    # -- over-long and odd text
    (
        "subject-too-long",
        tool("send_email", to="a@b.example", subject="s" * 300, body="hi"),
        "subject: string should have at most 256 characters",
    ),
    (
        "body-30k",
        tool("send_email", to="a@b.example", subject="s", body="b" * 30_000),
        "body: string should have at most 20000 characters",
    ),
    ("kv-value-30k", tool("kv_set", key="k", value="v" * 30_000), "at most 20000 characters"),
    ("kv-value-100k", tool("kv_set", key="k", value="v" * 100_000), "at most 50000 characters"),
    (
        "kv-key-empty",
        tool("kv_set", key="", value="v"),
        "key: string should have at least 1 character",
    ),
    ("search-query-30k", tool("search_web", query="q" * 30_000), "at most 500 characters"),
    ("search-query-empty", tool("search_web", query=""), "at least 1 character"),
    (
        "email-bad-address",
        tool("send_email", to="not-an-address", subject="s", body="b"),
        "to: string should match pattern '^[A-Za-z0-9",  # the pattern as written
    ),
    (
        "email-unicode-address",
        tool("send_email", to="bob@exämple.com", subject="s", body="b"),
        "string should match pattern",
    ),
    (
        "email-header-injection",
        tool("send_email", to="a@b.example\r\nBcc: all@corp.example", subject="s", body="b"),
        "string should match pattern",
    ),
    (
        "lone-surrogate-argument",
        tool("kv_set", key="k", value="x\udfff"),
        "unable to parse raw data as a unicode string",
    ),
    ("lone-surrogate-raw-text", "\ud800", "not valid JSON"),
    ("nul-raw-text", "\x00", "not valid JSON"),
    ("nul-in-file-content", tool("write_file", path="notes/nul.md", content="a\x00b"), "NUL"),
    ("nul-in-email-subject", tool("send_email", to="a@b.example", subject="\x00", body="b"), "NUL"),
    ("nul-in-kv-key", tool("kv_set", key="k\x00", value="v"), "NUL"),
    # -- paths
    ("path-parent", tool("read_file", path="../x"), "leaves the file system"),
    ("path-etc-passwd", tool("read_file", path="/../../etc/passwd"), "leaves the file system"),
    ("path-climb-mid", tool("read_file", path="a/../../b"), "leaves the file system"),
    ("path-dotdot", tool("list_files", directory=".."), "leaves the file system"),
    (
        "write-path-climb",
        tool("write_file", path="notes/../../../x", content="x"),
        "leaves the file system",
    ),
    ("path-empty", tool("read_file", path=""), "path: string should have at least 1 character"),
    ("path-blank", tool("write_file", path="   ", content="x"), "empty path"),
    ("path-root", tool("write_file", path="/", content="x"), "root directory"),
    (
        "path-backslash",
        tool("read_file", path="..\\..\\windows\\system32"),
        "Expected a path of letters",
    ),
    (
        "path-unicode",
        tool("write_file", path="notes/ñandú.md", content="x"),
        "Expected a path of letters",
    ),
    (
        "path-control-chars",
        tool("write_file", path="notes/\x1b[31m.md", content="x"),
        "Expected a path of letters",
    ),
    (
        "path-nul",
        tool("read_file", path="notes/operations.md\x00.png"),
        "NUL",
    ),
    ("path-too-long", tool("read_file", path="a/" * 200), "at most 256 characters"),
    ("path-is-directory", tool("write_file", path="notes", content="x"), "is a directory"),
    (
        "read-missing-file",
        tool("read_file", path="secrets/admin.key"),
        "No file at /secrets/admin.key",
    ),
    # -- money the world refuses
    (
        "pay-unknown-account",
        tool("send_payment", to_account="acct-offshore-999", amount=1),
        "Unknown account 'acct-offshore-999'",
    ),
    ("pay-own-bank", tool("send_payment", to_account="bank", amount=1), "Unknown account 'bank'"),
    ("pay-owner", tool("send_payment", to_account="owner", amount=1), "Unknown account 'owner'"),
    (
        "pay-empty-account",
        tool("send_payment", to_account="", amount=1),
        "to_account: string should have at least 1 character",
    ),
    (
        "pay-above-balance",
        tool("send_payment", to_account="ACCOUNT", amount=999_999),
        "Insufficient funds",
    ),
    (
        "pay-cent-above-balance",
        tool("send_payment", to_account="ACCOUNT", amount="BANK_PLUS_CENT"),
        "Insufficient funds",
    ),
    # -- goods the world refuses
    (
        "stock-not-in-storage",
        tool("stock_machine", sku="UNSTORED", quantity=1),
        "No UNSTORED in storage",
    ),
    (
        "stock-unknown-sku",
        tool("stock_machine", sku="caviar-tin", quantity=1),
        "Unknown product 'caviar-tin'",
    ),
    (
        "stock-row-without-col",
        tool("stock_machine", sku="STORED", quantity=1, row=1),
        "Give both row and col",
    ),
    (
        "stock-wrong-size-row",
        tool("stock_machine", sku="STORED", quantity=1, row="WRONG_ROW", col=1),
        "slot for STORED",
    ),
    (
        "stock-occupied-slot",
        tool("stock_machine", sku="OTHER_STORED", quantity=1, row="STORED_ROW", col="STORED_COL"),
        "holds STORED; a slot holds one product",
    ),
    (
        "price-unknown-sku",
        tool("set_price", sku="caviar-tin", price=9.99),
        "Unknown product 'caviar-tin'",
    ),
    ("price-near-miss-sku", tool("set_price", sku="STORED-x", price=1), "Did you mean"),
    ("price-sku-too-long", tool("set_price", sku="s" * 65, price=1), "at most 64 characters"),
    ("price-sku-control", tool("set_price", sku="\x1b[31mcola", price=1), "Unknown product"),
]


def fill(action: Any, context: dict[str, Any], depth: int = 0) -> Any:
    """Put the world's skus/accounts into an action's placeholders (top levels only)."""
    if isinstance(action, str):
        if action in context:
            return context[action]
        for key, value in context.items():
            if isinstance(value, str):
                action = action.replace(key, value)
        return action
    if isinstance(action, dict) and depth < 3:
        return {key: fill(value, context, depth + 1) for key, value in action.items()}
    return action


def world_context(env) -> dict[str, Any]:
    world = env.simulation.world
    stored = sorted(sku for sku, item in world.storage.items() if item.quantity > 0)
    in_machine = [s for s in world.slots if s.sku in stored and s.quantity > 0]
    assert len(stored) >= 2 and in_machine, "the setup script should leave goods in both places"
    slot = in_machine[0]
    other = next(sku for sku in stored if sku != slot.sku)
    unstored = next(sku for sku in world.products if sku not in stored)
    size = world.products[slot.sku].size
    wrong_row = next(s.row for s in world.slots if s.size != size) + 1
    account = next(iter(world.suppliers.values())).payment_account
    return {
        # longest keys first: "OTHER_STORED" and "UNSTORED" contain "STORED"
        "OTHER_STORED": other,
        "UNSTORED": unstored,
        "STORED_ROW": slot.row + 1,
        "STORED_COL": slot.col + 1,
        "STORED": slot.sku,
        "WRONG_ROW": wrong_row,
        "ACCOUNT": account,
        "BANK_PLUS_CENT": (world.balance(BANK) + 1) / 100,
    }


CHARS = string.printable + "\x00\x01\x1b\x7f\u00e9\u20ac\u4e2d\U0001f600\u202e\ufeff\udfff"


def random_text(rng: random.Random, max_len: int = 40) -> str:
    n = rng.choice([0, 1, 2, 5, max_len, rng.randint(0, max_len)])
    if rng.random() < 0.02:
        n = rng.choice([300, 25_000, 60_000])
    return "".join(rng.choice(CHARS) for _ in range(min(n, 300))) * max(1, n // 300)


def random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(12 if depth < 3 else 9)
    if kind == 0:
        return random_text(rng)
    if kind == 1:
        return rng.choice([0, -1, 1, 2, 7, 15, 10_000, 10_001, -(2**63), 2**63, 10**30])
    if kind == 2:
        return rng.choice([0.0, -0.0, 0.004, 0.005, 1.5, -2.5, 1e308, 1e-308, math.nan, math.inf])
    if kind == 3:
        return rng.choice([True, False])
    if kind == 4:
        return None
    if kind == 5:
        return rng.choice(["cola-can-12oz", "../x", "/", "INV-1", "bank", "owner", "ALL"])
    if kind in (6, 7, 8):
        return rng.uniform(-10, 50)
    if kind == 9:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {random_text(rng, 8): random_value(rng, depth + 1) for _ in range(rng.randrange(4))}


def hostile_action(rng: random.Random, env, context: dict[str, Any]) -> Any:
    roll = rng.random()
    if roll < 0.25:
        return fill(rng.choice(BAD_ACTIONS)[1], context)
    if roll < 0.55:  # a real tool, random arguments
        name = rng.choice(list(TOOLS))
        fields = [*TOOLS[name].model_fields, "extra", "sku", "amount"]
        arguments = {rng.choice(fields): random_value(rng) for _ in range(rng.randrange(5))}
        call = {"name": name, "arguments": arguments}
        return call if rng.random() < 0.5 else json.dumps(call, allow_nan=True, default=str)
    if roll < 0.7:  # a valid call, mangled as text
        valid = json.dumps(valid_action(rng, env))
        cut = rng.randrange(len(valid) + 1)
        mangled = valid[:cut] + rng.choice(["", "}", '"', "\\", ",", "\x00", "NaN"]) + valid[cut:]
        return mangled
    if roll < 0.85:
        return random_text(rng, 200)
    return random_value(rng)


def valid_action(rng: random.Random, env) -> dict[str, Any]:
    world = env.simulation.world
    stored = [sku for sku, item in world.storage.items() if item.quantity > 0]
    choice = rng.randrange(14)
    if choice == 0:
        supplier = rng.choice(list(world.suppliers.values()))
        skus = rng.sample(list(world.products), 2)
        body = rng.choice(
            [
                f"QUOTE: {skus[0]}, {skus[1]}",
                f"ORDER: {skus[0]} x 24, {skus[1]} x 12",
                f"OFFER: {skus[0]} x 24 @ 0.{rng.randrange(10, 99)}",
            ]
        )
        return tool("send_email", to=supplier.email, subject="Business", body=body)
    if choice == 1:
        invoices = [
            (order.supplier_id, order.invoice_number, order.total_cents)
            for order in world.orders_with_status("invoiced")
        ]
        if invoices:
            supplier_id, number, total = rng.choice(invoices)
            account = world.suppliers[supplier_id].payment_account
            amount = min(total, max(world.balance(BANK), 1)) / 100
            return tool("send_payment", to_account=account, amount=amount, memo=number)
        return tool("read_inbox", limit=50)
    if choice == 2 and stored:
        return tool("stock_machine", sku=rng.choice(stored), quantity=rng.randint(1, 20))
    if choice == 3:
        return tool(
            "set_price", sku=rng.choice(list(world.products)), price=rng.randint(50, 400) / 100
        )
    if choice == 4:
        return tool("collect_cash")
    if choice == 5:
        return tool("search_web", query=rng.choice(["soda", "snacks wholesale", "candy", "x"]))
    if choice == 6:
        return tool(
            "kv_set", key=f"k{rng.randrange(5)}", value=random_text(rng).replace("\x00", "")
        )
    if choice == 7:
        return tool("kv_delete", key=f"k{rng.randrange(5)}")
    if choice == 8:
        return tool(
            "write_file",
            path=f"notes/f{rng.randrange(5)}.md",
            content="note",
            mode=rng.choice(["append", "overwrite"]),
        )
    if choice == 9:
        return tool("memory_add", text=f"fact {rng.randrange(100)}")
    if choice == 10:
        return tool("memory_search", query="fact", limit=3)
    if choice == 11:
        return tool("scratchpad_write", text="plan", mode=rng.choice(["append", "replace"]))
    if choice == 12:
        return tool(rng.choice(["get_balance", "get_storage_inventory", "get_machine_inventory"]))
    return tool("read_inbox")


def fuzz_context(env) -> dict[str, Any]:
    """Placeholders for `BAD_ACTIONS` in a fuzz run, which does not set the world up (the
    skus need not be stored: the action is hostile either way)."""
    return {
        "OTHER_STORED": "cola-can-12oz",
        "UNSTORED": "diet-cola-can-12oz",
        "STORED_ROW": 1,
        "STORED_COL": 1,
        "STORED": "cola-can-12oz",
        "WRONG_ROW": 3,
        "ACCOUNT": next(iter(env.simulation.world.suppliers.values())).payment_account,
        "BANK_PLUS_CENT": 10_000.0,
    }
