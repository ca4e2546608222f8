"""Every link of the built example site leads somewhere, for both audiences.

The generated pages write their links as HTML (render.py's `link`), which MkDocs neither
rewrites nor checks: a wrong address would be published without a warning. So the built
site is checked here as a reader would follow it: every href, src and action of every page
that stays on the site names a file of the site (a folder: its index.html), and a #fragment
names an element of the page it leads to.
"""

from __future__ import annotations

import functools
import html
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
URL = re.compile(r'\b(href|src|action)="([^"]*)"')


@pytest.fixture(scope="module", params=["internal", "public"])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp(f"links-{request.param}") / "site"
    done = subprocess.run([sys.executable, "-m", "generator", "build", "--site-dir", str(folder),
                           "--as-of", "2026-12-01", "--audience", request.param], cwd=ROOT,
                          capture_output=True, text=True, env={**os.environ, "KB_CACHE": "off"})
    assert done.returncode == 0, done.stdout + done.stderr
    return folder


@functools.lru_cache(maxsize=None)
def ids(page: Path) -> frozenset[str]:
    return frozenset(re.findall(r'\b(?:id|name)="([^"]*)"', page.read_text(encoding="utf-8")))


def broken_links(site: Path) -> tuple[int, list[str]]:
    """How many links stay on the site, and those that lead nowhere ("page: url")."""
    followed, broken = 0, []
    for page in sorted(site.rglob("*.html")):
        for _, url in URL.findall(page.read_text(encoding="utf-8")):
            url = html.unescape(url)
            parts = urlsplit(url)
            if parts.scheme or url.startswith("//"):
                continue  # another site (the contract keeps the generated pages off them: test_site.py)
            followed += 1
            base = site if parts.path.startswith("/") else page.parent
            target = (base / unquote(parts.path.lstrip("/"))) if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            where = f"{page.relative_to(site).as_posix()}: {url}"
            if not target.is_file():
                broken.append(where)
            elif parts.fragment and target.suffix == ".html" and parts.fragment not in ids(target):
                broken.append(where + " (no such anchor)")
    return followed, broken


def test_every_link_of_the_example_site_leads_to_a_page_and_anchor_of_it(site: Path) -> None:
    followed, broken = broken_links(site)
    assert followed > 1000  # the check did read the pages' links
    assert broken == []


def test_a_link_to_a_missing_page_or_anchor_is_found(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "index.html").write_text('<h2 id="x">X</h2><a href="../a/#x">ok</a><a href="../b/">page</a>'
                                               '<a href="#y">anchor</a><a href="https://elsewhere.example/">out</a>')
    assert broken_links(tmp_path) == (3, ["a/index.html: ../b/", "a/index.html: #y (no such anchor)"])
