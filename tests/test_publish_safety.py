"""Publishing cannot destroy or hide a site: --site-dir is never an input, the swap is one
step (a build killed anywhere leaves one complete site), and a full disk or an unwritable
folder is a clear error that keeps the previous site."""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import make_kb, run_kb, to_yaml, valid_review
from generator import site as publish

AS_OF = "2025-04-01"
ROOT = Path(__file__).resolve().parents[1]


def build(kb: Path, site: Path, *args: str, cwd: Path | None = None):
    return run_kb(["build", "--kb", str(kb), "--site-dir", str(site), "--as-of", AS_OF, *args], cwd=cwd or kb.parent)


def digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# -- --site-dir is never an input ----------------------------------------------------------

@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project as kb build finds it: mkdocs.yml, docs/ with a hand-written page, kb/."""
    root = tmp_path / "project"
    make_kb(root)
    (root / "mkdocs.yml").write_text("site_name: t\ndocs_dir: docs\ntheme: {name: material, font: false}\n")
    (root / "docs" / "guide").mkdir(parents=True)
    (root / "docs" / "guide" / "mine.md").write_text("# Mine\n")
    return root


@pytest.mark.parametrize("site, says", [
    ("docs", "is the MkDocs docs_dir"),
    ("docs/guide", "lies inside the MkDocs docs_dir"),
    ("kb", "is the knowledge base"),
    ("kb/reviews", "lies inside the knowledge base"),
    (".", "contains the knowledge base"),
    ("..", "contains the knowledge base"),
])
def test_site_dir_may_not_be_hold_or_lie_inside_an_input(project: Path, site: str, says: str) -> None:
    before = digest(project)
    outcome = build(project / "kb", Path(site), cwd=project)
    assert outcome.exit_code == 1, outcome.stderr
    assert says in outcome.stderr and "Traceback" not in outcome.stderr
    assert digest(project) == before  # nothing written, nothing replaced


def test_site_dir_may_not_be_the_configurations_folder(tmp_path: Path) -> None:
    kb = make_kb(tmp_path / "elsewhere")
    config = tmp_path / "config" / "mkdocs.yml"
    config.parent.mkdir()
    config.write_text("site_name: t\ndocs_dir: ../pages  # outside\ntheme: {name: material, font: false}\n")
    outcome = run_kb(["build", "--kb", str(kb), "--config", str(config), "--site-dir", str(config.parent),
                      "--as-of", AS_OF], cwd=kb.parent)
    assert outcome.exit_code == 1 and "is the folder of the configuration" in outcome.stderr
    assert config.is_file()


def test_the_default_site_beside_the_configuration_is_fine(project: Path) -> None:
    assert build(project / "kb", Path("site"), cwd=project).exit_code == 0
    assert (project / "site" / "guide" / "mine" / "index.html").is_file()
    assert (project / "docs" / "guide" / "mine.md").read_text() == "# Mine\n"


# -- the swap --------------------------------------------------------------------------------

STEPS = ["work-created", "docs-written", "site-built", "indexed", "before-swap", "exchanged", "swapped"]
FALLBACK_STEPS = ["before-swap", "moved-aside", "moved-in", "swapped"]
NO_EXCHANGE = "import generator.site as s; s.exchange = lambda a, b: False; from generator.cli import main; main()"


def run_build(kb: Path, site: Path, *, kill_at: str | None = None, fallback: bool = False) -> int:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("KB_TEST_KILL_AT", None)
    if kill_at:
        env["KB_TEST_KILL_AT"] = kill_at
    command = [sys.executable, "-c", NO_EXCHANGE] if fallback else [sys.executable, "-m", "generator"]
    done = subprocess.run([*command, "build", "--kb", str(kb), "--site-dir", str(site), "--as-of", AS_OF],
                          cwd=kb.parent, env=env, capture_output=True, text=True, check=False)
    return done.returncode


def site_version(site: Path) -> str:
    """'old' or 'new' when the site is complete and all of one build, else fail."""
    page = (site / "incidents" / "INC-2025-001" / "index.html").read_text()
    listing = (site / "incidents" / "index.html").read_text()
    assert (site / "pagefind" / "pagefind.js").is_file() and (site / "index.html").is_file()
    versions = {name for name, marker in (("old", "Old title of the review"), ("new", "New title of the review"))
                if marker in page}
    assert len(versions) == 1, versions
    (version,) = versions
    assert ("Old title" in listing) == (version == "old")
    return version


def _kb_with_title(tmp_path: Path, title: str) -> Path:
    kb = tmp_path / "kb"
    if not kb.exists():
        make_kb(tmp_path, {"INC-2025-001": valid_review(title=title)})
    else:
        (kb / "reviews" / "INC-2025-001.yaml").write_text(to_yaml(valid_review(title=title)))
    return kb


@pytest.mark.parametrize("step", STEPS)
def test_a_build_killed_at_any_step_leaves_one_complete_site(tmp_path: Path, step: str) -> None:
    site = tmp_path / "site"
    assert run_build(_kb_with_title(tmp_path, "Old title of the review"), site) == 0
    kb = _kb_with_title(tmp_path, "New title of the review")
    assert run_build(kb, site, kill_at=step) == -9  # SIGKILL
    version = site_version(site)
    assert version == ("new" if step in ("exchanged", "swapped") else "old")
    # The next build removes what the killed one left behind, and publishes.
    assert run_build(kb, site) == 0
    assert site_version(site) == "new"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".site.")) == []


@pytest.mark.parametrize("step", FALLBACK_STEPS)
def test_without_an_exchange_the_two_rename_fallback_recovers(tmp_path: Path, step: str) -> None:
    site = tmp_path / "site"
    assert run_build(_kb_with_title(tmp_path, "Old title of the review"), site, fallback=True) == 0
    kb = _kb_with_title(tmp_path, "New title of the review")
    assert run_build(kb, site, kill_at=step, fallback=True) == -9
    if step != "moved-aside":  # the one moment the fallback has no site folder
        assert site_version(site) == ("old" if step == "before-swap" else "new")
    # The next build puts a moved-aside site back first, cleans up, and publishes.
    publish.recover(site)
    assert site_version(site) in ("old", "new")
    assert run_build(kb, site, fallback=True) == 0
    assert site_version(site) == "new"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".site.")] == []


def test_exchange_swaps_two_folders(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x").write_text("a")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x").write_text("b")
    if not publish.exchange(tmp_path / "a", tmp_path / "b"):
        pytest.skip("this file system has no RENAME_EXCHANGE")
    assert (tmp_path / "a" / "x").read_text() == "b" and (tmp_path / "b" / "x").read_text() == "a"


def test_leftovers_of_a_running_build_are_not_touched(tmp_path: Path) -> None:
    mine = tmp_path / f".site.build-{os.getpid()}-abc"
    dead = tmp_path / ".site.build-999999999-abc"
    legacy = tmp_path / ".site.old-xyz"
    for folder in (mine, dead, legacy):
        folder.mkdir()
    publish.recover(tmp_path / "site")
    assert mine.is_dir() and not dead.exists() and not legacy.exists()


# -- the environment -------------------------------------------------------------------------

@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "No space left on device"), (errno.EACCES, "Permission denied")])
def test_a_full_disk_or_unwritable_folder_names_the_path_and_keeps_the_site(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, words: str) -> None:
    kb = make_kb(tmp_path)
    site = tmp_path / "site"
    assert build(kb, site).exit_code == 0
    before = digest(site)

    def fail(target: Path, generated: dict, handwritten: dict) -> int:
        raise OSError(code, os.strerror(code), str(target / "incidents" / "INC-2025-001.md"))

    monkeypatch.setattr(publish, "write_tree", fail)
    outcome = build(kb, site)
    assert outcome.exit_code == 1
    assert f"could not write {target_of(tmp_path)}" in outcome.stderr
    assert words in outcome.stderr and "previous site at" in outcome.stderr and "is kept" in outcome.stderr
    assert "Traceback" not in outcome.stderr and "internal error" not in outcome.stderr
    assert digest(site) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".site.")] == []


def target_of(tmp_path: Path) -> str:
    return str(tmp_path / ".site.build-")


def test_an_unwritable_parent_folder_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kb = make_kb(tmp_path)

    def refuse(*args: object, **kwargs: object) -> str:
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path))

    monkeypatch.setattr(publish.tempfile, "mkdtemp", refuse)
    outcome = build(kb, tmp_path / "site")
    assert outcome.exit_code == 1
    assert f"could not write {tmp_path}: Permission denied; no site was written" in outcome.stderr


# -- hand-written pages ------------------------------------------------------------------------

def test_a_handwritten_reference_link_to_javascript_is_defused_not_a_crash(project: Path) -> None:
    # mdx.py used to delete the href, and MkDocs' link rewriting died on the <a> without one.
    config = project / "mkdocs.yml"
    config.write_text(config.read_text() + "markdown_extensions: [generator.mdx]\n")
    (project / "docs" / "guide" / "mine.md").write_text(
        "# Mine\n\n[click][r] and [inline](javascript:alert(1))\n\n[r]:\n  javascript:alert(2)\n")
    outcome = build(project / "kb", Path("site"), cwd=project)
    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    page = (project / "site" / "guide" / "mine" / "index.html").read_text()
    assert "javascript:" not in page and '<a href="#">click</a>' in page
