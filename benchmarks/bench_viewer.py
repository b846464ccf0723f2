"""How long the leaderboard and the episode viewer take to build and to open.

Runs a full-year VendingYear-v0 baseline episode (about 3,300 steps) through
`tycoon eval vb2 --seeds 0` into a temporary SQLite file (or uses --db), then prints:
the time to compute the leaderboard rows, to write the whole site, the size of the
biggest episode page, and, with Debian's chromium, the time until the episode page has
rendered its first page of the transcript (load event to the first step in the DOM).

    python benchmarks/bench_viewer.py
    python benchmarks/bench_viewer.py --db runs/tycoon.db --no-browser
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tycoon.envs.world.store import WorldStore
from tycoon.leaderboards.scores import leaderboard_rows
from tycoon.leaderboards.site import write_site


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=None, help="an existing database of eval runs")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium timing")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tycoon-bench-viewer-"))
    try:
        db = args.db or str(work / "year.db")
        if args.db is None:
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "tycoon.cli", "eval", "vb2", "--agent", "baseline",
                 "--seeds", "0", "--db", db, "--no-progress"],
                check=True, capture_output=True,
            )  # fmt: skip
            print(f"eval vb2 baseline, 1 seed (365 days): {time.perf_counter() - started:.1f} s")
        store = WorldStore(db)
        started = time.perf_counter()
        rows = leaderboard_rows(store)
        episodes = sum(len(r.episode_records) for r in rows)
        print(f"leaderboard rows: {time.perf_counter() - started:.2f} s "
              f"({len(rows)} runs, {episodes} episodes)")  # fmt: skip
        started = time.perf_counter()
        index = write_site(store, rows, work / "site")
        seconds = time.perf_counter() - started
        pages = sorted((work / "site" / "episodes").glob("*.html"), key=lambda p: p.stat().st_size)
        print(f"site written: {seconds:.2f} s ({seconds / max(episodes, 1) * 1000:.0f} ms per "
              f"episode page); index {index.stat().st_size / 1e3:.0f} kB")  # fmt: skip
        store.dispose()
        if pages:
            biggest = pages[-1]
            print(f"biggest episode page: {biggest.name}, {biggest.stat().st_size / 1e6:.1f} MB")
            if not args.no_browser:
                _browser_timing(biggest)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _browser_timing(page_path: Path) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        print("chromium: not installed (apt-get install chromium); browser timing skipped")
        return
    from playwright.sync_api import sync_playwright

    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
    profile = tempfile.mkdtemp(prefix="tycoon-chromium-")
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile, executable_path=chromium, headless=True, args=flags
            )
            page = context.new_page()
            for attempt in range(3):
                started = time.perf_counter()
                page.goto(page_path.resolve().as_uri(), wait_until="load")
                page.wait_for_selector("#transcript .step")
                opened = time.perf_counter() - started
                steps = page.locator("#transcript .step").count()
                started = time.perf_counter()
                page.locator("#next").click()
                page.wait_for_selector("#step-101")
                paged = time.perf_counter() - started
                print(f"chromium, run {attempt + 1}: page open to first transcript page "
                      f"{opened * 1000:.0f} ms ({steps} steps in the DOM); next page "
                      f"{paged * 1000:.0f} ms")  # fmt: skip
            context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
