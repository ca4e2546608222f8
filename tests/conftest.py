"""Shared test helpers: build a knowledge base in a temporary folder and run `kb validate` on it.

Use them from any test module, as fixtures or as plain functions:

    from conftest import make_kb, valid_review, run_validate, locate

    def test_something(tmp_path):
        review = valid_review(severity="P3")              # a dict that validates cleanly
        kb = make_kb(tmp_path, reviews={"INC-2025-001": review})
        outcome = run_validate(kb)                        # `kb validate --kb kb --as-of AS_OF`
        assert outcome.exit_code == 1
        assert outcome.findings[0].rule == "p3-review-reasons"

`make_kb` writes taxonomy.yaml, controls.yaml and reviews/<name>: a dict is written as YAML
(dates and timestamps unquoted, as reviewers write them), a str as UTF-8 text, bytes as they
are. `locate(text, needle)` gives the 1-based (line, column) of a needle and
`value_at(text, "key: value")` that of the value, so tests can say where a finding must point
without counting lines by hand.
"""

from __future__ import annotations

import contextlib
import copy
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

import pytest
import yaml
from click.testing import CliRunner

from generator.cli import main

AS_OF = "2025-04-01"
"""The day every test judges "overdue" on, unless it says otherwise."""

REVIEW_ID = "INC-2025-001"

TAXONOMY: dict = {
    "categories": [
        {"id": "configuration-change", "title": "Unsafe configuration change",
         "description": "A configuration change weakened a control."},
        {"id": "credential-compromise", "title": "Compromised or reused credentials"},
        {"id": "insufficient-monitoring", "title": "Insufficient monitoring and alerting"},
    ]
}

CONTROLS: dict = {
    "frameworks": [
        {"id": "ISO27001-2022", "title": "ISO/IEC 27001:2022 Annex A", "controls": [
            {"id": "A.5.26", "title": "Response to information security incidents"},
            {"id": "A.5.27", "title": "Learning from information security incidents"},
        ]},
        {"id": "ISO27001-2013", "title": "ISO/IEC 27001:2013 Annex A", "controls": [
            {"id": "A.16.1.6", "title": "Learning from information security incidents",
             "replaced_by": "ISO27001-2022/A.5.27"},
        ]},
        {"id": "SOC2", "title": "AICPA SOC 2 Trust Services Criteria", "controls": [
            {"id": "CC7.5", "title": "Recovery from identified security incidents"},
        ]},
    ]
}

_VALID_REVIEW: dict = {
    "id": REVIEW_ID,
    "title": "Signed-URL bypass exposed premium live streams",
    "severity": "P2",
    "review_reasons": [],
    "status": "approved",
    "classification": "TLP:AMBER",
    "incident": {
        "detected": "2025-03-02T14:05:00Z",
        "resolved": "2025-03-03T09:40:00Z",
        "services": ["cdn-edge", "playback-api"],
        "attack_vector": "replayed signed URLs",
    },
    "review": {
        "held": "2025-03-05T15:00:00Z",
        "facilitator": "Dana Ortiz",
        "participants": [
            {"name": "Dana Ortiz", "role": "Incident Response Manager"},
            {"name": "Lee Park", "role": "Root Cause Analyst"},
        ],
    },
    "summary": "A CDN rule change dropped token validation.\n\nPremium streams played without entitlement.\n",
    "impact": {
        "description": "Premium live streams were reachable without a subscription.",
        "users_affected": 1200,
        "data_exposed": False,
        "regulatory": False,
    },
    "timeline": [
        {"at": "2025-03-02T14:05:00Z", "event": "CDN alert on token validation errors"},
        {"at": "2025-03-02T15:30:00Z", "event": "Decision: roll back the CDN rule", "decision": True},
        {"at": "2025-03-03T09:40:00Z", "event": "Incident closed"},
    ],
    "went_well": ["The rollback took ten minutes."],
    "to_improve": ["The configuration review did not look at token validation."],
    "root_cause": {
        "method": "five-whys",
        "categories": ["configuration-change"],
        "summary": "A CDN rule change disabled token validation on one path.",
        "five_whys": [
            "Why were streams served? The edge skipped token validation.",
            "Why was it skipped? A rule change matched the premium path.",
            "Why was the change not caught? The review had no security check.",
        ],
    },
    "lessons": [
        {"id": "L1", "text": "CDN rule changes need a security check.", "kind": "process", "tags": ["cdn"]},
    ],
    "actions": [
        {"id": "A1", "title": "Policy check for CDN rules in CI", "owner": "Platform Security",
         "due": "2025-04-15", "success_criteria": "A rule without token validation fails CI.",
         "status": "open", "lessons": ["L1"],
         "progress": [{"date": "2025-03-20", "note": "Prototype runs in staging."}]},
        {"id": "A2", "title": "Alert on token validation errors", "owner": "SRE",
         "due": "2025-03-20", "success_criteria": "The alert fires in a drill.",
         "status": "done", "completed": "2025-03-18",
         "effectiveness": {"validated": True, "date": "2025-03-25", "note": "Drill on 25 March."}},
    ],
    "security_improvements": [
        {"description": "Token validation re-enabled on all paths.", "type": "emergency-patch", "status": "done"},
    ],
    "controls": ["ISO27001-2022/A.5.27", "SOC2/CC7.5"],
    "approval": {"approver": "Sam Reyes", "role": "CISO", "date": "2025-03-10"},
    "related": [],
}

