"""Record format v1.1 (closing the learning loop): each new rule row by row, both sides of its
boundaries, impossible dates, recurrence, the tracker, the security-improvements page, the export."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from conftest import AS_OF, DELETE, locate, make_kb, run_kb, run_validate, to_yaml, valid_review, value_at
from generator.load import parse_text
from generator.rules import RuleContext, run_rules


def findings(data: dict | str, as_of: str = AS_OF, rule: str | None = None) -> tuple[str, list]:
    """The text and the (rule, line, col, message, hint) of each rule finding (of one rule if given)."""
    text = data if isinstance(data, str) else to_yaml(data)
    record, problems = parse_text(Path("reviews/INC-2025-001.yaml"), text.encode("utf-8"))
    assert problems == []
    context = RuleContext(as_of=dt.date.fromisoformat(as_of), categories={"configuration-change"},
                          review_ids={"INC-2025-001"})
    found = [d for d in run_rules(record, context) if d.rule not in ("unknown-control",)]
    if rule:
        found = [d for d in found if d.rule == rule]
    return text, sorted(((d.rule, d.line, d.col, d.message, d.hint) for d in found), key=lambda f: (f[1], f[2]))


def places(data: dict | str, as_of: str = AS_OF, rule: str | None = None) -> list[tuple[str, int, int]]:
    return [f[:3] for f in findings(data, as_of, rule)[1]]


def test_the_valid_review_has_no_v11_finding():
    assert places(valid_review()) == []


# -- security-assessment-missing --------------------------------------------------------------

@pytest.mark.parametrize("status", ["in-review", "approved", "closed"])
def test_past_draft_without_improvements_or_assessment_warns_at_line_1(status):
    data = valid_review(status=status, security_improvements=DELETE)
    for action in data["actions"]:
        action.update(status="done", completed="2025-03-30", effectiveness={"validated": True, "date": "2025-03-31"})
    (rule, line, col, message, hint), = findings(data, rule="security-assessment-missing")[1]
    assert (line, col) == (1, 1) and "neither security_improvements nor security_assessment" in message
    assert "security_assessment" in hint


def test_a_draft_or_an_assessment_or_improvements_need_no_assessment_warning():
    assert places(valid_review(status="draft", security_improvements=DELETE), rule="security-assessment-missing") == []
    assessed = valid_review(security_improvements=DELETE,
                            security_assessment={"date": "2025-03-05", "conclusion": "No emergency patch needed."})
    assert places(assessed) == []
    assert places(valid_review(security_improvements=[]), rule="security-assessment-missing") == [
        ("security-assessment-missing", 1, 1)]  # an empty list records nothing


# -- executive-briefing-missing ---------------------------------------------------------------

def test_critical_lesson_without_briefing_warns_at_approval():
    data = valid_review()
    data["lessons"][0]["critical"] = True
    text, found = findings(data)
    assert [f[:3] for f in found] == [("executive-briefing-missing", *locate(text, "approval:"))]
    assert "L1 is critical" in found[0][3] and "approval.executive_briefing" in found[0][4]
    data["approval"]["executive_briefing"] = "2025-03-11"
    assert places(data) == []


def test_briefing_is_not_asked_before_approval_or_without_critical_lessons():
    data = valid_review(status="in-review", approval=DELETE)
    data["lessons"][0]["critical"] = True
    assert places(data, rule="executive-briefing-missing") == []
    data = valid_review()
    data["lessons"][0]["critical"] = False
    assert places(data) == []


# -- stale-action -------------------------------------------------------------------------------

@pytest.mark.parametrize("as_of, stale", [("2025-04-19", False), ("2025-04-20", True)])
def test_stale_after_more_than_30_days_since_the_latest_progress(as_of, stale):
    data = valid_review()  # A1 is open, last progress 2025-03-20, due 2025-04-15
    data["actions"][0]["due"] = "2025-12-31"
    text, found = findings(data, as_of=as_of)
    status_at = value_at(text, "status: open")
    assert [f[:3] for f in found] == ([("stale-action", *status_at)] if stale else [])
    if stale:
        assert "no news for 31 days (last progress 2025-03-20" in found[0][3] and "progress entry" in found[0][4]


@pytest.mark.parametrize("approval, as_of, stale", [
    (True, "2025-04-09", False), (True, "2025-04-10", True),  # approval 2025-03-10
    (False, "2025-04-04", False), (False, "2025-04-05", True),  # held 2025-03-05
])
def test_stale_without_progress_counts_from_approval_else_the_meeting(approval, as_of, stale):
    data = valid_review(status="approved" if approval else "in-review")
    if not approval:
        del data["approval"]
    data["actions"][0]["due"] = "2025-12-31"
    del data["actions"][0]["progress"]
    text = to_yaml(data)
    expected = [("stale-action", *value_at(text, "status: open"))] if stale else []
    assert places(text, as_of=as_of, rule="stale-action") == expected


def test_done_and_cancelled_actions_are_never_stale():
    data = valid_review()
    data["actions"][0].update(status="cancelled")
    assert places(data, as_of="2026-01-01", rule="stale-action") == []


def test_the_model_agrees_with_the_rule():
    from generator.model import review_from_data

    data = valid_review()
    review = review_from_data(data, Path("x.yaml"))
    action = review.actions[0]
    assert action.last_update(review.stale_fallback) == dt.date(2025, 3, 20)
    assert not action.stale(dt.date(2025, 4, 19), review.stale_fallback)
    assert action.stale(dt.date(2025, 4, 20), review.stale_fallback)
    assert review.stale_actions(dt.date(2025, 4, 20)) == (action,)
    assert review.stale_fallback == dt.date(2025, 3, 10)


# -- effectiveness-missing / effectiveness-failed / unknown-action ------------------------------

def test_closed_review_with_a_done_action_without_effectiveness():
    data = valid_review(status="closed")
    data["actions"][0].update(status="done", completed="2025-03-30")
    text, found = findings(data)
    assert [f[:3] for f in found] == [("effectiveness-missing", *value_at(text, "status: done"))]
    assert "A1" in found[0][3] and "effectiveness" in found[0][4]
    assert places(valid_review(status="approved"), rule="effectiveness-missing") == []  # only closed reviews


def test_failed_validation_without_follow_up_warns_at_validated():
    data = valid_review()
    data["actions"][1]["effectiveness"] = {"validated": False, "date": "2025-03-25"}
    text, found = findings(data)
    assert [f[:3] for f in found] == [("effectiveness-failed", *value_at(text, "validated: false"))]
    assert "follow_up" in found[0][4]
    data["actions"][1]["effectiveness"]["follow_up"] = ["A1"]
    assert places(data) == []


def test_follow_up_naming_no_action_is_an_error():
    data = valid_review()
    data["actions"][1]["effectiveness"] = {"validated": False, "date": "2025-03-25", "follow_up": ["A7"]}
    text, found = findings(data)
    assert [f[:3] for f in found] == [("unknown-action", *value_at(text, "- A7"))]
    assert "no action 'A7'" in found[0][3]


def test_unknown_action_fails_validate(tmp_path):
    data = valid_review()
    data["actions"][1]["effectiveness"] = {"validated": False, "follow_up": ["A7"]}
    outcome = run_validate(make_kb(tmp_path, {"INC-2025-001": data}))
    assert outcome.exit_code == 1 and outcome.rules == ["unknown-action"]


# -- date-order ---------------------------------------------------------------------------------

def test_dates_before_detection_or_completion_or_meeting():
    data = valid_review()
    data["actions"][1].update(completed="2025-03-01", effectiveness={"validated": True, "date": "2025-02-28"})
    data["actions"][0]["progress"] = [{"date": "2025-03-01", "note": "x"}]
    data["approval"]["date"] = "2025-03-04"
    text, found = findings(data, rule="date-order")
    assert [f[:3] for f in found] == [
        ("date-order", *value_at(text, "date: 2025-03-01")),
        ("date-order", *value_at(text, "completed: 2025-03-01")),
        ("date-order", *value_at(text, "date: 2025-02-28")),
        ("date-order", *value_at(text, "date: 2025-03-04")),
    ]


def test_effectiveness_before_completion():
    data = valid_review()
    data["actions"][1]["effectiveness"]["date"] = "2025-03-17"  # completed 2025-03-18
    text, found = findings(data)
    assert [f[:3] for f in found] == [("date-order", *value_at(text, "date: 2025-03-17"))]
    assert "before it was completed (2025-03-18)" in found[0][3]


def test_same_day_is_never_before():
    data = valid_review()
    data["actions"][1].update(completed="2025-03-02", effectiveness={"validated": True, "date": "2025-03-02"})
    data["actions"][0]["progress"] = [{"date": "2025-03-02", "note": "x"}]
    data["approval"]["date"] = "2025-03-05"
    assert places(data) == []


def test_a_timestamp_is_judged_by_its_day_in_its_own_zone():
    # Detected late on 1 March in New York (2 March in UTC): work on 1 March is the same day.
    data = valid_review()
    data["incident"]["detected"] = "2025-03-01T23:30:00-05:00"
    data["timeline"][0]["at"] = "2025-03-01T23:30:00-05:00"
    data["actions"][0]["progress"] = [{"date": "2025-03-01", "note": "x"}]
    assert places(data, rule="date-order") == []
    data["actions"][0]["progress"] = [{"date": "2025-02-28", "note": "x"}]
    assert len(places(data, rule="date-order")) == 1


# -- blame-language -----------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "Dana Ortiz failed to rotate the key.",
    "Dana failed to rotate the key.",
    "Ortiz did not rotate the key.",
    "Lee Park, the analyst on shift, forgot the runbook.",
    "lee park didn't page the team.",
    "Lee Park should have paged.",
    "Dana Ortiz neglected the alert.",
    "It was human error.",
    "Operator error caused it.",
    "A user error.",
    "The change was careless.",
    "A negligent release.",
    "Negligence in the review.",
])
def test_blame_is_found(text):
    data = valid_review()
    data["lessons"][0]["text"] = text
    src, found = findings(data)
    assert [f[:3] for f in found] == [("blame-language", *value_at(src, "text: "))]
    assert "names a person as the cause" in found[0][3] and "# kb: allow blame-language" in found[0][4]


@pytest.mark.parametrize("text", [
    "The deploy tool failed to roll back.",
    "The process did not require a second review.",
    "Dana Ortiz opened the ticket and then the deploy tool failed to close it.",
    "The runbook should have named the edge profile.",
    "Carelessly worded alerts were reworded.",
    "The new human-error budget is not blame, it is a human errors list.",
    "Park the change until Monday; the pipeline did not wait.",
])
def test_not_blame(text):
    data = valid_review()
    data["lessons"][0]["text"] = text
    assert places(data) == []


def test_blame_in_every_free_text_field_v11_included():
    data = valid_review()
    data["security_assessment"] = {"date": "2025-03-05", "conclusion": "Human error, no patch."}
    data["approval"]["resources"] = "Nothing: Lee Park forgot."
    data["actions"][0]["progress"][0]["note"] = "Dana did not start."
    data["timeline"][0]["event"] = "Careless push"
    text, found = findings(data)
    assert [f[0] for f in found] == ["blame-language"] * 4


def test_blame_inside_a_block_is_reported_at_its_line_and_the_key_comment_exempts_the_block():
    data = valid_review(summary="First line.\nSecond line: Dana Ortiz failed to check.\n")
    text = to_yaml(data)
    assert "summary: |" in text
    found = places(text)
    assert found == [("blame-language", *locate(text, "Second line"))]
    exempt = text.replace("summary: |", "summary: |  # kb: allow blame-language")
    assert places(exempt) == []


def test_the_exemption_comment_exempts_only_its_line():
    data = valid_review()
    data["to_improve"] = ["Human error was named.", "Operator error too."]
    text = to_yaml(data).replace("- Human error was named.", "- Human error was named.  # kb: allow blame-language")
    assert places(text) == [("blame-language", *value_at(text, "- Operator error too."))]


# -- impossible dates ---------------------------------------------------------------------------

def test_impossible_dates_in_records_say_which_days_the_month_has(tmp_path):
    data = valid_review()
    data["actions"][0]["due"] = "2026-11-31"
    data["approval"]["date"] = "2026-02-30"
    outcome = run_validate(make_kb(tmp_path, {"INC-2025-001": data}))
    assert outcome.exit_code == 1
    assert "'2026-11-31' is not a date: November has 30 days" in outcome.stdout
    assert "'2026-02-30' is not a date: February 2026 has 28 days" in outcome.stdout


@pytest.mark.parametrize("command", [["validate"], ["actions"], ["export"]])
@pytest.mark.parametrize("day, message", [("2026-02-30", "February 2026 has 28 days"),
                                          ("2026-11-31", "November has 30 days")])
def test_impossible_as_of_is_a_usage_error(tmp_path, command, day, message):
    kb = make_kb(tmp_path)
    outcome = run_kb([*command, "--kb", str(kb), "--as-of", day], cwd=tmp_path)
    assert outcome.exit_code == 2 and message in outcome.stderr


# -- recurrence ---------------------------------------------------------------------------------

def _earlier(review_id: str = "INC-2025-001", *, completed: str = "2025-03-18", validated: bool = True,
             category: str = "configuration-change", classification: str = "TLP:AMBER") -> dict:
    data = valid_review(review_id, classification=classification)
    data["root_cause"]["categories"] = [category]
    data["actions"][1].update(completed=completed, effectiveness={"validated": validated, "date": "2025-03-25"})
    return data


def _later(review_id: str = "INC-2025-002", *, detected: str = "2025-06-02T10:00:00Z",
           category: str = "configuration-change", classification: str = "TLP:AMBER") -> dict:
    data = valid_review(review_id, classification=classification)
    data["root_cause"]["categories"] = [category]
    data["incident"].update(detected=detected, resolved="2025-06-03T09:40:00Z")
    data["timeline"] = [{"at": detected, "event": "Alert"}]
    data["review"]["held"] = "2025-06-05T15:00:00Z"
    data["approval"]["date"] = "2025-06-10"
    # its own fix is not validated, so it is never the earlier one of a pair
    data["actions"][1]["effectiveness"] = {"validated": False, "follow_up": ["A1"]}
    data["actions"][0]["progress"] = [{"date": "2025-06-20", "note": "x"}]
    return data


def _kb(tmp_path: Path, *reviews: dict):
    from generator.index import validate

    result = validate(make_kb(tmp_path, {r["id"]: r for r in reviews}), as_of=dt.date(2025, 7, 1))
    assert result.errors == []
    return result.value


def test_a_later_incident_in_the_category_after_a_validated_fix_recurred(tmp_path):
    from generator.index import Recurrence

    kb = _kb(tmp_path, _earlier(), _later())
    assert kb.recurrences == (Recurrence("INC-2025-002", "INC-2025-001", "configuration-change"),)
    assert kb.recurrences_of["INC-2025-002"] == kb.recurrences and kb.recurrences_in["configuration-change"] == kb.recurrences


@pytest.mark.parametrize("earlier, later", [
    ({"completed": "2025-06-03"}, {}),  # the fix was completed after B was detected
    ({"completed": "2025-06-02"}, {}),  # ... or on the day B was detected: not before it
    ({"validated": False}, {}),  # the fix was never shown to work
    ({"category": "credential-compromise"}, {}),  # a different category
])
def test_no_recurrence(tmp_path, earlier, later):
    assert _kb(tmp_path, _earlier(**earlier), _later(**later)).recurrences == ()


def test_a_hidden_review_is_never_one_of_a_pair(tmp_path):
    from generator.audience import view

    kb = _kb(tmp_path, _earlier(classification="TLP:RED"), _later(classification="TLP:CLEAR"))
    assert len(kb.recurrences) == 1
    assert view(kb, "internal").recurrences == () and view(kb, "public").recurrences == ()
    kb = _kb(tmp_path / "2", _earlier(classification="TLP:CLEAR"), _later(classification="TLP:AMBER"))
    assert view(kb, "public").recurrences == ()


def test_export_carries_the_recurrences_and_its_schema_says_so(tmp_path):
    from generator.export import EXPORT_SCHEMA

    kb = make_kb(tmp_path, {"INC-2025-001": _earlier(), "INC-2025-002": _later()})
    outcome = run_kb(["export", "--kb", str(kb), "--as-of", "2025-07-01"], cwd=tmp_path)
    document = json.loads(outcome.stdout)
    assert document["recurrences"] == [{"review": "INC-2025-002", "earlier": "INC-2025-001",
                                        "category": "configuration-change"}]
    assert "recurrences" in EXPORT_SCHEMA["required"]
    import jsonschema
    jsonschema.validate(document, json.loads(run_kb(["export", "--schema"], cwd=tmp_path).stdout))
    folder = tmp_path / "csv"
    run_kb(["export", "--kb", str(kb), "--as-of", "2025-07-01", "--format", "csv", "--output", str(folder)], cwd=tmp_path)
    assert (folder / "recurrences.csv").read_text() == "review,earlier,category\nINC-2025-002,INC-2025-001,configuration-change\n"


# -- pages --------------------------------------------------------------------------------------

def _pages(tmp_path: Path, *reviews: dict, audience: str = "internal") -> dict[str, str]:
    """Every generated page's Markdown by docs path."""
    from generator.settings import Settings
    from generator.site import render_pages

    settings = Settings(kb_dir=tmp_path / "kb", as_of=dt.date(2025, 7, 1), audience=audience)
    texts, problems = render_pages(_kb(tmp_path, *reviews), settings)
    assert problems == []
    return texts


