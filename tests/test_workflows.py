"""Everyday commands: kb new, search, show, actions, training and export."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from conftest import AS_OF, make_kb, run_kb, run_validate, to_yaml, valid_review


def review_with(review_id: str, *, lesson: str = "Rotate keys after every leak.", timeline: str = "Alert fired.",
                **fields) -> dict:
    review = valid_review(review_id, **fields)
    review["lessons"][0]["text"] = lesson
    review["timeline"][0]["event"] = timeline
    return review


# -- kb new ------------------------------------------------------------------------------

def test_new_on_an_empty_kb(tmp_path: Path) -> None:
    outcome = run_kb(["new", "--kb", "kb", "--as-of", "2026-03-01", "--title", "Leaked key"], cwd=tmp_path)
    assert outcome.exit_code == 0, outcome.stderr
    path = tmp_path / "kb" / "reviews" / "INC-2026-001.yaml"
    assert "wrote kb/reviews/INC-2026-001.yaml" in outcome.stdout
    assert "fill in: " in outcome.stdout and "incident.detected" in outcome.stdout and "title" not in outcome.stdout.split("fill in: ")[1].split(", ")
    text = path.read_text()
    assert text.startswith("# yaml-language-server: $schema=../../schemas/review.schema.json")
    assert 'title: "Leaked key"' in text


def test_new_takes_the_next_sequence_of_the_year_and_never_overwrites(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, {"INC-2026-007": valid_review("INC-2026-007"), "INC-2025-031": valid_review("INC-2025-031")})
    before = (kb / "reviews" / "INC-2026-007.yaml").read_text()
    assert run_kb(["new", "--kb", "kb", "--as-of", "2026-05-05"], cwd=tmp_path).exit_code == 0
    assert (kb / "reviews" / "INC-2026-008.yaml").is_file()
    assert (kb / "reviews" / "INC-2026-007.yaml").read_text() == before
    assert run_kb(["new", "--kb", "kb", "--as-of", "2027-01-02"], cwd=tmp_path).exit_code == 0
    assert (kb / "reviews" / "INC-2027-001.yaml").is_file()


def test_new_record_fails_validation_only_on_the_fields_to_fill(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, {})
    outcome = run_kb(["new", "--kb", "kb", "--as-of", "2026-03-01", "--severity", "P3"], cwd=tmp_path)
    to_fill = set(outcome.stdout.split("fill in: ")[1].strip().split(", "))
    assert {"review_reasons", "summary", "incident.resolved", "root_cause.categories"} <= to_fill
    check = run_validate(kb)
    assert check.exit_code == 1
    assert {f.rule for f in check.findings} <= {"schema", "p3-review-reasons"}
    assert all(f.path.endswith("INC-2026-001.yaml") for f in check.findings)


def test_new_refuses_a_multi_line_title(tmp_path: Path) -> None:
    outcome = run_kb(["new", "--kb", "kb", "--title", "a\nb"], cwd=tmp_path)
    assert outcome.exit_code == 1 and "one non-empty line" in outcome.stderr
    assert not list(tmp_path.rglob("*.yaml"))


# -- kb search ---------------------------------------------------------------------------

@pytest.fixture
def search_kb(tmp_path: Path) -> Path:
    return make_kb(tmp_path, {
        "INC-2025-001": review_with("INC-2025-001", lesson="Tokens must never fail open under load."),
        "INC-2025-002": review_with("INC-2025-002", title="Credential stuffing", timeline="Token service timed out."),
        "INC-2025-003": review_with("INC-2025-003", title="Phishing", classification="TLP:RED",
                                    lesson="Secret token lesson of a red review."),
    })


def search(kb: Path, *args: str):
    return run_kb(["search", "--kb", str(kb), *args], cwd=kb.parent)


def test_a_lesson_hit_outranks_a_timeline_hit(search_kb: Path) -> None:
    outcome = search(search_kb, "token", "--format", "json")
    assert outcome.exit_code == 0, outcome.stderr
    hits = json.loads(outcome.stdout)
    places = [(h["review"], h["field"]) for h in hits]
    lesson, timeline = places.index(("INC-2025-001", "lesson")), places.index(("INC-2025-002", "timeline"))
    assert lesson < timeline and hits[lesson]["score"] > hits[timeline]["score"]
    assert hits[lesson]["url"] == "incidents/INC-2025-001/#l1"
    assert set(hits[0]) >= {"review", "score", "field", "excerpt", "url"}
    assert "[Tokens]" in hits[lesson]["excerpt"]
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


def test_search_stems_and_hides_red_reviews(search_kb: Path) -> None:
    hits = json.loads(search(search_kb, "tokens", "--format", "json").stdout)
    assert "INC-2025-003" not in {h["review"] for h in hits}
    assert {h["review"] for h in hits} >= {"INC-2025-001", "INC-2025-002"}


def test_search_filters(search_kb: Path) -> None:
    hits = json.loads(search(search_kb, "token", "--kind", "process", "--format", "json").stdout)
    assert {(h["review"], h["field"]) for h in hits} == {("INC-2025-001", "lesson")}
    assert json.loads(search(search_kb, "token", "--since", "2030-01-01", "--format", "json").stdout) == []


@pytest.mark.parametrize("query", ['"unbalanced', "AND OR NOT", "*", "token)(", "NEAR(a b)", "^", "''"])
def test_hostile_queries_never_crash(search_kb: Path, query: str) -> None:
    outcome = search(search_kb, query)
    assert outcome.exit_code == 0 and outcome.exception is None


def test_search_index_follows_record_changes(search_kb: Path) -> None:
    assert search(search_kb, "zebra", "--format", "json").stdout.strip() == "[]"
    record = search_kb / "reviews" / "INC-2025-002.yaml"
    record.write_text(record.read_text().replace("Credential stuffing", "Credential stuffing zebra"))
    hits = json.loads(search(search_kb, "zebra", "--format", "json").stdout)
    assert [h["review"] for h in hits] == ["INC-2025-002"]


# -- kb show -----------------------------------------------------------------------------

def test_show(search_kb: Path) -> None:
    outcome = run_kb(["show", "INC-2025-001", "--kb", str(search_kb)], cwd=search_kb.parent)
    assert outcome.exit_code == 0 and outcome.stdout.startswith("INC-2025-001: ")
    assert "Tokens must never fail open under load." in outcome.stdout
    red = run_kb(["show", "INC-2025-003", "--kb", str(search_kb)], cwd=search_kb.parent)
    assert "restricted" in red.stdout and "Phishing" not in red.stdout
    unknown = run_kb(["show", "INC-2025-009", "--kb", str(search_kb)], cwd=search_kb.parent)
    assert unknown.exit_code == 1 and "no review 'INC-2025-009'" in unknown.stderr


# -- kb actions --------------------------------------------------------------------------

@pytest.fixture
def actions_kb(tmp_path: Path) -> Path:
    late = valid_review("INC-2025-001")
    late["actions"][0].update(status="open", due="2025-03-20")
    late["actions"][0].pop("completed", None)
    return make_kb(tmp_path, {"INC-2025-001": late, "INC-2025-002": valid_review("INC-2025-002")})


def test_overdue_exit_code(actions_kb: Path) -> None:
    overdue = run_kb(["actions", "--kb", str(actions_kb), "--overdue", "--as-of", AS_OF], cwd=actions_kb.parent)
    assert overdue.exit_code == 1 and "INC-2025-001 A1" in overdue.stdout and "overdue" in overdue.stdout
    before = run_kb(["actions", "--kb", str(actions_kb), "--overdue", "--as-of", "2025-03-19"], cwd=actions_kb.parent)
    assert before.exit_code == 0


def test_actions_formats(actions_kb: Path) -> None:
    rows = json.loads(run_kb(["actions", "--kb", str(actions_kb), "--as-of", AS_OF, "--format", "json"],
                             cwd=actions_kb.parent).stdout)
    assert rows[0]["review"] == "INC-2025-001" and rows[0]["overdue"] is True  # overdue first
    text = run_kb(["actions", "--kb", str(actions_kb), "--as-of", AS_OF, "--format", "csv", "--status", "done"],
                  cwd=actions_kb.parent).stdout
    table = list(csv.DictReader(text.splitlines()))
    assert table and {r["status"] for r in table} == {"done"}


# -- kb training -------------------------------------------------------------------------

def test_training_lists_only_lessons_since(tmp_path: Path) -> None:
    old = review_with("INC-2024-001", lesson="Old lesson.")
    old["review"]["held"] = "2024-01-05T10:00:00Z"
    kb = make_kb(tmp_path, {"INC-2024-001": old, "INC-2025-001": review_with("INC-2025-001", lesson="New lesson.")})
    markdown = run_kb(["training", "--kb", str(kb), "--since", "2025-01-01"], cwd=tmp_path).stdout
    assert "New lesson." in markdown and "Old lesson." not in markdown
    document = json.loads(run_kb(["training", "--kb", str(kb), "--since", "2025-01-01", "--format", "json"], cwd=tmp_path).stdout)
    assert document["count"] == 1


# -- kb export ---------------------------------------------------------------------------

def test_export_public_holds_only_clear_and_green(search_kb: Path, tmp_path: Path) -> None:
    record = search_kb / "reviews" / "INC-2025-001.yaml"
    record.write_text(record.read_text().replace("TLP:AMBER", "TLP:GREEN"))
    text = run_kb(["export", "--kb", str(search_kb), "--audience", "public"], cwd=tmp_path).stdout
    document = json.loads(text)
    assert document["format"] == "incident-kb-export" and [r["id"] for r in document["reviews"]] == ["INC-2025-001"]
    assert "INC-2025-002" not in text and "INC-2025-003" not in text and document["restricted"] == []
    internal = run_kb(["export", "--kb", str(search_kb)], cwd=tmp_path).stdout
    assert "Secret token lesson" not in internal and json.loads(internal)["restricted"] == ["INC-2025-003"]


def test_export_csv_writes_one_file_per_table(search_kb: Path, tmp_path: Path) -> None:
    outcome = run_kb(["export", "--kb", str(search_kb), "--format", "csv", "--output", str(tmp_path / "out")], cwd=tmp_path)
    assert outcome.exit_code == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["actions.csv", "lessons.csv", "reviews.csv"]
    reviews = list(csv.DictReader((tmp_path / "out" / "reviews.csv").open()))
    assert [r["id"] for r in reviews] == ["INC-2025-001", "INC-2025-002"]
    assert run_kb(["export", "--kb", str(search_kb), "--format", "csv"], cwd=tmp_path).exit_code == 2


def test_every_command_has_help_and_appears_in_the_readme() -> None:
    from generator.cli import main

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for name, command in main.commands.items():
        assert command.help, name
        assert f"kb {name}" in readme, name
