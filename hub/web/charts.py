"""Bar charts as inline SVG, drawn on the server: no script, no external file.

Each chart carries a title and a description for assistive technology; the page shows
the same figures in a table next to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Final

from markupsafe import Markup

__all__ = ["PALETTE", "bar_chart"]

# Distinguishable (also in greyscale order) and at least 3:1 against white.
PALETTE: Final = ("#1d4ed8", "#b10e1e", "#00703c", "#6f3c99", "#a34a00", "#0b0c0c", "#00707a")
WIDTH: Final = 720
HEIGHT: Final = 260
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 56


def _ticks(top: int) -> list[int]:
    """The value axis' ticks, from 0 to a round number at or above ``top`` (the tallest
    bar): steps of 1, 2 or 5 times a power of ten, four or five of them."""
    if top <= 5:
        return list(range(top + 1))
    rough = top / 4
    power = 10 ** (len(str(int(rough))) - 1)
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= rough)
    axis = -(-top // step) * step
    return list(range(0, axis + 1, step))


def bar_chart(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    *,
    stacked: bool = True,
) -> Markup:
    """Bars for each label: one per series side by side, or stacked; with a legend."""
    count = max(1, len(labels))
    totals = [
        sum(values[i] for _, values in series)
        if stacked
        else max((values[i] for _, values in series), default=0)
        for i in range(len(labels))
    ]
    ticks = _ticks(max([*totals, 1]))
    top = ticks[-1]  # the axis' end: bars are scaled to it, the tallest reaches it or less
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / count
    bar_w = slot * 0.7 / (1 if stacked else max(1, len(series)))
    parts = [
        f'<svg id="{escape(chart_id)}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} '
        f'{HEIGHT + 24 * ((len(series) + 3) // 4)}" width="100%" role="img" '
        f'aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d">',
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-d">{escape(_describe(labels, series, totals))}</desc>',
    ]
    for tick in ticks:
        y = TOP + plot_h - plot_h * tick / top
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#b1b4b6" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>'
        )
    for i, label in enumerate(labels):
        x0 = LEFT + slot * i + slot * 0.15
        base: float = TOP + plot_h
        for s, (name, values) in enumerate(series):
            value = values[i]
            if value <= 0:
                continue
            h = plot_h * value / top
            x = x0 if stacked else x0 + bar_w * s
            y = base - h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[s % len(PALETTE)]}"><title>{escape(label)}, {escape(name)}: '
                f"{value}</title></rect>"
            )
            if stacked:
                base = y
        if count <= 16 or i % 2 == 0:
            parts.append(
                f'<text x="{LEFT + slot * (i + 0.5):.1f}" y="{TOP + plot_h + 16}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    parts.append(
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" '
        'stroke="#0b0c0c" stroke-width="1"/>'
    )
    for s, (name, _values) in enumerate(series):
        x = LEFT + (s % 4) * 165
        y = HEIGHT - 20 + 24 * (s // 4)
        parts.append(
            f'<rect x="{x}" y="{y}" width="14" height="14" fill="{PALETTE[s % len(PALETTE)]}"/>'
            f'<text x="{x + 20}" y="{y + 12}">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text is escaped above


def _describe(
    labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]], totals: Sequence[int]
) -> str:
    if not labels or not any(totals):
        return "No data in this period."
    peak = max(range(len(labels)), key=lambda i: totals[i])
    names = ", ".join(name for name, _ in series)
    return f"{len(labels)} periods; series: {names}. Highest: {labels[peak]} ({totals[peak]})."
