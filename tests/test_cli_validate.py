"""`kb validate` end to end through Click: findings, formats, options and exit codes.

Each row of the record format's rule table has a case here asserting the exact rule id,
line, column and exit code of the printed finding.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re

import pytest

from conftest import (AS_OF, CONTROLS, DELETE, REVIEW_ID, SUMMARY, locate, make_kb, run_kb, run_validate, to_yaml,
                      valid_review, value_at)

PATH = f"kb/reviews/{REVIEW_ID}.yaml"


def review_text(**fields) -> str:
    return to_yaml(valid_review(**fields))


def changed(change) -> str:
    data = valid_review()
    change(data)
    return to_yaml(data)


# -- the rule table, row by row ----------------------------------------------------------------
# Each case: the review text, then (severity, rule, where) for each finding expected in it. where is
# (line, col), or "key: value" / "- value" for the place of that value, or "=text" for where text starts.

def _timeline_out_of_order(d):
    d["timeline"][1]["at"] = "2025-03-02T12:00:00+02:00"   # 10:00Z, before the 14:05Z entry


def _resolved_first(d):
    d["incident"]["resolved"] = "2025-03-02T14:00:00Z"
    d["review"]["held"] = "2025-03-03T10:00:00Z"


def _done_without_completed(d):
    del d["actions"][1]["completed"]


def _closed_with_open(d):
    d["status"] = "closed"
    d["actions"][0]["status"] = "in-progress"


ROWS = {
    "not-utf8": (b"id: INC-2025-001\ntitle: caf\xe9\n", [("error", "encoding", (2, 11))]),
    "not-yaml": ("id: INC-2025-001\ntitle: [unclosed\n", [("error", "yaml", (3, 1))]),
    "duplicate-key": (review_text() + "title: again\n", [("error", "duplicate-key", "=title: again")]),
    "not-a-mapping": ("- id: INC-2025-001\n", [("error", "not-a-mapping", (1, 1))]),
    "schema-type": (review_text(title=["a", "list"]), [("error", "schema", "=- a")]),
    "schema-enum": (review_text(severity="P0"), [("error", "schema", "severity: P0")]),
    "schema-pattern": (changed(lambda d: d["actions"][0].update(id="B1")), [("error", "schema", "id: B1")]),
    "schema-required": (review_text(summary=DELETE), [("error", "schema", (1, 1))]),
    "unknown-key": (review_text(sumary="typo"), [("error", "schema", "=sumary:")]),
    "id-mismatch": (review_text(id="INC-2025-002"), [("error", "id-mismatch", "id: INC-2025-002")]),
    "unknown-category": (changed(lambda d: d["root_cause"].update(categories=["misconfig"])),
                         [("error", "unknown-category", "- misconfig")]),
    "unknown-control": (review_text(controls=["ISO27001-2022/A.9.9"]), [("error", "unknown-control", "- ISO27001-2022/A.9.9")]),
    "unknown-related": (review_text(related=["INC-2024-404"]), [("error", "unknown-related", "- INC-2024-404")]),
    "unknown-lesson": (changed(lambda d: d["actions"][0].update(lessons=["L9"])), [("error", "unknown-lesson", "- L9")]),
    "p3-missing": (review_text(severity="P3", review_reasons=DELETE), [("error", "p3-review-reasons", (1, 1))]),
    "p3-empty": (review_text(severity="P3"), [("error", "p3-review-reasons", "review_reasons: []")]),
    "approval-missing": (review_text(approval=DELETE), [("error", "approval-required", (1, 1))]),
    "done-without-completed": (changed(_done_without_completed), [("error", "action-completed", "=id: A2")]),
    "closed-open-action": (changed(_closed_with_open), [("error", "closed-open-action", "status: in-progress")]),
    "timeline-order": (changed(_timeline_out_of_order), [("error", "timeline-order", "at: 2025-03-02T12:00:00+02:00")]),
    "resolved-before-detected": (changed(_resolved_first),
                                 [("error", "resolved-before-detected", "resolved: 2025-03-02T14:00:00Z")]),
    "review-late-p2": (changed(lambda d: d["review"].update(held="2025-03-06T09:40:01Z")),
                       [("warning", "review-deadline", "held: 2025-03-06T09:40:01Z")]),
    "review-late-p3": (changed(lambda d: d.update(severity="P3", review_reasons=["regulatory-implications"])
                               or d["review"].update(held="2025-03-11T00:00:00Z")
                               or d["approval"].update(date="2025-03-12")),  # approved after the meeting (date-order)
                       [("warning", "review-deadline", "held: 2025-03-11T00:00:00Z")]),
    "overdue": (changed(lambda d: d["actions"][0].update(due="2025-03-31")), [("warning", "overdue-action", "due: 2025-03-31")]),
    "superseded-control": (review_text(controls=["ISO27001-2013/A.16.1.6"]),
                           [("warning", "superseded-control", "- ISO27001-2013/A.16.1.6")]),
    "approver-role": (changed(lambda d: d["approval"].update(role="CIO")), [("warning", "approver-role", "role: CIO")]),
    "tlp-white": (review_text(classification="TLP:WHITE"), [("error", "tlp-white", "classification: TLP:WHITE")]),
}


@pytest.mark.parametrize("name", sorted(ROWS))
def test_rule_table(tmp_path, name):
    content, expected = ROWS[name]
    kb = make_kb(tmp_path, {REVIEW_ID: content})
    outcome = run_validate(kb)
    outcome.assert_no_crash()
    text = content.decode("latin-1") if isinstance(content, bytes) else content
    places = [where if isinstance(where, tuple) else locate(text, where[1:]) if where.startswith("=")
              else value_at(text, where) for _, _, where in expected]
    assert [(f.path, f.severity, f.rule, f.line, f.col) for f in outcome.findings] == [
        (PATH, severity, rule, *place) for (severity, rule, _), place in zip(expected, places)]
    assert outcome.exit_code == (1 if any(s == "error" for s, _, _ in expected) else 0)


def test_two_files_with_one_id(tmp_path):
    second = "# copied from INC-2025-001\n" + review_text()
    kb = make_kb(tmp_path, {REVIEW_ID: review_text(), "INC-2025-002": second})
    outcome = run_validate(kb)
    assert [(f.path, f.line, f.col, f.rule) for f in outcome.findings] == [
        (PATH, 1, 5, "duplicate-id"),
        ("kb/reviews/INC-2025-002.yaml", 2, 5, "duplicate-id"),
        ("kb/reviews/INC-2025-002.yaml", 2, 5, "id-mismatch"),
    ]
    assert "also used by reviews/INC-2025-002.yaml" in outcome.findings[0].message
    assert "also used by reviews/INC-2025-001.yaml" in outcome.findings[1].message
    assert outcome.exit_code == 1


def test_replaced_by_naming_no_control(tmp_path):
    controls = copy.deepcopy(CONTROLS)
    controls["frameworks"][1]["controls"][0]["replaced_by"] = "ISO27001-2022/A.0.0"
    kb = make_kb(tmp_path, controls=controls)
    outcome = run_validate(kb)
    text = (kb / "controls.yaml").read_text()
    assert [(f.path, f.line, f.col, f.rule) for f in outcome.findings] == [
        ("kb/controls.yaml", *value_at(text, "replaced_by: ISO27001-2022/A.0.0"), "unknown-replacement")]
    assert outcome.exit_code == 1


def test_tlp_white_says_what_tlp_2_calls_it(tmp_path):
    outcome = run_validate(make_kb(tmp_path, {REVIEW_ID: review_text(classification="TLP:WHITE")}))
    assert "TLP:CLEAR" in outcome.findings[0].message


def test_superseded_control_names_its_replacement(tmp_path):
    outcome = run_validate(make_kb(tmp_path, {REVIEW_ID: review_text(controls=["ISO27001-2013/A.16.1.6"])}))
    assert "superseded by ISO27001-2022/A.5.27" in outcome.findings[0].message


# -- file-level findings ----------------------------------------------------------------------------

@pytest.mark.parametrize("name, content, rule, severity", [
    (f"{REVIEW_ID}.yaml", b"", "empty-file", "error"),
    (f"{REVIEW_ID}.yaml", b"  \n \n", "empty-file", "error"),
    (f"{REVIEW_ID}.yaml", b"a: " + b"x" * (1024 * 1024), "file-too-large", "error"),
    ("notes.md", b"# notes\n", "stray-file", "warning"),
])
def test_empty_oversized_and_stray_files_are_at_line_1(tmp_path, name, content, rule, severity):
    reviews = {name: content} if name.startswith(REVIEW_ID) else {REVIEW_ID: valid_review(), name: content}
    outcome = run_validate(make_kb(tmp_path, reviews))
    assert [(f.path, f.line, f.col, f.severity, f.rule) for f in outcome.findings] == [
        (f"kb/reviews/{name}", 1, 1, severity, rule)]


def test_symlink_leaving_the_kb(tmp_path):
    secret = tmp_path / "secret.yaml"
    secret.write_text("password: hunter2\n")
    kb = make_kb(tmp_path)
    (kb / "reviews" / "INC-2025-002.yaml").symlink_to(secret)
    outcome = run_validate(kb)
    assert [(f.path, f.line, f.col, f.rule) for f in outcome.findings] == [
        ("kb/reviews/INC-2025-002.yaml", 1, 1, "symlink-escape")]
    assert "hunter2" not in outcome.stdout + outcome.stderr


# -- exit codes, --strict, --as-of ------------------------------------------------------------------

def test_clean_kb_exits_0_with_a_summary_on_stderr(tmp_path):
    outcome = run_validate(make_kb(tmp_path))
    assert (outcome.exit_code, outcome.stdout, outcome.stderr) == (0, "", "0 errors, 0 warnings in 3 files\n")


def test_errors_exit_1(tmp_path):
    outcome = run_validate(make_kb(tmp_path, {REVIEW_ID: review_text(title=DELETE)}))
    assert outcome.exit_code == 1
    assert outcome.stderr == "1 error, 0 warnings in 3 files\n"


def test_warnings_alone_exit_0_and_1_with_strict(tmp_path):
    kb = make_kb(tmp_path, {REVIEW_ID: review_text(controls=["ISO27001-2013/A.16.1.6"])})
    plain, strict = run_validate(kb), run_validate(kb, "--strict")
    assert (plain.exit_code, strict.exit_code) == (0, 1)
    assert plain.stdout == strict.stdout
    assert plain.rules == ["superseded-control"]
    assert plain.stderr == "0 errors, 1 warning in 3 files\n"


def test_strict_on_a_clean_kb_exits_0(tmp_path):
    assert run_validate(make_kb(tmp_path), "--strict").exit_code == 0


@pytest.mark.parametrize("as_of, rules", [("2025-04-15", []), ("2025-04-16", ["overdue-action"])])
def test_overdue_is_judged_on_as_of(tmp_path, as_of, rules):
    outcome = run_validate(make_kb(tmp_path), as_of=as_of)
    assert outcome.rules == rules
    assert outcome.exit_code == 0


def test_as_of_defaults_to_today(tmp_path):
    data = valid_review()
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    data["actions"][0]["due"] = tomorrow.isoformat()
    data["actions"][0]["progress"] = [{"date": dt.date.today().isoformat(), "note": "On track."}]  # not stale today
    data["actions"].append({**data["actions"][0], "id": "A3", "due": (dt.date.today() - dt.timedelta(days=1)).isoformat()})
    outcome = run_validate(make_kb(tmp_path, {REVIEW_ID: data}), as_of=None)
    assert [(f.rule, f.message.split(":")[0]) for f in outcome.findings] == [("overdue-action", "actions[2].due")]


@pytest.mark.parametrize("args, fragment", [
    (["--as-of", "2025-02-30"], "is not a date"),
    (["--as-of", "tomorrow"], "is not a date"),
    (["--format", "xml"], "'xml' is not one of"),
    (["--kb", "does-not-exist"], "does not exist"),
    (["--no-such-option"], "No such option"),
])
def test_usage_errors_exit_2(tmp_path, args, fragment):
    make_kb(tmp_path)
    outcome = run_kb(["validate", "--kb", "kb", *args], cwd=tmp_path)
    assert outcome.exit_code == 2
    assert fragment in outcome.stderr
    assert outcome.stdout == ""


def test_kb_defaults_to_the_kb_folder_here(tmp_path):
    make_kb(tmp_path, {REVIEW_ID: review_text(title=DELETE)})
    outcome = run_kb(["validate", "--as-of", AS_OF], cwd=tmp_path)
    assert [(f.path, f.rule) for f in outcome.findings] == [(PATH, "schema")]


def test_help_lists_the_options():
    outcome = run_kb(["validate", "--help"], cwd=__import__("pathlib").Path.cwd())
    assert outcome.exit_code == 0
    for option in ("--kb", "--as-of", "--strict", "--format"):
        assert option in outcome.stdout


# -- output -------------------------------------------------------------------------------------------

def many_findings_kb(tmp_path):
    first = valid_review(title=DELETE, controls=["ISO27001-2013/A.16.1.6"])
    second = valid_review("INC-2025-002", classification="TLP:WHITE", related=["INC-2025-001", "INC-2025-404"])
    return make_kb(tmp_path, {REVIEW_ID: first, "INC-2025-002": second, "README.txt": "read me"})


def test_text_is_one_line_per_finding_sorted_by_file_and_line(tmp_path):
    outcome = run_validate(many_findings_kb(tmp_path))
    found = outcome.findings
    assert [(f.path, f.rule) for f in found] == [
        ("kb/reviews/INC-2025-001.yaml", "schema"),
        ("kb/reviews/INC-2025-001.yaml", "superseded-control"),
        ("kb/reviews/INC-2025-002.yaml", "tlp-white"),
        ("kb/reviews/INC-2025-002.yaml", "unknown-related"),
        ("kb/reviews/README.txt", "stray-file"),
    ]
    assert [(f.path, f.line) for f in found] == sorted((f.path, f.line) for f in found)
    assert len(outcome.stdout.splitlines()) == len(found)
    assert outcome.stderr == "3 errors, 2 warnings in 4 files\n"
    assert outcome.exit_code == 1


def test_json_is_a_list_of_findings(tmp_path):
    kb = many_findings_kb(tmp_path)
    text_run, json_run = run_validate(kb), run_validate(kb, "--format", "json")
    items = json.loads(json_run.stdout)
    assert isinstance(items, list)
    assert [(i["path"], i["line"], i["column"], i["severity"], i["rule"]) for i in items] == [
        (f.path, f.line, f.col, f.severity, f.rule) for f in text_run.findings]
    assert set(items[0]) == {"path", "line", "column", "severity", "rule", "message", "hint"}
    assert json_run.exit_code == 1


def test_json_of_a_clean_kb_is_an_empty_list(tmp_path):
    outcome = run_validate(make_kb(tmp_path), "--format", "json")
    assert json.loads(outcome.stdout) == []
    assert outcome.exit_code == 0


GITHUB = re.compile(r"^::(?P<severity>error|warning) file=(?P<file>[^,]+),line=(?P<line>\d+),col=(?P<col>\d+),"
                    r"title=(?P<rule>[a-z0-9-]+)::(?P<message>.+)$")


def test_github_annotations(tmp_path):
    kb = many_findings_kb(tmp_path)
    text_run, github_run = run_validate(kb), run_validate(kb, "--format", "github")
    lines = github_run.stdout.splitlines()
    matches = [GITHUB.match(line) for line in lines]
    assert all(matches), lines
    assert [(m["file"], int(m["line"]), int(m["col"]), m["severity"], m["rule"]) for m in matches] == [
        (f.path, f.line, f.col, f.severity, f.rule) for f in text_run.findings]
    assert lines[0].startswith("::error file=kb/reviews/INC-2025-001.yaml,line=1,col=1,")
    assert github_run.exit_code == 1
    assert SUMMARY.match(github_run.stderr.strip())


def test_github_escapes_newlines_and_percent_in_messages(tmp_path):
    # An unknown key holding a newline and a percent sign must not break the one-line annotation.
    text = review_text() + '"50%\\nkey": 1\n'
    outcome = run_validate(make_kb(tmp_path, {REVIEW_ID: text}), "--format", "github")
    [line] = outcome.stdout.splitlines()
    assert GITHUB.match(line)
    assert "%25" in line


def test_a_message_is_always_one_line(tmp_path):
    text = review_text() + '"two\\nlines": 1\n'
    outcome = run_validate(make_kb(tmp_path, {REVIEW_ID: text}))
    assert len(outcome.stdout.splitlines()) == 1
    assert outcome.findings[0].rule == "schema"


@pytest.mark.parametrize("where, expected", [
    (".", "kb/reviews/INC-2025-001.yaml"),
    ("kb", "reviews/INC-2025-001.yaml"),
    ("kb/reviews", "INC-2025-001.yaml"),
    ("elsewhere", "../kb/reviews/INC-2025-001.yaml"),
])
def test_paths_are_relative_to_the_current_directory(tmp_path, where, expected):
    kb = make_kb(tmp_path, {REVIEW_ID: review_text(title=DELETE)})
    cwd = tmp_path / where
    cwd.mkdir(exist_ok=True)
    relative, absolute = run_validate(kb, cwd=cwd), run_kb(["validate", "--kb", str(kb), "--as-of", AS_OF], cwd=cwd)
    assert [f.path for f in relative.findings] == [expected]
    assert [f.path for f in absolute.findings] == [expected]


def test_every_finding_in_a_broken_kb_is_reported_in_one_run(tmp_path):
    kb = make_kb(tmp_path, {
        REVIEW_ID: valid_review(),
        "INC-2025-002": "title: [\n",
        "INC-2025-003": b"\xff\xfe",
        "INC-2025-004": "- a list\n",
        "INC-2025-005": valid_review("INC-2025-005", severity="P3"),
    }, taxonomy="categories: [\n")
    outcome = run_validate(kb)
    assert sorted((f.path.split("/")[-1], f.rule) for f in outcome.findings) == [
        ("INC-2025-001.yaml", "unknown-category"),
        ("INC-2025-002.yaml", "yaml"),
        ("INC-2025-003.yaml", "encoding"),
        ("INC-2025-004.yaml", "not-a-mapping"),
        ("INC-2025-005.yaml", "p3-review-reasons"),
        ("INC-2025-005.yaml", "unknown-category"),
        ("taxonomy.yaml", "yaml"),
    ]
    assert outcome.stderr == "7 errors, 0 warnings in 7 files\n"
