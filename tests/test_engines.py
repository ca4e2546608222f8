"""The site engines: the same docs tree and mkdocs.yml give the same site with MkDocs and Zensical.

Zensical is an optional extra (pip install -e '.[zensical]'). Without it the tests that
build with it skip and say why; in CI with KB_EXPECT_ZENSICAL=1 (set by .ci/run once the
extra installed) they fail instead, so a broken install cannot pass as a skip.
"""

from __future__ import annotations

import hashlib
import html
import importlib.util
import os
import posixpath
import re
from pathlib import Path

import pytest
import yaml

from conftest import make_kb, run_kb, valid_review
from generator.engines import _issues, zensical_config

ROOT = Path(__file__).resolve().parent.parent
THEME = ROOT / "generator" / "theme"
AS_OF = "2026-06-01"


def need_zensical() -> None:
    if importlib.util.find_spec("zensical") is not None:
        return
    if os.environ.get("CI") and os.environ.get("KB_EXPECT_ZENSICAL"):
        pytest.fail("Zensical is expected (KB_EXPECT_ZENSICAL) but not importable: pip install -e '.[zensical]'")
    pytest.skip("Zensical is not installed (optional extra: pip install -e '.[zensical]', Python 3.11+)")


def build(kb: Path, site: Path, *args: str, cwd: Path | None = None):
    return run_kb(["build", "--kb", str(kb), "--site-dir", str(site), "--as-of", AS_OF, *args], cwd=cwd or kb.parent)


def digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def pages(site: Path) -> set[str]:
    return {p.relative_to(site).as_posix() for p in site.rglob("index.html")}


def h1(page: Path) -> str:
    """The page's visible title: the text of its first heading."""
    found = re.search(r"<h1[^>]*>(.*?)</h1>", page.read_text(), re.S)
    assert found, page
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip()


def resolved_links(site: Path, page: Path, base: str = "/sub/path/") -> set[str]:
    """Every site-relative URL of a page (href, src, action), resolved as a browser would
    with the site served under a sub-path; the theme's own bundles are left out (their
    names differ between the engines). An empty href is the page itself."""
    here = posixpath.join(base, page.parent.relative_to(site).as_posix(), "")
    found = set()
    for url in re.findall(r'(?:href|src|action)="([^"]*)"', page.read_text()):
        url = html.unescape(url)
        if re.match(r"^([a-z][a-z0-9+.-]*:|//|#)", url) or "assets/javascripts/" in url \
                or "assets/stylesheets/" in url or "assets/images/" in url:
            continue
        path, _, anchor = url.partition("#")
        target = posixpath.normpath(posixpath.join(here, path or "."))
        found.add(target + ("#" + anchor if anchor else ""))
    return found


def test_missing_zensical_is_an_error_with_the_install_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "zensical" else real(name, *a))
    kb = make_kb(tmp_path, {"INC-2025-001": valid_review("INC-2025-001")})
    outcome = build(kb, tmp_path / "site", "--engine", "zensical")
    assert outcome.exit_code == 1
    assert "error: Zensical is not installed, so --engine zensical cannot build the site; install the optional " \
           "extra with: pip install -e '.[zensical]'" in outcome.stdout
    assert not (tmp_path / "site").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kb"]  # no build folder left behind


def test_unknown_engine_is_a_usage_error(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, {"INC-2025-001": valid_review("INC-2025-001")})
    outcome = build(kb, tmp_path / "site", "--engine", "hugo")
    assert outcome.exit_code == 2 and "'hugo' is not one of 'mkdocs', 'zensical'" in outcome.stderr


def test_zensical_config_inherits_the_project_file_and_replaces_only_the_build_keys(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "overrides").mkdir(parents=True)
    config = project / "mkdocs.yml"
    config.write_text("site_name: !ENV [KB_SITE_NAME, Reviews]\ndocs_dir: docs\nsite_dir: public\n"
                      "theme: {name: material, custom_dir: overrides}\nplugins: []\n"
                      "markdown_extensions: [toc, generator.mdx]\nextra: {owner: security}\n")
    work = tmp_path / "work"
    work.mkdir()
    written = yaml.safe_load(zensical_config(config, work).read_text())
    assert written == {"INHERIT": str(config.resolve()), "docs_dir": "docs", "site_dir": "site",
                       "plugins": [{"search": {"enabled": False}}],
                       "theme": {"custom_dir": str((project / "overrides").resolve())}}


