"""The build cache: after an edit `kb build` rebuilds only what changed, and its site is,
byte for byte, the site a full build makes of the same KB (generator/incremental.py)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import TAXONOMY, edit_review as edit, make_kb, run_kb, to_yaml, valid_review
from generator.incremental import BUILD_CACHE, BuildStats
from generator.settings import Settings
from generator.site import DEFAULT_CONFIG, build_site

AS_OF = dt.date(2025, 4, 1)
THEME = Path(__file__).parents[1] / "generator" / "theme"


def project(root: Path, *, theme: Path = THEME, site_name: str = "Post-incident reviews") -> Path:
    """A configuration like the built-in one (with its nav) beside a hand-written file.

    Not a hand-written page: Pagefind (1.5.2) writes the values of a filter in a random
    order, and a guide page would add the value section:guide beside section:review, so
    two builds of a KB with guides, cold or not, need not have the same pagefind/ bytes."""
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    text = text.replace("custom_dir: theme", f"custom_dir: {theme}")
    text = text.replace("  - mkdocs_hooks.py", f"  - {DEFAULT_CONFIG.parent / 'mkdocs_hooks.py'}")
    text = text.replace("site_name: Post-incident reviews", f"site_name: {site_name}")
    config = root / "project" / "mkdocs.yml"
    (config.parent / "docs").mkdir(parents=True, exist_ok=True)
    config.write_text(text, encoding="utf-8")
    (config.parent / "docs" / "robots.txt").write_text("User-agent: *\nAllow: /\n", encoding="utf-8")
    return config


def reviews() -> dict:
    second = valid_review("INC-2025-002", title="Credential stuffing on the sign-in API", related=["INC-2025-001"])
    others = {f"INC-2025-{n:03}": valid_review(f"INC-2025-{n:03}", title=f"Incident number {n}") for n in range(5, 12)}
    return {"INC-2025-001": valid_review("INC-2025-001"), "INC-2025-002": second,
            "INC-2025-003": valid_review("INC-2025-003", title="Leaked deploy key"), **others}


def build(kb: Path, site: Path, config: Path, **options) -> BuildStats:
    stats = BuildStats()
    settings = Settings(kb_dir=kb, as_of=options.pop("as_of", AS_OF), site_dir=site, config_file=config, **options)
    result = build_site(settings, stats=stats)
    assert not result.failed(strict=False), result.diagnostics
    return stats


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_same_site(built: Path, expected: Path) -> None:
    got, want = files(built), files(expected)
    assert sorted(got) == sorted(want)
    assert [name for name in want if got[name] != want[name]] == []


def retitle(data: dict) -> None:
    data["title"] = "Credential stuffing on the sign-in and recovery APIs"


def relesson(data: dict) -> None:
    data["lessons"][0]["text"] = "CDN rule changes need a security check and a canary."


def progress(data: dict) -> None:
    data["actions"][0]["status"] = "in-progress"


def rename_category(kb: Path) -> None:
    taxonomy = yaml.safe_load(to_yaml(TAXONOMY))
    taxonomy["categories"][0]["title"] = "Unsafe change to a configuration"
    taxonomy["categories"][2]["id"] = "missing-monitoring"  # a page goes, another comes
    (kb / "taxonomy.yaml").write_text(to_yaml(taxonomy), encoding="utf-8")


def test_incremental_builds_equal_full_builds_byte_for_byte(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = project(tmp_path)
    kb = make_kb(tmp_path, reviews())
    first = build(kb, tmp_path / "site", config)
    assert first.mode == "cold" and first.rendered == first.pages > 10

    steps = {
        "a title": lambda: edit(kb, "INC-2025-002", retitle),
        "a lesson and an action's status": lambda: (edit(kb, "INC-2025-001", relesson), edit(kb, "INC-2025-001", progress)),
        "a review added and another removed": lambda: (
            (kb / "reviews" / "INC-2025-004.yaml").write_text(to_yaml(valid_review("INC-2025-004", title="Phished admin")),
                                                               encoding="utf-8"),
            (kb / "reviews" / "INC-2025-003.yaml").unlink()),
        "a category renamed in taxonomy.yaml": lambda: rename_category(kb),
    }
    for step, change in steps.items():
        change()
        stats = build(kb, tmp_path / "site", config)
        assert stats.mode == "incremental", step
        assert stats.rendered > 0, step
        if "renamed" not in step:  # every review page shows its category's title
            assert stats.rendered < stats.pages / 2, step  # only the pages the edit reached
        with monkeypatch.context() as cold:
            cold.setenv("KB_CACHE", "off")
            shutil.rmtree(tmp_path / "cold", ignore_errors=True)
            assert build(kb, tmp_path / "cold", config).mode == "off"
        assert_same_site(tmp_path / "site", tmp_path / "cold")
        assert (tmp_path / "site" / "pagefind" / "pagefind-entry.json").is_file()
    assert not (tmp_path / "site" / "incidents" / "INC-2025-003").exists()
    assert not (tmp_path / "site" / "root-causes" / "insufficient-monitoring").exists()


@pytest.fixture()
def warm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A KB built once, so that the build cache is warm; returns (kb, config)."""
    monkeypatch.chdir(tmp_path)
    config = project(tmp_path)
    kb = make_kb(tmp_path, reviews())
    assert build(kb, tmp_path / "site", config).mode == "cold"
    assert build(kb, tmp_path / "site", config).rendered == 0  # nothing changed: nothing rendered
    return kb, config


