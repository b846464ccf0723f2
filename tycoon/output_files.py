"""Files the commands write (`--out`, `--html`): checked before any work starts, and
written whole or not at all.

A command's output path is checked when its flags are parsed (`output_problem`), so a
path that cannot be written is refused before an episode runs rather than after. A
missing parent directory is created when the file is written, as `tycoon run` always
did. Each file is written to a temporary file beside it and renamed over the target
(`replaced_on_success`), so a failure or a kill mid-write leaves the old file, or none,
never half of one; the temporary file a SIGKILLed writer left is removed by the next
write in that directory on the same machine. `-` is standard output for every such flag
that writes one text (`STDOUT`); the command's own text report then goes to standard
error (`report_stream`), so that standard output holds the file's content alone.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TypeVar

T = TypeVar("T")

STDOUT = "-"  # an output flag's value that means standard output


def output_problem(text: str, *, directory: bool = False) -> str | None:
    """Why `text` cannot be written as an output file (or, with `directory`, as a
    directory to write files in); None when it can. Nothing is left behind: the check
    creates no directory, and its probe file is removed at once."""
    if not text.strip():
        return "an empty path"
    if "\0" in text:
        return "a path with a NUL character"
    try:
        return _path_problem(Path(text), directory=directory)
    except OSError as exc:  # a name too long, a loop of symbolic links
        return f"{exc.strerror or exc}".lower()


def _path_problem(path: Path, *, directory: bool) -> str | None:
    text = str(path)
    if directory and path.exists() and not path.is_dir():
        return f"{text} is a file, not a directory"
    if not directory and path.is_dir():
        return f"{text} is a directory, not a file"
    existing = path if directory else path.parent
    while not existing.is_dir():
        if existing.exists() or existing.is_symlink():
            return f"{existing} is a file, not a directory"
        if existing.parent == existing:  # the working directory was removed
            return f"{existing} does not exist"
        existing = existing.parent
    return _unwritable(existing)


def _unwritable(directory: Path) -> str | None:
    """Why no file can be created in `directory`, found by creating (and removing) one:
    permissions, a read-only file system and pseudo file systems all answer the same."""
    probe = directory / _temporary_name()
    try:
        os.close(os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except OSError as exc:
        return f"cannot create a file in {directory} ({exc.strerror or exc})"
    probe.unlink(missing_ok=True)
    return None


def _temporary_name() -> str:
    return f".tycoon-{_HOST}-{os.getpid()}-{secrets.token_hex(4)}.partial"


def _host_in_a_name(host: str) -> str:
    """This machine's name as a file name may hold it (and the pattern reads it back)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", host)[:64] or "_"


# the writer's machine is in the name: a folder shared between machines (NFS) holds
# other machines' writers' files, whose process ids mean nothing here
_HOST = _host_in_a_name(socket.gethostname())
# .tycoon-HOST-PID-HEX.partial; without HOST, as tycoon wrote them before it named hosts
_PARTIAL = re.compile(r"\.tycoon-(?:(?P<host>[A-Za-z0-9._-]+)-)?(?P<pid>\d+)-[0-9a-f]{8}\.partial")


def _remove_stale_partials(directory: Path) -> None:
    """Remove the temporary files that killed writers of this machine left in
    `directory` (a SIGKILL skips every cleanup): those whose process is gone. A live
    writer's are kept, and so is every other machine's (its pid says nothing here). A
    name without a host is an earlier tycoon's, judged here as it always was."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        match = _PARTIAL.fullmatch(name)
        if match is None or match["host"] not in (None, _HOST):
            continue
        if not _process_alive(int(match["pid"])):
            (directory / name).unlink(missing_ok=True)


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # alive, another user's
        return True
    return True


@contextmanager
def replaced_on_success(path: str | Path) -> Iterator[Path]:
    """A temporary path beside `path` to write; renamed over `path` when the block ends
    without an error, removed when it fails. Creates the missing parent directories."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(target.parent)
    temporary = target.parent / _temporary_name()
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def write_atomically(path: str | Path, write: Callable[[IO[str]], T]) -> T:
    """Call `write` with an open text file whose content replaces `path` only when
    `write` returns; returns what `write` returned."""
    with (
        replaced_on_success(path) as temporary,
        temporary.open("x", encoding="utf-8", newline="") as handle,
    ):
        return write(handle)


def write_text_atomically(path: str | Path, text: str) -> Path:
    """Replace `path`'s content with `text` (whole or not at all); returns the path."""
    write_atomically(path, lambda handle: handle.write(text))
    return Path(path)


def write_output(path: str | Path, text: str) -> None:
    """Write `text` to an output flag's file (whole or not at all), or to standard output
    when the flag is `-`."""
    if str(path) == STDOUT:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        write_text_atomically(path, text)


def report_stream(out: str | None) -> IO[str]:
    """Where a command prints its text report: standard error when its output file is
    standard output (so that stays machine-readable), else standard output."""
    return sys.stderr if out == STDOUT else sys.stdout
