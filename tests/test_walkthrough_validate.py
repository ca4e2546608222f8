"""What a reviewer sees from `kb validate` on the mistakes of a newcomer (issue 16)."""

from __future__ import annotations

from conftest import AS_OF, make_kb, run_kb, run_validate, to_yaml, valid_review


def test_an_unclosed_quote_is_reported_where_it_opened(tmp_path) -> None:
    # The quote on the title line runs on to a quote in a comment far below; the parser fails there.
    text = to_yaml(valid_review()).replace("title: Signed-URL", 'title: "Signed-URL', 1)
    text += '# a comment that mentions "quoted" words\n'
    title_line = next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith("title:"))
    kb = make_kb(tmp_path, reviews={"INC-2025-001": text})
    outcome = run_validate(kb)
    assert outcome.exit_code == 1
    [finding] = outcome.findings
    assert (finding.rule, finding.line, finding.col) == ("yaml", title_line, 8)
    assert "quoted text opened here" in finding.message


def test_a_quote_never_closed_points_at_its_opening(tmp_path) -> None:
    text = to_yaml(valid_review()).replace("title: Signed-URL", 'title: "Signed-URL', 1)
    kb = make_kb(tmp_path, reviews={"INC-2025-001": text})
    [finding] = run_validate(kb).findings
    assert (finding.line, finding.col) == (text.splitlines().index(next(
        line for line in text.splitlines() if line.startswith("title:"))) + 1, 8)
    assert "never closed" in finding.message


def test_a_reference_to_a_record_that_failed_to_parse_is_not_unknown(tmp_path) -> None:
    broken = "id: INC-2025-002\ntitle: [unclosed\n"
    citing = valid_review(related=["INC-2025-002"])
    kb = make_kb(tmp_path, reviews={"INC-2025-001": citing, "INC-2025-002": broken})
    outcome = run_validate(kb)
    assert outcome.exit_code == 1
    assert [f.path for f in outcome.findings] == ["kb/reviews/INC-2025-002.yaml"]
    # A reference to an id no file has is still an error.
    kb2 = make_kb(tmp_path, reviews={"INC-2025-001": citing}, name="kb2")
    assert run_validate(kb2).rules == ["unknown-related"]


def test_a_fresh_record_gives_one_finding_per_empty_field(tmp_path) -> None:
    kb = make_kb(tmp_path)
    made = run_kb(["new", "--kb", "kb", "--title", "Test", "--as-of", AS_OF], cwd=tmp_path)
    assert made.exit_code == 0, made.stderr
    findings = [f for f in run_validate(kb).findings if f.path.endswith("INC-2025-002.yaml")]
    places = [(f.line, f.col) for f in findings]
    assert len(places) == len(set(places)), "\n".join(f"{f.line}:{f.col} {f.message}" for f in findings)
    facilitator = next(f for f in findings if f.message.startswith("review.facilitator"))
    assert "must not be empty" in facilitator.message
    assert "long text" not in facilitator.message and "one line" in facilitator.message
