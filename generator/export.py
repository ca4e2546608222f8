"""`kb export`: the published KB as one JSON document or as CSV tables, for other tools.

The JSON document (format "incident-kb-export", version 1) holds three lists, the same
as the CSV files reviews.csv, lessons.csv and actions.csv:
- reviews: id, title, severity, status, classification, detected, resolved, held,
  review_deadline_met, categories, controls, related, lesson_count, action_count,
  open_actions, approved (date or null), url
- lessons: review, lesson, kind, text, tags, review_date, url
- actions: review, action, title, owner, due, status, completed, overdue, lessons,
  effectiveness_validated (true/false/null), url
Dates are YYYY-MM-DD, timestamps ISO 8601 in UTC; lists are joined with ';' in CSV.
Only what the audience may see is exported (generator.audience).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from generator.index import KnowledgeBase

FORMAT = "incident-kb-export"
VERSION = 1


def _utc(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def tables(kb: KnowledgeBase, as_of: dt.date) -> dict[str, list[dict[str, Any]]]:
    """The three tables of the export, rows sorted by review id."""
    reviews, lessons, actions = [], [], []
    for r in kb.reviews:
        url = f"incidents/{r.id}/"
        reviews.append({
            "id": r.id, "title": r.title, "severity": r.severity, "status": r.status, "classification": r.classification,
            "detected": _utc(r.detected), "resolved": _utc(r.resolved), "held": _utc(r.held),
            "review_deadline_met": r.deadline_met, "categories": list(r.root_cause.categories),
            "controls": list(r.controls), "related": list(r.related), "lesson_count": len(r.lessons),
            "action_count": len(r.actions), "open_actions": r.open_action_count,
            "approved": r.approval.date.isoformat() if r.approval else None, "url": url})
        for lesson in r.lessons:
            lessons.append({"review": r.id, "lesson": lesson.id, "kind": lesson.kind, "text": lesson.text,
                            "tags": list(lesson.tags), "review_date": r.review_date.isoformat(),
                            "url": f"{url}#{lesson.id.lower()}"})
        for a in r.actions:
            actions.append({"review": r.id, "action": a.id, "title": a.title, "owner": a.owner, "due": a.due.isoformat(),
                            "status": a.status, "completed": a.completed.isoformat() if a.completed else None,
                            "overdue": a.overdue(as_of), "lessons": list(a.lessons),
                            "effectiveness_validated": a.effectiveness.validated if a.effectiveness else None,
                            "url": f"{url}#{a.id.lower()}"})
    return {"reviews": reviews, "lessons": lessons, "actions": actions}


def as_json(kb: KnowledgeBase, *, audience: str, as_of: dt.date) -> str:
    document = {"format": FORMAT, "version": VERSION, "audience": audience, "as_of": as_of.isoformat(),
                "restricted": list(kb.restricted), **tables(kb, as_of)}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if value is None:
        return ""
    return value


def write_csv(kb: KnowledgeBase, folder: Path, *, as_of: dt.date) -> list[Path]:
    """reviews.csv, lessons.csv and actions.csv in folder, each written atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rows in tables(kb, as_of).items():
        target = folder / f"{name}.csv"
        handle = tempfile.NamedTemporaryFile("w", newline="", encoding="utf-8", dir=folder, prefix=f".{name}.", delete=False)
        with handle:
            fields = list(rows[0]) if rows else ["id"]
            writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
            writer.writeheader()
            for row in rows:
                writer.writerow({k: _cell(v) for k, v in row.items()})
        os.replace(handle.name, target)
        written.append(target)
    return written


def write_text(text: str, target: Path) -> None:
    """Write a file atomically (a temporary file renamed into place)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=target.parent, prefix=f".{target.name}.", delete=False)
    with handle:
        handle.write(text)
    os.replace(handle.name, target)