def test_what_the_cache_cannot_vouch_for_means_a_full_build(tmp_path: Path, warm: tuple[Path, Path]) -> None:
    kb, config = warm
    theme = tmp_path / "theme"
    shutil.copytree(THEME, theme)
    (theme / "main.html").write_text((theme / "main.html").read_text() + "\n{# edited #}\n")
    changes = {
        "configuration": lambda: dict(config=project(tmp_path, site_name="Lessons learned")),
        "theme override": lambda: dict(config=project(tmp_path, theme=theme)),
        "audience": lambda: dict(config=project(tmp_path), audience="public"),
        "as-of day": lambda: dict(config=project(tmp_path), as_of=AS_OF + dt.timedelta(days=1)),
    }
    for change, options in changes.items():
        options = options()
        stats = build(kb, tmp_path / "site", options.pop("config"), **options)
        assert (stats.mode, stats.rendered) == ("cold", stats.pages), change
    assert len(list((tmp_path / BUILD_CACHE).iterdir())) <= 2 * 2  # two folders and their locks


def test_a_broken_or_unfinished_cache_means_a_full_build(tmp_path: Path, warm: tuple[Path, Path]) -> None:
    kb, config = warm
    [folder] = [p for p in (tmp_path / BUILD_CACHE).iterdir() if p.is_dir()]
    (folder / "pages.marshal").write_bytes(b"\x00not marshal")
    assert build(kb, tmp_path / "site", config).mode == "cold"
    (folder / "complete").unlink()  # as a build killed half-way leaves it
    assert build(kb, tmp_path / "site", config).mode == "cold"
    assert build(kb, tmp_path / "site", config).mode == "incremental"


def test_cli_says_how_it_built_and_kb_cache_off_turns_the_cache_off(tmp_path: Path) -> None:
    kb = make_kb(tmp_path)
    args = ["build", "--kb", str(kb), "--site-dir", str(tmp_path / "site"), "--as-of", AS_OF.isoformat()]
    assert "full build" in run_kb(args, cwd=tmp_path).stderr
    assert "incremental: 0 of" in run_kb(args, cwd=tmp_path).stderr
    with pytest.MonkeyPatch.context() as off:
        off.setenv("KB_CACHE", "off")
        outcome = run_kb(args, cwd=tmp_path)
    assert outcome.exit_code == 0 and "incremental" not in outcome.stderr and "full build" not in outcome.stderr


