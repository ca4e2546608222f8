"""The validation cache changes nothing but the time: every finding is the same with and without it.

Each test builds a KB in a temporary folder, works from another temporary folder (the
cache lives in the current directory) and compares `check` and `validate` with the cache
off, cold, warm, and after edits that a team makes: one record changed, one added, one
removed, a category dropped (the rules' context), another as-of day, a file broken.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

import pytest

from generator import cache
from generator.index import check, validate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import synth  # noqa: E402

AS_OF = synth.AS_OF


@pytest.fixture
def kb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A synthetic KB of 40 reviews plus broken files, with the cache on for it and cwd outside it."""
    folder = tmp_path / "kb"
    synth.generate(folder, 40, seed=3)
    reviews = folder / "reviews"
    first = sorted(reviews.iterdir())[0].read_text(encoding="utf-8")
    (reviews / "INC-2030-001.yaml").write_text(first.replace("severity: ", "severity: P9\nx: ", 1), encoding="utf-8")
    (reviews / "INC-2030-002.yaml").write_text("id: INC-2030-002\ntitle: [unclosed\n", encoding="utf-8")
    (reviews / "INC-2030-003.yaml").write_bytes(b"id: INC-2030-003\ntitle: caf\xe9\n")
    (reviews / "INC-2030-004.yaml").write_text(first, encoding="utf-8")  # a second file with the first one's id
    (reviews / "notes.txt").write_text("not a record\n", encoding="utf-8")
    first_id = first.split("\n", 1)[0].split(": ")[1]
    (reviews / "INC-2030-005.yaml").write_text(
        first.replace(f"id: {first_id}", "id: INC-2030-005", 1).replace("controls: [", "controls: [NOPE/X1, ", 1)
        + "related: [INC-1999-999]\n" * ("related:" not in first), encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(cache, "MIN_FILES", 10)
    monkeypatch.delenv("KB_CACHE", raising=False)
    return folder


def findings(kb_dir: Path, as_of: dt.date = AS_OF) -> list[str]:
    return [d.format() for d in check(kb_dir, as_of=as_of).diagnostics]


def uncached(kb_dir: Path, monkeypatch: pytest.MonkeyPatch, as_of: dt.date = AS_OF) -> list[str]:
    with monkeypatch.context() as patch:
        patch.setenv("KB_CACHE", "off")
        return findings(kb_dir, as_of)


def full(kb_dir: Path, as_of: dt.date = AS_OF) -> tuple[list[str], tuple]:
    result = validate(kb_dir, as_of=as_of)
    return [d.format() for d in result.diagnostics], result.value.reviews


def _cache_files() -> list[Path]:
    return [p for p in Path(".kb-cache").rglob("*") if p.is_file()]


def test_cold_and_warm_runs_find_exactly_what_an_uncached_run_finds(kb, monkeypatch):
    expected = uncached(kb, monkeypatch)
    assert any(": error:" in line for line in expected) and any(": warning:" in line for line in expected)
    assert _cache_files() == []
    assert findings(kb) == expected  # cold: fills the cache
    assert any(p.name.startswith("kb-") for p in _cache_files())
    assert findings(kb) == expected  # warm
    assert findings(kb) == expected


def test_validate_builds_the_same_model_from_the_cache(kb, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setenv("KB_CACHE", "off")
        expected = full(kb)
    assert full(kb) == expected
    assert full(kb) == expected
    assert findings(kb) == expected[0]


def test_edits_added_and_removed_records_are_seen(kb, monkeypatch):
    findings(kb)
    reviews = sorted((kb / "reviews").glob("INC-20[12]*.yaml"))
    edited = reviews[5]
    edited.write_text(edited.read_text(encoding="utf-8").replace("status: ", "status: reopened\nstale: ", 1),
                      encoding="utf-8")
    assert findings(kb) == uncached(kb, monkeypatch)
    (kb / "reviews" / "INC-2030-009.yaml").write_text(reviews[6].read_text(encoding="utf-8"), encoding="utf-8")
    reviews[7].unlink()
    assert findings(kb) == uncached(kb, monkeypatch)
    assert findings(kb) == uncached(kb, monkeypatch)


def test_a_same_size_edit_with_the_old_mtime_is_still_seen(kb, monkeypatch):
    findings(kb)
    record = sorted((kb / "reviews").glob("INC-20[12]*.yaml"))[3]
    info = record.stat()
    text = record.read_text(encoding="utf-8")
    record.write_text(text.replace("severity: P", "severity: Q", 1), encoding="utf-8")
    os.utime(record, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert record.stat().st_size == info.st_size
    after = findings(kb)
    assert after == uncached(kb, monkeypatch)
    assert any(record.name in line and "'Q" in line for line in after)


def test_rule_findings_follow_the_context_and_the_day(kb, monkeypatch):
    findings(kb)
    taxonomy = kb / "taxonomy.yaml"
    text = taxonomy.read_text(encoding="utf-8")
    taxonomy.write_text(text.replace("  - id: configuration-change", "  - id: configuration-changes", 1), encoding="utf-8")
    assert findings(kb) == uncached(kb, monkeypatch)
    later = AS_OF + dt.timedelta(days=400)
    assert findings(kb, later) == uncached(kb, monkeypatch, later)
    assert findings(kb) == uncached(kb, monkeypatch)


def test_the_process_pool_gives_the_same_findings(kb, monkeypatch):
    expected = uncached(kb, monkeypatch)
    monkeypatch.setattr(cache, "POOL_MIN_FILES", 2)
    monkeypatch.setattr(cache, "available_cores", lambda: 2)
    assert findings(kb) == expected
    assert full(kb)[0] == expected


def test_a_missing_object_falls_back_to_the_file(kb, monkeypatch):
    expected = full(kb)
    for path in _cache_files():
        if path.parent.name == "objects":
            path.unlink()
    assert full(kb) == expected


def test_a_corrupt_index_is_ignored(kb, monkeypatch):
    expected = findings(kb)
    for path in _cache_files():
        if path.name.startswith("kb-"):
            path.write_bytes(b"\x00garbage")
    assert findings(kb) == expected
    assert findings(kb) == expected


def test_small_kbs_are_not_cached(kb, monkeypatch):
    monkeypatch.setattr(cache, "MIN_FILES", 1000)
    findings(kb)
    assert not Path(".kb-cache").exists()


def test_the_cache_is_never_written_into_the_kb(kb, monkeypatch):
    monkeypatch.chdir(kb)
    expected = uncached(kb, monkeypatch)
    assert findings(kb) == expected
    assert not (kb / ".kb-cache").exists()
    monkeypatch.chdir(kb / "reviews")
    assert findings(kb) == uncached(kb, monkeypatch)
    assert not (kb / "reviews" / ".kb-cache").exists()


def test_a_new_version_of_the_tool_starts_an_empty_cache(kb, monkeypatch):
    findings(kb)
    old = {p.parent for p in Path(".kb-cache/validate").glob("*/kb-*")}
    monkeypatch.setattr(cache, "tool_fingerprint", lambda: "another-version")
    assert findings(kb) == uncached(kb, monkeypatch)
    assert not any(folder.exists() for folder in old)
