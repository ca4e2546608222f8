"""The schema stage: each record against its JSON Schema, findings at the offending key or value.

Also the date and timestamp helpers the schema's format checks rely on.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from conftest import CONTROLS, DELETE, TAXONOMY, locate, to_yaml, valid_review, value_at
from generator import dates, schema
from generator.load import parse_text


def check(data: dict | str, name: str = "review") -> tuple[str, list[tuple[str, int, int]]]:
    """The YAML text of data and the (rule, line, col) of its schema findings, sorted."""
    text = data if isinstance(data, str) else to_yaml(data)
    record, problems = parse_text(Path("reviews/INC-2025-001.yaml"), text.encode("utf-8"))
    assert problems == [] and record is not None
    return text, sorted((d.rule, d.line, d.col) for d in schema.check(record, name))


def messages(data: dict | str, name: str = "review") -> list[str]:
    text = data if isinstance(data, str) else to_yaml(data)
    record, _ = parse_text(Path("x.yaml"), text.encode("utf-8"))
    return [f"{d.message} | {d.hint}" for d in schema.check(record, name)]


def test_the_valid_review_and_catalogs_have_no_finding():
    assert check(valid_review())[1] == []
    assert check(TAXONOMY, "taxonomy")[1] == []
    assert check(CONTROLS, "controls")[1] == []


def test_validators_are_compiled_once():
    assert schema.validator("review") is schema.validator("review")


# -- required fields: the first line of the mapping that lacks them ----------------------

@pytest.mark.parametrize("field", ["id", "title", "severity", "status", "incident", "review", "summary", "impact",
                                   "timeline", "root_cause", "lessons", "actions"])
def test_missing_top_level_field_is_reported_at_line_1(field):
    _, found = check(valid_review(**{field: DELETE}))
    assert found == [("schema", 1, 1)]
    assert messages(valid_review(**{field: DELETE})) == [f"missing required field '{field}' | add '{field}:' to the record"]


def test_missing_top_level_field_after_comments_is_still_line_1():
    text = "# yaml-language-server: $schema=../../schemas/review.schema.json\n\n" + to_yaml(valid_review(title=DELETE))
    assert check(text)[1] == [("schema", 1, 1)]


@pytest.mark.parametrize("parent, field, first", [
    ("incident", "detected", "  resolved:"),
    ("incident", "resolved", "  detected:"),
    ("review", "held", "  facilitator:"),
    ("review", "facilitator", "  held:"),
    ("impact", "description", "  users_affected:"),
    ("root_cause", "summary", "  method:"),
    ("approval", "role", "  approver:"),
])
def test_missing_nested_field_is_reported_at_the_first_line_of_its_mapping(parent, field, first):
    data = valid_review()
    del data[parent][field]
    text, found = check(data)
    assert found == [("schema", *locate(text, first[2:]))]


def test_missing_field_in_a_list_item_points_at_the_item():
    data = valid_review()
    del data["actions"][1]["owner"]
    text, found = check(data)
    assert found == [("schema", *locate(text, "id: A2"))]
    assert messages(data) == ["actions[1]: missing required field 'owner' | add 'owner:' to actions[1]"]


def test_missing_field_in_a_flow_mapping_points_at_the_brace():
    text = to_yaml(valid_review()).replace("- name: Lee Park\n    role: Root Cause Analyst", "- {role: Analyst}")
    _, found = check(text)
    assert found == [("schema", *locate(text, "{role"))]


# -- types, enums, patterns, lengths: at the value ---------------------------------------

@pytest.mark.parametrize("change, written, hint", [
    (lambda d: d["actions"][0].update(owner=False), "owner: false", "YAML reads yes/no"),
    (lambda d: d.update(title=1.1), "title: 1.1", "1.10 becomes 1.1"),
    (lambda d: d["impact"].update(users_affected="many"), "users_affected: many", ""),
    (lambda d: d["impact"].update(data_exposed="no way"), "data_exposed: no way", ""),
    (lambda d: d["incident"].update(services="cdn"), "services: cdn", "write a list"),
    (lambda d: d.update(summary=None), "summary: null", "write a value"),
])
def test_wrong_type_is_reported_at_the_value(change, written, hint):
    data = valid_review()
    change(data)
    text, found = check(data)
    assert found == [("schema", *value_at(text, written))]
    assert hint in messages(data)[0]


def test_a_mapping_where_a_list_is_expected_is_at_the_mapping():
    data = valid_review(timeline={"at": "2025-03-02T14:05:00Z", "event": "x"})
    text, found = check(data)
    assert found == [("schema", locate(text, "timeline:")[0] + 1, 3)]
    assert messages(data) == ["timeline: expected a list, found a mapping | "]


def test_yaml_no_for_an_owner_is_explained():
    text = to_yaml(valid_review()).replace("owner: SRE", "owner: no")
    _, found = check(text)
    assert found == [("schema", *locate(text, "no\n"))]
    assert messages(text) == ["actions[1].owner: expected text, found the boolean false | "
                              "no is read by YAML 1.1 as the boolean false, but as text by YAML 1.2 tools and editors: "
                              "quote it as 'no'"]


@pytest.mark.parametrize("field, value, fragment", [
    ("severity", "P4", "'P4' is not one of: P1, P2, P3"),
    ("status", "aproved", "did you mean 'approved'?"),
    ("classification", "AMBER", "did you mean 'TLP:AMBER'?"),
    ("review_reasons", ["because"], "'because' is not one of"),
])
def test_enum_values_are_checked_with_a_suggestion(field, value, fragment):
    data = valid_review(**{field: value})
    text, found = check(data)
    assert [r for r, _, _ in found] == ["schema"]
    assert found[0][1] == locate(text, f"{field}:")[0] + (1 if isinstance(value, list) else 0)
    assert fragment in messages(data)[0]


def test_enum_in_a_nested_item_is_at_its_value():
    data = valid_review()
    data["actions"][0]["status"] = "pending"
    data["lessons"][0]["kind"] = "people"
    data["security_improvements"][0]["type"] = "patch"
    text, found = check(data)
    assert found == sorted([
        ("schema", *locate(text, "pending")),
        ("schema", *locate(text, "people")),
        ("schema", *locate(text, "patch\n")),
    ])


@pytest.mark.parametrize("path, value", [
    (("id",), "inc-2025-1"),
    (("id",), "../../etc/passwd"),
    (("lessons", 0, "id"), "Lesson1"),
    (("actions", 0, "id"), "B1"),
    (("actions", 0, "lessons", 0), "1"),
    (("root_cause", "categories", 0), "Configuration Change"),
    (("controls", 0), "ISO 27001"),
    (("related", 0), "INC-25-1"),
])
def test_patterns_are_checked_at_the_value(path, value):
    data = valid_review()
    if path == ("related", 0):
        data["related"] = [value]
    else:
        target = data
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
    text, found = check(data)
    assert [r for r, _, _ in found] == ["schema"]
    shown = f"'{value}'" if text.count(f"'{value}'") else value
    assert found[0][1:] == locate(text, shown)


@pytest.mark.parametrize("value, problems", [
    ("", ["must not be empty"]),  # one finding per empty field (issue 16)
    ("   ", ["must be one line of text, not blank"]),
    ("two\nlines", ["must be one line of text"]),
    ("x" * 201, ["is 201 characters long; at most 200 are allowed"]),
])
def test_one_line_strings(value, problems):
    data = valid_review(title=value)
    _, found = check(data)
    assert [(r, line) for r, line, _ in found] == [("schema", 2)] * len(problems)
    for problem, message in zip(problems, messages(data)):
        assert problem in message


@pytest.mark.parametrize("escape", ["\\x1c", "\\x1f", "\\N", "\\u3000"])
def test_a_title_of_unusual_whitespace_is_blank_with_or_without_the_fast_engine(escape):
    # Python's \s also matches U+001C..U+001F and U+0085 (YAML's "\N"), jsonschema-rs's does not:
    # the finding must not depend on which engine answered.
    title = "title: Signed-URL bypass exposed premium live streams"
    text = to_yaml(valid_review()).replace(title, f'title: "{escape}"')
    assert check(text)[1] == [("schema", *value_at(text, f'title: "{escape}"'))]


def test_free_text_may_be_long_but_not_over_20000_characters():
    assert check(valid_review(summary="x" * 20_000))[1] == []
    data = valid_review(summary="x" * 20_001)
    assert [r for r, _, _ in check(data)[1]] == ["schema"]
    assert "is 20,001 characters long; at most 20,000" in messages(data)[0]


def test_blank_free_text_is_refused():
    data = valid_review(summary="   \n  \n")
    assert [r for r, _, _ in check(data)[1]] == ["schema"]


def test_unknown_key_is_reported_at_the_key_with_a_suggestion():
    data = valid_review(sumary="typo")
    data["actions"][0]["dew"] = "2025-04-15"
    text, found = check(data)
    assert found == sorted([("schema", *locate(text, "sumary:")), ("schema", *locate(text, "dew:"))])
    assert sorted(messages(data)) == [
        "actions[0]: unknown field 'dew' | did you mean 'due'?",
        "unknown field 'sumary' | did you mean 'summary'?",
    ]


def test_unknown_key_without_a_close_match_lists_the_allowed_ones():
    data = valid_review()
    data["approval"]["zzz"] = 1
    assert messages(data) == ["approval: unknown field 'zzz' | the fields allowed here are: action_plan, approver, date, executive_briefing, resources, role"]


@pytest.mark.parametrize("change, fragment", [
    (lambda d: d["impact"].update(users_affected=-1), "-1 is less than 0"),
    (lambda d: d["root_cause"].update(five_whys=["a", "b"]), "needs at least 3 entries, has 2"),
    (lambda d: d["root_cause"].update(five_whys=list("abcdefgh")), "has 8 entries; at most 7"),
    (lambda d: d["root_cause"].update(categories=[]), "needs at least 1 entry, has 0"),
    (lambda d: d.update(controls=["SOC2/CC7.5", "SOC2/CC7.5"]), "lists 'SOC2/CC7.5' more than once"),
    (lambda d: d.update(timeline=[]), "needs at least 1 entry, has 0"),
])
def test_numbers_and_list_sizes(change, fragment):
    data = valid_review()
    change(data)
    _, found = check(data)
    assert [r for r, _, _ in found] == ["schema"]
    assert fragment in messages(data)[0]


# -- dates and timestamps ---------------------------------------------------------------

@pytest.mark.parametrize("value", ["2025-03-02T14:05:00Z", "2025-03-02T14:05:00+02:00", "2025-03-02T14:05:00.250-05:30",
                                   "2025-03-02T14:05Z", "2025-03-02 14:05:00 +01:00"])
def test_timestamps_with_a_zone_are_accepted(value):
    data = valid_review()
    data["incident"]["detected"] = value
    data["timeline"][0]["at"] = value
    assert check(data)[1] == []


def test_timestamp_given_as_a_number_is_a_type_error():
    text = to_yaml(valid_review()).replace("held: 2025-03-05T15:00:00Z", "held: 20250305")
    assert check(text)[1] == [("schema", *locate(text, "20250305"))]


@pytest.mark.parametrize("path, value, fragment", [
    (("review", "held"), "2025-03-02T14:05:00", "has no time zone"),
    (("review", "held"), "2025-03-02", "is a date; a timestamp with a time and a zone is expected"),
    (("review", "held"), "2025-02-30T10:00:00Z", "is not a date: February 2025 has 28 days"),
    (("review", "held"), "2025-03-02T25:00:00Z", "is not a timestamp with a zone"),
    (("review", "held"), "2025-03-02T10:00:00+24:00", "is not a timestamp with a zone"),
    (("review", "held"), "yesterday", "is not a timestamp with a zone"),
    (("approval", "date"), "2025-02-30", "is not a date: February 2025 has 28 days"),
    (("approval", "date"), "2026-11-31", "is not a date: November has 30 days"),
    (("approval", "executive_briefing"), "2026-04-31", "is not a date: April has 30 days"),
    (("incident", "detected"), "2026-06-31T10:00:00Z", "is not a date: June has 30 days"),
    (("approval", "date"), "2025-13-45", "is not a date"),
    (("approval", "date"), "2025-4-15", "is not a date"),
    (("approval", "date"), "2025-04-15T00:00:00Z", "is a timestamp; a date (YYYY-MM-DD) is expected here"),
])
def test_bad_dates_and_timestamps_are_reported_at_the_value(path, value, fragment):
    data = valid_review()
    data[path[0]][path[1]] = value
    text, found = check(data)
    assert found == [("schema", *value_at(text, f"{path[1]}: {value}"))]
    assert fragment in messages(data)[0]


def test_quoted_and_unquoted_dates_are_the_same():
    text = to_yaml(valid_review())
    quoted = text.replace("due: 2025-04-15", "due: '2025-04-15'").replace(
        "detected: 2025-03-02T14:05:00Z", 'detected: "2025-03-02T14:05:00Z"')
    assert quoted != text
    assert check(quoted)[1] == []


def test_leap_day_exists_only_in_leap_years():
    data = valid_review()
    data["approval"]["date"] = "2024-02-29"
    assert check(data)[1] == []
    data["approval"]["date"] = "2025-02-29"
    assert [r for r, _, _ in check(data)[1]] == ["schema"]


def test_parse_timestamp_compares_instants():
    early = dates.parse_timestamp("2025-03-02T12:00:00+02:00")
    late = dates.parse_timestamp("2025-03-02T11:15:00Z")
    assert early < late
    assert early == dt.datetime(2025, 3, 2, 10, 0, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("value", [None, 20250302, "2025-03-02", "2025-03-02T10:00:00", "2025-03-02T10:00:00+2"])
def test_parse_timestamp_refuses_what_is_not_an_instant(value):
    assert dates.parse_timestamp(value) is None


def test_parse_date_and_day():
    assert dates.parse_date("2025-04-15") == dt.date(2025, 4, 15)
    assert dates.parse_date("2025-04-15T00:00:00Z") is None
    assert dates.parse_date(dt.date(2025, 4, 15)) is None
    with pytest.raises(ValueError, match="is not a date"):
        dates.parse_day("15/04/2025")


# -- rules the schema carries (x-rule) ----------------------------------------------------

def test_p3_without_review_reasons_is_at_line_1():
    assert check(valid_review(severity="P3", review_reasons=DELETE))[1] == [("p3-review-reasons", 1, 1)]


def test_p3_with_empty_review_reasons_is_at_the_value():
    text, found = check(valid_review(severity="P3", review_reasons=[]))
    assert found == [("p3-review-reasons", *value_at(text, "review_reasons: []"))]


@pytest.mark.parametrize("severity", ["P1", "P2"])
def test_empty_review_reasons_are_fine_for_p1_and_p2(severity):
    assert check(valid_review(severity=severity, review_reasons=[]))[1] == []
    assert check(valid_review(severity=severity, review_reasons=DELETE))[1] == []


def test_p3_with_a_reason_is_fine():
    assert check(valid_review(severity="P3", review_reasons=["novel-attack-vector"]))[1] == []


@pytest.mark.parametrize("status, expected", [
    ("approved", [("approval-required", 1, 1)]),
    ("closed", [("approval-required", 1, 1)]),
    ("in-review", []),
    ("draft", []),
])
def test_approval_is_required_once_approved(status, expected):
    data = valid_review(status=status, approval=DELETE)
    for action in data["actions"]:
        action["status"] = "done"
        action["completed"] = "2025-03-18"
    assert check(data)[1] == expected


@pytest.mark.parametrize("status", ["in-review", "approved", "closed"])
def test_lessons_and_actions_are_required_past_draft(status):
    text, found = check(valid_review(status=status, lessons=[], actions=[]))
    assert found == [("actions-required", *value_at(text, "actions: []")), ("lessons-required", *value_at(text, "lessons: []"))]


def test_a_draft_may_have_no_lessons_or_actions_yet():
    assert check(valid_review(status="draft", lessons=[], actions=[]))[1] == []


def test_action_done_without_completed_is_at_the_action():
    data = valid_review()
    del data["actions"][1]["completed"]
    text, found = check(data)
    assert found == [("action-completed", *locate(text, "id: A2"))]


def test_tlp_white_is_one_error_with_the_tlp_2_hint():
    data = valid_review(classification="TLP:WHITE")
    text, found = check(data)
    assert found == [("tlp-white", *locate(text, "TLP:WHITE"))]
    assert messages(data) == ["classification: 'TLP:WHITE': TLP:WHITE is the TLP 1.0 name | "
                              "TLP 2.0 calls it TLP:CLEAR: write classification: TLP:CLEAR"]


@pytest.mark.parametrize("level", ["TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED"])
def test_every_tlp_2_level_is_accepted(level):
    assert check(valid_review(classification=level))[1] == []


@pytest.mark.parametrize("method, field", [("five-whys", "five_whys"), ("fishbone", "fishbone"),
                                           ("fault-tree", "fault_tree")])
def test_the_method_needs_its_own_field(method, field):
    data = valid_review()
    data["root_cause"] = {"method": method, "categories": ["configuration-change"], "summary": "s"}
    text, found = check(data)
    assert found == [("rca-method-field", *locate(text, "method:"))]
    assert field in messages(data)[0]


def test_fishbone_groups():
    data = valid_review()
    data["root_cause"] = {"method": "fishbone", "categories": ["configuration-change"], "summary": "s",
                          "fishbone": {"people": ["on-call unaware"], "process": ["no review"]}}
    assert check(data)[1] == []
    data["root_cause"]["fishbone"] = {"process": ["no review"], "People": ["x"], "technology": []}
    text, found = check(data)
    assert found == sorted([("schema", *locate(text, "People:")), ("schema", *value_at(text, "technology: []"))])


def test_fault_tree_gates_and_children():
    tree = {"event": "Stream served without entitlement", "gate": "and", "children": [
        {"event": "Rule change skipped validation"},
        {"event": "No alert", "gate": "or", "children": [{"event": "Metric missing"}]},
    ]}
    data = valid_review()
    data["root_cause"] = {"method": "fault-tree", "categories": ["configuration-change"], "summary": "s",
                          "fault_tree": tree}
    assert check(data)[1] == []
    del tree["children"][1]["children"]
    text, found = check(data)
    assert found == [("schema", *locate(text, "event: No alert"))]
    assert "'children' is required when 'gate' is given" in messages(data)[0]


# -- the catalogs ------------------------------------------------------------------------

def test_taxonomy_schema():
    bad = {"categories": [{"id": "Bad_Id", "title": "x"}, {"title": "no id"}], "extra": 1}
    text, found = check(bad, "taxonomy")
    assert found == sorted([("schema", *locate(text, "Bad_Id")), ("schema", *locate(text, "title: no id")),
                            ("schema", *locate(text, "extra:"))])


def test_controls_schema():
    bad = {"frameworks": [{"id": "ISO 27001", "title": "x", "controls": [
        {"id": "A.1", "title": "t", "replaced_by": "nowhere"}]}]}
    text, found = check(bad, "controls")
    assert found == sorted([("schema", *locate(text, "ISO 27001")), ("schema", *locate(text, "nowhere"))])


def test_one_line_field_written_as_a_block_is_not_one_line(tmp_path) -> None:
    """`title: |` keeps a trailing newline; Python's `$` would let it pass as one line."""
    from conftest import make_kb, run_validate, to_yaml, valid_review

    text = to_yaml(valid_review()).replace("title: Signed-URL", "title: |\n  Signed-URL", 1)
    outcome = run_validate(make_kb(tmp_path, {"INC-2025-001": text}))
    assert outcome.exit_code == 1
    assert [(f.rule, f.line) for f in outcome.findings] == [("schema", 2)]
    assert "one line" in outcome.findings[0].message


