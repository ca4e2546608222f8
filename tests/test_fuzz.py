"""Property tests: whatever a review file holds, `kb validate` reports findings and never crashes.

Three sources of input: a valid review with random mutations (values replaced by random
structures, keys dropped or added), random YAML-ish text, and random bytes. For each: an
exit code of 0 or 1, no traceback, and every line of stdout in the finding format.
The number of examples is bounded so the module runs in seconds.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REVIEW_ID, Outcome, make_kb, run_validate, to_yaml, valid_review
from generator import schema
from generator.load import parse_text

# No example database: the tests leave nothing behind in the working tree.
FUZZ = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def kb_dir() -> Iterator[Path]:
    """One KB for the module; each example rewrites its review file."""
    with tempfile.TemporaryDirectory() as folder:
        yield make_kb(Path(folder))


def validate_review(kb: Path, content: bytes) -> Outcome:
    (kb / "reviews" / f"{REVIEW_ID}.yaml").write_bytes(content)
    outcome = run_validate(kb)
    outcome.assert_no_crash()
    assert outcome.exit_code in (0, 1)
    outcome.findings  # every line parses as a finding, or the test fails here
    return outcome


# -- mutations of a valid review ----------------------------------------------------------------

def _paths(value: Any, prefix: tuple = ()) -> Iterator[tuple]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, prefix + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, prefix + (index,))


PATHS = list(_paths(valid_review()))[1:]
KEYS = sorted({p[-1] for p in PATHS if isinstance(p[-1], str)})

# Whitespace the regular-expression engines of Python and Rust may read differently.
odd_spaces = st.lists(st.sampled_from(["\x1c", "\x1f", "\x85", "\u2028", "\u3000", "\xa0", " ", "\t", "\n", "\r", "x"]),
                      min_size=1, max_size=4).map("".join)
scalars = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30) | odd_spaces
           | st.dates().map(str) | st.datetimes().map(lambda d: d.isoformat())
           | st.datetimes().map(lambda d: d.isoformat() + "Z") | st.sampled_from(KEYS))
values = st.recursive(scalars, lambda children: st.lists(children, max_size=4)
                      | st.dictionaries(st.text(min_size=1, max_size=12) | st.sampled_from(KEYS), children, max_size=4),
                      max_leaves=12)
mutation = st.tuples(st.sampled_from(["replace", "delete", "add-key", "repeat"]), st.sampled_from(PATHS), values)


def _mutate(data: dict, kind: str, path: tuple, value: Any) -> None:
    parent = data
    for part in path[:-1]:
        if not isinstance(parent, (dict, list)):
            return
        try:
            parent = parent[part]
        except (KeyError, IndexError, TypeError):
            return
    last = path[-1]
    if (isinstance(parent, dict) and last in parent) or (isinstance(parent, list) and isinstance(last, int)
                                                         and last < len(parent)):
        if kind == "replace":
            parent[last] = value
        elif kind == "delete":
            del parent[last]
        elif kind == "add-key" and isinstance(parent, dict):
            parent[str(value)[:20] or "x"] = value
        elif kind == "repeat" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))


@FUZZ
@given(mutations=st.lists(mutation, min_size=1, max_size=4))
def test_mutated_reviews_never_crash(kb_dir, mutations):
    data = valid_review()
    for kind, path, value in mutations:
        _mutate(data, kind, path, value)
    validate_review(kb_dir, to_yaml(data).encode("utf-8", "surrogatepass"))


@settings(max_examples=500, deadline=None, database=None)
@given(mutations=st.lists(mutation, min_size=1, max_size=4))
def test_the_fast_schema_check_never_hides_a_finding(mutations):
    # schema.check trusts a "valid" from the fast engine: jsonschema must agree every time.
    data = valid_review()
    for kind, path, value in mutations:
        _mutate(data, kind, path, value)
    if schema.fast_validator("review").is_valid(data):
        assert list(schema.validator("review").iter_errors(data)) == []


@FUZZ
@given(status=st.sampled_from(["draft", "in-review", "approved", "closed"]),
       severity=st.sampled_from(["P1", "P2", "P3"]),
       stamps=st.lists(st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()), min_size=3, max_size=3),
       due=st.dates().map(str), action_status=st.sampled_from(["open", "in-progress", "done", "cancelled"]))
def test_valid_shapes_with_random_values_never_crash(kb_dir, status, severity, stamps, due, action_status):
    data = valid_review(status=status, severity=severity)
    data["incident"].update(detected=stamps[0], resolved=stamps[1])
    data["review"]["held"] = stamps[2]
    data["actions"][0].update(due=due, status=action_status)
    validate_review(kb_dir, to_yaml(data).encode("utf-8"))


# -- random text and bytes -------------------------------------------------------------------------

yaml_alphabet = st.sampled_from(list("ab:-[]{},&*!|>'\"#%@`?~ \n\t\\") + ["id", "title", "\u00e9", "\ufeff", "---", "..."])
yaml_text = st.lists(yaml_alphabet, max_size=80).map("".join)


@FUZZ
@given(text=yaml_text)
def test_random_yaml_text_never_crashes(kb_dir, text):
    validate_review(kb_dir, text.encode("utf-8"))


@FUZZ
@given(text=yaml_text)
def test_random_text_after_a_valid_review_never_crashes(kb_dir, text):
    validate_review(kb_dir, (to_yaml(valid_review()) + text).encode("utf-8"))


@FUZZ
@given(raw=st.binary(max_size=200))
def test_random_bytes_never_crash(kb_dir, raw):
    validate_review(kb_dir, raw)


@settings(max_examples=500, deadline=None, database=None)
@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_the_loader_returns_a_record_or_says_why(raw):
    record, found = parse_text(Path("x.yaml"), raw)
    assert record is not None or found
    if record is not None:
        assert isinstance(record.data, dict)
        for diagnostic in found:
            record.at_value(())  # positions can always be computed for a record that parsed
            assert diagnostic.line >= 1 and diagnostic.col >= 1


@settings(max_examples=200, deadline=None, database=None)
@given(data=values)
def test_any_yaml_dump_of_any_structure_loads_or_says_why(data):
    text = yaml.safe_dump({"root": data}, allow_unicode=True)
    record, found = parse_text(Path("x.yaml"), text.encode("utf-8", "surrogatepass"))
    assert record is not None or found
