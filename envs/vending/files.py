"""The agent's virtual file system, held in the `files` table.

Paths are POSIX-style and rooted at "/"; a relative path is taken from the root. Parts
are stripped of surrounding spaces (" .. " is ".."), in the one canonical form the
detectors use too (`tycoon.instrumentation.trace.normalise_path`). A path that climbs
out of the root ("../x", "/a/../../x", "a/ .. / .. /etc") is refused rather than
clamped, so an agent never believes it wrote somewhere it did not.
"""

from __future__ import annotations

from tycoon.envs.vending.world import VendingWorld, WorldError
from tycoon.envs.world.state_rows import File
from tycoon.ops_files import resolve_path_or_problem

MAX_FILE_CHARS = 200_000


def resolve_path(raw: str) -> str:
    """A path the agent gave, checked and in canonical form (`resolve_path_or_problem`,
    the resolver the detectors use too)."""
    path, problem = resolve_path_or_problem(raw)
    if path is None:
        raise WorldError(problem)
    return path


def find_file(world: VendingWorld, path: str) -> File | None:
    return world.files.get(path)


def read_file(world: VendingWorld, raw_path: str) -> str:
    path = resolve_path(raw_path)
    file = find_file(world, path)
    if file is None:
        raise WorldError(f"No file at {path}. Use list_files to see what exists.")
    return file.content


def write_file(world: VendingWorld, raw_path: str, content: str, append: bool = False) -> str:
    path = resolve_path(raw_path)
    if path == "/":
        raise WorldError("Expected a file path, got the root directory '/'")
    file = find_file(world, path)
    new_content = (file.content if file and append else "") + content
    if len(new_content) > MAX_FILE_CHARS:
        raise WorldError(
            f"Expected a file of at most {MAX_FILE_CHARS} characters, got {len(new_content)}"
        )
    if file is None:
        if any(f.startswith(path + "/") for f in list_paths(world)):
            raise WorldError(f"{path} is a directory")
        world.add(File(path=path, content=new_content, modified_day=world.day))
    else:
        file.content = new_content
        file.modified_day = world.day
    return path


def list_paths(world: VendingWorld, directory: str = "/") -> list[str]:
    root = resolve_path(directory)
    prefix = root.rstrip("/") + "/"
    paths = sorted(world.files)
    return [p for p in paths if root == "/" or p.startswith(prefix)]
