"""kb new, show, actions, training and export on small fixture KBs; shell completion; bad input."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from conftest import AS_OF, chdir, make_kb, run_kb, run_validate, to_yaml, valid_review
from generator.cli import main

ROOT = Path(__file__).resolve().parent.parent


def to_fill(stdout: str) -> list[str]:
    (line,) = [l for l in stdout.splitlines() if l.startswith("fill in: ")]
    return line.removeprefix("fill in: ").split(", ")


# -- kb new -----------------------------------------------------------------------------------

def test_new_in_a_folder_that_does_not_exist_yet(tmp_path: Path) -> None:
    outcome = run_kb(["new", "--kb", "kb", "--as-of", "2026-03-01"], cwd=tmp_path)
    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.stdout.splitlines()[0] == "wrote kb/reviews/INC-2026-001.yaml"
    assert "title" in to_fill(outcome.stdout)
    # The catalogs are not invented, but the reviewer is told they are needed.
    assert "kb/taxonomy.yaml does not exist yet" in outcome.stderr and "kb/controls.yaml" in outcome.stderr
    assert sorted(p.name for p in (tmp_path / "kb").rglob("*")) == ["INC-2026-001.yaml", "reviews"]


def test_new_in_an_empty_kb_folder(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, {})
    outcome = run_kb(["new", "--kb", str(kb), "--as-of", "2026-03-01", "--title", "Leaked key"], cwd=tmp_path)
    assert outcome.exit_code == 0 and outcome.stderr == ""
    assert (kb / "reviews" / "INC-2026-001.yaml").is_file()
    assert "title" not in to_fill(outcome.stdout)


@pytest.mark.parametrize("existing, as_of, expected", [
    (["INC-2026-007", "INC-2026-002", "INC-2025-031"], "2026-05-05", "INC-2026-008"),  # the year's highest + 1
    (["INC-2025-031"], "2026-01-02", "INC-2026-001"),  # a new year starts again at 001
    (["INC-2026-999"], "2026-12-31", "INC-2026-1000"),  # the sequence grows past three digits
    (["SEC-2026-004", "SEC-2025-010"], "2026-02-02", "SEC-2026-005"),  # the KB's own prefix
])
def test_new_takes_the_next_id(tmp_path: Path, existing: list[str], as_of: str, expected: str) -> None:
    kb = make_kb(tmp_path, {i: valid_review(i) for i in existing})
    before = {p.name: p.read_bytes() for p in (kb / "reviews").iterdir()}
    outcome = run_kb(["new", "--kb", "kb", "--as-of", as_of], cwd=tmp_path)
    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.stdout.startswith(f"wrote kb/reviews/{expected}.yaml\n")
    assert {p.name: p.read_bytes() for p in (kb / "reviews").iterdir() if p.name in before} == before


def test_new_counts_yml_records_too(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, {"INC-2026-004.yml": to_yaml(valid_review("INC-2026-004"))})
    assert run_kb(["new", "--kb", "kb", "--as-of", "2026-05-05"], cwd=tmp_path).exit_code == 0
    assert (kb / "reviews" / "INC-2026-005.yaml").is_file()


def test_new_never_overwrites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from generator import scaffold

    kb = make_kb(tmp_path, {"INC-2026-001": valid_review("INC-2026-001")})
    before = (kb / "reviews" / "INC-2026-001.yaml").read_bytes()
    # As if another reviewer had taken the id between the look-up and the write.
    monkeypatch.setattr(scaffold, "next_id", lambda reviews, year: "INC-2026-001")
    outcome = run_kb(["new", "--kb", "kb", "--as-of", "2026-05-05"], cwd=tmp_path)
    assert outcome.exit_code == 1 and "already exists; not overwriting it" in outcome.stderr
    assert (kb / "reviews" / "INC-2026-001.yaml").read_bytes() == before
    assert sorted(p.name for p in (kb / "reviews").iterdir()) == ["INC-2026-001.yaml"]  # no temporary file left


@pytest.mark.parametrize("severity", ["P1", "P2", "P3"])
def test_new_record_fails_only_on_the_fields_it_lists(tmp_path: Path, severity: str) -> None:
    kb = make_kb(tmp_path, {})
    outcome = run_kb(["new", "--kb", "kb", "--as-of", "2026-03-01", "--severity", severity], cwd=tmp_path)
    listed = set(to_fill(outcome.stdout))
    check = run_validate(kb)
    assert check.exit_code == 1
    assert {f.message.split(":")[0] for f in check.findings} == listed
    assert ("review_reasons" in listed) == (severity == "P3")


def test_new_record_validates_once_the_listed_fields_are_filled(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, {})
    outcome = run_kb(["new", "--kb", "kb", "--as-of", "2025-03-01", "--severity", "P3", "--title", "Leaked key"],
                     cwd=tmp_path)
    path = kb / "reviews" / "INC-2025-001.yaml"
    text = path.read_text()
    assert text.startswith("# yaml-language-server: $schema=")
    data = yaml.safe_load(text)
    assert data["severity"] == "P3" and data["status"] == "draft" and data["title"] == "Leaked key"
    filled = valid_review()
    for field in to_fill(outcome.stdout):
        top = field.split(".")[0].split("[")[0]
        data[top] = filled[top] if top != "review_reasons" else ["novel-attack-vector"]
    path.write_text(to_yaml(data))
    assert run_validate(kb).exit_code == 0


def test_new_points_the_modeline_at_the_projects_schema(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "review.schema.json").write_text("{}")
    kb = make_kb(tmp_path / "team", {})
    run_kb(["new", "--kb", str(kb), "--as-of", "2026-03-01"], cwd=tmp_path)
    first = (kb / "reviews" / "INC-2026-001.yaml").read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=../../../schemas/review.schema.json"


@pytest.mark.parametrize("title", ["a\nb", " ", "x" * 201])
def test_new_refuses_a_title_that_is_not_one_line(tmp_path: Path, title: str) -> None:
    outcome = run_kb(["new", "--kb", "kb", "--title", title], cwd=tmp_path)
    assert outcome.exit_code == 1 and "--title must be one non-empty line" in outcome.stderr
    assert not (tmp_path / "kb").exists() or not list((tmp_path / "kb").rglob("*.yaml"))


def test_new_title_is_quoted_safely(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, {})
    title = 'Key: "leaked" # not a comment'
    run_kb(["new", "--kb", "kb", "--as-of", "2026-03-01", "--title", title], cwd=tmp_path)
    assert yaml.safe_load((kb / "reviews" / "INC-2026-001.yaml").read_text())["title"] == title


# -- kb show ----------------------------------------------------------------------------------

@pytest.fixture
def shown_kb(tmp_path: Path) -> Path:
    escape = valid_review("INC-2025-003", title="Cursor \x1b[2J games")
    return make_kb(tmp_path, {
        "INC-2025-001": valid_review("INC-2025-001"),
        "INC-2025-002": valid_review("INC-2025-002", title="Secret phishing", classification="TLP:RED"),
        "INC-2025-003": escape,
        "INC-2025-004": "id: INC-2025-004\ntitle: [broken\n",
    })


def test_show_prints_the_review(shown_kb: Path) -> None:
    outcome = run_kb(["show", "INC-2025-001", "--kb", str(shown_kb)], cwd=shown_kb.parent)
    assert outcome.exit_code == 0
    lines = outcome.stdout.splitlines()
    assert lines[0] == "INC-2025-001: Signed-URL bypass exposed premium live streams"
    for heading in ("Summary", "Impact", "Timeline", "Root cause (five-whys)", "What went well", "What to improve",
                    "Lessons", "Actions", "Controls"):
        assert heading in lines
    assert "  L1 (process) CDN rule changes need a security check." in lines
    assert "warning: the knowledge base has 1 error;" in outcome.stderr  # INC-2025-004


def test_show_a_red_review_says_only_that_it_is_restricted(shown_kb: Path) -> None:
    outcome = run_kb(["show", "INC-2025-002", "--kb", str(shown_kb)], cwd=shown_kb.parent)
    assert outcome.exit_code == 0
    assert outcome.stdout.startswith("INC-2025-002: restricted (TLP:RED)")
    assert "phishing" not in outcome.stdout.lower() and "Signed-URL" not in outcome.stdout


def test_show_escapes_control_characters(shown_kb: Path) -> None:
    outcome = run_kb(["show", "INC-2025-003", "--kb", str(shown_kb)], cwd=shown_kb.parent)
    assert "\x1b" not in outcome.stdout and outcome.stdout.startswith("INC-2025-003: Cursor \\u001b[2J games")


@pytest.mark.parametrize("review_id, message", [
    ("INC-2025-009", "no review 'INC-2025-009'; did you mean"),
    ("INC-2025-004", "review INC-2025-004 has errors and cannot be shown; run kb validate"),
    ("../../etc/passwd", "no review '../../etc/passwd'"),
])
def test_show_an_unknown_or_broken_review_is_an_error(shown_kb: Path, review_id: str, message: str) -> None:
    outcome = run_kb(["show", review_id, "--kb", str(shown_kb)], cwd=shown_kb.parent)
    assert outcome.exit_code == 1 and message in outcome.stderr and outcome.stdout == ""


# -- kb actions -------------------------------------------------------------------------------

@pytest.fixture
def actions_kb(tmp_path: Path) -> Path:
    late = valid_review("INC-2025-001")
    late["actions"][0].update(due="2025-03-20", owner="=HYPERLINK(\"http://x\")")
    soon = valid_review("INC-2025-002")
    soon["actions"][0].update(due="2025-04-05", status="in-progress", owner="Platform Security")
    red = valid_review("INC-2025-003", classification="TLP:RED")
    red["actions"][0].update(due="2025-01-01", title="Secret action")
    return make_kb(tmp_path, {"INC-2025-001": late, "INC-2025-002": soon, "INC-2025-003": red})


def actions(kb: Path, *args: str, as_of: str = AS_OF):
    return run_kb(["actions", "--kb", str(kb), "--as-of", as_of, *args], cwd=kb.parent)


def test_overdue_exits_1_when_any_action_is_overdue(actions_kb: Path) -> None:
    flagged = actions(actions_kb, "--overdue", "--audience", "internal")
    assert flagged.exit_code == 1
    assert [line.split()[:2] for line in flagged.stdout.splitlines()[1:]] == [["INC-2025-001", "A1"]]
    assert "open · overdue 12 d" in flagged.stdout and flagged.stderr.strip() == "1 action, 1 overdue, 0 stale"
    calm = actions(actions_kb, "--overdue", "--audience", "internal", as_of="2025-03-20")  # due that day: not overdue yet
    assert calm.exit_code == 0 and calm.stdout == "no matching action\n"
    assert actions(actions_kb).exit_code == 0  # without --overdue, overdue actions are only listed


def test_red_reviews_actions_are_listed_by_default_with_their_label(actions_kb: Path) -> None:
    rows = json.loads(actions(actions_kb, "--format", "json").stdout)
    red = [r for r in rows if r["review"] == "INC-2025-003"]
    assert {r["classification"] for r in red} == {"TLP:RED"} and "Secret action" in {r["title"] for r in red}
    assert {r["classification"] for r in rows if r["review"] != "INC-2025-003"} == {"TLP:AMBER"}
    table = list(csv.DictReader(actions(actions_kb, "--format", "csv").stdout.splitlines()))
    assert {r["classification"] for r in table if r["review"] == "INC-2025-003"} == {"TLP:RED"}
    text = actions(actions_kb).stdout
    assert any(line.startswith("INC-2025-003 A1") and " RED " in line for line in text.splitlines())


@pytest.mark.parametrize("audience", ["internal", "public"])
def test_red_reviews_actions_are_not_listed_for_a_published_audience(actions_kb: Path, audience: str) -> None:
    assert "INC-2025-003" not in actions(actions_kb, "--audience", audience).stdout
    assert "Secret action" not in actions(actions_kb, "--audience", audience, "--format", "json").stdout


def test_stale_lists_actions_without_news_for_more_than_30_days_and_exits_1(actions_kb: Path) -> None:
    # A1 of each review last reported progress on 2025-03-20: 30 days later is not stale yet, 31 is.
    calm = actions(actions_kb, "--stale", as_of="2025-04-19")
    assert calm.exit_code == 0 and calm.stdout == "no matching action\n"
    flagged = actions(actions_kb, "--stale", "--format", "json", as_of="2025-04-20")
    assert flagged.exit_code == 1
    rows = json.loads(flagged.stdout)
    assert {(r["review"], r["action"]) for r in rows} == {("INC-2025-001", "A1"), ("INC-2025-002", "A1"),
                                                         ("INC-2025-003", "A1")}
    assert {r["last_update"] for r in rows} == {"2025-03-20"} and all(r["stale"] for r in rows)
    assert "stale" in actions(actions_kb, "--stale", as_of="2025-04-20").stderr


@pytest.mark.parametrize("options, expected", [
    (["--status", "done"], {("INC-2025-001", "A2"), ("INC-2025-002", "A2")}),
    (["--status", "open", "--status", "in-progress"], {("INC-2025-001", "A1"), ("INC-2025-002", "A1")}),
    (["--owner", "platform SEC"], {("INC-2025-002", "A1")}),
    (["--due-within", "4"], {("INC-2025-001", "A1"), ("INC-2025-002", "A1")}),
    (["--due-within", "3"], {("INC-2025-001", "A1")}),
    (["--overdue", "--owner", "platform SEC"], set()),  # (an owner no action has is a usage error)
])
def test_actions_filters(actions_kb: Path, options: list[str], expected: set[tuple[str, str]]) -> None:
    rows = json.loads(actions(actions_kb, "--format", "json", "--audience", "internal", *options).stdout)
    assert {(r["review"], r["action"]) for r in rows} == expected


def test_actions_json_and_csv_hold_the_same_rows(actions_kb: Path) -> None:
    from generator.tracker import COLUMNS

    rows = json.loads(actions(actions_kb, "--format", "json", "--audience", "internal").stdout)
    table = list(csv.DictReader(actions(actions_kb, "--format", "csv", "--audience", "internal").stdout.splitlines()))
    assert list(rows[0]) == list(COLUMNS) == list(table[0])
    assert rows[0] == {**rows[0], "review": "INC-2025-001", "action": "A1", "overdue": True, "days_overdue": 12,
                       "url": "incidents/INC-2025-001/#a1"}
    assert [(r["review"], r["action"]) for r in rows] == [(r["review"], r["action"]) for r in table]
    assert table[0]["overdue"] == "true" and table[0]["completed"] == ""
    assert table[0]["owner"] == "'=HYPERLINK(\"http://x\")"  # a spreadsheet shows it, never runs it


def test_actions_table_colours_overdue_but_escapes_record_text(actions_kb: Path) -> None:
    import click

    from generator.audience import view
    from generator.index import validate
    from generator.tracker import ActionQuery, as_text, select

    record = actions_kb / "reviews" / "INC-2025-001.yaml"
    record.write_text(record.read_text().replace("Policy check for CDN rules in CI", '"Policy \\e[2J check"'))
    kb = view(validate(actions_kb, as_of=dt.date(2025, 4, 1)).value, "internal")
    text = as_text(select(kb, ActionQuery(overdue_only=True), dt.date(2025, 4, 1)), style=click.style)
    assert "Policy \\u001b[2J check" in text and "\x1b[2J" not in text
    assert click.style("open · overdue 12 d", fg="red", bold=True) in text


@pytest.mark.parametrize("options", [["--status", "late"], ["--due-within", "-1"], ["--as-of", "2025-13-01"],
                                     ["--format", "xml"], ["--audience", "red"]])
def test_actions_bad_options_are_usage_errors(actions_kb: Path, options: list[str]) -> None:
    assert run_kb(["actions", "--kb", str(actions_kb), *options], cwd=actions_kb.parent).exit_code == 2


# -- kb training ------------------------------------------------------------------------------

@pytest.fixture
def lessons_kb(tmp_path: Path) -> Path:
    old = valid_review("INC-2024-001")
    old["review"]["held"] = "2024-12-31T23:00:00Z"
    old["lessons"][0]["text"] = "Old lesson."
    new = valid_review("INC-2025-001")
    new["review"]["held"] = "2025-01-01T00:30:00+01:00"  # 31 December in UTC: before the cut-off
    both = valid_review("INC-2025-002", root_cause={**valid_review()["root_cause"],
                                                     "categories": ["insufficient-monitoring", "configuration-change"]})
    both["review"]["held"] = "2025-01-01T00:00:00Z"
    both["lessons"] = [{"id": "L1", "text": "Train the on-call.", "kind": "training"},
                       {"id": "L2", "text": "Alert on drift.", "kind": "tool"},
                       {"id": "L3", "text": "Review alerts weekly.", "kind": "process"}]
    both["actions"][0]["lessons"] = ["L1"]
    red = valid_review("INC-2025-003", classification="TLP:RED")
    red["lessons"][0]["text"] = "Secret lesson."
    return make_kb(tmp_path, {"INC-2024-001": old, "INC-2025-001": new, "INC-2025-002": both, "INC-2025-003": red})


def test_training_lists_each_lesson_once_with_all_its_categories(lessons_kb: Path) -> None:
    from generator.audience import view
    from generator.index import validate
    from generator.training import training_rows

    kb = view(validate(lessons_kb, as_of=dt.date(2025, 4, 1)).value, "internal")
    rows = training_rows(kb, since=dt.date(2025, 1, 1))
    # newest first, then review id, then lesson number; the two-category review's lessons once each
    assert [(r.review.id, r.lesson.id) for r in rows] == [("INC-2025-002", "L1"), ("INC-2025-002", "L2"),
                                                          ("INC-2025-002", "L3")]
    assert rows[0].url == "incidents/INC-2025-002/#l1"


JSON_KEYS = {"review", "lesson", "text", "kind", "categories", "classification", "status", "held", "adopted_in"}


def test_training_json_is_the_contract(lessons_kb: Path) -> None:
    document = json.loads(run_kb(["training", "--kb", str(lessons_kb), "--since", "2025-01-01", "--format", "json"],
                                 cwd=lessons_kb.parent).stdout)
    assert isinstance(document, list) and all(set(item) == JSON_KEYS for item in document)
    assert [(i["review"], i["lesson"]) for i in document] == [("INC-2025-002", f"L{n}") for n in (1, 2, 3)]
    assert document[0] == {
        "review": "INC-2025-002", "lesson": "L1", "text": "Train the on-call.", "kind": "training",
        "categories": ["insufficient-monitoring", "configuration-change"], "classification": "TLP:AMBER",
        "status": "approved", "held": "2025-01-01T00:00:00Z", "adopted_in": []}


def test_training_markdown_once_per_lesson_with_label_and_status(lessons_kb: Path) -> None:
    markdown = run_kb(["training", "--kb", str(lessons_kb), "--since", "2025-01-01"], cwd=lessons_kb.parent)
    assert markdown.exit_code == 0
    text = markdown.stdout
    assert text.startswith("# Lessons new since 2025-01-01\n\n**TLP:AMBER**: this list draws on reviews up to TLP:AMBER")
    assert "3 lessons from approved and closed reviews held on or after 2025-01-01 (internal audience)." in text
    assert ("## Process\n\n- Review alerts weekly. (INC-2025-002 L3; TLP:AMBER; approved; held 2025-01-01; "
            "categories: insufficient-monitoring, configuration-change)") in text
    for lesson in ("Train the on-call.", "Alert on drift.", "Review alerts weekly."):
        assert text.count(lesson) == 1
    assert "Old lesson." not in text and "Secret lesson." not in text and "INC-2025-001" not in text
    assert "INC-2025-003" not in text  # TLP:RED: not even the id


@pytest.fixture
def mixed_kb(tmp_path: Path) -> Path:
    """An approved AMBER+STRICT review, a GREEN draft, a CLEAR closed one with an adoption, a RED one."""
    strict = valid_review("INC-2025-010", classification="TLP:AMBER+STRICT")
    strict["lessons"][0]["text"] = "Strict lesson."
    draft = valid_review("INC-2025-011", classification="TLP:GREEN", status="draft")
    del draft["approval"]
    draft["lessons"][0]["text"] = "Draft *lesson* <b>x</b> [link](javascript:alert(1)) \x1b[31m."
    clear = valid_review("INC-2025-012", classification="TLP:CLEAR")
    clear["lessons"][0].update(text="Clear lesson.", adopted_in=[{"kind": "training", "ref": "SEC-101 v3",
                                                                   "date": "2025-04-02"}])
    red = valid_review("INC-2025-013", classification="TLP:RED")
    red["lessons"][0]["text"] = "Red lesson."
    return make_kb(tmp_path, {r["id"]: r for r in (strict, draft, clear, red)})


def _training(kb: Path, *options: str) -> object:
    outcome = run_kb(["training", "--kb", str(kb), "--since", "2025-01-01", *options], cwd=kb.parent)
    assert outcome.exit_code == 0, outcome.stderr
    return json.loads(outcome.stdout) if "json" in options else outcome.stdout


def test_training_modes(mixed_kb: Path) -> None:
    default = _training(mixed_kb, "--format", "json")
    assert {i["review"] for i in default} == {"INC-2025-010", "INC-2025-012"}
    unapproved = _training(mixed_kb, "--format", "json", "--include-unapproved")
    assert {i["review"] for i in unapproved} == {"INC-2025-010", "INC-2025-011", "INC-2025-012"}
    assert {i["review"]: i["status"] for i in unapproved}["INC-2025-011"] == "draft"
    public = _training(mixed_kb, "--format", "json", "--audience", "public", "--include-unapproved")
    assert {(i["review"], i["classification"]) for i in public} == {("INC-2025-011", "TLP:GREEN"),
                                                                   ("INC-2025-012", "TLP:CLEAR")}
    assert [i["adopted_in"] for i in public if i["review"] == "INC-2025-012"] == [
        [{"kind": "training", "ref": "SEC-101 v3", "date": "2025-04-02"}]]
    assert all(set(i) == JSON_KEYS for i in unapproved + public)


def test_training_markdown_labels_unapproved_and_escapes_record_text(mixed_kb: Path) -> None:
    text = _training(mixed_kb, "--include-unapproved")
    assert text.startswith("# Lessons new since 2025-01-01\n\n**TLP:AMBER+STRICT**")
    (line,) = [l for l in text.splitlines() if "INC-2025-011" in l]
    assert line.startswith("- **UNAPPROVED (draft)** Draft \\*lesson\\* \\<b\\>x\\</b\\> \\[link\\]")
    assert "\x1b" not in text and "\\u001b" in line  # no terminal escape reaches the terminal
    assert "Red lesson" not in text and "INC-2025-013" not in text
    public = _training(mixed_kb, "--audience", "public")
    assert public.startswith("# Lessons new since 2025-01-01\n\n**TLP:CLEAR**") and "Strict lesson" not in public


def test_training_json_keeps_control_characters_off_the_terminal(mixed_kb: Path) -> None:
    outcome = run_kb(["training", "--kb", str(mixed_kb), "--since", "2025-01-01", "--format", "json",
                      "--include-unapproved"], cwd=mixed_kb.parent)
    assert "\x1b" not in outcome.stdout
    assert any("\x1b[31m" in i["text"] for i in json.loads(outcome.stdout))  # the text itself is kept


def test_training_needs_since(lessons_kb: Path) -> None:
    outcome = run_kb(["training", "--kb", str(lessons_kb)], cwd=lessons_kb.parent)
    assert outcome.exit_code == 2 and "--since" in outcome.stderr


def test_training_with_nothing_new(lessons_kb: Path) -> None:
    outcome = run_kb(["training", "--kb", str(lessons_kb), "--since", "2030-01-01"], cwd=lessons_kb.parent)
    assert outcome.stdout == ("# Lessons new since 2030-01-01\n\n0 lessons from approved and closed reviews held on "
                              "or after 2030-01-01 (internal audience).\n")


# -- kb export --------------------------------------------------------------------------------

@pytest.fixture
def export_kb(tmp_path: Path) -> Path:
    return make_kb(tmp_path, {
        "INC-2025-001": valid_review("INC-2025-001", classification="TLP:GREEN"),
        "INC-2025-002": valid_review("INC-2025-002", title="-2+3 amber title"),
        "INC-2025-003": valid_review("INC-2025-003", title="Red title", classification="TLP:RED"),
    })


def export(kb: Path, *args: str):
    return run_kb(["export", "--kb", str(kb), "--as-of", AS_OF, *args], cwd=kb.parent)


def check_schema(document: dict) -> None:
    from generator.export import EXPORT_SCHEMA
    from generator.schema import _FORMATS

    jsonschema.Draft202012Validator.check_schema(EXPORT_SCHEMA)
    jsonschema.Draft202012Validator(EXPORT_SCHEMA, format_checker=_FORMATS).validate(document)


def test_export_json_follows_its_schema(export_kb: Path) -> None:
    outcome = export(export_kb)
    assert outcome.exit_code == 0 and outcome.stderr == ""
    document = json.loads(outcome.stdout)
    check_schema(document)
    assert (document["format"], document["version"], document["audience"], document["as_of"]) == \
        ("incident-kb-export", 1, "internal", AS_OF)
    assert [r["id"] for r in document["reviews"]] == ["INC-2025-001", "INC-2025-002"]
    assert document["restricted"] == ["INC-2025-003"] and "Red title" not in outcome.stdout
    assert {(a["review"], a["action"], a["overdue"]) for a in document["actions"]} >= {("INC-2025-001", "A1", False)}


def test_export_public_holds_nothing_of_the_others(export_kb: Path) -> None:
    outcome = export(export_kb, "--audience", "public")
    document = json.loads(outcome.stdout)
    check_schema(document)
    assert [r["id"] for r in document["reviews"]] == ["INC-2025-001"] and document["restricted"] == []
    assert "INC-2025-002" not in outcome.stdout and "INC-2025-003" not in outcome.stdout


def test_export_schema_is_printed_without_a_kb(tmp_path: Path) -> None:
    outcome = run_kb(["export", "--schema"], cwd=tmp_path)
    assert outcome.exit_code == 0
    assert json.loads(outcome.stdout)["properties"]["format"] == {"const": "incident-kb-export"}


def test_export_json_to_a_file(export_kb: Path, tmp_path: Path) -> None:
    target = tmp_path / "out" / "kb.json"
    outcome = export(export_kb, "--output", str(target))
    assert outcome.exit_code == 0 and outcome.stdout == "" and f"wrote {target}" in outcome.stderr
    check_schema(json.loads(target.read_text()))


def test_export_csv_one_file_per_table(export_kb: Path, tmp_path: Path) -> None:
    from generator.export import COLUMNS

    folder = tmp_path / "csv"
    assert export(export_kb, "--format", "csv", "--output", str(folder)).exit_code == 0
    assert sorted(p.name for p in folder.iterdir()) == ["actions.csv", "lessons.csv", "recurrences.csv", "reviews.csv"]
    for name, columns in COLUMNS.items():
        with (folder / f"{name}.csv").open(newline="") as handle:
            reader = csv.DictReader(handle)
            assert reader.fieldnames == list(columns)
            rows = list(reader)
        if name != "recurrences":  # no recurrence among these two: tested on its own
            assert {r.get("id") or r["review"] for r in rows} == {"INC-2025-001", "INC-2025-002"}
    reviews = list(csv.DictReader((folder / "reviews.csv").open(newline="")))
    assert reviews[0]["controls"] == "ISO27001-2022/A.5.27;SOC2/CC7.5" and reviews[0]["review_deadline_met"] == "true"
    assert reviews[1]["title"] == "'-2+3 amber title"  # would be a formula in a spreadsheet
    assert reviews[0]["summary"].startswith("A CDN rule change")  # multi-line text survives quoting


def test_export_csv_of_an_empty_kb_still_has_headers(tmp_path: Path) -> None:
    from generator.export import COLUMNS

    kb = make_kb(tmp_path, {})
    assert export(kb, "--format", "csv", "--output", str(tmp_path / "csv")).exit_code == 0
    for name, columns in COLUMNS.items():
        assert (tmp_path / "csv" / f"{name}.csv").read_text() == ",".join(columns) + "\n"


@pytest.mark.parametrize("options", [["--format", "csv"], ["--format", "xml"], ["--audience", "everyone"],
                                     ["--format", "csv", "--output", "{file}"], ["--output", "{folder}"]])
def test_export_bad_options_are_usage_errors(export_kb: Path, tmp_path: Path, options: list[str]) -> None:
    (tmp_path / "a-file").write_text("keep me")
    options = [o.format(file=tmp_path / "a-file", folder=tmp_path) for o in options]
    outcome = export(export_kb, *options)
    assert outcome.exit_code == 2, outcome.stderr
    assert (tmp_path / "a-file").read_text() == "keep me"


def test_progress_bar_only_for_large_kbs_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from generator.cli import common as cli

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(cli.sys, "stderr", terminal)
    with cli._progress("exporting", cli.PROGRESS_MIN - 1) as progress:
        assert progress is None
    with cli._progress("exporting", cli.PROGRESS_MIN) as progress:
        assert progress is not None
        progress(cli.PROGRESS_MIN)
    assert "exporting" in terminal.getvalue()


# -- every command ----------------------------------------------------------------------------

WORKFLOW_COMMANDS = ["new", "search", "show", "actions", "training", "export"]


@pytest.mark.parametrize("command", WORKFLOW_COMMANDS)
def test_every_command_has_help_and_kb_option(command: str, tmp_path: Path) -> None:
    outcome = run_kb([command, "--help"], cwd=tmp_path)
    assert outcome.exit_code == 0 and "--kb" in outcome.stdout


@pytest.mark.parametrize("args", [["search", "x"], ["show", "INC-2025-001"], ["actions"],
                                  ["training", "--since", "2025-01-01"], ["export"]])
def test_a_missing_kb_folder_is_a_usage_error(args: list[str], tmp_path: Path) -> None:
    outcome = run_kb([*args, "--kb", "nowhere"], cwd=tmp_path)
    assert outcome.exit_code == 2 and "nowhere" in outcome.stderr


@pytest.mark.parametrize("args", [["search", "x"], ["show", "INC-2025-001"], ["actions"],
                                  ["training", "--since", "2025-01-01"], ["export"]])
def test_a_kb_with_errors_serves_its_valid_records_with_a_warning(args: list[str], tmp_path: Path) -> None:
    kb = make_kb(tmp_path, {"INC-2025-001": valid_review(), "INC-2025-002": b"\xff\xfe not utf-8"}, taxonomy=None)
    outcome = run_kb([*args, "--kb", str(kb)], cwd=tmp_path)
    outcome.assert_no_crash()
    assert outcome.exit_code == 0
    # taxonomy.yaml missing, hence an unknown category too, and a file that is not UTF-8
    assert "warning: the knowledge base has 3 errors; records with errors are left out (run kb validate)" in outcome.stderr


def complete(args: str, cwd: Path) -> list[str]:
    """What the shell would offer after `kb ARGS` (Click's bash completion protocol)."""
    env = {"_KB_COMPLETE": "bash_complete", "COMP_WORDS": f"kb {args}", "COMP_CWORD": str(len(args.split(" ")))}
    with chdir(cwd):
        result = CliRunner().invoke(main, [], env=env, prog_name="kb")
    assert result.exit_code == 0, result.output
    return [line.split(",", 1)[1] for line in result.output.splitlines()]


def test_shell_completion(export_kb: Path) -> None:
    script = CliRunner().invoke(main, [], env={"_KB_COMPLETE": "bash_source"}, prog_name="kb")
    assert script.exit_code == 0 and "_KB_COMPLETE=bash_complete" in script.output
    assert complete("sh", export_kb.parent) == ["show"]
    assert complete("show INC-2025-00", export_kb.parent) == ["INC-2025-001", "INC-2025-002", "INC-2025-003"]
    assert complete("search x --category insuff", export_kb.parent) == ["insufficient-monitoring"]
    assert complete("actions --format ", export_kb.parent) == ["text", "json", "csv"]


def test_the_guide_documents_every_workflow_command() -> None:
    guide = (ROOT / "docs" / "guide" / "cli-workflows.md").read_text()
    for command in WORKFLOW_COMMANDS:
        assert f"kb {command}" in guide, command
    for shell in ("bash_source", "zsh_source", "fish_source"):
        assert f"_KB_COMPLETE={shell} kb" in guide
    assert "kb-validate" in guide and ".pre-commit-config.yaml" in guide
