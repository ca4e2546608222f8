"""Values YAML 1.1 reads surprisingly are errors that say how to write them; never published silently."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import REVIEW_ID, make_kb, run_validate, to_yaml, valid_review


def record_with(tmp_path: Path, old: str, new: str) -> Path:
    text = to_yaml(valid_review())
    assert old in text
    return make_kb(tmp_path, {REVIEW_ID: text.replace(old, new, 1)})


@pytest.mark.parametrize("value, says", [
    ("1:30", "1:30 is read by YAML 1.1 as the sexagesimal (base 60) number 90; write 90, or quote it as '1:30' if you meant text"),
    ("0755", "0755 is read by YAML 1.1 as the octal number 493; write 493, or 755 if the leading zero is not meant as octal"),
    ("0o17", "0o17 is YAML 1.2 notation, which a YAML 1.1 reader takes as text: write 15"),
    ("1_000", "1_000 is read by YAML 1.1 as the number 1000, but as text by YAML 1.2 tools and editors; write 1000"),
])
def test_surprising_numbers_are_errors_with_the_fix(tmp_path: Path, value: str, says: str) -> None:
    kb = record_with(tmp_path, "users_affected: 1200", f"users_affected: {value}")
    outcome = run_validate(kb)
    assert outcome.exit_code == 1
    assert says in outcome.stdout and "impact.users_affected" in outcome.stdout


@pytest.mark.parametrize("value, ok", [("yes", False), ("no", False), ("on", False), ("off", False), ("y", False),
                                       ("n", False), ("true", True), ("false", True), ("True", True), ("'yes'", False)])
def test_booleans_are_true_or_false(tmp_path: Path, value: str, ok: bool) -> None:
    kb = record_with(tmp_path, "data_exposed: false", f"data_exposed: {value}")
    outcome = run_validate(kb)
    assert (outcome.exit_code == 0) is ok, outcome.stdout
    if value in ("yes", "on"):
        assert f"impact.data_exposed: {value} is read by YAML 1.1 as the boolean true" in outcome.stdout
        assert "write true [schema]" in outcome.stdout


def test_a_boolean_looking_text_field_says_to_quote_it(tmp_path: Path) -> None:
    kb = record_with(tmp_path, "facilitator: Dana Ortiz", "facilitator: no")
    outcome = run_validate(kb)
    assert "review.facilitator: expected text, found the boolean false; no is read by YAML 1.1 as the boolean false" in outcome.stdout
    assert "quote it as 'no'" in outcome.stdout


def test_quoted_lookalikes_are_text(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, {REVIEW_ID: valid_review(title="1:30")})
    assert run_validate(kb).exit_code == 0


@pytest.mark.parametrize("name, content, hint", [
    (".INC-2025-001.yaml.swp", "b0VIM", "an editor's swap or backup file of INC-2025-001.yaml"),
    (".draft.yaml", "notes: x\n", "rename it to its review id, e.g. INC-2025-001.yaml"),
    (".draft.yaml", to_yaml(valid_review("INC-2025-042")), "rename it to INC-2025-042.yaml (the id it declares)"),
    (".INC-2025-007.yaml", "x: 1\n", "rename it to INC-2025-007.yaml"),
])
def test_a_stray_dotfile_gets_a_hint(tmp_path: Path, name: str, content: str, hint: str) -> None:
    kb = make_kb(tmp_path, files={f"reviews/{name}": content})
    outcome = run_validate(kb)
    assert outcome.exit_code == 0
    assert f"kb/reviews/{name}:1:1: warning: not a record: files whose name starts with '.' are not read" in outcome.stdout
    assert hint in outcome.stdout and "[stray-file]" in outcome.stdout
