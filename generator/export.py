"""`kb export`: the published KB as one JSON document or as CSV tables, for other tools.

The JSON document is described by EXPORT_SCHEMA (a JSON Schema, printed by
`kb export --schema`): format "incident-kb-export", version 1, the audience and
as-of day it was made for, the restricted ids (internal audience only) and four tables,
`reviews`, `lessons`, `actions` and (record format v1.1) `recurrences`, the pairs
{review, earlier, category} of reviews that recurred after a validated fix; the CSV files
reviews.csv, lessons.csv, actions.csv and recurrences.csv hold the same rows and columns. Dates are YYYY-MM-DD, timestamps ISO 8601 in
UTC; lists are joined with ';' in CSV, and null is an empty cell. Only what the audience
may see is exported (generator.audience).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import os
import re
import tempfile
from pathlib import Path
from typing import IO, Any, Callable, Iterator

from generator.index import KnowledgeBase
from generator.model import Review
from generator.procedure import ACTION_STATUSES, LESSON_KINDS

FORMAT = "incident-kb-export"
VERSION = 1

_DATE = {"type": "string", "format": "date"}
_DATE_OR_NULL = {"type": ["string", "null"], "format": "date"}
_TIMESTAMP = {"type": "string", "format": "date-time"}
_TEXT = {"type": "string"}
_TEXT_OR_NULL = {"type": ["string", "null"]}
_TEXTS = {"type": "array", "items": {"type": "string"}}
_COUNT = {"type": "integer", "minimum": 0}
_FLAG_OR_NULL = {"type": ["boolean", "null"]}

# Each table's columns, in order, with their JSON Schema: the CSV header is these names.
COLUMNS: dict[str, dict[str, dict]] = {
    "reviews": {
        "id": _TEXT, "title": _TEXT, "severity": {"enum": ["P1", "P2", "P3"]},
        "status": {"enum": ["draft", "in-review", "approved", "closed"]}, "classification": _TEXT,
        "review_reasons": _TEXTS, "detected": _TIMESTAMP, "resolved": _TIMESTAMP, "held": _TIMESTAMP,
        "review_date": _DATE, "review_deadline_met": {"type": "boolean"}, "services": _TEXTS,
        "attack_vector": _TEXT_OR_NULL, "facilitator": _TEXT, "summary": _TEXT, "impact": _TEXT,
        "users_affected": {"type": ["integer", "null"], "minimum": 0}, "data_exposed": _FLAG_OR_NULL,
        "regulatory": _FLAG_OR_NULL, "root_cause_method": {"enum": ["five-whys", "fishbone", "fault-tree"]},
        "root_cause_summary": _TEXT, "categories": _TEXTS, "controls": _TEXTS, "related": _TEXTS,
        "lesson_count": _COUNT, "action_count": _COUNT, "open_actions": _COUNT,
        "approver": _TEXT_OR_NULL, "approved": _DATE_OR_NULL, "url": _TEXT,
    },
    "lessons": {
        "review": _TEXT, "lesson": _TEXT, "kind": {"enum": list(LESSON_KINDS)}, "text": _TEXT,
        "tags": _TEXTS, "categories": _TEXTS, "review_date": _DATE, "url": _TEXT,
    },
    "actions": {
        "review": _TEXT, "action": _TEXT, "title": _TEXT, "owner": _TEXT, "due": _DATE,
        "status": {"enum": list(ACTION_STATUSES)}, "completed": _DATE_OR_NULL,
        "overdue": {"type": "boolean"}, "days_overdue": _COUNT, "lessons": _TEXTS, "success_criteria": _TEXT,
        "effectiveness_validated": _FLAG_OR_NULL, "url": _TEXT,
    },
    # Record format v1.1: review recurred in category after a validated fix of the earlier review.
    "recurrences": {"review": _TEXT, "earlier": _TEXT, "category": _TEXT},
}


def _table(columns: dict[str, dict]) -> dict:
    return {"type": "array", "items": {"type": "object", "required": list(columns), "additionalProperties": False,
                                       "properties": columns}}


EXPORT_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Export of a post-incident review knowledge base (kb export --format json)",
    "type": "object",
    "required": ["format", "version", "audience", "as_of", "restricted", *COLUMNS],
    "additionalProperties": False,
    "properties": {
        "format": {"const": FORMAT},
        "version": {"const": VERSION},
        "audience": {"enum": ["internal", "public"]},
        "as_of": _DATE,
        "restricted": {**_TEXTS, "description": "ids of TLP:RED reviews (internal audience only): nothing else of them"},
        **{name: _table(columns) for name, columns in COLUMNS.items()},
    },
}

Progress = Callable[[int], None]
"""Told how many more reviews were done (for a progress bar); the library itself prints nothing."""


def _utc(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _day(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def _review_row(r: Review) -> dict[str, Any]:
    return {
        "id": r.id, "title": r.title, "severity": r.severity, "status": r.status, "classification": r.classification,
        "review_reasons": list(r.review_reasons), "detected": _utc(r.detected), "resolved": _utc(r.resolved),
        "held": _utc(r.held), "review_date": r.review_date.isoformat(), "review_deadline_met": r.deadline_met,
        "services": list(r.services), "attack_vector": r.attack_vector, "facilitator": r.facilitator,
        "summary": r.summary, "impact": r.impact.description, "users_affected": r.impact.users_affected,
        "data_exposed": r.impact.data_exposed, "regulatory": r.impact.regulatory,
        "root_cause_method": r.root_cause.method, "root_cause_summary": r.root_cause.summary,
        "categories": list(r.root_cause.categories), "controls": list(r.controls), "related": list(r.related),
        "lesson_count": len(r.lessons), "action_count": len(r.actions), "open_actions": r.open_action_count,
        "approver": r.approval.approver if r.approval else None, "approved": _day(r.approval.date if r.approval else None),
        "url": r.url,
    }


def _rows(r: Review, as_of: dt.date) -> Iterator[tuple[str, dict[str, Any]]]:
    yield "reviews", _review_row(r)
    for lesson in r.lessons:
        yield "lessons", {"review": r.id, "lesson": lesson.id, "kind": lesson.kind, "text": lesson.text,
                          "tags": list(lesson.tags), "categories": list(r.root_cause.categories),
                          "review_date": r.review_date.isoformat(), "url": f"{r.url}#{lesson.id.lower()}"}
    for a in r.actions:
        late = a.overdue(as_of)
        yield "actions", {"review": r.id, "action": a.id, "title": a.title, "owner": a.owner, "due": a.due.isoformat(),
                          "status": a.status, "completed": _day(a.completed), "overdue": late,
                          "days_overdue": (as_of - a.due).days if late else 0, "lessons": list(a.lessons),
                          "success_criteria": a.success_criteria,
                          "effectiveness_validated": a.effectiveness.validated if a.effectiveness else None,
                          "url": f"{r.url}#{a.id.lower()}"}


def tables(kb: KnowledgeBase, as_of: dt.date, *, progress: Progress | None = None) -> dict[str, list[dict[str, Any]]]:
    """The tables of the export, rows in review id order (recurrences by review, earlier, category)."""
    result: dict[str, list[dict[str, Any]]] = {name: [] for name in COLUMNS}
    for review in kb.reviews:
        for name, row in _rows(review, as_of):
            result[name].append(row)
        if progress:
            progress(1)
    result["recurrences"] = [{"review": r.review, "earlier": r.earlier, "category": r.category} for r in kb.recurrences]
    return result


def document(kb: KnowledgeBase, *, audience: str, as_of: dt.date, progress: Progress | None = None) -> dict[str, Any]:
    """The export as one JSON-ready document (valid against EXPORT_SCHEMA)."""
    return {"format": FORMAT, "version": VERSION, "audience": audience, "as_of": as_of.isoformat(),
            "restricted": list(kb.restricted), **tables(kb, as_of, progress=progress)}


def as_json(kb: KnowledgeBase, *, audience: str, as_of: dt.date, progress: Progress | None = None) -> str:
    return json.dumps(document(kb, audience=audience, as_of=as_of, progress=progress), indent=2, ensure_ascii=False) + "\n"


# A spreadsheet runs a cell that starts with one of these as a formula: a title quoting an
# attacker's payload must not become a formula on the reader's machine (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """One CSV cell: lists joined with ';', null empty, booleans as in JSON, and text that a
    spreadsheet would run as a formula prefixed with ' (shown, not run)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        value = ";".join(str(v) for v in value)
    if value is None:
        return ""
    if isinstance(value, str) and "\n" in value:
        value = unwrap(value)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


