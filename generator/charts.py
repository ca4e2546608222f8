"""Charts drawn at build time as inline SVG: the site needs no script and no other host.

Small and deliberate: horizontal bars for shares and counts, columns for a series over
time. Labels are escaped here because the SVG is raw HTML inside the Markdown page.
"""

from __future__ import annotations

import html
from typing import Sequence

from markupsafe import Markup

from generator.markdown import reveal_bidi

_BAR = 22
_GAP = 8
_PLOT_WIDTH = 360
_CHAR = 7.0  # an upper bound of the mean advance of a 12 px sans-serif character
_LABEL_CHARS = 40  # a longer label is cut, with "…", and shown whole in its tooltip
_MIN_LABEL_WIDTH = 60


def _text(value: object) -> str:
    return html.escape(reveal_bidi(str(value)), quote=True)


def _fmt(value: float, unit: str) -> str:
    shown = f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
    return f"{shown}{unit}"


def _open_svg(title: str, width: int, height: int, *, max_width: int) -> list[str]:
    """The opening of a chart: an accessible, scalable SVG with its title."""
    return [
        f'<svg class="kb-chart" role="img" aria-label="{_text(title)}" viewBox="0 0 {width} {height}" '
        f'width="100%" style="max-width:{max_width}px" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{_text(title)}</title>",
        f'<text x="0" y="16" class="kb-chart-title">{_text(title)}</text>',
    ]


def _label(text: str, limit: int = _LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def bar_chart(title: str, rows: Sequence[tuple[str, float]], *, unit: str = "", maximum: float | None = None) -> Markup:
    """Horizontal bars, one per (label, value); `maximum` fixes the scale (100 for percentages).

    The label area is as wide as the longest label needs (so none is cut at the SVG's
    edge); a label over _LABEL_CHARS characters is shortened with "…" and shown whole in
    its tooltip.
    """
    if not rows:
        return Markup(f'<p class="kb-chart-empty">{_text(title)}: no data yet.</p>')
    top = maximum or max((v for _, v in rows), default=0) or 1
    label_width = int(max(_MIN_LABEL_WIDTH, max(len(_label(str(label))) for label, _ in rows) * _CHAR + 12))
    height = len(rows) * (_BAR + _GAP) + 30
    width = label_width + _PLOT_WIDTH + 70
    parts = _open_svg(title, width, height, max_width=width)
    for index, (label, value) in enumerate(rows):
        y = 28 + index * (_BAR + _GAP)
        length = max(0.0, min(1.0, value / top)) * _PLOT_WIDTH
        shown = _label(str(label))
        text = f'<text x="{label_width - 8}" y="{y + _BAR * 0.7:.1f}" text-anchor="end" class="kb-chart-label">{_text(shown)}</text>'
        if shown != str(label):  # shortened: the whole label is the tooltip of the text
            text = f"<g><title>{_text(label)}</title>{text}</g>"
        parts.append(text)
        parts.append(f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{_BAR}" class="kb-chart-bar"><title>{_text(label)}: {_fmt(value, unit)}</title></rect>')
        parts.append(f'<text x="{label_width + length + 6:.1f}" y="{y + _BAR * 0.7:.1f}" class="kb-chart-value">{_fmt(value, unit)}</text>')
    parts.append("</svg>")
    return Markup('<div class="kb-chart-box">' + "".join(parts) + "</div>")


def column_chart(title: str, columns: Sequence[tuple[str, float]]) -> Markup:
    """Vertical columns over time, one per (label, value), e.g. reviews per quarter.

    Quarters ("2025-Q3") are drawn in year groups: the year under each group, Q1..Q4
    under the columns only when there is room, values over the columns only when they
    fit. So a decade (40 quarters) reads as ten years and no label runs into another.
    """
    if not columns:
        return Markup(f'<p class="kb-chart-empty">{_text(title)}: no data yet.</p>')
    top = max(v for _, v in columns) or 1
    quarters = all(len(str(label)) == 7 and str(label)[4:6] == "-Q" for label, _ in columns)
    step = max(10, min(48, 640 // len(columns)))
    group_gap = 10 if quarters else 0
    years = [str(label)[:4] for label, _ in columns]
    plot_height = 160
    x, positions = 10, []
    for index in range(len(columns)):
        if quarters and index and years[index] != years[index - 1]:
            x += group_gap
        positions.append(x)
        x += step
    width = x + 10
    height = plot_height + 86
    parts = _open_svg(title, width, height, max_width=max(width, 320))
    bar = step - max(2, step // 6)
    widest_value = max(len(_fmt(v, "")) for _, v in columns) * _CHAR
    axis = 46 + plot_height  # below the title and the tallest column's value
    for (label, value), x in zip(columns, positions):
        height_ = value / top * plot_height
        y = axis - height_
        centre = x + bar / 2
        parts.append(f'<rect x="{x}" y="{y:.1f}" width="{bar}" height="{height_:.1f}" class="kb-chart-bar"><title>{_text(label)}: {_fmt(value, "")}</title></rect>')
        if widest_value + 6 <= step:  # a value wider than its column would touch its neighbours
            parts.append(f'<text x="{centre:.1f}" y="{y - 4:.1f}" text-anchor="middle" class="kb-chart-value">{_fmt(value, "")}</text>')
        if quarters and step >= 3 * _CHAR:
            parts.append(f'<text x="{centre:.1f}" y="{axis + 14}" text-anchor="middle" class="kb-chart-tick">{_text(str(label)[5:])}</text>')
        elif not quarters and step >= len(str(label)) * _CHAR:
            parts.append(f'<text x="{centre:.1f}" y="{axis + 14}" text-anchor="middle" class="kb-chart-label">{_text(label)}</text>')
    if quarters:
        groups: dict[str, list[float]] = {}
        for year, x in zip(years, positions):
            groups.setdefault(year, []).append(x)
        for year, xs in groups.items():
            centre = (xs[0] + xs[-1] + bar) / 2  # groups' centres are at least a column and a gap apart
            parts.append(f'<text x="{centre:.1f}" y="{axis + 32}" text-anchor="middle" class="kb-chart-label">{_text(year)}</text>')
    parts.append(f'<line x1="6" y1="{axis + 0.5}" x2="{width - 6}" y2="{axis + 0.5}" class="kb-chart-axis"/>')
    parts.append("</svg>")
    return Markup('<div class="kb-chart-box">' + "".join(parts) + "</div>")
