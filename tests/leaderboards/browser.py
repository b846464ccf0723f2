"""A real headless Chromium (Debian's `chromium`) driven through Playwright.

Every page is opened from file:// in a fresh profile; console messages, page errors and
every request the page makes are recorded, so tests can assert that nothing failed and
nothing was fetched (a file:// page loads no subresource: CSS, JS and data are inline).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


def chromium_path() -> str:
    path = shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None)
    if path is None:
        pytest.fail("Debian's chromium is needed for the browser tests (apt-get install chromium)")
    return path


@dataclass
class OpenedPage:
    page: Any
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def external_requests(self, own: str) -> list[str]:
        """Requests other than for the page's own file."""
        return [url for url in self.requests if url != own]

    def screenshot(self, name: str, *, selector: str | None = None) -> Path:
        """The viewport (or one element) as tests/artifacts/NAME.png, for people to look at."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        if selector is None:
            self.page.screenshot(path=str(path))
        else:
            self.page.locator(selector).first.screenshot(path=str(path))
        return path


class Browser:
    def __init__(self, browser: Any) -> None:
        self.browser = browser

    @contextlib.contextmanager
    def open(self, path: Path, *, width: int = 1400, height: int = 900) -> Iterator[OpenedPage]:
        context = self.browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        opened = OpenedPage(page)
        page.on(
            "console",
            lambda m: (
                opened.console_errors.append(m.text) if m.type in ("error", "warning") else None
            ),
        )
        page.on("pageerror", lambda e: opened.page_errors.append(str(e)))
        page.on("request", lambda r: opened.requests.append(r.url))
        page.goto(path.resolve().as_uri(), wait_until="load")
        try:
            yield opened
        finally:
            context.close()


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="tycoon-chromium-")
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile, executable_path=chromium_path(), headless=True, args=FLAGS
            )
            try:
                yield Browser(_PersistentBrowser(context))
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


class _PersistentBrowser:
    """new_context() over one persistent (fresh-profile) context: pages share it."""

    def __init__(self, context: Any) -> None:
        self.context = context

    def new_context(self, viewport: dict[str, int]) -> Any:
        return _PageContext(self.context, viewport)


class _PageContext:
    def __init__(self, context: Any, viewport: dict[str, int]) -> None:
        self.context, self.viewport, self.pages = context, viewport, []

    def new_page(self) -> Any:
        page = self.context.new_page()
        page.set_viewport_size(self.viewport)
        self.pages.append(page)
        return page

    def close(self) -> None:
        for page in self.pages:
            page.close()