def test_recurrence_on_the_review_category_actions_home_and_metrics_pages(tmp_path):
    pages = _pages(tmp_path, _earlier(), _later())
    review = pages["incidents/INC-2025-002/index.md"]
    assert "## Recurrence" in review and '<a href="../INC-2025-001/">INC-2025-001</a>' in review
    assert "Unsafe configuration change" in review
    assert "recurred in" in pages["incidents/INC-2025-001/index.md"]
    category = pages["root-causes/configuration-change/index.md"]
    assert "After a validated fix" in category and "INC-2025-002" in category
    assert "Recurrences after a validated fix" in pages["actions/index.md"]
    assert "Recurrences after a validated fix" in pages["index.md"]
    metrics = pages["metrics/index.md"]
    assert "<tr><td>2025</td><td>1</td><td>1</td></tr>" in metrics


def test_stale_and_failed_on_home_and_dashboard(tmp_path):
    later = _later()
    later["actions"][0]["progress"] = [{"date": "2025-05-20", "note": "x"}]  # 42 days before 2025-07-01
    later["actions"][1]["effectiveness"] = {"validated": False, "date": "2025-06-20", "follow_up": ["A1"]}
    pages = _pages(tmp_path, _earlier(), later)
    for doc in ("index.md", "actions/index.md"):
        assert "Stale actions" in pages[doc] and "Failed validations" in pages[doc]
        stale = pages[doc].split("Stale actions")[1].split("Failed validations")[0]
        assert "INC-2025-002 A1" in stale and "2025-05-20" in stale
        failed = pages[doc].split("Failed validations")[1]
        assert "INC-2025-002 A2" in failed


