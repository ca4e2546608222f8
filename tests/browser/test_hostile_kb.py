"""Every string field of every kind carries payloads (tests/browser/hostile.py); `kb build`
publishes the KB for both audiences, and every generated page is opened in Chromium: no
dialog, no on* attribute, no javascript:/data: URL, no <script> but the theme's and
Pagefind's, and the page title is text. The search page is queried for a payload too."""

from __future__ import annotations

import functools
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest

from conftest import run_kb

from . import hostile
from .conftest import LOCAL_HOST, Browse, Site, _QuietHandler, is_local, kbfacts, playwright_api
from .test_injection import LIVE_ATTRIBUTES_JS

expect = playwright_api().expect
AUDIENCES = ("internal", "public")
AS_OF = "2025-04-01"

SCRIPTS_JS = """() => Array.from(document.scripts).map(s => s.src ? 'src:' + new URL(s.src).pathname
                                                        : 'inline:' + s.type + ':' + s.textContent)"""
THEME_SCRIPTS = ("/assets/javascripts/bundle.", "/assets/kb-search.js", "/pagefind/pagefind-ui.js",
                 "/assets/kb-header-search.js", "/assets/kb-training.js")  # the site's own, from the theme
ELEMENTS_JS = """() => Array.from(document.querySelectorAll(
  'article img, article iframe, article object, article embed,'
  + ' article details:not(.pagefind-ui__filter-block),'  /* Pagefind's own filter UI */
  + ' article form:not(.kb-home-search):not(.pagefind-ui__form):not(#kb-since),'  /* the site's own forms */
  + ' article svg[onload], head svg, head img, title *')).map(e => e.outerHTML.slice(0, 120))"""


@pytest.fixture(scope="module")
def hostile_sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[Site, Path]]]:
    root = tmp_path_factory.mktemp("hostile")
    kb = hostile.write(root)
    for audience in AUDIENCES:
        outcome = run_kb(["build", "--kb", str(kb), "--site-dir", str(root / audience), "--as-of", AS_OF,
                          "--audience", audience], cwd=root)
        assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    server = ThreadingHTTPServer((LOCAL_HOST, 0), functools.partial(_QuietHandler, directory=str(root)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://{LOCAL_HOST}:{server.server_address[1]}/"
    facts = kbfacts.load(kb)
    try:
        yield {a: (Site(f"{base}{a}/", facts), root / a) for a in AUDIENCES}
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def page_of(browser: Any, tmp_path: Path) -> Iterator[Any]:
    contexts = []

    def open_site(site: Site) -> Browse:
        context = browser.new_context(service_workers="block", viewport={"width": 1280, "height": 800})
        context.set_default_timeout(10_000)
        context.route(lambda url: not is_local(url), lambda route: route.abort("blockedbyclient"))
        contexts.append(context)
        browse = Browse(page=context.new_page(), site=site, shots=tmp_path)
        browse.record()
        return browse

    yield open_site
    for context in contexts:
        context.close()


def pages_of(folder: Path) -> list[str]:
    """Every page of a built site (its URL path), the theme's and Pagefind's files aside."""
    return sorted(p.parent.relative_to(folder).as_posix() + "/" if p.parent != folder else ""
                  for p in folder.rglob("index.html")
                  if not {"assets", "pagefind"} & set(p.relative_to(folder).parts))


def assert_page_inert(browse: Browse) -> None:
    page = browse.page
    page.wait_for_load_state("load")
    page.mouse.move(400, 300)
    page.mouse.move(600, 500)  # hover handlers, had any survived, would fire now
    assert page.evaluate(LIVE_ATTRIBUTES_JS) == [], page.url
    assert page.evaluate(ELEMENTS_JS) == [], page.url
    for script in page.evaluate(SCRIPTS_JS):
        if script.startswith("src:"):
            assert any(t in script for t in THEME_SCRIPTS), (page.url, script)
        else:
            assert "alert" not in script, (page.url, script[:200])
    assert not browse.dialogs, browse.dialogs
    assert not [e for e in browse.errors if "alert" in e], browse.errors


@pytest.mark.parametrize("audience", AUDIENCES)
def test_every_page_of_a_hostile_kb_is_inert(hostile_sites: dict, page_of: Any, audience: str) -> None:
    site, folder = hostile_sites[audience]
    browse = page_of(site)
    browse.page.evaluate("() => alert('listener check')")
    assert browse.dialogs == ["alert: listener check on about:blank"]
    browse.dialogs.clear()
    paths = pages_of(folder)
    assert "incidents/INC-2025-001/" in paths and "root-causes/" in paths and len(paths) > 15, paths
    for path in paths:
        browse.open(path)
        assert_page_inert(browse)
    # The review page: the title, headings, navigation and breadcrumbs hold the payload as text.
    browse.open("incidents/INC-2025-001/")
    title = browse.page.title()
    assert "</title><svg onload=alert('i3')>" in title or "<script>alert('i1')</script>" in title, title
    heading = browse.heading()
    assert heading.startswith("INC-2025-001: Hostile") and "<" in heading
    article = browse.page.locator("article")
    expect(article.get_by_text("[r]:", exact=False).first).to_be_attached()  # reference definitions stay text
    expect(article.locator("a", has_text="INC-2025-001")).to_have_count(0)  # its own page: no self-link
    browse.open("incidents/INC-2025-003/")
    expect(browse.page.locator("article a.kb-review-link", has_text="INC-2025-001").first).to_be_attached()
    expect(browse.page.locator("article code", has_text="INC-2025-002").first).to_be_attached()


@pytest.mark.parametrize("audience", AUDIENCES)
def test_searching_a_hostile_kb_shows_text(hostile_sites: dict, page_of: Any, audience: str) -> None:
    site, _ = hostile_sites[audience]
    browse = page_of(site)
    browse.open("search/?q=onerror")
    results = browse.page.locator("li.pagefind-ui__result")
    expect(results.first).to_be_visible()
    expect(results.first).to_contain_text("onerror")
    assert_page_inert(browse)
