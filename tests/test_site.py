"""Publish stage: kb build writes a complete, deterministic site, or nothing at all."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import make_kb, run_kb, to_yaml, valid_review

AS_OF = "2025-04-01"


def build(kb: Path, site: Path, *args: str):
    return run_kb(["build", "--kb", str(kb), "--site-dir", str(site), "--as-of", AS_OF, *args], cwd=kb.parent)


def tree_digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def two_reviews() -> dict:
    first = valid_review("INC-2025-001")
    second = valid_review("INC-2025-002", title="Credential stuffing on the sign-in API", related=["INC-2025-001"])
    return {"INC-2025-001": first, "INC-2025-002": second}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("built")
    kb = make_kb(root, two_reviews())
    outcome = build(kb, root / "site")
    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    return root / "site"


def test_contract_urls_exist(built: Path) -> None:
    for url in ["incidents/INC-2025-001/", "incidents/INC-2025-002/", "root-causes/configuration-change/",
                "controls/iso27001-2022/a-5-27/", "controls/iso27001-2013/a-16-1-6/", "controls/soc2/cc7-5/",
                "incidents/", "root-causes/", "controls/", "lessons/", "actions/", "training/", "metrics/", ""]:
        assert (built / url / "index.html").is_file(), url


def test_related_reviews_link_both_ways(built: Path) -> None:
    first = (built / "incidents/INC-2025-001/index.html").read_text()
    second = (built / "incidents/INC-2025-002/index.html").read_text()
    assert 'href="../INC-2025-002/"' in first  # the backlink
    assert 'href="../INC-2025-001/"' in second


def test_superseded_control_links_to_replacement_and_back(built: Path) -> None:
    old = (built / "controls/iso27001-2013/a-16-1-6/index.html").read_text()
    new = (built / "controls/iso27001-2022/a-5-27/index.html").read_text()
    assert 'href="../../iso27001-2022/a-5-27/"' in old
    assert 'href="../../iso27001-2013/a-16-1-6/"' in new


def test_two_builds_are_byte_identical(tmp_path: Path, built: Path) -> None:
    kb = make_kb(tmp_path, two_reviews())
    assert build(kb, tmp_path / "again").exit_code == 0
    again = tree_digest(tmp_path / "again")
    assert any(path.startswith("pagefind/index/") for path in again), "the search index is part of the comparison"
    assert again == tree_digest(built)


def test_builds_in_processes_with_other_hash_seeds_are_byte_identical(tmp_path: Path) -> None:
    """Set and dict orders of strings change with the hash seed of each process: nothing
    that reaches the site may follow them (restricted ids, categories, controls ...)."""
    reviews = two_reviews()
    for n in range(3, 7):
        reviews[f"INC-2025-00{n}"] = valid_review(f"INC-2025-00{n}", classification="TLP:RED")
    reviews["INC-2025-002"]["related"] = ["INC-2025-001", "INC-2025-005", "INC-2025-003"]
    kb = make_kb(tmp_path, reviews)
    digests = []
    for seed in ("1", "2", "3"):
        site = tmp_path / f"site-{seed}"
        done = subprocess.run([sys.executable, "-m", "generator", "build", "--kb", str(kb), "--site-dir", str(site),
                               "--as-of", AS_OF], cwd=tmp_path, capture_output=True, text=True,
                              env={**os.environ, "PYTHONHASHSEED": seed})
        assert done.returncode == 0, done.stdout + done.stderr
        digests.append(tree_digest(site))
    assert digests[0] == digests[1] == digests[2]


def test_the_example_site_with_its_guides_builds_byte_identical(tmp_path: Path) -> None:
    """Reviews and hand-written guides side by side in one search index: Pagefind writes a
    filter with two values in a different order on every run, so the site uses none."""
    root = Path(__file__).resolve().parent.parent
    digests = []
    for seed in ("1", "2"):
        site = tmp_path / f"site-{seed}"
        done = subprocess.run([sys.executable, "-m", "generator", "build", "--site-dir", str(site),
                               "--as-of", "2026-12-01"], cwd=root, capture_output=True, text=True,
                              env={**os.environ, "PYTHONHASHSEED": seed, "KB_CACHE": "off"})
        assert done.returncode == 0, done.stdout + done.stderr
        digests.append(tree_digest(site))
    assert any(path.startswith("guide/") for path in digests[0]), "the guides are part of the comparison"
    assert digests[0] == digests[1]


def test_nothing_is_written_on_errors(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, {"INC-2025-001": valid_review(severity="P9")})
    outcome = build(kb, tmp_path / "site")
    assert outcome.exit_code == 1
    assert "[schema]" in outcome.stdout
    assert not (tmp_path / "site").exists()
    # No temporary folder left behind; the build cache holds a lock file at most, nothing built.
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".kb-cache") == ["kb"]
    assert [p.name for p in (tmp_path / ".kb-cache").rglob("*") if not p.name.endswith(".lock")] in ([], ["build"])


def test_failed_build_keeps_the_previous_site(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, two_reviews())
    assert build(kb, tmp_path / "site").exit_code == 0
    before = tree_digest(tmp_path / "site")
    (kb / "reviews" / "INC-2025-002.yaml").write_text("id: [unclosed\n")
    assert build(kb, tmp_path / "site").exit_code == 1
    assert tree_digest(tmp_path / "site") == before


def test_strict_fails_on_warnings_and_writes_nothing(tmp_path: Path) -> None:
    review = valid_review()
    review["actions"][0]["status"] = "open"
    review["actions"][0].pop("completed", None)
    review["status"] = "approved"
    review["actions"][0]["due"] = "2025-03-01"  # before AS_OF: overdue warning
    kb = make_kb(tmp_path, {"INC-2025-001": review})
    outcome = build(kb, tmp_path / "site", "--strict")
    assert outcome.exit_code == 1 and "[overdue-action]" in outcome.stdout
    assert not (tmp_path / "site").exists()
    assert build(kb, tmp_path / "site").exit_code == 0


def test_interrupted_build_leaves_previous_site_complete(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, two_reviews())
    assert build(kb, tmp_path / "site").exit_code == 0
    before = tree_digest(tmp_path / "site")
    for n in range(3, 60):  # enough reviews that the build takes a moment
        (kb / "reviews" / f"INC-2025-{n:03d}.yaml").write_text(to_yaml(valid_review(f"INC-2025-{n:03d}")))
    process = subprocess.Popen([sys.executable, "-m", "generator", "build", "--kb", str(kb), "--site-dir",
                                str(tmp_path / "site"), "--as-of", AS_OF], cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    after = tree_digest(tmp_path / "site")
    if after != before:  # the kill came after the swap: then the new site is complete
        assert all((tmp_path / "site" / "incidents" / f"INC-2025-{n:03d}" / "index.html").is_file() for n in range(1, 60))


def test_handwritten_page_is_never_replaced(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, two_reviews())
    (tmp_path / "docs" / "incidents").mkdir(parents=True)
    (tmp_path / "docs" / "incidents" / "index.md").write_text("# mine\n")
    (tmp_path / "mkdocs.yml").write_text("site_name: t\ntheme: {name: material, font: false}\n")
    outcome = build(kb, tmp_path / "site")
    assert outcome.exit_code == 1
    assert "[page-collision]" in outcome.stdout and "incidents/index.md" in outcome.stdout
    assert (tmp_path / "docs" / "incidents" / "index.md").read_text() == "# mine\n"


def test_site_dir_that_looks_like_a_project_is_refused(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, two_reviews())
    precious = tmp_path / "project"
    precious.mkdir()
    (precious / "pyproject.toml").write_text("x")
    outcome = build(kb, precious)
    assert outcome.exit_code == 1
    assert (precious / "pyproject.toml").read_text() == "x"


def test_site_contacts_no_other_host(built: Path) -> None:
    for page in built.rglob("*.html"):
        text = page.read_text()
        assert "fonts.googleapis" not in text and "fonts.gstatic" not in text, page
        for marker in ('src="http', "src='http", 'href="http://', "<script src=\"//"):
            assert marker not in text, (page, marker)


def test_navigation_lists_sections_not_reviews(built: Path) -> None:
    home = (built / "index.html").read_text()
    nav = home.split('md-nav--primary', 1)[1].split("</nav>", 1)[0]
    assert "INC-2025-001" not in nav


def test_kb_dir_is_never_written(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, two_reviews())
    before = tree_digest(kb)
    assert build(kb, tmp_path / "site").exit_code == 0
    assert tree_digest(kb) == before
    assert build(kb, kb / "site").exit_code == 1
    assert tree_digest(kb) == before


def test_edit_button_opens_the_yaml_record(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, two_reviews())
    (tmp_path / "docs" / "guide").mkdir(parents=True)
    (tmp_path / "docs" / "guide" / "howto.md").write_text("# How to\n")
    theme = Path(__file__).resolve().parent.parent / "generator" / "theme"
    # No hooks: the theme override alone does it (Zensical reads it and ignores hooks).
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: t\nrepo_url: https://git.example/org/kb\nedit_uri: edit/main/docs/\n"
        f"theme: {{name: material, font: false, custom_dir: '{theme}', features: [content.action.edit]}}\n")
    assert build(kb, tmp_path / "site").exit_code == 0
    review = (tmp_path / "site/incidents/INC-2025-001/index.html").read_text()
    assert 'href="https://git.example/org/kb/edit/main/kb/reviews/INC-2025-001.yaml"' in review
    assert 'rel="edit"' not in (tmp_path / "site/incidents/index.html").read_text()  # a list: no record to edit
    guide = (tmp_path / "site/guide/howto/index.html").read_text()
    assert 'href="https://git.example/org/kb/edit/main/docs/guide/howto.md"' in guide  # hand-written: the engine's own


def test_search_index_covers_the_review_pages_only(built: Path) -> None:
    entry = json.loads((built / "pagefind" / "pagefind-entry.json").read_text())
    assert sum(language["page_count"] for language in entry["languages"].values()) == 2  # the two reviews
    assert "data-pagefind-body" in (built / "incidents/INC-2025-001/index.html").read_text()
    for page in ("", "incidents/", "lessons/", "controls/", "search/"):  # they quote reviews, or are the search
        assert "data-pagefind-body" not in (built / page / "index.html").read_text(), page
    assert not (built / "search" / "search_index.json").exists(), "Material's search plugin is off"


def test_home_page_has_a_search_box_opening_the_search_page(built: Path) -> None:
    home = (built / "index.html").read_text()
    assert '<form class="kb-home-search" role="search" action="search/">' in home and 'name="q"' in home


def test_search_page_loads_pagefind_by_relative_urls(built: Path) -> None:
    page = (built / "search" / "index.html").read_text()
    assert 'data-kb-root="../"' in page and '<script src="../assets/kb-search.js">' in page
    assert "kb search" in page  # the way to search without the index (kb serve) or without JavaScript
    script = (built / "assets" / "kb-search.js").read_text()
    assert 'new URL("pagefind/", root)' in script and "baseUrl: root.pathname" in script
    assert "http" not in script.replace("https://", "")  # nothing from another host
    for asset in ("pagefind-ui.js", "pagefind-ui.css", "pagefind.js"):
        assert (built / "pagefind" / asset).is_file(), asset


def fake_pagefind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    """Point `python -m pagefind` at a stand-in binary (pagefind's own PAGEFIND_BINARY_PATH)."""
    binary = tmp_path / "fake-pagefind"
    binary.write_text("#!/bin/sh\n" + script + "\n")
    binary.chmod(0o755)
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(binary))


