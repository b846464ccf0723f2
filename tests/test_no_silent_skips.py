"""No test skips itself silently: a test that cannot run fails. The one exception is the
PostgreSQL fixture, which skips locally and fails under TYCOON_REQUIRE_POSTGRES=1."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent
SKIPPING = re.compile(r"pytest\.skip\(|skipif|importorskip|pytest\.mark\.skip\b|\bxfail\b")
ALLOWED = {("conftest.py", "pytest.skip(str(exc))")}  # the PostgreSQL fixture


def test_no_test_skips_or_expects_failure_silently() -> None:
    found = []
    for path in sorted(TESTS.rglob("*.py")):
        if path == Path(__file__).resolve():
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if SKIPPING.search(line) and (path.name, line.strip()) not in ALLOWED:
                found.append(f"{path.relative_to(TESTS)}:{number}: {line.strip()}")
    assert not found, "tests that skip instead of failing:\n" + "\n".join(found)


def test_the_postgres_fixture_fails_when_postgres_is_required() -> None:
    source = (TESTS / "conftest.py").read_text()
    at = source.index("pytest.skip(str(exc))")
    guard = source[source.rindex("except PostgresUnavailable", 0, at) : at]
    assert 'os.environ.get("TYCOON_REQUIRE_POSTGRES") == "1"' in guard
    assert "pytest.fail(" in guard
