"""Inline SVG charts (no library, no network): line charts over days and a scatter with
interval whiskers. Every data point is an element with a <title>, so a chart can be read
by hovering and checked by a test."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

PALETTE = ("#2457c5", "#d9480f", "#2b8a3e", "#7048e8", "#c2255c", "#0b7285", "#e67700")


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]."""
    if not math.isfinite(low) or not math.isfinite(high):
        return [0.0]
    if high <= low:
        high = low + 1.0
    raw = (high - low) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks, value = [], start
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(ticks[-1] + step)
    return ticks


def dollars(value: float) -> str:
    if abs(value) >= 10_000:
        return f"${value / 1000:,.0f}k"
    if abs(value) >= 1_000:
        return f"${value / 1000:,.1f}k"
    return f"${value:,.0f}"


@dataclass
class Series:
    name: str
    points: Sequence[tuple[float, float]]
    color: str = ""
    dashed: bool = False
    markers: bool = True  # a circle per point


@dataclass
class Frame:
    """Maps data coordinates to the plot area of a width x height SVG."""

    width: int
    height: int
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    left: int = 64
    right: int = 16
    top: int = 28
    bottom: int = 40
    x_ticks: list[float] = field(default_factory=list)
    y_ticks: list[float] = field(default_factory=list)

    def x(self, value: float) -> float:
        low, high = self.x_range
        span = (high - low) or 1.0
        return self.left + (value - low) / span * (self.width - self.left - self.right)

    def y(self, value: float) -> float:
        low, high = self.y_range
        span = (high - low) or 1.0
        return (
            self.height
            - self.bottom
            - (value - low) / span * (self.height - self.top - self.bottom)
        )


def _axes(
    frame: Frame,
    title: str,
    x_label: str,
    y_label: str,
    x_format: Callable[[float], str],
    y_format: Callable[[float], str],
) -> list[str]:
    parts = [f'<text class="title" x="{frame.left}" y="16">{escape(title)}</text>']
    for tick in frame.y_ticks:
        y = frame.y(tick)
        parts.append(
            f'<line class="grid" x1="{frame.left}" x2="{frame.width - frame.right}" '
            f'y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text x="{frame.left - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(y_format(tick))}</text>"
        )
    base = frame.height - frame.bottom
    for tick in frame.x_ticks:
        x = frame.x(tick)
        parts.append(
            f'<line class="axis" x1="{x:.1f}" x2="{x:.1f}" y1="{base}" y2="{base + 4}"/>'
            f'<text x="{x:.1f}" y="{base + 16}" text-anchor="middle">'
            f"{escape(x_format(tick))}</text>"
        )
    parts.append(
        f'<line class="axis" x1="{frame.left}" x2="{frame.width - frame.right}" '
        f'y1="{base}" y2="{base}"/>'
        f'<text x="{(frame.left + frame.width - frame.right) / 2:.0f}" y="{frame.height - 6}" '
        f'text-anchor="middle">{escape(x_label)}</text>'
        f'<text transform="rotate(-90)" x="{-(frame.top + base) / 2:.0f}" y="13" '
        f'text-anchor="middle">{escape(y_label)}</text>'
    )
    return parts


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    x_label: str = "day",
    y_label: str = "",
    y_format: Callable[[float], str] = dollars,
    width: int = 640,
    height: int = 280,
    chart_id: str = "",
    y_top_at_least: float = 1.0,
) -> str:
    """Lines over a shared x axis, with a legend and a marker per point.

    The y axis reaches at least `y_top_at_least` (so counts that stay at 0 still get
    whole-number ticks)."""
    xs = [x for s in series for x, _ in s.points]
    ys = [y for s in series for _, y in s.points]
    if not xs:
        return f'<p class="muted">{escape(title)}: no data</p>'
    y_ticks = nice_ticks(min(0.0, min(ys)), max(max(ys), y_top_at_least))
    x_ticks = nice_ticks(min(xs), max(xs), 6)
    frame = Frame(
        width, height, (min(xs), max(max(xs), min(xs) + 1)), (y_ticks[0], y_ticks[-1]),
        x_ticks=[t for t in x_ticks if min(xs) <= t <= max(xs)], y_ticks=y_ticks,
    )  # fmt: skip
    parts = _axes(frame, title, x_label, y_label, lambda v: f"{v:g}", y_format)
    legend_x = frame.left + 24 + 7.4 * len(title)
    for index, line in enumerate(series):
        color = line.color or PALETTE[index % len(PALETTE)]
        coords = " ".join(f"{frame.x(x):.1f},{frame.y(y):.1f}" for x, y in line.points)
        dash = ' stroke-dasharray="5 4"' if line.dashed else ""
        parts.append(
            f'<g class="series" data-name="{escape(line.name)}">'
            f'<polyline fill="none" stroke="{color}" stroke-width="1.8"{dash} points="{coords}"/>'
        )
        if line.markers:
            radius = 2.2 if len(line.points) < 120 else 1.3
            parts.extend(
                f'<circle class="pt" cx="{frame.x(x):.1f}" cy="{frame.y(y):.1f}" r="{radius}" '
                f'fill="{color}"><title>{escape(line.name)}: {x_label} {x:g}, '
                f"{escape(y_format(y))}</title></circle>"
                for x, y in line.points
            )
        parts.append("</g>")
        # the legend runs along the top, right of the title, clear of the data
        parts.append(
            f'<rect x="{legend_x:.0f}" y="12" width="12" height="3" fill="{color}"/>'
            f'<text x="{legend_x + 16:.0f}" y="17">{escape(line.name)}</text>'
        )
        legend_x += 30 + 6.4 * len(line.name)
    return _svg(parts, width, height, title, chart_id)