def test_security_improvements_page(tmp_path):
    first = _earlier()
    first["security_improvements"] = [{"description": "Token check <b>re-enabled</b>.", "type": "emergency-patch",
                                       "status": "done", "owner": "Edge Team", "due": "2025-03-04"}]
    second = _later()
    del second["security_improvements"]
    second["security_assessment"] = {"date": "2025-06-05", "conclusion": "No emergency patch needed."}
    page = _pages(tmp_path, first, second)["security-improvements/index.md"]
    assert page.index("INC-2025-002") < page.index("INC-2025-001")  # newest first
    assert "No emergency patch needed." in page
    row = next(line for line in page.splitlines() if "re-enabled" in line)
    assert "<b>" not in row and "emergency-patch" in row and "Edge Team" in row and "2025-03-04" in row


def test_security_improvements_page_is_in_the_navigation_and_linked_from_home(tmp_path):
    root = Path(__file__).parent.parent
    for config in (root / "mkdocs.yml", root / "generator" / "mkdocs.default.yml"):
        assert "  - Security improvements: security-improvements/index.md" in config.read_text()
    assert "security-improvements" in _pages(tmp_path, _earlier())["index.md"]


def test_review_page_shows_the_v11_fields(tmp_path):
    data = _earlier()
    data["lessons"][0].update(critical=True, adopted_in=[{"kind": "procedure", "ref": "RES-PROC-002 rev 4",
                                                           "date": "2025-04-02"}])
    data["approval"].update(action_plan="approved-with-changes", resources="One engineer for six weeks.",
                            executive_briefing="2025-03-11")
    data["security_assessment"] = {"date": "2025-03-05", "conclusion": "Patch applied."}
    data["actions"][0]["effectiveness"] = {"validated": False, "date": "2025-03-30", "follow_up": ["A2"]}
    page = _pages(tmp_path, data)["incidents/INC-2025-001/index.md"]
    for text in ("critical", "RES-PROC-002 rev 4", "approved-with-changes", "One engineer for six weeks.",
                 "2025-03-11", "Patch applied.", "Follow-up:"):
        assert text in page, text


