"""Printing (issue 14): a review page and a control's evidence page print cleanly.

In print media the site's chrome (header, tabs, navigation, search, footer, buttons) is
gone and every section of the content is still there; Chromium's own PDF printer
(page.pdf, the "Save as PDF" of the print dialog) prints the page.
"""

from __future__ import annotations

import re

from . import kbfacts
from .conftest import Browse

CHROME = {
    "header": ".md-header",
    "tabs": ".md-tabs",
    "navigation": ".md-sidebar--primary",
    "table of contents": ".md-sidebar--secondary",
    "search": ".md-search",
    "footer": ".md-footer",
    "edit button": ".md-content__button",
}

VISIBLE_JS = """(selector) => [...document.querySelectorAll(selector)].some(el => {
  const box = el.getBoundingClientRect(), style = getComputedStyle(el);
  return style.display !== 'none' && style.visibility !== 'hidden' && box.width > 0 && box.height > 0;
})"""

HEADINGS_JS = """() => [...document.querySelectorAll('article h2')].map(h => ({
  text: h.textContent.replace('¶', '').trim(),
  shown: getComputedStyle(h).display !== 'none' && h.getBoundingClientRect().height > 0,
}))"""


def _print(browse: Browse, path: str) -> list[dict]:
    browse.open(path)
    screen = browse.page.evaluate(HEADINGS_JS)
    for name, selector in CHROME.items():
        if name in ("header", "navigation"):  # present on screen: the print check below means something
            assert browse.page.evaluate(VISIBLE_JS, selector), f"{name} is not shown on screen on {path}"
    browse.page.emulate_media(media="print")
    printed = browse.page.evaluate(HEADINGS_JS)
    for name, selector in CHROME.items():
        assert not browse.page.evaluate(VISIBLE_JS, selector), f"the {name} is printed on {path}"
    assert [h["text"] for h in printed] == [h["text"] for h in screen]
    assert all(h["shown"] for h in printed), f"a section heading is hidden in print on {path}: {printed}"
    pdf = browse.page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF-") and len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 1
    return printed


def test_a_review_prints_every_section_without_the_site_chrome(browse: Browse) -> None:
    review = kbfacts.fault_tree_review(browse.site.facts)
    printed = _print(browse, f"incidents/{review['id']}/")
    titles = [h["text"] for h in printed]
    for section in ("Summary", "Impact", "Timeline", "Root cause", "Lessons", "Actions"):
        assert any(t.startswith(section) for t in titles), f"{section} missing from the printed review: {titles}"
    # Rows and boxes are kept whole across pages.
    assert browse.page.evaluate("getComputedStyle(document.querySelector('article tr')).breakInside") == "avoid"


def test_a_control_evidence_page_prints_its_evidence(browse: Browse) -> None:
    review, ref, _ = kbfacts.control_trail(browse.site.facts)
    printed = _print(browse, kbfacts.control_path(ref))
    assert [h["text"] for h in printed][:1] == ["Evidence"]
    assert browse.page.locator("article h3").count() >= 1
