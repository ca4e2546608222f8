"""Journey 7: a review full of hostile text opens as text: no dialog, no script, no live link.

tests/fixtures/injection-kb holds one valid review (and catalogs) whose fields carry
<script>, onerror=, onload=, ontoggle=, javascript: links in several spellings, data:
URLs, Jinja {{ }}, a YAML front-matter block, heading markers and a right-to-left
override. Every page its text reaches is opened; each must show it as text.
"""

from __future__ import annotations

import re

import pytest

from .conftest import Browse, Sites, playwright_api

expect = playwright_api().expect

REVIEW = "INC-2099-001"
SCRIPT = "<script>alert(1)</script>"
PAGES = ["", "incidents/", f"incidents/{REVIEW}/", "root-causes/", "root-causes/hostile-input/", "controls/",
         "controls/hostile-1/x-1/", "lessons/", "actions/", "training/", "metrics/"]

# Every attribute that would run script: an on* handler, or a URL with a script or data scheme
# (spaces and control characters removed first, as browsers do).
LIVE_ATTRIBUTES_JS = """() => {
  const found = [];
  for (const el of document.querySelectorAll('*'))
    for (const a of el.attributes) {
      const value = a.value.replace(/[\\x00-\\x20]/g, '').toLowerCase();
      if (a.name.toLowerCase().startsWith('on') || /^(javascript|vbscript|data):/.test(value))
        found.push(`<${el.tagName.toLowerCase()} ${a.name}="${a.value}">`);
    }
  return found;
}"""
MARKUP = ("script", "img", "iframe", "object", "embed", "details")


def assert_inert(browse: Browse, where: str = "article") -> None:
    """Nothing on the page can run the record's script, and none of its markup became elements
    in `where` (the article; on the search page, the results: the page's own script is not the record's)."""
    assert browse.page.evaluate(LIVE_ATTRIBUTES_JS) == []
    found = browse.page.locator(", ".join(f"{where} {tag}" for tag in MARKUP))
    assert found.count() == 0, found.evaluate_all("els => els.map(e => e.outerHTML)")
    assert not browse.dialogs, browse.dialogs


def test_hostile_review_opens_as_text_everywhere(browse: Browse, sites: Sites) -> None:
    """Journey 7: every page showing the hostile record opens with no dialog; its markup shows as text."""
    browse.site = sites.injection
    browse.page.evaluate("() => alert('listener check')")  # the dialog recorder must see a real dialog
    assert browse.dialogs == ["alert: listener check on about:blank"]
    browse.dialogs.clear()
    for path in PAGES:
        browse.open(path)
        browse.page.wait_for_load_state("load")
        assert_inert(browse)
        expect(browse.page.get_by_text(SCRIPT).first).to_be_attached()

    browse.open(f"incidents/{REVIEW}/")
    page, article = browse.page, browse.page.locator("article")
    expect(article.locator("p", has_text=f"Summary {SCRIPT} and <img src=x onerror=alert(2)>.")).to_be_visible()
    expect(article.get_by_text("{{ 7*7 }}").first).to_be_visible()
    expect(article.get_by_text("title: hacked").first).to_be_visible()
    expect(article.get_by_text("# Not a heading")).to_be_visible()
    headings = article.locator("h1, h2, h3, h4, h5, h6")
    assert not [h for h in headings.all_inner_texts() if re.search("hacked|Not a heading", h)]
    title = sites.injection.facts.reviews[0]["title"]
    assert "\u202e" in title
    shown = re.sub("[\u202a-\u202e\u2066-\u2069]", lambda m: f"\u2039U+{ord(m.group()):04X}\u203a", title)
    assert browse.heading() == f"{REVIEW}: {shown}", "the title shows as written, the override as a visible mark"
    assert page.title().startswith(f"{REVIEW}: Hostile"), "front matter in the record must not set the title"
    for name in ("click", "x", "mixed", "spaced", "data", "ref"):
        expect(article.get_by_role("link", name=name, exact=True)).to_have_count(0)
    assert_inert(browse)


def test_hostile_review_in_search_results_stays_text(browse: Browse, sites: Sites) -> None:
    """Journey 7, searching: Pagefind's title and excerpts of the hostile text render it inert, marks included."""
    browse.site = sites.injection
    browse.open()
    results = browse.search("hostile alert")
    review = results.filter(has=browse.page.locator(f'a[href$="incidents/{REVIEW}/"]')).first
    expect(review).to_be_visible()
    expect(review.locator("a").first).to_contain_text(f"{REVIEW}: Hostile <script>alert(1)</script>")
    expect(review).to_contain_text("onerror=alert(2)")  # an excerpt quotes the markup as text
    expect(review.locator("mark").first).to_be_visible()  # Pagefind marked the words found
    assert_inert(browse, ".pagefind-ui__results")
    browse.follow(review.locator("a").first)
    assert browse.path() == f"incidents/{REVIEW}/"
    assert_inert(browse)


BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def test_hostile_review_cannot_reverse_its_text(browse: Browse, sites: Sites) -> None:
    """Journey 7, spoofing: a right-to-left override in a record must not turn what follows around on screen."""
    browse.site = sites.injection
    browse.open(f"incidents/{REVIEW}/")
    shown = browse.page.locator("article").inner_text()
    assert not [hex(ord(c)) for c in shown if c in BIDI_CONTROLS]


def test_hostile_review_in_the_header_search_stays_text(browse: Browse, sites: Sites) -> None:
    """Journey 7, the header box: titles and excerpts of the hostile review show as text, marks included."""
    browse.site = sites.injection
    browse.open("training/")
    box = browse.page.locator("header [data-kb-header-search] input")
    box.click()
    box.press_sequentially("hostile alert")
    result = browse.page.locator("header .kb-header-results a", has_text=REVIEW).first
    expect(result).to_be_visible()
    expect(result.locator(".kb-header-title")).to_contain_text(f"{REVIEW}: Hostile <script>alert(1)</script>")
    expect(result.locator("mark").first).to_be_visible()
    assert_inert(browse, "header .kb-header-results")
    assert_inert(browse)


def test_hostile_tag_pages_stay_text(browse: Browse, sites: Sites) -> None:
    """Journey 7, tags: a tag made of markup links to its page as text; the pages open inert."""
    browse.site = sites.injection
    browse.open(f"incidents/{REVIEW}/")
    tag = browse.page.locator("article .kb-tags a", has_text="<svg onload=alert(5)>").first
    expect(tag).to_be_visible()
    browse.follow(tag)
    assert browse.path().startswith("lessons/tags/")
    expect(browse.page.locator("article")).to_contain_text(REVIEW)
    assert_inert(browse)
    browse.open("lessons/tags/")
    expect(browse.page.locator("article").get_by_text("#<svg onload=alert(5)>")).to_be_visible()
    assert_inert(browse)
