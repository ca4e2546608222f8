"""The example KB built by Zensical (kb build --engine zensical), in a real Chromium, under a sub-path.

Zensical resolved the Search page's script against the Markdown file instead of the page,
so under a sub-path (a GitHub Pages project site) the page asked for /assets/kb-search.js
and searched nothing. The site here is served at /zensical/site/, as the journeys serve
MkDocs' build. Skips without the optional extra, fails instead in CI when .ci/run installed it.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

import pytest

from conftest import run_kb

from . import kbfacts
from .conftest import AS_OF, EXAMPLE_KB, LOCAL_HOST, Browse, Site, _QuietHandler, playwright_api

expect = playwright_api().expect


@pytest.fixture(scope="module")
def zensical_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if importlib.util.find_spec("zensical") is None:
        if os.environ.get("CI") and os.environ.get("KB_EXPECT_ZENSICAL"):
            pytest.fail("Zensical is expected (KB_EXPECT_ZENSICAL) but not importable")
        pytest.skip("Zensical is not installed (optional extra: pip install -e '.[zensical]')")
    root = tmp_path_factory.mktemp("zensical-served")
    site = root / "zensical" / "site"
    outcome = run_kb(["build", "--kb", str(EXAMPLE_KB), "--site-dir", str(site), "--as-of", AS_OF.isoformat(),
                      "--engine", "zensical"], cwd=EXAMPLE_KB.parent)
    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    server = ThreadingHTTPServer((LOCAL_HOST, 0), functools.partial(_QuietHandler, directory=str(root)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="zensical-site-server", daemon=True)
    thread.start()
    try:
        yield Site(f"http://{LOCAL_HOST}:{server.server_address[1]}/zensical/site/", kbfacts.load(EXAMPLE_KB))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_zensical_search_page_finds_a_review_under_a_sub_path(browse: Browse, zensical_site: Site) -> None:
    browse.site = zensical_site
    review, _, phrase = kbfacts.distinctive_phrase(zensical_site.facts)
    browse.open(f"search/?q={quote(phrase)}")
    expect(browse.page.locator("input.pagefind-ui__search-input")).to_have_value(phrase)
    result = browse.page.locator(f'li.pagefind-ui__result a[href$="incidents/{review["id"]}/"]').first
    expect(result).to_be_visible()
    browse.follow(result)
    assert browse.path() == f"incidents/{review['id']}/"
    assert browse.heading().startswith(f"{review['id']}: ")
    assert not any(url.endswith("/search.json") for url in browse.requests), "Zensical's own search is off"
