"""What a reader sees on the example site's pages, in a real Chromium: marks that can be read
in both palettes, controls that look like controls, third-party widgets not restyled by the
theme into something else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from .conftest import Browse, Sites, _new_browse

CHIPS = (".kb-critical, .kb-unapproved, .kb-sev, .kb-status, .kb-overdue, .kb-stale, .kb-failed, .kb-tlp, "
         ".kb-restricted, .kb-gap, .kb-decision, .kb-reason")

# Each chip's text against what is drawn behind it (its own background, else the nearest
# ancestor's): the WCAG contrast ratio, so "red text on a red chip" fails whatever the colours.
CONTRAST = """(selector) => {
  const rgba = (s) => { const m = s.match(/[\\d.]+/g).map(Number); return m.length > 3 ? m : [...m, 1]; };
  const lum = ([r, g, b]) => { const c = [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]; };
  const behind = (el) => { for (; el; el = el.parentElement) { const c = rgba(getComputedStyle(el).backgroundColor);
    if (c[3] > 0) return c; } return [255, 255, 255, 1]; };
  return [...document.querySelectorAll(selector)].filter(el => el.offsetParent !== null).map(el => {
    const fg = lum(rgba(getComputedStyle(el).color)), bg = lum(behind(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    return {chip: el.className + ' ' + el.textContent.trim().slice(0, 30), ratio: Math.round(ratio * 10) / 10};
  });
}"""


@pytest.fixture(params=["light", "dark"])
def palette(request: pytest.FixtureRequest, browser: Any, sites: Sites, tmp_path: Path) -> Iterator[Browse]:
    yield from _new_browse(browser, sites, tmp_path, viewport={"width": 1280, "height": 800},
                           color_scheme=request.param)


@pytest.mark.parametrize("path", ["incidents/INC-2025-014/", "incidents/INC-2024-019/", "training/", "actions/",
                                  "controls/"])
def test_every_mark_can_be_read_in_both_palettes(palette: Browse, path: str) -> None:
    palette.open(path)
    chips = palette.page.evaluate(CONTRAST, CHIPS)
    assert chips, f"{path}: no marks found: the selector list is stale"
    unreadable = [c for c in chips if c["ratio"] < 3]
    assert unreadable == [], f"{path}: marks whose text is hard to tell from their background: {unreadable}"


def test_a_critical_lesson_says_critical_readably(browse: Browse) -> None:
    browse.open("incidents/INC-2025-014/")
    chip = browse.page.locator("#l1").locator("xpath=..").locator(".kb-critical")
    assert chip.inner_text() == "critical"
    (mark,) = browse.page.evaluate(CONTRAST, ".kb-critical")
    assert mark["ratio"] >= 4.5, mark


def test_the_training_since_box_has_controls_that_look_like_controls(palette: Browse) -> None:
    palette.open("training/")
    looks = palette.page.evaluate("""() => [...document.querySelectorAll('#kb-since button, #kb-since input')].map(el => {
        const s = getComputedStyle(el);
        return {name: el.textContent.trim() || el.name, border: parseFloat(s.borderTopWidth), style: s.borderTopStyle,
                height: el.getBoundingClientRect().height};
    })""")
    assert len(looks) == 3, looks
    bare = [c for c in looks if c["border"] < 1 or c["style"] == "none" or c["height"] < 20]
    assert bare == [], f"since box controls drawn as bare text: {bare}"


def test_search_results_keep_pagefinds_look(browse: Browse) -> None:
    browse.open("search/?q=token")
    browse.page.locator(".pagefind-ui__result").first.wait_for()
    look = browse.page.evaluate("""() => {
        const left = (sel) => document.querySelector(sel).getBoundingClientRect().left;
        return {filters: document.querySelectorAll('.pagefind-ui__filter-block').length,
                indent: left('.pagefind-ui__results') - left('.pagefind-ui__message')};
    }""")
    # No filter panel (the site indexes no Pagefind filter: builds stay byte-identical), and
    # the results are not indented under Material's list style.
    assert look == {"filters": 0, "indent": 0}, look
