"""Shared pytest fixtures for tycoon's tests."""

import contextlib
import os

import pytest

# --- PostgreSQL server (real, on loopback) ---
#
# `postgres_url` starts one throwaway PostgreSQL server per test session (see
# tests/pg_server.py) and yields its SQLAlchemy URL,
# postgresql+psycopg://tycoon@127.0.0.1:PORT/tycoon_test.  Without the server binaries the
# tests using it are skipped, unless TYCOON_REQUIRE_POSTGRES=1 (set by .ci/run), in which
# case they fail.  Self-contained: other fixtures can be added around this section.


@pytest.fixture(scope="session")
def postgres_url():
    try:  # tests/ on sys.path (rootdir conftest, no tests/__init__.py) ...
        from pg_server import PostgresUnavailable, running_postgres
    except ImportError:  # ... or tests/ imported as a package
        from tests.pg_server import PostgresUnavailable, running_postgres

    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(running_postgres())
        except PostgresUnavailable as exc:
            if os.environ.get("TYCOON_REQUIRE_POSTGRES") == "1":
                pytest.fail(f"{exc} (TYCOON_REQUIRE_POSTGRES=1)", pytrace=False)
            pytest.skip(str(exc))
        yield url


# --- end PostgreSQL server ---