# What Zensical 0.0.73 printed for two broken links (colours and frame as it draws them).
ZENSICAL_REPORT = (
    "Build started\n\x1b[33mWarning:\x1b[0m page does not exist\n"
    "   \x1b[38;5;246m\u256d\x1b[0m\x1b[38;5;246m\u2500\x1b[0m\x1b[38;5;246m[\x1b[0m guide.md:3:10 \x1b[38;5;246m]\x1b[0m\n"
    " \x1b[38;5;246m3 \u2502\x1b[0m [broken](nowhere.md)\n"
    " \x1b[38;5;240m  \u2502\x1b[0m      \x1b[33m\u2570\u2500\u2500\x1b[0m page does not exist\n\x1b[38;5;246m\u2500\u2500\u2500\u256f\x1b[0m\n"
    "\x1b[33mWarning:\x1b[0m page does not exist\n   \u256d\u2500[ incidents/INC-2025-001.md:5:9 ]\n"
    " 5 \u2502 [other](gone.md#x)\n\u2500\u2500\u2500\u256f\n"
    "2 issues found\nBuild finished in 0.28s\n")


def test_zensical_report_becomes_one_finding_per_issue() -> None:
    assert _issues(ZENSICAL_REPORT) == ["page does not exist (guide.md:3:10)",
                                        "page does not exist (incidents/INC-2025-001.md:5:9)"]
    assert _issues("Build started\nNo issues found\nBuild finished in 3.8s\n") == []
    assert _issues("Build started\nsomething else entirely\n") == ["something else entirely"]


@pytest.fixture(scope="module")
def example_sites(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The example KB (kb/ and mkdocs.yml of this repository) built by each engine."""
    need_zensical()
    root = tmp_path_factory.mktemp("engines")
    sites = {}
    for engine in ("mkdocs", "zensical"):
        outcome = build(ROOT / "kb", root / engine, "--engine", engine, cwd=ROOT)
        assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
        assert "Zensical:" not in outcome.stdout  # it reported nothing (each report is a finding)
        sites[engine] = root / engine
    return sites


def test_both_engines_give_the_same_urls_and_titles(example_sites: dict[str, Path]) -> None:
    mkdocs, zensical = example_sites["mkdocs"], example_sites["zensical"]
    assert pages(mkdocs) == pages(zensical)
    reviews = sorted(p.stem for p in (ROOT / "kb" / "reviews").glob("*.yaml"))
    for review in reviews:
        page = f"incidents/{review}/index.html"
        assert h1(mkdocs / page) == h1(zensical / page), review
        assert h1(mkdocs / page).startswith(review), review


def test_every_link_and_asset_resolves_the_same_under_a_sub_path(example_sites: dict[str, Path]) -> None:
    mkdocs, zensical = example_sites["mkdocs"], example_sites["zensical"]
    differ = [page for page in sorted(pages(mkdocs))
              if resolved_links(mkdocs, mkdocs / page) != resolved_links(zensical, zensical / page)]
    assert differ == []
    search = resolved_links(zensical, zensical / "search/index.html")
    assert "/sub/path/assets/kb-search.js" in search  # the search page's script, not /assets/...


def test_both_engines_mark_the_same_pages_for_pagefind_and_zensical_search_is_off(
        example_sites: dict[str, Path]) -> None:
    marked = {engine: {page for page in pages(site) if "data-pagefind-body" in (site / page).read_text()}
              for engine, site in example_sites.items()}
    assert marked["mkdocs"] == marked["zensical"]
    assert "incidents/INC-2024-058/index.html" in marked["zensical"]
    assert not {"incidents/index.html", "lessons/index.html", "search/index.html"} & marked["zensical"]
    for site in example_sites.values():
        assert (site / "pagefind" / "pagefind-entry.json").is_file()
    # Zensical writes a search.json of every page unless its search is off: then it is empty,
    # and no page has its search box (the site's search is Pagefind's).
    index = example_sites["zensical"] / "search.json"
    assert not index.exists() or '"items":[]' in index.read_text()
    assert 'data-md-component="search"' not in (example_sites["zensical"] / "index.html").read_text()


@pytest.mark.parametrize("engine", ["mkdocs", "zensical"])
def test_edit_button_opens_the_record_with_either_engine(tmp_path: Path, engine: str) -> None:
    if engine == "zensical":
        need_zensical()
    kb = make_kb(tmp_path, {"INC-2025-001": valid_review("INC-2025-001")})
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: t\nrepo_url: https://git.example/org/kb\nedit_uri: edit/main/docs/\n"
        f"theme: {{name: material, font: false, custom_dir: '{THEME}', features: [content.action.edit]}}\n")
    outcome = build(kb, tmp_path / "site", "--engine", engine)
    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    review = (tmp_path / "site/incidents/INC-2025-001/index.html").read_text()
    assert 'href="https://git.example/org/kb/edit/main/kb/reviews/INC-2025-001.yaml"' in review
    assert 'rel="edit"' not in (tmp_path / "site/incidents/index.html").read_text()


def test_zensical_builds_are_byte_identical(tmp_path: Path) -> None:
    need_zensical()
    kb = make_kb(tmp_path, {"INC-2025-001": valid_review("INC-2025-001")})
    first, second = tmp_path / "first", tmp_path / "second"
    for site in (first, second):
        outcome = build(kb, site, "--engine", "zensical")
        assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    assert digest(first) == digest(second)
