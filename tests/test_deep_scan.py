"""Skipping the slow depth scan for most documents changes no finding.

load.parse_text scans a document event by event for nesting deeper than MAX_DEPTH only
when it could nest past what composing can take, and otherwise lets the builder stop at
the same collection. These tests compare it with scanning every document first (the
behaviour before), on documents around the limit in every shape that nests.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from generator import load


def _shapes(n: int) -> list[str]:
    return [
        "a: " + "[" * n + "]" * n + "\n",
        "a: " + "[" * n + "x" + "]" * n + "\n",
        "a: " + "{k: " * n + "1" + "}" * n + "\n",
        "a:\n  " + "- " * n + "x\n",
        "a:\n" + "".join(" " * level + "b:\n" for level in range(1, n)) + " " * n + "c: 1\n",
        "a:\n" + "".join(" " * level + "- b:\n" for level in range(0, 2 * n, 2)) + " " * (2 * n) + "c: 1\n",
        "- " * n + "x\n",
        "? " + "[" * n + "]" * n + "\n: x\n",
        "a: 1\na: " + "[" * n + "]" * n + "\n",
        "a: !!set " + "[" * n + "]" * n + "\n",
        "a: " + "[" * n + "]" * n + "\nb: [unclosed\n",
        "a: " + "[" * n + "]" * n + "\n---\nb: 1\n",
        "base: &b " + "[" * (n // 2) + "]" * (n // 2) + "\nc: " + "[" * (n // 2) + "*b" + "]" * (n // 2) + "\n",
    ]


CASES = [text for n in (98, 99, 100, 101, 102, 150) for text in _shapes(n)]


def _found(text: str) -> list[tuple]:
    record, found = load.parse_text(Path("x.yaml"), text.encode())
    return [(d.line, d.col, d.rule, d.message) for d in found] + [("record", record is not None)]


@pytest.mark.parametrize("text", CASES, ids=range(len(CASES)))
def test_findings_are_those_of_scanning_every_document(text, monkeypatch):
    fast = _found(text)
    monkeypatch.setattr(load, "_SCAN_ABOVE", 0)  # scan every document first, as before
    assert fast == _found(text)


def test_most_records_are_not_scanned(monkeypatch):
    scanned = []
    monkeypatch.setattr(load, "_too_deep", lambda text: scanned.append(text))
    line = "event: " + "a long timeline entry, " * 10
    record, found = load.parse_text(Path("x.yaml"), f"id: X\ntimeline:\n  - {line}\n".encode())
    assert found == [] and record is not None
    assert scanned == []