def test_metrics_say_what_they_count(tmp_path):
    page = _pages(tmp_path, _earlier(), _later())["metrics/index.md"]
    assert "<tr><td>Validated</td><td>1</td><td>2</td><td>50.0%</td>" in page  # of the done actions: A2 of each review
    assert "<tr><td>Failed</td><td>1</td><td>2</td><td>50.0%</td>" in page
    assert "<tr><td>Review to approval</td><td>2</td><td>5.0</td><td>5</td>" in page
    assert "90th percentile" in page and "average" not in page.lower().replace("not averages", "")


def test_nearest_rank_percentile():
    from generator.stats import nearest_rank

    assert nearest_rank([], 0.9) is None
    assert nearest_rank([5], 0.9) == 5
    assert nearest_rank(list(range(1, 11)), 0.9) == 9
    assert nearest_rank(list(range(1, 12)), 0.9) == 10


# -- a KB using every v1.1 field ----------------------------------------------------------------

def test_a_kb_using_every_v11_field_reports_exactly_the_v11_findings(tmp_path):
    full = valid_review("INC-2025-001", status="closed")
    full["lessons"][0].update(critical=True, adopted_in=[
        {"kind": "training", "ref": "SEC-101 secure streaming v3", "date": "2025-04-02"},
        {"kind": "procedure", "ref": "RES-PROC-002 rev 4", "date": "2025-04-10"}])
    full["actions"][0].update(status="done", completed="2025-03-30",
                              effectiveness={"validated": True, "date": "2025-04-01", "note": "Checked."})
    full["actions"][1]["effectiveness"] = {"validated": False, "date": "2025-03-25", "note": "Missed one path.",
                                           "follow_up": ["A1"]}
    full["security_assessment"] = {"date": "2025-03-05", "conclusion": "The patch below was enough."}
    full["security_improvements"][0].update(owner="Edge Team", due="2025-03-04")
    full["approval"].update(action_plan="approved", resources="Two engineers.", executive_briefing="2025-03-11")
    warned = valid_review("INC-2025-002", security_improvements=DELETE)  # security-assessment-missing
    warned["lessons"][0]["critical"] = True  # executive-briefing-missing
    warned["actions"][0]["progress"] = [{"date": "2025-03-11", "note": "Started."}]  # stale on 2025-04-12
    warned["actions"][1]["effectiveness"] = {"validated": False, "date": "2025-03-17"}  # failed, and before completed
    warned["summary"] = "Lee Park forgot the check."  # blame-language
    kb = make_kb(tmp_path, {"INC-2025-001": full, "INC-2025-002": warned})
    outcome = run_kb(["validate", "--kb", str(kb), "--as-of", "2025-04-12", "--format", "json"], cwd=tmp_path)
    assert outcome.exit_code == 0
    report = json.loads(outcome.stdout)
    items = report if isinstance(report, list) else report.get("findings", report.get("diagnostics"))
    got = sorted((Path(f["path"]).stem, f["rule"], f["severity"]) for f in items)
    assert got == sorted([
        ("INC-2025-002", "security-assessment-missing", "warning"),
        ("INC-2025-002", "executive-briefing-missing", "warning"),
        ("INC-2025-002", "stale-action", "warning"),
        ("INC-2025-002", "effectiveness-failed", "warning"),
        ("INC-2025-002", "date-order", "warning"),
        ("INC-2025-002", "blame-language", "warning"),
    ])
    strict = run_kb(["validate", "--kb", str(kb), "--as-of", "2025-04-12", "--strict"], cwd=tmp_path)
    assert strict.exit_code == 1