def test_failed_pagefind_is_an_error_and_keeps_the_previous_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kb = make_kb(tmp_path, two_reviews())
    assert build(kb, tmp_path / "site").exit_code == 0
    before = tree_digest(tmp_path / "site")
    fake_pagefind(tmp_path, monkeypatch, "echo 'Error: disk quota exceeded' >&2; exit 3")
    outcome = build(kb, tmp_path / "site")
    assert outcome.exit_code == 1, outcome.stdout + outcome.stderr
    assert "error: Pagefind could not index the site (exit 3): Error: disk quota exceeded; install it with: " \
           "pip install 'pagefind[bin]'" in outcome.stdout
    assert "[site]" in outcome.stdout and "Traceback" not in outcome.stdout + outcome.stderr
    assert tree_digest(tmp_path / "site") == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".kb-cache") == ["fake-pagefind", "kb", "site"]  # no half site left (the build cache is not the site)


def test_missing_pagefind_binary_is_an_error_with_a_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kb = make_kb(tmp_path, two_reviews())
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(tmp_path / "no-such-binary"))
    outcome = build(kb, tmp_path / "site")
    assert outcome.exit_code == 1
    assert "Pagefind could not index the site (exit 1): FileNotFoundError:" in outcome.stdout
    assert "pip install 'pagefind[bin]'" in outcome.stdout and "Traceback" not in outcome.stdout
    assert not (tmp_path / "site").exists()


