"""Evidence for a control across versions: `kb evidence`, the control pages and controls/.

One small KB holds what an auditor meets: a review citing a superseded control (two
editions back), a `replaced_by` list, a pending review, a failed effectiveness check, a
TLP:RED review and a public one; some tests commit it to a git repository of their own.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import datetime as dt
from pathlib import Path

import pytest

from conftest import AS_OF, make_kb, run_kb, to_yaml, valid_review
from generator import evidence
from generator.index import validate
from generator.settings import Settings
from generator.site import prepare_docs

CATALOG = {"frameworks": [
    {"id": "ISO27001-2022", "title": "ISO/IEC 27001:2022 Annex A", "controls": [
        {"id": "A.5.26", "title": "Respond to incidents"},
        {"id": "A.5.27", "title": "Learn from incidents"}]},
    {"id": "ISO27001-2013", "title": "ISO/IEC 27001:2013 Annex A", "controls": [
        {"id": "A.16.1.6", "title": "Learning from incidents", "replaced_by": "ISO27001-2022/A.5.27"}]},
    {"id": "ISO27001-2005", "title": "ISO/IEC 27001:2005 Annex A", "controls": [
        {"id": "A.13.2.2", "title": "Learning from incidents, 2005", "replaced_by": "ISO27001-2013/A.16.1.6"}]},
    {"id": "NIST-CSF-1.1", "title": "NIST CSF 1.1", "controls": [
        {"id": "RS.IM-1", "title": "Plans take in lessons", "replaced_by": ["NIST-CSF-2.0/ID.IM-03", "NIST-CSF-2.0/ID.IM-04"]}]},
    {"id": "NIST-CSF-2.0", "title": "NIST CSF 2.0", "controls": [
        {"id": "ID.IM-03", "title": "Improvements from operations"},
        {"id": "ID.IM-04", "title": "Plans are improved"}]},
    {"id": "SOC2", "title": "SOC 2", "controls": [{"id": "CC7.5", "title": "Recovery"}]},
]}


def _held(data: dict, day: str) -> dict:
    data["incident"]["detected"] = f"{day}T08:00:00Z"
    data["incident"]["resolved"] = f"{day}T10:00:00Z"
    data["review"]["held"] = f"{day}T16:00:00Z"
    data["timeline"] = [{"at": f"{day}T08:00:00Z", "event": "Alert"}, {"at": f"{day}T10:00:00Z", "event": "Closed"}]
    data["actions"][0]["progress"] = []
    return data


def reviews() -> dict[str, dict]:
    old = _held(valid_review("INC-2025-001", title="Cited the 2013 control", controls=[
        "ISO27001-2013/A.16.1.6", "NIST-CSF-1.1/RS.IM-1"]), "2025-01-10")
    old["approval"]["date"] = "2025-01-15"
    old["actions"][1].update(completed="2025-01-20", effectiveness={
        "validated": False, "date": "2025-02-01", "note": "Drill showed the alert <b>never</b> fired.", "follow_up": ["A3"]})
    old["actions"].append({"id": "A3", "title": "Fix the alert route", "owner": "SRE", "due": "2025-03-01",
                           "success_criteria": "Drill passes.", "status": "open"})
    older = _held(valid_review("INC-2025-002", title="Cited the 2005 control", status="closed",
                               classification="TLP:CLEAR", controls=["ISO27001-2005/A.13.2.2"]), "2025-02-10")
    older["approval"]["date"] = "2025-02-12"
    older["actions"][0].update(status="done", completed="2025-02-20")
    older["actions"][1].update(completed="2025-02-20", effectiveness={"validated": True, "date": "2025-03-01", "note": "ok"})
    pending = _held(valid_review("INC-2025-003", title="Still in review", status="in-review", approval=None,
                                 controls=["ISO27001-2022/A.5.27"]), "2025-03-10")
    del pending["approval"]
    secret = _held(valid_review("INC-2025-004", title="Secret red title", classification="TLP:RED",
                                controls=["ISO27001-2022/A.5.27"]), "2025-02-01")
    return {r["id"]: r for r in (old, older, pending, secret)}


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    return make_kb(tmp_path, reviews(), controls=CATALOG)


def kb_evidence(kb: Path, *args: str) -> object:
    return run_kb(["evidence", *args, "--kb", str(kb), "--as-of", AS_OF], cwd=kb.parent)


def pack(kb: Path, *args: str) -> dict:
    outcome = kb_evidence(kb, *args, "--format", "json")
    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    return json.loads(outcome.stdout)


def test_evidence_follows_replacements_transitively_and_splits_pending(kb: Path) -> None:
    data = pack(kb, "ISO27001-2022/A.5.27")
    assert (data["control"], data["title"]) == ("ISO27001-2022/A.5.27", "Learn from incidents")
    assert data["replaces"] == ["ISO27001-2005/A.13.2.2", "ISO27001-2013/A.16.1.6"]
    assert (data["from"], data["to"]) == (None, None)
    assert [(r["id"], r["status"], r["cited_as"]) for r in data["reviews"]] == [
        ("INC-2025-002", "closed", ["ISO27001-2005/A.13.2.2"]),
        ("INC-2025-001", "approved", ["ISO27001-2013/A.16.1.6"])]
    assert [(r["id"], r["status"], r["approval"]) for r in data["pending"]] == [("INC-2025-003", "in-review", None)]
    assert data["restricted"] == ["INC-2025-004"]
    assert "Secret red title" not in json.dumps(data)


def test_evidence_json_carries_the_review_facts(kb: Path) -> None:
    review = {r["id"]: r for r in pack(kb, "ISO27001-2022/A.5.27")["reviews"]}["INC-2025-001"]
    assert set(review) >= {"id", "title", "status", "classification", "cited_as", "held", "approval", "root_cause",
                           "lessons", "actions", "history"}
    assert (review["title"], review["classification"], review["held"]) == (
        "Cited the 2013 control", "TLP:AMBER", "2025-01-10T16:00:00Z")
    assert review["approval"] == {"approver": "Sam Reyes", "role": "CISO", "date": "2025-01-15", "action_plan": None,
                                  "resources": None, "executive_briefing": None}
    assert review["root_cause"]["method"] == "five-whys" and review["root_cause"]["categories"] == ["configuration-change"]
    assert [l["id"] for l in review["lessons"]] == ["L1"]
    failed = review["actions"][1]
    assert {k: failed[k] for k in ("id", "owner", "due", "status", "completed")} == {
        "id": "A2", "owner": "SRE", "due": "2025-03-20", "status": "done", "completed": "2025-01-20"}
    assert failed["effectiveness"] == {"validated": False, "date": "2025-02-01",
                                       "note": "Drill showed the alert <b>never</b> fired.", "follow_up": ["A3"]}
    assert review["actions"][0]["effectiveness"] is None
    assert review["history"] == []  # not in a git repository: nothing, and no error


def test_a_list_replaced_by_makes_a_review_evidence_for_each_successor(kb: Path) -> None:
    for successor in ("NIST-CSF-2.0/ID.IM-03", "NIST-CSF-2.0/ID.IM-04"):
        data = pack(kb, successor)
        assert data["replaces"] == ["NIST-CSF-1.1/RS.IM-1"]
        assert [(r["id"], r["cited_as"]) for r in data["reviews"]] == [("INC-2025-001", ["NIST-CSF-1.1/RS.IM-1"])]
    superseded = pack(kb, "NIST-CSF-1.1/RS.IM-1")
    assert superseded["replaces"] == [] and superseded["replaced_by"] == ["NIST-CSF-2.0/ID.IM-03", "NIST-CSF-2.0/ID.IM-04"]


def test_period_bounds_are_inclusive_held_days(kb: Path) -> None:
    ids = lambda data: [r["id"] for r in data["reviews"] + data["pending"]]  # noqa: E731
    assert ids(pack(kb, "ISO27001-2022/A.5.27", "--from", "2025-01-10", "--to", "2025-02-10")) == [
        "INC-2025-002", "INC-2025-001"]
    assert ids(pack(kb, "ISO27001-2022/A.5.27", "--from", "2025-01-11", "--to", "2025-02-09")) == []
    only = pack(kb, "ISO27001-2022/A.5.27", "--from", "2025-02-11")
    assert (only["from"], only["to"], ids(only)) == ("2025-02-11", None, ["INC-2025-003"])
    assert only["restricted"] == []  # the red review was held before the period


def test_from_after_to_is_a_usage_error(kb: Path) -> None:
    outcome = kb_evidence(kb, "ISO27001-2022/A.5.27", "--from", "2025-03-01", "--to", "2025-02-01")
    assert outcome.exit_code == 2 and "--from 2025-03-01 is after --to 2025-02-01" in outcome.stderr


def test_unknown_ref_exits_1_and_suggests_the_closest(kb: Path) -> None:
    outcome = kb_evidence(kb, "ISO27001-2022/A.5.72")
    assert outcome.exit_code == 1 and outcome.stdout == ""
    assert "no control 'ISO27001-2022/A.5.72'" in outcome.stderr and "did you mean 'ISO27001-2022/A.5.27'" in outcome.stderr
    assert "Traceback" not in outcome.stderr


def test_ref_matches_case_insensitively(kb: Path) -> None:
    assert pack(kb, "iso27001-2022/a.5.27")["control"] == "ISO27001-2022/A.5.27"


def test_public_audience_holds_only_public_reviews(kb: Path) -> None:
    data = pack(kb, "ISO27001-2022/A.5.27", "--audience", "public")
    assert [r["id"] for r in data["reviews"]] == ["INC-2025-002"]
    assert data["pending"] == [] and data["restricted"] == []
    text = json.dumps(data)
    for hidden in ("INC-2025-001", "INC-2025-003", "INC-2025-004", "Secret red title", "Still in review"):
        assert hidden not in text


def test_markdown_document_labels_escapes_and_says_failed(kb: Path) -> None:
    outcome = kb_evidence(kb, "ISO27001-2022/A.5.27", "--from", "2025-01-01", "--to", "2025-12-31")
    assert outcome.exit_code == 0, outcome.stderr
    text = outcome.stdout
    assert text.startswith("# Evidence: ISO27001-2022/A.5.27 (Learn from incidents)\n\n**Label:** TLP:AMBER")
    assert "reviews held from 2025-01-01 to 2025-12-31 (inclusive)" in text
    assert "### INC-2025-001: Cited the 2013 control" in text and "### INC-2025-003: Still in review" in text
    assert text.index("## Pending") < text.index("### INC-2025-003")
    assert "**FAILED** 2025-02-01: Drill showed the alert &lt;b&gt;never&lt;/b&gt; fired.; follow-up A3" in text
    assert "<b>" not in text
    assert "| A1 Policy check for CDN rules in CI | Platform Security | 2025-04-15 | open |  | not yet checked |" in text
    assert "INC-2025-004" in text and "Secret red title" not in text


def test_hostile_text_in_the_document_stays_text(tmp_path: Path) -> None:
    review = valid_review(title="# Heading <script>alert(1)</script> | cell", controls=["ISO27001-2022/A.5.27"])
    review["lessons"][0]["text"] = "[click](javascript:alert(1)) \x1b[31mred"
    kb = make_kb(tmp_path, {"INC-2025-001": review}, controls=CATALOG)
    text = kb_evidence(kb, "ISO27001-2022/A.5.27").stdout
    assert "<script>" not in text and "\x1b" not in text and "](javascript:" not in text
    assert "\n# Heading" not in text and "&#124; cell" in text  # a | never splits a table cell


def git(repo: Path, *args: str, when: str = "2025-01-01T10:00:00+00:00", **env: str) -> None:
    fixed = {"GIT_AUTHOR_NAME": "Ada Auditor", "GIT_AUTHOR_EMAIL": "ada@example.org", "GIT_COMMITTER_NAME": "Ada Auditor",
             "GIT_COMMITTER_EMAIL": "ada@example.org", "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when,
             "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", **env}
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env={**os.environ, **fixed})


def test_history_lists_the_commits_of_the_record_newest_first(kb: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = kb.parent
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "Add the reviews", when="2025-01-16T09:00:00+00:00")
    record = kb / "reviews" / "INC-2025-001.yaml"
    record.write_text(record.read_text() + "# approved\n")
    git(repo, "commit", "-q", "-am", "Approve INC-2025-001", GIT_AUTHOR_NAME="Sam Reyes",
        when="2025-01-17T11:30:00+02:00")
    # A hook's GIT_DIR pointing elsewhere must not change what is read.
    monkeypatch.setenv("GIT_DIR", str(repo / "nowhere"))
    data = pack(kb, "ISO27001-2022/A.5.27")
    histories = {r["id"]: r["history"] for r in data["reviews"]}
    first = histories["INC-2025-001"]
    assert [(h["author"], h["date"], h["subject"]) for h in first] == [
        ("Sam Reyes", "2025-01-17T11:30:00+02:00", "Approve INC-2025-001"),
        ("Ada Auditor", "2025-01-16T09:00:00+00:00", "Add the reviews")]
    assert all(re.fullmatch(r"[0-9a-f]{40}", h["commit"]) for h in first)
    assert [h["subject"] for h in histories["INC-2025-002"]] == ["Add the reviews"]
    markdown = kb_evidence(kb, "ISO27001-2022/A.5.27").stdout
    assert f"| {first[0]['commit'][:12]} | Sam Reyes | 2025-01-17T11:30:00+02:00 | Approve INC-2025-001 |" in markdown


def test_history_is_empty_without_git(kb: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(kb))  # no git on the PATH
    assert evidence.history(kb / "reviews" / "INC-2025-001.yaml") == []


def test_control_pages_and_coverage_show_the_same_counts(kb: Path) -> None:
    result, tree = prepare_docs(Settings(kb_dir=kb, as_of=dt.date.fromisoformat(AS_OF)))
    assert tree is not None, result.diagnostics
    docs = tree.generated
    coverage = docs["controls/index.md"]
    page = docs["controls/iso27001-2022/a-5-27/index.md"]
    assert ('<tr><td><a href="iso27001-2022/a-5-27/">A.5.27</a></td><td>Learn from incidents</td><td>2</td>'
            '<td><span class="kb-date">2025-02-12</span> (approved)</td><td>1</td>') in coverage
    assert ('<p><strong>Evidence:</strong> 2 approved or closed reviews, latest <span class="kb-date">2025-02-12</span>'
            ' (approved); 1 pending.</p>') in page
    assert "cited as ISO27001-2005/A.13.2.2" in page and "cited as ISO27001-2013/A.16.1.6" in page
    assert re.search(r"## Pending.*INC-2025-003.* Still in review: .*in-review.* · cited as ISO27001-2022/A.5.27", page, re.S)
    assert '<strong>FAILED</strong> <span class="kb-date">2025-02-01</span>' in page and "follow-up A3" in page
    assert "Secret red title" not in page and "INC-2025-004" not in page
    # Both sides count with the same function as kb evidence.
    kb_model = validate(kb, as_of=dt.date.fromisoformat(AS_OF)).value
    from generator.audience import view
    counted = evidence.coverage(view(kb_model, "internal"))
    assert counted["ISO27001-2022/A.5.27"].count == len(pack(kb, "ISO27001-2022/A.5.27")["reviews"])
    # A control without evidence is a gap, said in words.
    assert ('<tr><td><a href="soc2/cc7-5/">CC7.5</a></td><td>Recovery</td><td><span class="kb-gap">0: gap</span></td>'
            '<td>none</td><td>0</td>') in coverage
    assert "No evidence" in docs["controls/soc2/cc7-5/index.md"]
    assert 'superseded by <a href="iso27001-2022/a-5-27/">ISO27001-2022/A.5.27</a>' in coverage


def test_public_site_counts_only_public_reviews(kb: Path) -> None:
    result, tree = prepare_docs(Settings(kb_dir=kb, as_of=dt.date.fromisoformat(AS_OF), audience="public"))
    assert tree is not None
    assert ('<tr><td><a href="iso27001-2022/a-5-27/">A.5.27</a></td><td>Learn from incidents</td><td>1</td>'
            '<td><span class="kb-date">2025-02-12</span> (approved)</td><td>0</td>') in tree.generated["controls/index.md"]
    assert "Cited the 2013 control" not in tree.generated["controls/iso27001-2022/a-5-27/index.md"]


def test_json_never_carries_terminal_controls_yet_keeps_the_text(tmp_path: Path) -> None:
    title = "C1 \u009b31m and override \u202egnp.exe"
    kb = make_kb(tmp_path, {"INC-2025-001": valid_review(title=title)}, controls=CATALOG)
    outcome = kb_evidence(kb, "ISO27001-2022/A.5.27", "--format", "json")
    assert "\u009b" not in outcome.stdout and "\u202e" not in outcome.stdout
    assert json.loads(outcome.stdout)["reviews"][0]["title"] == title


def test_history_follows_a_moved_knowledge_base(kb: Path) -> None:
    repo = kb.parent
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "Add the reviews")
    git(repo, "mv", "kb", "knowledge")
    git(repo, "commit", "-q", "-m", "Move the KB", when="2025-02-01T10:00:00+00:00")
    moved = repo / "knowledge"
    outcome = run_kb(["evidence", "ISO27001-2022/A.5.27", "--kb", str(moved), "--as-of", AS_OF, "--format", "json"],
                     cwd=repo)
    history = {r["id"]: r["history"] for r in json.loads(outcome.stdout)["reviews"]}["INC-2025-001"]
    assert [h["subject"] for h in history] == ["Move the KB", "Add the reviews"]


def test_a_failed_check_without_follow_up_says_so(tmp_path: Path) -> None:
    review = valid_review(controls=["ISO27001-2022/A.5.27"])
    review["actions"][1]["effectiveness"] = {"validated": False, "date": "2025-03-25", "note": "Alert silent."}
    kb = make_kb(tmp_path, {"INC-2025-001": review}, controls=CATALOG)
    text = kb_evidence(kb, "ISO27001-2022/A.5.27").stdout
    assert "| **FAILED** 2025-03-25: Alert silent.; no follow-up named |" in text