# A line that starts a Markdown block of its own (list item, heading, quote, table row,
# code fence) keeps its line break; any other line continues the paragraph above it.
_BLOCK_START = re.compile(r"\s*(?:[-*+]\s|\d+[.)]\s|#|>|\||```|~~~)")


def unwrap(text: str) -> str:
    """Free text with the text's own line breaks only: the lines of a paragraph, wrapped to
    fit the YAML file, joined again; paragraphs, list items, hard breaks and code kept.

    In Markdown (what record text is) a single line break inside a paragraph is a space;
    a spreadsheet cell should not show the reviewer's editor width.
    """
    out: list[str] = []
    fenced = False
    open_paragraph = False  # whether the last line written may be continued
    for line in text.strip("\n").split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            out.append(line.rstrip())
            open_paragraph = False
            continue
        if fenced:
            out.append(line)
            continue
        if open_paragraph and line.strip() and not _BLOCK_START.match(line):
            out[-1] += " " + line.strip()
        else:
            out.append(line.rstrip() if line.strip() else "")
        hard_break = line.endswith(("  ", "\\"))
        open_paragraph = bool(line.strip()) and not hard_break and not line.lstrip().startswith(("#", "|"))
    return "\n".join(out)


def write_csv(kb: KnowledgeBase, folder: Path, *, as_of: dt.date, progress: Progress | None = None) -> list[Path]:
    """reviews.csv, lessons.csv, actions.csv and recurrences.csv in folder, each written atomically."""
    if folder.exists() and not folder.is_dir():
        raise FileExistsError(f"{folder} is a file; --output names the folder for the CSV files")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rows in tables(kb, as_of, progress=progress).items():
        with _replacing(folder / f"{name}.csv", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(COLUMNS[name]), lineterminator="\n")
            writer.writeheader()
            writer.writerows({k: csv_cell(v) for k, v in row.items()} for row in rows)
        written.append(folder / f"{name}.csv")
    return written


def write_text(text: str, target: Path) -> None:
    """Write a file atomically (a temporary file renamed into place)."""
    if target.is_dir():
        raise IsADirectoryError(f"{target} is a folder; --output names the JSON file to write")
    target.parent.mkdir(parents=True, exist_ok=True)
    with _replacing(target) as handle:
        handle.write(text)


def _umask() -> int:
    """The process's file-creation mask (reading it means setting it, so it is set back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def _replacing(target: Path, newline: str | None = None) -> Iterator[IO[str]]:
    """A temporary file beside target, renamed over it when the block succeeds, else deleted."""
    handle = tempfile.NamedTemporaryFile("w", encoding="utf-8", newline=newline, dir=target.parent,
                                         prefix=f".{target.name}.", delete=False)
    try:
        with handle:
            yield handle
        # A temporary file is private (0600); the export is a file like any other the user
        # writes: the usual mode, as the umask allows.
        os.chmod(handle.name, 0o666 & ~_umask())
        os.replace(handle.name, target)
    finally:
        Path(handle.name).unlink(missing_ok=True)
