"""A real, throwaway PostgreSQL server on loopback, for tests.

``running_postgres()`` runs ``initdb`` into a fresh temporary directory, starts ``postgres``
on ``127.0.0.1`` at a free port (durability switched off: it is thrown away), creates the
database ``tycoon_test`` and yields a SQLAlchemy URL for it.  On exit it stops the server
and deletes the directory.

``initdb`` and ``postgres`` refuse to run as root.  As root, the temporary directory is
handed to an unprivileged user (``postgres``, which Debian's package creates, else
``nobody``) and both programs run as that user, with root's supplementary groups dropped.
The privilege drop is done by :class:`subprocess.Popen` itself (``user=``/``group=``,
the same as ``runuser -u USER --`` but without PAM or an intermediate process), so the
Popen child *is* the postmaster and can be signalled and waited for directly.

The binaries are looked up in ``$TYCOON_PG_BINDIR`` (if set), then next to ``initdb`` on
``PATH``, then in ``/usr/lib/postgresql/<version>/bin``, newest version first.  When none
is found :class:`PostgresUnavailable` is raised.

No pytest import here: ``tests/conftest.py`` wraps this in a fixture.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PgBinaries", "PostgresUnavailable", "find_pg_binaries", "running_postgres"]

SUPERUSER = "tycoon"
DATABASE = "tycoon_test"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0

UNAVAILABLE_MESSAGE = (
    "PostgreSQL server binaries not found: install Debian's postgresql package "
    "(apt-get install -y postgresql)"
)


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries (initdb, postgres) are not installed."""


@dataclass(frozen=True)
class PgBinaries:
    bindir: Path
    initdb: Path
    postgres: Path
    pg_ctl: Path | None
    pg_isready: Path | None
    createdb: Path | None


# --------------------------------------------------------------------------- binaries


def _version_key(bindir: str) -> tuple[int, ...]:
    # /usr/lib/postgresql/<version>/bin -> (15,) or (9, 6); unparsable versions sort last.
    name = Path(bindir).parent.name
    try:
        return tuple(int(part) for part in name.split("."))
    except ValueError:
        return (-1,)


def _candidate_bindirs() -> list[Path]:
    dirs: list[str] = []
    override = os.environ.get("TYCOON_PG_BINDIR")
    if override:
        dirs.append(override)
    on_path = shutil.which("initdb")
    if on_path:
        dirs.append(str(Path(on_path).resolve().parent))
    dirs.extend(sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True))
    seen: set[str] = set()
    unique: list[Path] = []
    for d in dirs:
        if d not in seen:
            seen.add(d)
            unique.append(Path(d))
    return unique


def _exe(bindir: Path, name: str) -> Path | None:
    path = bindir / name
    return path if path.is_file() and os.access(path, os.X_OK) else None


def find_pg_binaries() -> PgBinaries:
    """The first directory holding both ``initdb`` and ``postgres`` (never mixes versions)."""
    for bindir in _candidate_bindirs():
        initdb, postgres = _exe(bindir, "initdb"), _exe(bindir, "postgres")
        if initdb and postgres:
            return PgBinaries(
                bindir=bindir,
                initdb=initdb,
                postgres=postgres,
                pg_ctl=_exe(bindir, "pg_ctl"),
                pg_isready=_exe(bindir, "pg_isready") or _which_path("pg_isready"),
                createdb=_exe(bindir, "createdb") or _which_path("createdb"),
            )
    raise PostgresUnavailable(UNAVAILABLE_MESSAGE)


def _which_path(name: str) -> Path | None:
    found = shutil.which(name)
    return Path(found) if found else None


# --------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class _RunAs:
    """Who runs initdb/postgres: ``None`` fields mean "the current user, directly"."""

    name: str | None = None
    uid: int | None = None
    gid: int | None = None

    def popen_kwargs(self) -> dict:
        if self.uid is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


def _unprivileged_user() -> _RunAs:
    if os.geteuid() != 0:
        return _RunAs()
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return _RunAs(name=name, uid=entry.pw_uid, gid=entry.pw_gid)
    raise RuntimeError(
        "running as root, but neither a 'postgres' nor a 'nobody' user exists to run "
        "initdb/postgres as (they refuse to run as root)"
    )