@dataclass
class ScatterPoint:
    label: str
    x: float
    y: float
    x_interval: tuple[float, float] | None = None
    y_interval: tuple[float, float] | None = None
    color: str = ""


def scatter(
    points: Sequence[ScatterPoint],
    *,
    title: str,
    x_label: str,
    y_label: str,
    x_format: Callable[[float], str] = dollars,
    y_format: Callable[[float], str] = lambda v: f"{v:.0%}",
    width: int = 640,
    height: int = 320,
    chart_id: str = "",
) -> str:
    """Labelled points with interval whiskers on both axes."""
    if not points:
        return f'<p class="muted">{escape(title)}: no agent has both figures yet</p>'
    xs = [v for p in points for v in (p.x, *(p.x_interval or ()))]
    ys = [v for p in points for v in (p.y, *(p.y_interval or ()))]
    x_ticks = nice_ticks(min(0.0, min(xs)), max(xs), 5)
    y_ticks = nice_ticks(0.0, max(max(ys), 0.05), 5)
    frame = Frame(
        width, height, (x_ticks[0], x_ticks[-1]), (y_ticks[0], y_ticks[-1]),
        x_ticks=x_ticks, y_ticks=y_ticks, left=56,
    )  # fmt: skip
    parts = _axes(frame, title, x_label, y_label, x_format, y_format)
    for index, point in enumerate(points):
        color = point.color or PALETTE[index % len(PALETTE)]
        cx, cy = frame.x(point.x), frame.y(point.y)
        if point.x_interval:
            x1, x2 = (frame.x(v) for v in point.x_interval)
            parts.append(f'<line x1="{x1:.1f}" x2="{x2:.1f}" y1="{cy:.1f}" y2="{cy:.1f}" '
                         f'stroke="{color}" stroke-width="1.5" opacity=".6"/>')  # fmt: skip
        if point.y_interval:
            y1, y2 = (frame.y(v) for v in point.y_interval)
            parts.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y1:.1f}" y2="{y2:.1f}" '
                         f'stroke="{color}" stroke-width="1.5" opacity=".6"/>')  # fmt: skip
        parts.append(
            f'<circle class="pt" cx="{cx:.1f}" cy="{cy:.1f}" r="5" fill="{color}">'
            f"<title>{escape(point.label)}: {escape(x_format(point.x))}, "
            f"{escape(y_format(point.y))}</title></circle>"
            f'<text x="{cx + 8:.1f}" y="{cy - 7:.1f}" style="fill:{color};font-weight:600">'
            f"{escape(point.label)}</text>"
        )
    return _svg(parts, width, height, title, chart_id)


def _svg(parts: list[str], width: int, height: int, title: str, chart_id: str) -> str:
    ident = f' id="{escape(chart_id)}"' if chart_id else ""
    return (
        f'<svg class="chart"{ident} viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
        + "".join(parts)
        + "</svg>"
    )