def test_the_example_kb_has_only_its_intentional_warnings():
    root = Path(__file__).parent.parent
    outcome = run_kb(["validate", "--kb", "kb", "--as-of", "2026-12-01", "--format", "json"], cwd=root)
    report = json.loads(outcome.stdout)
    items = report if isinstance(report, list) else report.get("findings", report.get("diagnostics"))
    assert sorted((Path(f["path"]).stem, f["rule"]) for f in items) == [
        ("INC-2024-007", "superseded-control"), ("INC-2024-007", "superseded-control"),
        ("INC-2024-058", "review-deadline"),
        ("INC-2025-014", "overdue-action"), ("INC-2025-061", "overdue-action"), ("INC-2025-061", "stale-action")]


def test_every_earlier_fix_makes_a_pair_and_the_site_names_the_latest(tmp_path):
    from generator.index import Recurrence

    oldest = _earlier("INC-2025-001")
    newer = _earlier("INC-2025-003")
    newer["incident"].update(detected="2025-03-10T10:00:00Z", resolved="2025-03-10T12:00:00Z")
    newer["timeline"] = [{"at": "2025-03-10T10:00:00Z", "event": "Alert"}]
    newer["actions"][1].update(completed="2025-03-20", effectiveness={"validated": True, "date": "2025-03-25"})
    late_fix = _earlier("INC-2025-004")  # detected later still, but fixed after INC-2025-002 was detected
    late_fix["incident"].update(detected="2025-03-15T10:00:00Z", resolved="2025-03-15T12:00:00Z")
    late_fix["timeline"] = [{"at": "2025-03-15T10:00:00Z", "event": "Alert"}]
    late_fix["actions"][1].update(completed="2025-06-20", due="2025-06-30",
                                  effectiveness={"validated": True, "date": "2025-06-25"})
    kb = _kb(tmp_path, oldest, newer, late_fix, _later())
    # The contract's pairs (kb export): each earlier review whose validated fix came before it.
    assert kb.recurrences == (Recurrence("INC-2025-002", "INC-2025-001", "configuration-change"),
                              Recurrence("INC-2025-002", "INC-2025-003", "configuration-change"))
    # The site names the latest SHOWN_PER_REVIEW per review and category: here both.
    assert kb.recurrences_of["INC-2025-002"] == kb.recurrences
    from generator.index import find_recurrences

    assert find_recurrences(kb.reviews, latest=1) == (Recurrence("INC-2025-002", "INC-2025-003", "configuration-change"),)