def _traversable_by_others(path: Path) -> bool:
    # Every ancestor must grant o+x so the unprivileged user can reach the temp dir.
    for p in [path, *path.parents]:
        try:
            if not p.stat().st_mode & 0o001:
                return False
        except OSError:
            return False
    return True


def _make_tempdir(run_as: _RunAs) -> Path:
    base = Path(tempfile.gettempdir())
    # Unix socket paths are limited to ~107 bytes; the socket dir also has to be reachable
    # by the unprivileged user.  Fall back to /tmp when $TMPDIR doesn't allow that.
    if len(str(base)) > 60 or (run_as.uid is not None and not _traversable_by_others(base)):
        base = Path("/tmp")
    tmp = Path(tempfile.mkdtemp(prefix="tycoon-pg-", dir=base))
    if run_as.uid is not None:
        os.chown(tmp, run_as.uid, run_as.gid)
        os.chmod(tmp, 0o700)
    return tmp


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _child_env(tmp: Path) -> dict[str, str]:
    # Drop PG* variables (PGDATA, PGPORT, PGHOST, ...) that could point the tools elsewhere.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["HOME"] = str(tmp)
    return env


def _log_tail(log: Path, lines: int = 40) -> str:
    try:
        text = log.read_text(errors="replace")
    except OSError as exc:
        return f"(no server log: {exc})"
    tail = text.splitlines()[-lines:]
    return "\n".join(tail) if tail else "(server log is empty)"


