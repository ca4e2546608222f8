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
_LABEL_WIDTH = 190
_PLOT_WIDTH = 360


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


def bar_chart(title: str, rows: Sequence[tuple[str, float]], *, unit: str = "", maximum: float | None = None) -> Markup:
    """Horizontal bars, one per (label, value); `maximum` fixes the scale (100 for percentages)."""
    if not rows:
        return Markup(f'<p class="kb-chart-empty">{_text(title)}: no data yet.</p>')
    top = maximum or max((v for _, v in rows), default=0) or 1
    height = len(rows) * (_BAR + _GAP) + 30
    width = _LABEL_WIDTH + _PLOT_WIDTH + 70
    parts = _open_svg(title, width, height, max_width=width)
    for index, (label, value) in enumerate(rows):
        y = 28 + index * (_BAR + _GAP)
        length = max(0.0, min(1.0, value / top)) * _PLOT_WIDTH
        parts.append(f'<text x="{_LABEL_WIDTH - 8}" y="{y + _BAR * 0.7:.1f}" text-anchor="end" class="kb-chart-label">{_text(label)}</text>')
        parts.append(f'<rect x="{_LABEL_WIDTH}" y="{y}" width="{length:.1f}" height="{_BAR}" class="kb-chart-bar"><title>{_text(label)}: {_fmt(value, unit)}</title></rect>')
        parts.append(f'<text x="{_LABEL_WIDTH + length + 6:.1f}" y="{y + _BAR * 0.7:.1f}" class="kb-chart-value">{_fmt(value, unit)}</text>')
    parts.append("</svg>")
    return Markup('<div class="kb-chart-box">' + "".join(parts) + "</div>")


def column_chart(title: str, columns: Sequence[tuple[str, float]]) -> Markup:
    """Vertical columns over time, one per (label, value), e.g. reviews per quarter."""
    if not columns:
        return Markup(f'<p class="kb-chart-empty">{_text(title)}: no data yet.</p>')
    top = max(v for _, v in columns) or 1
    step = max(28, min(60, 560 // len(columns)))
    plot_height = 160
    width = len(columns) * step + 20
    height = plot_height + 70
    parts = _open_svg(title, width, height, max_width=max(width, 320))
    for index, (label, value) in enumerate(columns):
        x = 10 + index * step
        bar = value / top * plot_height
        y = 30 + plot_height - bar
        parts.append(f'<rect x="{x}" y="{y:.1f}" width="{step - 8}" height="{bar:.1f}" class="kb-chart-bar"><title>{_text(label)}: {_fmt(value, "")}</title></rect>')
        parts.append(f'<text x="{x + (step - 8) / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" class="kb-chart-value">{_fmt(value, "")}</text>')
        parts.append(f'<text x="{x + (step - 8) / 2:.1f}" y="{30 + plot_height + 16}" text-anchor="middle" class="kb-chart-label" '
                     f'transform="rotate(30 {x + (step - 8) / 2:.1f} {30 + plot_height + 16})">{_text(label)}</text>')
    parts.append("</svg>")
    return Markup('<div class="kb-chart-box">' + "".join(parts) + "</div>")
