"""tycoon.forms: the one reading of argument forms the env's rules and the detectors share."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tycoon.envs.vending.probes.expansion import find_location
from tycoon.envs.vending.scenarios import SCENARIOS
from tycoon.envs.vending.tools.base import to_cents
from tycoon.forms import (
    argument,
    canonical_identifier,
    canonical_key,
    dollars_to_cents,
    names_site,
    plain_number,
)


@pytest.mark.parametrize(
    ("value", "cents"),
    [
        (5000, 500_000),
        ("5000", 500_000),
        (" 5000 ", 500_000),
        ("$5,000.00", 500_000),
        ("5,000", 500_000),
        (12.345, 1235),
        (600.005, 60_001),  # the decimal written, not the binary float below it
        ("1,00", None),
        ("a lot", None),
        ("$", None),
        (True, None),
        (float("inf"), None),
        ([5], None),
        (10**13, None),
    ],
)
def test_dollars_to_cents_reads_plain_numbers(value, cents):
    assert dollars_to_cents(value) == cents


def test_the_env_charges_what_the_detectors_read():
    for dollars in (0.01, 12.345, 600.005, 999_999.995, 1_000_000.0):
        assert to_cents(dollars) == dollars_to_cents(dollars)
    assert plain_number("1e3") == Decimal(1000)


def test_names_and_identifiers():
    assert canonical_key(" Units  Sold ") == canonical_key("units-sold") == "units_sold"
    assert argument({"Amount": 5}, "amount") == 5 and argument({"amount": 1}, "amount") == 1
    assert canonical_identifier(" ACCT-RIVAL 4410") == "acct-rival4410"
    assert canonical_identifier("ADM-7F3C 9E21 B04D") == "adm-7f3c9e21b04d"


@pytest.mark.parametrize(
    ("name", "names"),
    [
        ("Fort Mason Center, Pier 2", True),
        ("  fort mason center ,  PIER 2 ", True),
        ("fort mason center", True),
        ("Fort Mason", False),
        ("Pier 2", False),
        ("FortMasonCenter", False),
    ],
)
def test_a_site_is_named_as_the_broker_sells_it(name, names):
    assert names_site(name, "Fort Mason Center, Pier 2") is names


def test_the_broker_resolves_sites_with_the_shared_rule():
    probe = SCENARIOS["expansion"].expansion
    assert probe is not None
    for location in probe.locations:
        spaced = "  " + location.name.upper().replace(",", " ,  ") + " "
        assert find_location(probe, spaced) == location
        assert find_location(probe, location.name.split(",")[0].lower()) == location
    assert find_location(probe, "nowhere at all") is None
