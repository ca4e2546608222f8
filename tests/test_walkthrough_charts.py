"""Charts and period tables that stay readable from one quarter to a decade (issue 16)."""

from __future__ import annotations

import re

from generator.charts import bar_chart, column_chart
from generator.stats import quarters_between, quarters_by_year


def _texts(svg: str, cls: str) -> list[tuple[float, str]]:
    return [(float(x), text) for x, text in re.findall(rf'<text x="([0-9.]+)"[^>]*class="{cls}"[^>]*>([^<]*)</text>', svg)]


def test_quarters_between_includes_the_empty_ones() -> None:
    assert quarters_between("2025-Q4", "2026-Q3") == ["2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"]
    assert quarters_by_year([("2025-Q4", 1), ("2026-Q1", 0)]) == [(2025, [None, None, None, 1]), (2026, [0, None, None, None])]


def test_a_decade_of_quarters_reads_as_years_without_colliding_labels() -> None:
    series = [(q, 25) for q in quarters_between("2016-Q1", "2025-Q4")]
    svg = str(column_chart("Reviews per quarter", series))
    assert svg.count("<rect") == 40
    years = _texts(svg, "kb-chart-label")
    assert [text for _, text in years] == [str(y) for y in range(2016, 2026)]
    assert all(b - a >= 4 * 7 for (a, _), (b, _) in zip(years, years[1:]))  # "2016" never touches "2017"
    assert _texts(svg, "kb-chart-value") == [] and _texts(svg, "kb-chart-tick") == []  # too narrow: in the tooltips


def test_a_few_quarters_show_their_values_and_names() -> None:
    svg = str(column_chart("Reviews per quarter", [(q, 3) for q in quarters_between("2025-Q3", "2026-Q2")]))
    assert [t for _, t in _texts(svg, "kb-chart-tick")] == ["Q3", "Q4", "Q1", "Q2"]
    assert len(_texts(svg, "kb-chart-value")) == 4


def test_long_labels_fit_or_are_shortened_with_their_full_text_in_the_tooltip() -> None:
    long = "Compromised or reused credentials of a third-party support contractor account"
    svg = str(bar_chart("Reviews per category", [("Short", 2), ("Compromised or reused credentials", 3), (long, 1)]))
    label_edge = float(re.search(r'<rect x="([0-9.]+)"', svg).group(1))
    # The label area is wide enough for the longest label shown (7 px a character at most).
    assert label_edge >= 40 * 7  # (a label is cut at 40 characters)
    assert f"<title>{long}: 1</title>" in svg and "…" in svg