# -- record format v1.1 ------------------------------------------------------------------

def v11_review() -> dict:
    """The valid review with every v1.1 field filled in."""
    data = valid_review()
    data["security_assessment"] = {"date": "2025-03-05", "conclusion": "No emergency patch needed."}
    data["security_improvements"] = [{"description": "Rotated the signing key.", "type": "emergency-patch",
                                      "status": "done", "owner": "Edge Team", "due": "2025-03-04"}]
    data["approval"].update(action_plan="approved-with-changes", resources="One engineer for six weeks.",
                            executive_briefing="2025-03-11")
    data["lessons"][0].update(critical=True, adopted_in=[
        {"kind": "training", "ref": "SEC-101 secure streaming v3", "date": "2025-04-02"},
        {"kind": "procedure", "ref": "RES-PROC-002 rev 4"}])
    data["actions"][0]["effectiveness"] = {"validated": False, "date": "2025-05-01", "note": "Still bypassable.",
                                           "follow_up": ["A1"]}
    return data


def test_every_v11_field_is_accepted():
    assert messages(v11_review()) == []


@pytest.mark.parametrize("change, expected", [
    (lambda d: d["lessons"][0]["adopted_in"][0].update(kind="wiki"), "lessons[0].adopted_in[0].kind"),
    (lambda d: d["approval"].update(action_plan="rejected"), "approval.action_plan"),
    (lambda d: d["actions"][0]["effectiveness"].update(follow_up=["B1"]), "actions[0].effectiveness.follow_up[0]"),
    (lambda d: d["lessons"][0].update(critical="yes please"), "lessons[0].critical"),
    (lambda d: d["security_assessment"].pop("conclusion"), "security_assessment"),
])
def test_v11_fields_are_checked(change, expected):
    data = v11_review()
    change(data)
    assert [m.split(":")[0] for m in messages(data)] == [expected]
