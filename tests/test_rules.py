"""The rules stage: the review procedure's rules beyond the schema, one rule id each."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from conftest import AS_OF, locate, to_yaml, valid_review, value_at
from generator.load import parse_text
from generator.rules import RULES, ControlInfo, RuleContext, run_rules


def context(as_of: str = AS_OF) -> RuleContext:
    return RuleContext(
        as_of=dt.date.fromisoformat(as_of),
        categories={"configuration-change", "credential-compromise"},
        controls={"ISO27001-2022/A.5.27": ControlInfo("ISO27001-2022/A.5.27"),
                  "ISO27001-2013/A.16.1.6": ControlInfo("ISO27001-2013/A.16.1.6", ("ISO27001-2022/A.5.27",)),
                  "NIST-CSF-1.1/RS.IM-1": ControlInfo("NIST-CSF-1.1/RS.IM-1",
                                                      ("NIST-CSF-2.0/ID.IM-03", "NIST-CSF-2.0/ID.IM-04")),
                  "SOC2/CC7.5": ControlInfo("SOC2/CC7.5")},
        review_ids={"INC-2025-001", "INC-2024-031"},
    )


def run(data: dict | str, as_of: str = AS_OF) -> tuple[str, list[tuple[str, str, int, int]]]:
    """The text and the (severity, rule, line, col) of every rule finding, sorted by place."""
    text = data if isinstance(data, str) else to_yaml(data)
    record, problems = parse_text(Path("reviews/INC-2025-001.yaml"), text.encode("utf-8"))
    assert problems == []
    found = run_rules(record, context(as_of))
    return text, sorted(((d.severity.value, d.rule, d.line, d.col) for d in found), key=lambda f: (f[2], f[3]))


def run_messages(data: dict, as_of: str = AS_OF) -> list[str]:
    record, _ = parse_text(Path("x.yaml"), to_yaml(data).encode("utf-8"))
    return [f"{d.message} | {d.hint}" for d in run_rules(record, context(as_of))]


def test_every_rule_has_a_stable_id():
    assert set(RULES) == {
        "unknown-category", "unknown-control", "superseded-control", "unknown-related", "unknown-lesson",
        "duplicate-item-id", "closed-open-action", "timeline-order", "resolved-before-detected",
        "review-deadline", "overdue-action", "approver-role",
        "security-assessment-missing", "executive-briefing-missing", "stale-action", "effectiveness-missing",
        "effectiveness-failed", "unknown-action", "date-order", "blame-language",
    }


def test_the_valid_review_passes_every_rule():
    assert run(valid_review())[1] == []


# -- references ----------------------------------------------------------------------------

def test_unknown_category_suggests_a_close_one():
    data = valid_review()
    data["root_cause"]["categories"] = ["configuration-change", "configuration-chang"]
    text, found = run(data)
    assert found == [("error", "unknown-category", *value_at(text, "- configuration-chang\n"))]
    assert run_messages(data)[0].endswith("did you mean 'configuration-change'? (categories are defined in taxonomy.yaml)")


def test_unknown_control_lists_known_ones():
    data = valid_review(controls=["NIST/XX.1"])
    text, found = run(data)
    assert found == [("error", "unknown-control", *locate(text, "NIST/XX.1"))]
    assert "known ones: ISO27001-2013/A.16.1.6, ISO27001-2022/A.5.27, NIST-CSF-1.1/RS.IM-1, SOC2/CC7.5" in run_messages(data)[0]


def test_superseded_control_is_a_warning_naming_the_replacement():
    data = valid_review(controls=["ISO27001-2013/A.16.1.6"])
    text, found = run(data)
    assert found == [("warning", "superseded-control", *locate(text, "ISO27001-2013/A.16.1.6"))]
    assert run_messages(data) == ["controls[0]: ISO27001-2013/A.16.1.6 is superseded by ISO27001-2022/A.5.27 | "
                                  "cite ISO27001-2022/A.5.27 instead"]


def test_a_control_split_in_two_names_both_replacements():
    data = valid_review(controls=["NIST-CSF-1.1/RS.IM-1"])
    assert run_messages(data) == [
        "controls[0]: NIST-CSF-1.1/RS.IM-1 is superseded by NIST-CSF-2.0/ID.IM-03 and NIST-CSF-2.0/ID.IM-04 | "
        "cite whichever of NIST-CSF-2.0/ID.IM-03, NIST-CSF-2.0/ID.IM-04 applies (or both)"]


def test_related_review_must_exist():
    data = valid_review(related=["INC-2024-031", "INC-2024-032"])
    text, found = run(data)
    assert found == [("error", "unknown-related", *locate(text, "INC-2024-032"))]
    assert "did you mean 'INC-2024-031'?" in run_messages(data)[0]


def test_a_review_related_to_itself_is_a_warning():
    text, found = run(valid_review(related=["INC-2025-001"]))
    assert found == [("warning", "related-self", *value_at(text, "- INC-2025-001"))]


def test_action_lesson_must_be_a_lesson_of_this_review():
    data = valid_review()
    data["actions"][0]["lessons"] = ["L1", "L7"]
    text, found = run(data)
    assert found == [("error", "unknown-lesson", *value_at(text, "- L7"))]
    assert run_messages(data) == ["actions[0].lessons[1]: this review has no lesson 'L7' | known ones: L1"]


def test_duplicate_lesson_and_action_ids():
    data = valid_review()
    data["lessons"].append({"id": "L1", "text": "again", "kind": "tool"})
    data["actions"][1]["id"] = "A1"
    text, found = run(data)
    assert found == [
        ("error", "duplicate-item-id", *value_at(text, "id: L1", 2)),
        ("error", "duplicate-item-id", *value_at(text, "id: A1", 2)),
    ]
    first = locate(text, "id: A1")[0]
    assert f"(first on line {first})" in run_messages(data)[1]


# -- the procedure ---------------------------------------------------------------------------

@pytest.mark.parametrize("action_status", ["open", "in-progress"])
def test_closed_with_an_open_action_points_at_its_status(action_status):
    data = valid_review(status="closed")
    data["actions"][0]["status"] = action_status
    text, found = run(data)
    assert found == [("error", "closed-open-action", *value_at(text, f"status: {action_status}"))]


@pytest.mark.parametrize("action_status", ["done", "cancelled"])
def test_closed_with_finished_actions_is_fine(action_status):
    data = valid_review(status="closed")
    data["actions"][0].update(status=action_status, completed="2025-03-30",
                              effectiveness={"validated": True, "date": "2025-03-31"})
    assert run(data)[1] == []


def test_approved_with_an_open_action_is_fine():
    assert run(valid_review(status="approved"))[1] == []


def test_timeline_out_of_order_points_at_the_first_entry_earlier_than_the_one_before():
    data = valid_review()
    data["timeline"] = [
        {"at": "2025-03-02T14:05:00Z", "event": "one"},
        {"at": "2025-03-02T16:00:00Z", "event": "two"},
        {"at": "2025-03-02T15:00:00Z", "event": "three"},
        {"at": "2025-03-02T13:00:00Z", "event": "four"},
    ]
    text, found = run(data)
    assert found == [("error", "timeline-order", *value_at(text, "at: 2025-03-02T15:00:00Z"))]


def test_timeline_is_ordered_by_instant_not_by_text():
    # 12:00+02:00 is 10:00Z, before 11:15Z: in order, though the text sorts the other way.
    data = valid_review()
    data["timeline"][:2] = [{"at": "2025-03-02T12:00:00+02:00", "event": "one"},
                            {"at": "2025-03-02T11:15:00Z", "event": "two"}]
    assert run(data)[1] == []
    data["timeline"][:2] = [{"at": "2025-03-02T11:15:00Z", "event": "one"},
                            {"at": "2025-03-02T12:00:00+02:00", "event": "two"}]
    text, found = run(data)
    assert found == [("error", "timeline-order", *value_at(text, "at: 2025-03-02T12:00:00+02:00"))]


def test_equal_timestamps_are_in_order():
    data = valid_review()
    data["timeline"][1]["at"] = data["timeline"][0]["at"]
    assert run(data)[1] == []


def test_resolved_before_detected_points_at_resolved():
    data = valid_review()
    data["incident"]["resolved"] = "2025-03-02T14:00:00Z"
    data["review"]["held"] = "2025-03-03T09:00:00Z"
    text, found = run(data)
    assert found == [("error", "resolved-before-detected", *value_at(text, "resolved: 2025-03-02T14:00:00Z"))]


def test_resolved_before_detected_compares_instants():
    data = valid_review()
    data["incident"].update(detected="2025-03-03T10:00:00+02:00", resolved="2025-03-03T09:40:00Z")
    assert run(data)[1] == []
    data["incident"].update(detected="2025-03-03T09:00:00Z", resolved="2025-03-03T09:40:00+02:00")
    text, found = run(data)
    assert found == [("error", "resolved-before-detected", *value_at(text, "resolved: 2025-03-03T09:40:00+02:00"))]


@pytest.mark.parametrize("severity, held, late", [
    ("P1", "2025-03-06T09:40:00Z", False),   # exactly 72 h
    ("P1", "2025-03-06T09:40:01Z", True),
    ("P2", "2025-03-06T11:40:00+02:00", False),  # 72 h as an instant
    ("P2", "2025-03-06T10:00:00Z", True),
    ("P3", "2025-03-10T09:40:00Z", False),   # exactly 7 days
    ("P3", "2025-03-10T09:41:00Z", True),
])
def test_review_deadline(severity, held, late):
    data = valid_review(severity=severity, review_reasons=["novel-attack-vector"])
    data["review"]["held"] = held
    text, found = run(data)
    expected = [("warning", "review-deadline", *value_at(text, f"held: {held}"))] if late else []
    assert found == expected


@pytest.mark.parametrize("as_of, status, overdue", [
    ("2025-04-15", "open", False),          # due today is not overdue
    ("2025-04-16", "open", True),
    ("2025-04-16", "in-progress", True),
    ("2025-04-16", "cancelled", False),
    ("2026-01-01", "done", False),
])
def test_overdue_is_judged_on_the_as_of_date(as_of, status, overdue):
    data = valid_review()
    data["actions"][0].update(status=status, completed="2025-04-10")
    text, found = run(data, as_of=as_of)
    assert found == ([("warning", "overdue-action", *value_at(text, "due: 2025-04-15"))] if overdue else [])


def test_overdue_message_names_the_action_and_the_day():
    assert run_messages(valid_review(), as_of="2025-04-20")[0].startswith(
        "actions[0].due: action A1 (open) was due 2025-04-15, 5 days before 2025-04-20")


@pytest.mark.parametrize("role, warned", [("CISO", False), ("ciso", False), ("Deputy CISO", True), ("CTO", True)])
def test_approval_role_other_than_ciso_is_a_warning(role, warned):
    data = valid_review()
    data["approval"]["role"] = role
    text, found = run(data)
    assert found == ([("warning", "approver-role", *value_at(text, f"role: {role}"))] if warned else [])


# -- rules read raw data defensively ------------------------------------------------------------

@pytest.mark.parametrize("broken", [
    {"timeline": "not a list"},
    {"timeline": [None, 3, {"at": 5}, {"at": "2025-03-02T14:05:00Z", "event": "x"}]},
    {"incident": ["x"]},
    {"review": None},
    {"actions": [{"id": 1, "status": ["open"], "due": 20250101, "lessons": "L1"}, "x"]},
    {"lessons": {"id": "L1"}},
    {"lessons": [{"id": []}, {"id": {"a": 1}}, {"id": None}]},  # an unhashable id once crashed unknown-lesson
    {"controls": [1, None, {"a": 1}]},
    {"root_cause": {"categories": "configuration-change"}},
    {"related": "INC-2024-031"},
    {"approval": {"role": 5}},
    {"severity": ["P1"], "status": {"closed": True}},
])
def test_rules_do_not_crash_on_wrong_types(broken):
    run(valid_review(**broken))
