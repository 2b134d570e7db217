"""Charts for the admin dashboards, drawn as SVG on the server: they work offline, need no
JavaScript library vendored or fetched from a CDN, and print as they show.

Each function takes plain figures and returns safe SVG markup; every label is escaped. A chart
carries `data-points` (the number of drawn bars), so a browser test can see that it has data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PRIMARY = "#417690"  # the admin's own blue
SECONDARY = "#79aec8"
MUTED = "#999"
FONT = 'font-family="-apple-system, Segoe UI, Roboto, sans-serif" font-size="11"'


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]
    colour: str


def _nice_max(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2, 5 × 10^n)."""
    if value <= 0:
        return 1
    if value <= 20:  # small counts: whole numbers on each of the four gridlines
        return float(-(-int(value) // 4) * 4) if value > 4 else 4.0
    magnitude = 1.0
    while magnitude * 10 <= value:
        magnitude *= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _label(value: float) -> str:
    return f"{value:g}"


def column_chart(*, title: str, categories: Sequence[str], series: Sequence[Series], width: int = 640,
                 height: int = 240) -> SafeString:
    """Grouped vertical bars: one group per category, one bar per series."""
    left, right, top, bottom = 40, 10, 28, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = _nice_max(max((v for s in series for v in s.values), default=0))
    group_w = plot_w / max(1, len(categories))
    bar_w = max(2.0, group_w * 0.8 / max(1, len(series)))
    parts = [_frame(title, width, height, series)]
    for tick in range(5):
        value = top_value * tick / 4
        y = top + plot_h - plot_h * tick / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}">{_label(value)}</text>')
    drawn = 0
    every = max(1, len(categories) // 12)
    for index, category in enumerate(categories):
        x0 = left + index * group_w + group_w * 0.1
        for position, one in enumerate(series):
            value = one.values[index]
            bar_h = plot_h * value / top_value
            x = x0 + position * bar_w
            y = top + plot_h - bar_h
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w - 1:.1f}" height="{bar_h:.1f}" '
                f'fill="{one.colour}"><title>{escape(category)}: {escape(one.name)} {_label(value)}</title></rect>'
            )
            drawn += 1
        if index % every == 0:
            parts.append(
                f'<text x="{x0 + group_w * 0.4:.1f}" y="{top + plot_h + 14}" text-anchor="middle" '
                f'fill="#333">{escape(_short(category, 12))}</text>'
            )
    return _svg(parts, width, height, title, drawn)


def bar_chart(*, title: str, categories: Sequence[str], series: Sequence[Series], width: int = 640) -> SafeString:
    """Grouped horizontal bars, one row per category (long lesson titles read well this way)."""
    row_h, label_w, top = 12 * max(1, len(series)) + 8, 180, 28
    height = top + row_h * max(1, len(categories)) + 10
    plot_w = width - label_w - 40
    top_value = _nice_max(max((v for s in series for v in s.values), default=0))
    parts = [_frame(title, width, height, series)]
    drawn = 0
    for index, category in enumerate(categories):
        y0 = top + index * row_h
        parts.append(f'<text x="{label_w - 6}" y="{y0 + row_h / 2 + 4:.1f}" text-anchor="end" '
                     f'fill="#333">{escape(_short(category, 30))}</text>')
        for position, one in enumerate(series):
            value = one.values[index]
            bar_w = plot_w * value / top_value
            y = y0 + 4 + position * 12
            parts.append(
                f'<rect class="bar" x="{label_w}" y="{y}" width="{bar_w:.1f}" height="10" fill="{one.colour}">'
                f'<title>{escape(category)}: {escape(one.name)} {_label(value)}</title></rect>'
            )
            parts.append(f'<text x="{label_w + bar_w + 4:.1f}" y="{y + 9}" fill="{MUTED}">{_label(value)}</text>')
            drawn += 1
    return _svg(parts, width, height, title, drawn)


def _frame(title: str, width: int, height: int, series: Sequence[Series]) -> str:
    legend = "".join(
        f'<rect x="{width - 150 * (len(series) - i)}" y="8" width="10" height="10" fill="{one.colour}"/>'
        f'<text x="{width - 150 * (len(series) - i) + 14}" y="17">{escape(one.name)}</text>'
        for i, one in enumerate(series)
    ) if len(series) > 1 else ""
    return f'<text x="4" y="16" font-weight="bold" fill="#333">{escape(title)}</text>{legend}'


def _svg(parts: list[str], width: int, height: int, title: str, drawn: int) -> SafeString:
    body = "".join(parts)
    return mark_safe(  # every interpolated label above is escaped
        f'<svg class="insight-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" style="max-width:{width}px" role="img" aria-label="{escape(title)}" '
        f'data-points="{drawn}" {FONT}>{body}</svg>'
    )


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
