"""The supplier desk's answers to thousands of seeded emails are the ones it gave before
its hot path was trimmed (session 6): parsed requests, decisions (with the fields each
set), reply texts and the negotiation state carried from email to email are digested,
and the digest was taken with the code as it was (main at 9663aa7).

The emails mix the documented format with what agents get wrong: unknown skus, bad
quantities and prices, mixed kinds, list bodies, quoted text, the subject fallback,
too many items. A change to any answer, draw or problem message changes the digest.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from tycoon.envs.vending.catalog import CATALOG
from tycoon.envs.vending.supplier_protocol import parse_supplier_request
from tycoon.envs.vending.supplier_replies import NegotiationState, respond_to_request
from tycoon.envs.vending.suppliers import SupplierProfile, generate_directory

# sha256 of the canonical JSON of every (request, decision) below, on main at 9663aa7
DIGESTS = {
    1: "f2a53225efa22a041ea0e70f5d60d6dc67e1c89d0ea95260ad1df958d3b37a7f",
    2: "e4d04cbc52daddf055c52b1b9cdca15ac29f2c5bfa69eeb525a79a805c48dddf",
}
EMAILS_PER_SEED = 1500

_QUANTITIES = ["12", "48", "0", "-3", "10001", "1e3", "two", "007", "+5", "9999", ""]
_PRICES = ["0.55", "$1.20", "2", "0.555", "-1", "0", "1000.01", "abc", ".5", "$ 3.10", ""]
_SEPARATORS = [", ", "; ", ",", " , "]
_TIMES = [" x ", "x", " X ", "*", " × ", " x", "  "]


def _sku(rng: np.random.Generator, profile: SupplierProfile) -> str:
    roll = rng.random()
    if roll < 0.9 and profile.skus:
        sku = profile.skus[int(rng.integers(len(profile.skus)))]
        return sku.lower() if rng.random() < 0.2 else sku
    return ["NOPE-1", "12", "bad sku!", "A" * 50, "x", "BOX-1x10"][int(rng.integers(6))]


def _item(rng: np.random.Generator, profile: SupplierProfile, keyword: str) -> str:
    sku = _sku(rng, profile)
    pick = lambda options: options[int(rng.integers(len(options)))]  # noqa: E731
    quantity = str(int(rng.integers(1, 300))) if rng.random() < 0.8 else pick(_QUANTITIES)
    item = sku if not quantity or rng.random() < 0.1 else f"{sku}{pick(_TIMES)}{quantity}"
    if keyword == "OFFER" or rng.random() < 0.05:
        cents = int(rng.integers(1, 2000))
        price = f"{cents / 100:.2f}" if rng.random() < 0.75 else pick(_PRICES)
        if price or rng.random() < 0.5:
            item += f" @ {price}"
    return item


def random_email(rng: np.random.Generator, profile: SupplierProfile) -> tuple[str, str]:
    keyword = ["QUOTE", "ORDER", "OFFER", "ORDER", "OFFER"][int(rng.integers(5))]
    written = keyword if rng.random() < 0.8 else keyword.lower()
    count = int(rng.integers(0, 4)) if rng.random() < 0.97 else 55
    items = [_item(rng, profile, keyword) for _ in range(count)]
    separator = _SEPARATORS[int(rng.integers(len(_SEPARATORS)))]
    shape = rng.random()
    if shape < 0.5:
        body = f"{written}: {separator.join(items)}"
    elif shape < 0.65:
        body = f"Hi,\n\n{written}:\n" + "\n".join(f"- {item}" for item in items) + "\n\nThanks"
    elif shape < 0.75:
        body = f"> {written}: OLD x 1\n{written}: {separator.join(items)}\n-- \nBob"
    elif shape < 0.82:
        other = ["QUOTE", "ORDER", "OFFER"][int(rng.integers(3))]
        body = f"{written}: {separator.join(items)}\n{other}: {separator.join(items[:1])}"
    elif shape < 0.9:
        return f"Re: {written}: {separator.join(items)}", "Please see the subject."
    elif shape < 0.95:
        body = f"{written}: ALL" if keyword == "QUOTE" else "Hello, what do you sell?"
    else:
        body = f"{written}: {separator.join(items)}\n----- Original Message -----\nORDER: X x 1"
    return "Request", body


def answers_digest(seed: int) -> str:
    rng = np.random.default_rng(seed)
    directory = generate_directory(np.random.default_rng(seed), CATALOG, 365)
    states = {profile.supplier_id: NegotiationState() for profile in directory}
    digest = hashlib.sha256()
    for number in range(EMAILS_PER_SEED):
        profile = directory[int(rng.integers(len(directory)))]
        subject, body = random_email(rng, profile)
        request = parse_supplier_request(subject, body)
        state = states[profile.supplier_id]
        decision = respond_to_request(
            profile, request, state, np.random.default_rng([seed, number]), f"INV-{number:06d}"
        )
        states[profile.supplier_id] = decision.new_state
        record = {
            "request": request.model_dump(mode="json"),
            "decision": decision.model_dump(mode="json"),
            "set": sorted(decision.model_fields_set),
        }
        digest.update(json.dumps(record, sort_keys=True).encode())
    return digest.hexdigest()


@pytest.mark.parametrize("seed", sorted(DIGESTS))
def test_the_desk_answers_seeded_emails_as_before(seed: int) -> None:
    assert answers_digest(seed) == DIGESTS[seed]