DELETE = object()
"""Pass as a field value to valid_review() to leave the field out."""


def valid_review(review_id: str = REVIEW_ID, **fields: Any) -> dict:
    """A fresh copy of a review that validates with no finding on AS_OF.

    Top-level fields are replaced by keyword (DELETE removes one); change nested
    fields on the returned dict.
    """
    data = copy.deepcopy(_VALID_REVIEW)
    data["id"] = review_id
    for key, value in fields.items():
        if value is DELETE:
            data.pop(key, None)
        else:
            data[key] = value
    return data


class _Dumper(yaml.SafeDumper):
    """Writes YAML the way reviewers do: dates and timestamps plain, long text as blocks."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if dumper.resolve(yaml.ScalarNode, value, (True, False)) == "tag:yaml.org,2002:timestamp":
        # Tagged as a timestamp, YAML writes it unquoted; the loader keeps it as the text.
        return dumper.represent_scalar("tag:yaml.org,2002:timestamp", value)
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_str(value)


_Dumper.add_representer(str, _represent_str)


def to_yaml(data: Any) -> str:
    """YAML text of data, keys in insertion order, dates and timestamps unquoted."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=10**6)


def edit_review(kb: Path, review_id: str, change: Any) -> None:
    """Rewrite reviews/<review_id>.yaml after `change` (a function) altered its data in place."""
    path = kb / "reviews" / f"{review_id}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(to_yaml(data), encoding="utf-8")


Content = Any  # dict (written as YAML), str (UTF-8 text) or bytes (written as they are)


def _write(path: Path, content: Content) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_bytes(content.encode("utf-8"))
    else:
        path.write_bytes(to_yaml(content).encode("utf-8"))


def make_kb(tmp_path: Path, reviews: Mapping[str, Content] | None = None, *, taxonomy: Content | None = TAXONOMY,
            controls: Content | None = CONTROLS, files: Mapping[str, Content] | None = None,
            name: str = "kb") -> Path:
    """Write a knowledge base folder tmp_path/name and return its path.

    reviews maps a file name in reviews/ (".yaml" is added when it has no suffix) to its
    content; by default the KB holds the one valid review. taxonomy and controls default to
    small valid catalogs; None leaves the file out. files adds any other file, by path
    relative to the KB folder.
    """
    root = tmp_path / name
    (root / "reviews").mkdir(parents=True, exist_ok=True)
    if reviews is None:
        reviews = {REVIEW_ID: valid_review()}
    for filename, content in reviews.items():
        if not Path(filename).suffix:
            filename += ".yaml"
        _write(root / "reviews" / filename, content)
    for filename, content in (("taxonomy.yaml", taxonomy), ("controls.yaml", controls)):
        if content is not None:
            _write(root / filename, content)
    for relative, content in (files or {}).items():
        _write(root / relative, content)
    return root


