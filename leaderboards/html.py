"""The page shell shared by the leaderboard and the episode viewer: one self-contained
HTML file per page (CSS and JS inline, data as inline JSON), nothing loaded from
anywhere, so pages open from file:// and work offline."""

from __future__ import annotations

import json
from functools import cache
from html import escape
from pathlib import Path
from typing import Any

ASSETS = Path(__file__).with_name("assets")


@cache
def asset(name: str) -> str:
    return (ASSETS / name).read_text()


def json_block(element_id: str, data: Any) -> str:
    """Data for the page's script; `</` is escaped so no string can end the block."""
    text = json.dumps(data, separators=(",", ":"), default=str).replace("</", "<\\/")
    return f'<script type="application/json" id="{escape(element_id)}">{text}</script>'


def page(title: str, header: str, body: str, *, scripts: tuple[str, ...] = ()) -> str:
    inline = "".join(f"<script>{asset(name)}</script>" for name in scripts)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # no request may leave the page: block everything but inline code and data URIs
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
        f"<title>{escape(title)}</title><style>{asset('style.css')}</style></head>"
        f'<body><header class="top">{header}</header><main>{body}</main>{inline}</body></html>\n'
    )
