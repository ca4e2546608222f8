"""The index stage: catalogs, review ids, references and backlinks across the whole KB."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

import pytest

from conftest import AS_OF, CONTROLS, DELETE, TAXONOMY, locate, make_kb, to_yaml, valid_review
from generator.diagnostics import Severity
from generator.index import validate

DAY = dt.date.fromisoformat(AS_OF)


def findings(kb: Path) -> list[tuple[str, str, int, int]]:
    """(file name, rule, line, col) of every finding of validate(kb)."""
    return [(d.path.name, d.rule, d.line, d.col) for d in validate(kb, as_of=DAY).diagnostics]


def test_a_valid_kb_indexes_cleanly(tmp_path):
    result = validate(make_kb(tmp_path), as_of=DAY)
    assert result.diagnostics == []
    kb = result.value
    assert [r.id for r in kb.reviews] == ["INC-2025-001"]
    assert set(kb.categories) == {"configuration-change", "credential-compromise", "insufficient-monitoring"}
    assert [f.id for f in kb.frameworks] == ["ISO27001-2022", "ISO27001-2013", "SOC2"]
    assert kb.files == 3


def test_the_model_holds_typed_values(tmp_path):
    review = validate(make_kb(tmp_path), as_of=DAY).value.reviews[0]
    assert review.detected == dt.datetime(2025, 3, 2, 14, 5, tzinfo=dt.timezone.utc)
    assert review.actions[0].due == dt.date(2025, 4, 15)
    assert review.actions[1].completed == dt.date(2025, 3, 18)
    assert review.classification == "TLP:AMBER"
    assert review.timeline[1].decision is True
    assert review.approval.role == "CISO"
    assert review.url == "incidents/INC-2025-001/"


def test_classification_defaults_to_amber(tmp_path):
    kb = make_kb(tmp_path, {"INC-2025-001": valid_review(classification=DELETE)})
    assert validate(kb, as_of=DAY).value.reviews[0].classification == "TLP:AMBER"


def test_only_reviews_without_schema_errors_enter_the_model(tmp_path):
    kb = make_kb(tmp_path, {"INC-2025-001": valid_review(), "INC-2025-002": valid_review("INC-2025-002", title=DELETE)})
    result = validate(kb, as_of=DAY)
    assert [r.id for r in result.value.reviews] == ["INC-2025-001"]
    assert [(d.path.name, d.rule) for d in result.diagnostics] == [("INC-2025-002.yaml", "schema")]


def test_a_review_with_a_schema_error_still_gets_its_rule_findings(tmp_path):
    review = valid_review(title=DELETE)
    review["root_cause"]["categories"] = ["no-such-category"]
    assert [rule for _, rule, _, _ in findings(make_kb(tmp_path, {"INC-2025-001": review}))] == \
        ["schema", "unknown-category"]


# -- ids ---------------------------------------------------------------------------------

def test_id_must_equal_the_file_stem(tmp_path):
    kb = make_kb(tmp_path, {"INC-2025-002": valid_review("INC-2025-001")})
    text = (kb / "reviews" / "INC-2025-002.yaml").read_text()
    assert findings(kb) == [("INC-2025-002.yaml", "id-mismatch", *locate(text, "INC-2025-001"))]


def test_two_files_with_one_id_each_get_an_error_naming_the_other(tmp_path):
    first = to_yaml(valid_review("INC-2025-001"))
    second = "# a copy\n\n" + to_yaml(valid_review("INC-2025-001"))
    kb = make_kb(tmp_path, {"INC-2025-001": first, "INC-2025-009": second})
    result = validate(kb, as_of=DAY)
    duplicates = [d for d in result.diagnostics if d.rule == "duplicate-id"]
    assert [(d.path.name, d.line, d.col) for d in duplicates] == [("INC-2025-001.yaml", 1, 5), ("INC-2025-009.yaml", 3, 5)]
    assert "reviews/INC-2025-009.yaml" in duplicates[0].message
    assert "reviews/INC-2025-001.yaml" in duplicates[1].message
    assert {(d.path.name, d.rule) for d in result.diagnostics} == {
        ("INC-2025-001.yaml", "duplicate-id"), ("INC-2025-009.yaml", "duplicate-id"), ("INC-2025-009.yaml", "id-mismatch")}


def test_three_files_with_one_id_name_both_others(tmp_path):
    kb = make_kb(tmp_path, {name: valid_review("INC-2025-001") for name in ("INC-2025-001", "INC-2025-002", "INC-2025-003")})
    message = next(d.message for d in validate(kb, as_of=DAY).diagnostics
                   if d.rule == "duplicate-id" and d.path.name == "INC-2025-001.yaml")
    assert "reviews/INC-2025-002.yaml, reviews/INC-2025-003.yaml" in message


def test_yaml_beside_yml_is_a_duplicate_id(tmp_path):
    kb = make_kb(tmp_path, {"INC-2025-001.yaml": valid_review(), "INC-2025-001.yml": valid_review()})
    assert findings(kb) == [("INC-2025-001.yaml", "duplicate-id", 1, 5), ("INC-2025-001.yml", "duplicate-id", 1, 5)]


def test_yaml_beside_yml_without_ids_is_still_a_duplicate(tmp_path):
    kb = make_kb(tmp_path, {"INC-2025-001.yaml": valid_review(id=DELETE), "INC-2025-001.yml": valid_review(id=DELETE)})
    assert sorted(findings(kb)) == [
        ("INC-2025-001.yaml", "duplicate-id", 1, 1), ("INC-2025-001.yaml", "schema", 1, 1),
        ("INC-2025-001.yml", "duplicate-id", 1, 1), ("INC-2025-001.yml", "schema", 1, 1)]


def test_related_reviews_resolve_across_files_with_backlinks(tmp_path):
    kb = make_kb(tmp_path, {
        "INC-2025-001": valid_review(related=["INC-2025-002"]),
        "INC-2025-002": valid_review("INC-2025-002"),
        "INC-2025-003": valid_review("INC-2025-003", related=["INC-2025-001", "INC-2025-002"]),
    })
    result = validate(kb, as_of=DAY)
    assert result.diagnostics == []
    index = result.value
    assert index.referenced_by == {"INC-2025-002": ("INC-2025-001", "INC-2025-003"), "INC-2025-001": ("INC-2025-003",)}
    assert index.related_both_ways(index.by_id["INC-2025-001"]) == ("INC-2025-002", "INC-2025-003")
    assert index.related_both_ways(index.by_id["INC-2025-002"]) == ("INC-2025-001", "INC-2025-003")


def test_a_related_review_that_failed_the_schema_still_exists(tmp_path):
    # The id is known even though the review is not in the model: no second, misleading finding.
    kb = make_kb(tmp_path, {"INC-2025-001": valid_review(related=["INC-2025-002"]),
                            "INC-2025-002": valid_review("INC-2025-002", title=DELETE)})
    assert findings(kb) == [("INC-2025-002.yaml", "schema", 1, 1)]


def test_reviews_grouped_by_category_and_control(tmp_path):
    second = valid_review("INC-2025-002", controls=["ISO27001-2013/A.16.1.6"])
    second["root_cause"]["categories"] = ["credential-compromise", "configuration-change"]
    result = validate(make_kb(tmp_path, {"INC-2025-001": valid_review(), "INC-2025-002": second}), as_of=DAY)
    index = result.value
    assert [r.id for r in index.reviews_by_category["configuration-change"]] == ["INC-2025-001", "INC-2025-002"]
    assert [r.id for r in index.reviews_by_category["credential-compromise"]] == ["INC-2025-002"]
    assert [r.id for r in index.reviews_by_control["ISO27001-2013/A.16.1.6"]] == ["INC-2025-002"]
    assert index.replaces == {"ISO27001-2022/A.5.27": ("ISO27001-2013/A.16.1.6",)}
    assert [(d.rule, d.severity) for d in result.diagnostics] == [("superseded-control", Severity.WARNING)]


# -- catalogs ------------------------------------------------------------------------------

def test_replaced_by_naming_no_control_is_an_error(tmp_path):
    controls = copy.deepcopy(CONTROLS)
    controls["frameworks"][1]["controls"][0]["replaced_by"] = "ISO27001-2022/A.9.99"
    kb = make_kb(tmp_path, controls=controls)
    text = (kb / "controls.yaml").read_text()
    assert findings(kb) == [("controls.yaml", "unknown-replacement", *locate(text, "ISO27001-2022/A.9.99"))]


def test_replaced_by_may_be_a_list_and_each_entry_is_checked(tmp_path):
    controls = copy.deepcopy(CONTROLS)
    controls["frameworks"][1]["controls"][0]["replaced_by"] = ["ISO27001-2022/A.5.27", "ISO27001-2022/A.9.99"]
    kb = make_kb(tmp_path, controls=controls)
    text = (kb / "controls.yaml").read_text()
    assert findings(kb) == [("controls.yaml", "unknown-replacement", *locate(text, "ISO27001-2022/A.9.99"))]
    controls["frameworks"][1]["controls"][0]["replaced_by"] = ["ISO27001-2022/A.5.27", "SOC2/CC7.5"]
    kb = make_kb(tmp_path / "two", controls=controls)
    index = validate(kb, as_of=DAY).value
    assert index.replaces == {"ISO27001-2022/A.5.27": ("ISO27001-2013/A.16.1.6",),
                              "SOC2/CC7.5": ("ISO27001-2013/A.16.1.6",)}


def test_a_replaced_by_cycle_is_an_error_on_each_control_of_it(tmp_path):
    controls = copy.deepcopy(CONTROLS)
    controls["frameworks"][0]["controls"][1]["replaced_by"] = "ISO27001-2013/A.16.1.6"  # and back again
    kb = make_kb(tmp_path, controls=controls)
    result = validate(kb, as_of=DAY)
    cycle = [d for d in result.diagnostics if d.rule == "replacement-cycle"]
    assert sorted(d.message.split(":")[0] for d in cycle) == [
        "frameworks[0].controls[1].replaced_by", "frameworks[1].controls[0].replaced_by"]
    assert all("ISO27001-2013/A.16.1.6 -> ISO27001-2022/A.5.27 -> ISO27001-2013/A.16.1.6" in d.message
               for d in cycle)
    assert {d.severity for d in cycle} == {Severity.ERROR}


def test_category_defined_twice(tmp_path):
    taxonomy = copy.deepcopy(TAXONOMY)
    taxonomy["categories"].append({"id": "configuration-change", "title": "Again"})
    kb = make_kb(tmp_path, taxonomy=taxonomy)
    text = (kb / "taxonomy.yaml").read_text()
    assert findings(kb) == [("taxonomy.yaml", "duplicate-id", *locate(text, "configuration-change", 2))]


@pytest.mark.parametrize("second_id, fragment", [("SOC2", "is defined twice"), ("soc2", "same page address as 'SOC2'")])
def test_framework_ids_must_differ_in_their_page_address(tmp_path, second_id, fragment):
    controls = copy.deepcopy(CONTROLS)
    controls["frameworks"].append({"id": second_id, "title": "Again", "controls": []})
    kb = make_kb(tmp_path, controls=controls)
    result = validate(kb, as_of=DAY)
    assert [(d.path.name, d.rule) for d in result.diagnostics] == [("controls.yaml", "duplicate-id")]
    assert fragment in result.diagnostics[0].message


def test_control_ids_must_differ_in_their_page_address(tmp_path):
    controls = copy.deepcopy(CONTROLS)
    controls["frameworks"][0]["controls"].append({"id": "A-5-27", "title": "Collides with A.5.27"})
    kb = make_kb(tmp_path, controls=controls)
    text = (kb / "controls.yaml").read_text()
    assert findings(kb) == [("controls.yaml", "duplicate-id", *locate(text, "A-5-27"))]


def test_missing_catalogs_make_every_reference_unknown(tmp_path):
    kb = make_kb(tmp_path, taxonomy=None, controls=None)
    assert sorted((name, rule) for name, rule, _, _ in findings(kb)) == [
        ("INC-2025-001.yaml", "unknown-category"), ("INC-2025-001.yaml", "unknown-control"),
        ("INC-2025-001.yaml", "unknown-control"), ("controls.yaml", "missing-file"), ("taxonomy.yaml", "missing-file")]


@pytest.mark.parametrize("content", ["- a\n", "categories: 3\n", "categories:\n  - 3\n  - {title: no id}\n"])
def test_broken_taxonomy_does_not_crash_the_index(tmp_path, content):
    kb = make_kb(tmp_path, taxonomy=content)
    assert any(name == "taxonomy.yaml" for name, _, _, _ in findings(kb))


@pytest.mark.parametrize("content", ["frameworks: {}\n", "frameworks:\n  - 3\n  - {id: X, title: t, controls: 3}\n",
                                     "frameworks:\n  - {id: X, title: t, controls: [3, {id: 4}]}\n"])
def test_broken_controls_do_not_crash_the_index(tmp_path, content):
    kb = make_kb(tmp_path, controls=content)
    assert any(name == "controls.yaml" for name, _, _, _ in findings(kb))


def test_findings_are_sorted_by_file_line_and_column(tmp_path):
    late = valid_review("INC-2025-002", controls=["SOC2/CC9.9"], title=DELETE)
    early = valid_review(related=["INC-2025-404"])
    early["root_cause"]["categories"] = ["nope"]
    result = validate(make_kb(tmp_path, {"INC-2025-002": late, "INC-2025-001": early}), as_of=DAY)
    keys = [(str(d.path), d.line, d.col) for d in result.diagnostics]
    assert keys == sorted(keys)
    assert [d.path.name for d in result.diagnostics] == ["INC-2025-001.yaml"] * 2 + ["INC-2025-002.yaml"] * 2