def locate(text: str, needle: str, occurrence: int = 1) -> tuple[int, int]:
    """1-based (line, column) where needle starts in text (its n-th occurrence)."""
    index = -1
    for _ in range(occurrence):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def value_at(text: str, written: str, occurrence: int = 1) -> tuple[int, int]:
    """Where the value of 'key: value' (or of a list item '- value') written in text starts."""
    line, col = locate(text, written, occurrence)
    separator = ": " if ": " in written else "- "
    return line, col + written.index(separator) + len(separator)


FINDING = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<severity>error|warning): (?P<message>.*) "
                     r"\[(?P<rule>[a-z0-9]+(?:-[a-z0-9]+)*)\]$")
"""One line of `kb validate` text output, as the record format prescribes."""

SUMMARY = re.compile(r"^\d+ errors?, \d+ warnings? in \d+ files?$")


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    col: int
    severity: str
    message: str
    rule: str


def parse_findings(stdout: str) -> list[Finding]:
    """The findings of text output; fails the test on a line that is not one."""
    found = []
    for text in stdout.splitlines():
        match = FINDING.match(text)
        assert match, f"not a finding line: {text!r}"
        found.append(Finding(match["path"], int(match["line"]), int(match["col"]), match["severity"],
                             match["message"], match["rule"]))
    return found


@dataclass(frozen=True)
class Outcome:
    """What one `kb` run printed and how it exited."""

    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None

    @property
    def findings(self) -> list[Finding]:
        return parse_findings(self.stdout)

    @property
    def rules(self) -> list[str]:
        return [f.rule for f in self.findings]

    def at(self, path_end: str) -> list[tuple[str, int, int]]:
        """(rule, line, col) of the findings in files whose path ends with path_end."""
        return [(f.rule, f.line, f.col) for f in self.findings if f.path.endswith(path_end)]

    def assert_no_crash(self) -> None:
        """No traceback, no internal error, an exit code of the contract."""
        assert self.exit_code in (0, 1, 2), (self.exit_code, self.exception)
        assert self.exception is None or isinstance(self.exception, SystemExit), repr(self.exception)
        for stream in (self.stdout, self.stderr):
            # Whole phrases: a finding may quote any key a record holds, even 'Traceback'.
            assert "Traceback (most recent call last)" not in stream
            assert "Error: internal error" not in stream


@contextlib.contextmanager
def chdir(path: Path) -> Iterator[None]:
    """Run a block in another current directory (contextlib.chdir needs Python 3.11)."""
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def run_kb(args: list[str], *, cwd: Path) -> Outcome:
    """Run the `kb` command in-process in cwd."""
    with chdir(cwd):
        result = CliRunner().invoke(main, args, catch_exceptions=True)
    return Outcome(result.exit_code, result.stdout, result.stderr, result.exception)


def run_validate(kb_dir: Path, *args: str, as_of: str | None = AS_OF, cwd: Path | None = None) -> Outcome:
    """`kb validate --kb DIR --as-of AS_OF ARGS`, run from cwd (default: the KB's parent).

    From the KB's parent the paths in findings read kb/reviews/<ID>.yaml.
    """
    cwd = cwd or kb_dir.parent
    options = ["validate", "--kb", os.path.relpath(kb_dir, cwd)]
    if as_of is not None:
        options += ["--as-of", as_of]
    return run_kb(options + list(args), cwd=cwd)


@pytest.fixture
def kb_factory(tmp_path: Path):
    """make_kb bound to this test's tmp_path: kb_factory(reviews={...})."""

    def factory(reviews: Mapping[str, Content] | None = None, **options: Any) -> Path:
        return make_kb(tmp_path, reviews, **options)

    return factory
