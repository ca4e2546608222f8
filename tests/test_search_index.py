"""`kb search`'s cached index, updated review by review: it must answer as an index built afresh.

Each test changes a KB between searches and compares every answer of the updated index
with those of a fresh one (a search run from another current directory builds its own).
Where it matters, the index file's inode tells an update in place from a rebuild.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TAXONOMY, make_kb, run_kb, to_yaml, valid_review
from generator import search as engine

QUERIES = ["bison", "yak", "eland", "okapi", "runbook", "alert", "edge incident", "token validation", '"rule change"']
OPTIONS = [[], ["--severity", "P1"], ["--kind", "tool"], ["--category", "configuration-change"],
           ["--control", "SOC2/CC7.5"], ["--since", "2025-03-06"]]


def review(review_id: str, lesson: str, **fields) -> dict:
    data = valid_review(review_id, **fields)
    data["lessons"][0]["text"] = lesson
    return data


def write(kb: Path, name: str, data: dict | str) -> None:
    (kb / "reviews" / name).write_text(data if isinstance(data, str) else to_yaml(data), encoding="utf-8")


def search(kb: Path, cwd: Path, *args: str) -> tuple[list[dict], str]:
    """The JSON hits of one search run from cwd, and what it printed on standard error."""
    outcome = run_kb(["search", "--kb", str(kb), "--format", "json", "--limit", "1000", *args], cwd=cwd)
    assert outcome.exit_code == 0, outcome.stderr
    return json.loads(outcome.stdout), outcome.stderr


def answers(kb: Path, cwd: Path) -> dict[str, tuple[list[dict], str]]:
    """Every answer that tells two indexes apart: hits (scores and excerpts included) and warnings."""
    cwd.mkdir(exist_ok=True)
    return {" ".join([query, *options]): search(kb, cwd, query, *options) for query in QUERIES for options in OPTIONS}


def fresh(kb: Path, tmp_path: Path) -> dict[str, tuple[list[dict], str]]:
    """The answers of an index built from scratch."""
    where = tmp_path / f"fresh-{len(list(tmp_path.glob('fresh-*')))}"
    found = answers(kb, where)
    assert len(list((where / ".kb-cache").glob("search-*.sqlite"))) == 1
    return found


def index_inode(cwd: Path) -> int:
    (index,) = (cwd / ".kb-cache").glob("search-*.sqlite")
    return index.stat().st_ino


def reviewed(found: list[dict]) -> set[str]:
    return {hit["review"] for hit in found}


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    p1 = review("INC-2025-001", "Bison herds need a runbook.", severity="P1", title="Edge incident at the herd")
    tool = review("INC-2025-002", "Yak shaving tools need an alert.", controls=["SOC2/CC7.5"])
    tool["lessons"][0]["kind"] = "tool"
    later = review("INC-2025-003", "Okapi rule changes need a check.")
    later["review"]["held"] = "2025-03-07T10:00:00Z"
    return make_kb(tmp_path, {"INC-2025-001": p1, "INC-2025-002": tool, "INC-2025-003": later,
                              "INC-2025-004": review("INC-2025-004", "Another bison lesson.")})


def test_added_edited_removed_and_hidden_records_update_the_index_in_place(kb: Path, tmp_path: Path) -> None:
    here = tmp_path / "here"
    before = answers(kb, here)
    inode = index_inode(here)
    edited = kb / "reviews" / "INC-2025-001.yaml"
    edited.write_text(edited.read_text(encoding="utf-8").replace("Bison herds", "Eland herds"), encoding="utf-8")
    write(kb, "INC-2025-005.yaml", review("INC-2025-005", "Eland and okapi runbook.", severity="P1"))
    (kb / "reviews" / "INC-2025-002.yaml").unlink()
    write(kb, "INC-2025-003.yaml", review("INC-2025-003", "Okapi rule changes need a check.",
                                          classification="TLP:RED"))
    after = answers(kb, here)
    assert index_inode(here) == inode, "a few changed records update the index, they do not rebuild it"
    assert after != before
    assert after == fresh(kb, tmp_path)


def test_an_edited_record_is_found_by_its_new_words_and_not_its_old_ones(kb: Path, tmp_path: Path) -> None:
    assert reviewed(search(kb, tmp_path, "bison")[0]) == {"INC-2025-001", "INC-2025-004"}
    record = kb / "reviews" / "INC-2025-001.yaml"
    record.write_text(record.read_text(encoding="utf-8").replace("Bison", "Eland"), encoding="utf-8")  # same size
    assert reviewed(search(kb, tmp_path, "bison")[0]) == {"INC-2025-004"}
    (hit,) = search(kb, tmp_path, "eland")[0]
    assert (hit["review"], hit["field"]) == ("INC-2025-001", "lesson")
    assert hit["excerpt"] == "[Eland] herds need a runbook. (tags: cdn)"


def test_a_removed_record_disappears_and_comes_back_when_restored(kb: Path, tmp_path: Path) -> None:
    record = kb / "reviews" / "INC-2025-002.yaml"
    text = record.read_text(encoding="utf-8")
    assert reviewed(search(kb, tmp_path, "yak")[0]) == {"INC-2025-002"}
    record.unlink()
    assert search(kb, tmp_path, "yak")[0] == []
    assert search(kb, tmp_path, "shaving", "--control", "SOC2/CC7.5")[0] == []
    record.write_text(text, encoding="utf-8")
    assert reviewed(search(kb, tmp_path, "yak")[0]) == {"INC-2025-002"}
    assert answers(kb, tmp_path) == fresh(kb, tmp_path)


def test_a_changed_taxonomy_rebuilds_the_index(kb: Path, tmp_path: Path) -> None:
    monitoring = review("INC-2025-006", "Gnu monitoring lesson.",
                        root_cause={**valid_review()["root_cause"], "categories": ["insufficient-monitoring"]})
    write(kb, "INC-2025-006.yaml", monitoring)
    narrow = {"categories": [c for c in TAXONOMY["categories"] if c["id"] != "insufficient-monitoring"]}
    (kb / "taxonomy.yaml").write_text(to_yaml(narrow), encoding="utf-8")
    found, warned = search(kb, tmp_path, "gnu")
    assert reviewed(found) == {"INC-2025-006"} and "has 1 error;" in warned  # an unknown category is an error
    refused = run_kb(["search", "--kb", str(kb), "gnu", "--category", "insufficient-monitoring"], cwd=tmp_path)
    assert refused.exit_code == 2 and "unknown category 'insufficient-monitoring'" in refused.stderr
    inode = index_inode(tmp_path)

    (kb / "taxonomy.yaml").write_text(to_yaml(TAXONOMY), encoding="utf-8")
    found, warned = search(kb, tmp_path, "gnu", "--category", "insufficient-monitoring")
    assert reviewed(found) == {"INC-2025-006"} and warned == ""
    assert index_inode(tmp_path) != inode, "every review's checks depend on the taxonomy: rebuilt"
    assert answers(kb, tmp_path) == fresh(kb, tmp_path)


def test_a_record_with_errors_is_left_out_with_a_warning_until_it_is_fixed(kb: Path, tmp_path: Path) -> None:
    record = kb / "reviews" / "INC-2025-003.yaml"
    text = record.read_text(encoding="utf-8")
    search(kb, tmp_path, "okapi")
    record.write_text("id: [broken\n", encoding="utf-8")
    found, warned = search(kb, tmp_path, "okapi")
    assert found == [] and "warning: the knowledge base has 1 error;" in warned
    assert answers(kb, tmp_path) == fresh(kb, tmp_path)
    record.write_text(text, encoding="utf-8")
    found, warned = search(kb, tmp_path, "okapi")
    assert reviewed(found) == {"INC-2025-003"} and warned == ""


def test_two_records_with_one_id_are_both_searched(kb: Path, tmp_path: Path) -> None:
    search(kb, tmp_path, "bison")
    write(kb, "INC-2025-004.yml", review("INC-2025-004", "A third bison lesson."))
    found, warned = search(kb, tmp_path, "bison")
    assert [hit["review"] for hit in found].count("INC-2025-004") == 2 and "errors;" in warned
    assert answers(kb, tmp_path) == fresh(kb, tmp_path)


def test_an_edit_the_stat_cannot_show_is_found_while_the_file_is_recent(kb: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # A file system with coarse timestamps: a second edit within one tick keeps size and times.
    monkeypatch.setattr(engine, "_stat", lambda info: (info.st_mode, info.st_size, info.st_mtime_ns, 0, 0))
    record = kb / "reviews" / "INC-2025-001.yaml"
    search(kb, tmp_path, "bison")
    before = record.stat()
    record.write_text(record.read_text(encoding="utf-8").replace("Bison", "Eland"), encoding="utf-8")
    os.utime(record, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert reviewed(search(kb, tmp_path, "eland")[0]) == {"INC-2025-001"}


def test_many_changed_records_rebuild_the_index_with_the_same_answers(kb: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "REBUILD_MIN", 1)
    search(kb, tmp_path, "bison")
    inode = index_inode(tmp_path)
    for number in (1, 2, 4):
        record = kb / "reviews" / f"INC-2025-00{number}.yaml"
        record.write_text(record.read_text(encoding="utf-8").replace("lesson", "eland lesson"), encoding="utf-8")
    write(kb, "INC-2025-007.yaml", review("INC-2025-007", "Eland runbook."))
    answered = answers(kb, tmp_path)
    assert index_inode(tmp_path) != inode
    assert answered == fresh(kb, tmp_path)


def test_a_search_of_an_unchanged_kb_reads_no_record_and_imports_no_yaml(kb: Path, tmp_path: Path) -> None:
    search(kb, tmp_path, "bison")
    probe = ("import sys\nfrom generator.cli import main\n"
             "main(['search', '--kb', 'kb', 'bison'], standalone_mode=False)\n"
             "print(sorted(m for m in ('yaml', 'jsonschema', 'jinja2', 'generator.index') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "INC-2025-001" in done.stdout and done.stdout.splitlines()[-1] == "[]"