def test_pagefind_not_installed_is_an_error_with_a_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pagefind" else real(name, *a))
    kb = make_kb(tmp_path, two_reviews())
    outcome = build(kb, tmp_path / "site")
    assert outcome.exit_code == 1
    assert "error: Pagefind is not installed, so the search index cannot be built; install it with: " \
           "pip install 'pagefind[bin]'" in outcome.stdout
    assert not (tmp_path / "site").exists()


def test_searchable_pages_are_marked_for_pagefind_without_hooks(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, two_reviews())
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "howto.md").write_text("# How to\n\nSearchable words.\n")
    (tmp_path / "docs" / "internal.md").write_text("---\nsearch:\n  exclude: true\n---\n\n# Internal\n")
    theme = Path(__file__).resolve().parent.parent / "generator" / "theme"
    (tmp_path / "mkdocs.yml").write_text(f"site_name: t\ntheme: {{name: material, font: false, custom_dir: '{theme}'}}\n")
    assert build(kb, tmp_path / "site").exit_code == 0
    marked = "<div data-pagefind-body"
    assert marked in (tmp_path / "site/howto/index.html").read_text()  # a hand-written page
    assert marked in (tmp_path / "site/incidents/INC-2025-001/index.html").read_text()
    assert marked not in (tmp_path / "site/internal/index.html").read_text()  # its front matter excludes it
    assert marked not in (tmp_path / "site/lessons/index.html").read_text()
