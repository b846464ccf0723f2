"""SIGKILL at random instants, then `--resume`: the run ends as if never interrupted.

Each case (Classic, a short Year, Probes with the permissions probe and a credential-using
agent, a two-seat arena) runs once left alone, then again under each durability, killed
at seeded random instants (during reset, mid-step, mid-night, amid a day's uncommitted
steps), resumed after each kill and finished by a last resume. It must end in the
uninterrupted run's state hash (an arena: the market's) with the same step rows (count,
tools, validity, rewards) and behaviour events (tests/kill_soak.py; many more kills:
benchmarks/soak_kills.py).
"""

from __future__ import annotations

import pytest
from kill_soak import CASES, CASES_BY_NAME, Reference, SoakCase, soak_case, uninterrupted

KILLS = 2  # per run; the soak in benchmarks/ tries many more
SEED = 0

# PostgreSQL: each durability once, and the arena
ON_POSTGRES = [("classic", "step"), ("year", "day"), ("probes", "episode"), ("arena", "step")]

_references: dict[tuple[str, str], Reference] = {}


def _reference(db: str, case: SoakCase) -> Reference:
    """The uninterrupted run, once per database and case."""
    key = (db, case.name)
    if key not in _references:
        _references[key] = uninterrupted(db, case)
    return _references[key]


@pytest.fixture(scope="module")
def sqlite_db(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("soak") / "soak.db")


def _assert_resumes_exactly(db: str, case: SoakCase, durability: str) -> None:
    soak = soak_case(db, case, durability, KILLS, SEED, _reference(db, case))
    assert soak.differences == [], f"{case.name}/{durability}: {soak.attempts}"


@pytest.mark.parametrize(
    ("name", "durability"),
    [(case.name, durability) for case in CASES for durability in case.durabilities],
)
def test_a_run_killed_at_random_instants_resumes_exactly_on_sqlite(name, durability, sqlite_db):
    _assert_resumes_exactly(sqlite_db, CASES_BY_NAME[name], durability)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize(("name", "durability"), ON_POSTGRES)
def test_a_run_killed_at_random_instants_resumes_exactly_on_postgres(
    name, durability, postgres_url
):
    _assert_resumes_exactly(postgres_url, CASES_BY_NAME[name], durability)


def test_the_soak_sees_a_run_that_does_not_end_as_left_alone(sqlite_db):
    """The comparison can fail: a run of another seed differs in hash and step rows."""
    case = CASES_BY_NAME["classic"]
    other = SoakCase("classic", case.flags.replace("--seed 1", "--seed 2"))
    found = uninterrupted(sqlite_db, other).ending.differences(_reference(sqlite_db, case).ending)
    assert found[0].startswith("state hash ")
    assert any(line.startswith("episode 0: ") for line in found)