def test_an_unwritable_cache_folder_means_a_full_build_as_before(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".kb-cache").write_text("not a folder")  # nothing can be created under it
    kb = make_kb(tmp_path, reviews())
    config = project(tmp_path)
    assert build(kb, tmp_path / "site", config).mode == "off"
    assert (tmp_path / "site" / "incidents" / "INC-2025-001" / "index.html").is_file()
    assert (tmp_path / ".kb-cache").read_text() == "not a folder"


def test_a_build_running_beside_goes_without_the_cache(tmp_path: Path, warm: tuple[Path, Path]) -> None:
    fcntl = pytest.importorskip("fcntl")
    kb, config = warm
    [folder] = [p for p in (tmp_path / BUILD_CACHE).iterdir() if p.is_dir()]
    with open(folder.with_name(f".{folder.name}.lock"), "ab") as held:  # as the other build holds it
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert build(kb, tmp_path / "other-site", config).mode == "off"
    assert (tmp_path / "other-site" / "index.html").is_file()
    assert build(kb, tmp_path / "site", config).mode == "incremental"  # the cache was left as it was


def test_the_ranking_of_similar_reviews_is_reused_until_what_it_reads_changes(
        tmp_path: Path, warm: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Ranking similar reviews reads every review; most edits (an action's status, a summary)
    change nothing it reads, and the build keeps the last ranking instead of redoing it."""
    from generator import similar

    kb, config = warm
    log = tmp_path / "ranked.log"  # the pages are rendered in a forked process: it tells through a file
    real = similar.rank

    def rank(found, **options):  # type: ignore[no-untyped-def]
        with log.open("a", encoding="utf-8") as out:
            out.write(f"{len(found)}\n")
        return real(found, **options)

    monkeypatch.setattr(similar, "rank", rank)
    edit(kb, "INC-2025-001", progress)
    edit(kb, "INC-2025-003", lambda data: data.update(summary="Rewritten summary of the leak."))
    assert build(kb, tmp_path / "site", config).mode == "incremental"
    assert not log.exists()
    edit(kb, "INC-2025-002", retitle)  # the title is compared
    assert build(kb, tmp_path / "site", config).mode == "incremental"
    assert log.read_text(encoding="utf-8") == "10\n"
    with monkeypatch.context() as cold:
        cold.setenv("KB_CACHE", "off")
        build(kb, tmp_path / "cold", config)
    assert_same_site(tmp_path / "site", tmp_path / "cold")
    assert "Credential stuffing on the sign-in and recovery APIs" in \
        (tmp_path / "site" / "incidents" / "INC-2025-001" / "index.html").read_text(encoding="utf-8")


def test_pagefind_given_only_the_searchable_pages_writes_the_index_of_the_whole_site(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """kb build hands Pagefind hard links to the pages it indexes, not the lists marked
    `search: exclude`; the index must be the one the whole site gives (guides included)."""
    import subprocess

    from generator.site import pagefind_command, prepare_docs, unsearchable

    root = Path(__file__).parents[1]
    monkeypatch.setenv("KB_CACHE", "off")
    site = tmp_path / "site"
    settings = Settings(kb_dir=root / "kb", as_of=dt.date(2026, 12, 1), site_dir=site, config_file=root / "mkdocs.yml")
    assert not build_site(settings).failed(strict=False)
    whole = tmp_path / "whole"
    shutil.copytree(site, whole)
    shutil.rmtree(whole / "pagefind")
    subprocess.run(pagefind_command(whole), check=True, capture_output=True)
    assert files(site / "pagefind") == files(whole / "pagefind")
    _, tree = prepare_docs(settings)
    assert tree is not None
    skipped = unsearchable(tree.generated)
    assert "incidents/index.html" in skipped and "incidents/INC-2025-014/index.html" not in skipped
    assert all((site / name).is_file() for name in skipped)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site", "whole"]  # no folder of links left behind