def _parent_death_preexec():
    """A preexec_fn making the server get SIGQUIT (immediate shutdown) if we die.

    Linux only, best effort.  Popen runs preexec_fn *after* dropping privileges, which
    matters because a credential change clears the parent-death signal.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, int(signal.SIGQUIT), 0, 0, 0)

    return preexec


def _can_connect(port: int, bins: PgBinaries) -> bool:
    try:
        import psycopg
    except ImportError:
        psycopg = None
    if psycopg is not None:
        try:
            with psycopg.connect(
                host="127.0.0.1", port=port, user=SUPERUSER, dbname="postgres", connect_timeout=2
            ):
                return True
        except psycopg.Error:
            return False
    if bins.pg_isready is not None:
        result = subprocess.run(
            [str(bins.pg_isready), "-q", "-h", "127.0.0.1", "-p", str(port), "-U", SUPERUSER],
            capture_output=True,
            timeout=10,
            check=False,
        )
        return result.returncode == 0
    raise RuntimeError("cannot poll the PostgreSQL server: neither psycopg nor pg_isready found")


def _create_database(port: int, bins: PgBinaries, env: dict[str, str]) -> None:
    try:
        import psycopg
    except ImportError:
        psycopg = None
    if psycopg is not None:
        with psycopg.connect(
            host="127.0.0.1", port=port, user=SUPERUSER, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')
        return
    if bins.createdb is None:
        raise RuntimeError("cannot create the test database: neither psycopg nor createdb found")
    subprocess.run(
        [str(bins.createdb), "-h", "127.0.0.1", "-p", str(port), "-U", SUPERUSER, DATABASE],
        env=env,
        check=True,
        capture_output=True,
        timeout=30,
    )


class _ServerDied(RuntimeError):
    def __init__(self, message: str, bind_failed: bool) -> None:
        super().__init__(message)
        self.bind_failed = bind_failed


def _start_server(
    bins: PgBinaries, tmp: Path, run_as: _RunAs, env: dict[str, str], port: int, log: Path
) -> subprocess.Popen:
    datadir, sockdir = tmp / "data", tmp / "sock"
    args = [
        str(bins.postgres),
        "-D", str(datadir),
        "-k", str(sockdir),
        "-c", "listen_addresses=127.0.0.1",
        "-c", f"port={port}",
        "-c", "fsync=off",
        "-c", "synchronous_commit=off",
        "-c", "full_page_writes=off",
        "-c", "max_connections=200",
    ]  # fmt: skip
    with open(log, "ab") as logf:
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=logf,
            stderr=subprocess.STDOUT,
            cwd=tmp,
            env=env,
            start_new_session=True,  # Ctrl-C in the terminal goes to pytest, not the server
            preexec_fn=_parent_death_preexec(),
            **run_as.popen_kwargs(),
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        rc = proc.poll()
        if rc is not None:
            tail = _log_tail(log)
            raise _ServerDied(
                f"PostgreSQL server exited with status {rc} while starting "
                f"(port {port}, dir {tmp}). Server log tail:\n{tail}",
                bind_failed="could not bind" in tail or "could not create listen" in tail,
            )
        if _can_connect(port, bins):
            return proc
        if time.monotonic() > deadline:
            _stop_server(proc)
            raise RuntimeError(
                f"PostgreSQL server did not accept connections on 127.0.0.1:{port} within "
                f"{START_TIMEOUT_S:.0f} s (dir {tmp}). Server log tail:\n{_log_tail(log)}"
            )
        time.sleep(0.1)


def _stop_server(proc: subprocess.Popen) -> int | None:
    """Fast shutdown (SIGINT), then immediate (SIGQUIT), then SIGKILL. Returns exit status."""
    if proc.poll() is not None:
        # The postmaster is gone (crashed or killed); don't leave any backend behind.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        return proc.returncode
    for sig, wait_s in ((signal.SIGINT, STOP_TIMEOUT_S), (signal.SIGQUIT, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            return proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            continue
    # SIGKILL leaves backends behind; kill the whole process group (start_new_session).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    return proc.wait(timeout=10)


def _remove_tree(path: Path) -> None:
    for attempt in range(5):
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            return
        time.sleep(0.2 * (attempt + 1))
    warnings.warn(f"could not remove PostgreSQL temp dir {path}", RuntimeWarning, stacklevel=3)


# --------------------------------------------------------------------------- public API


@contextlib.contextmanager
def running_postgres() -> Iterator[str]:
    """Start a throwaway PostgreSQL server on 127.0.0.1; yield its SQLAlchemy URL.

    The URL is ``postgresql+psycopg://tycoon@127.0.0.1:PORT/tycoon_test`` (trust auth, no
    password).  Raises :class:`PostgresUnavailable` when the server binaries are missing,
    ``RuntimeError`` (with the server log tail) when the server fails to start.
    """
    bins = find_pg_binaries()
    run_as = _unprivileged_user()
    tmp = _make_tempdir(run_as)
    proc: subprocess.Popen | None = None
    try:
        env = _child_env(tmp)
        (tmp / "sock").mkdir()
        if run_as.uid is not None:
            os.chown(tmp / "sock", run_as.uid, run_as.gid)
        log = tmp / "server.log"

        initdb_args = [
            str(bins.initdb),
            "-D", str(tmp / "data"),
            "--auth=trust",
            "-U", SUPERUSER,
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ]  # fmt: skip
        initdb = subprocess.run(
            initdb_args,
            cwd=tmp,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            **run_as.popen_kwargs(),
        )
        if initdb.returncode != 0:
            raise RuntimeError(
                f"initdb failed with status {initdb.returncode} ({bins.initdb}, "
                f"run as {run_as.name or 'current user'}):\n{initdb.stdout}\n{initdb.stderr}"
            )

        # The port is chosen by binding port 0 and released before postgres binds it, so
        # another process can grab it in between: retry a few times on a bind failure.
        for attempt in range(3):
            port = _free_loopback_port()
            try:
                proc = _start_server(bins, tmp, run_as, env, port, log)
                break
            except _ServerDied as exc:
                if not exc.bind_failed or attempt == 2:
                    raise RuntimeError(str(exc)) from None

        _create_database(port, bins, env)
        yield f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{port}/{DATABASE}"

        if proc is not None and proc.poll() is not None:
            warnings.warn(
                f"the PostgreSQL test server died during the session (status "
                f"{proc.returncode}). Server log tail:\n{_log_tail(log)}",
                RuntimeWarning,
                stacklevel=3,
            )
    finally:
        try:
            if proc is not None:
                _stop_server(proc)
        finally:
            _remove_tree(tmp)


if __name__ == "__main__":  # manual check: python tests/pg_server.py
    with running_postgres() as url:
        print(url)
