"""The action tracker on the command line: filter actions, and print them as text, JSON or CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass

from generator.index import KnowledgeBase
from generator.stats import ActionRow, action_rows

COLUMNS = ("review", "action", "title", "owner", "due", "status", "overdue", "days_overdue", "completed", "url")


@dataclass(frozen=True)
class ActionQuery:
    statuses: tuple[str, ...] = ()
    owner: str | None = None
    overdue_only: bool = False
    due_within: int | None = None


def select(kb: KnowledgeBase, query: ActionQuery, as_of: dt.date) -> list[ActionRow]:
    """The actions matching the query, overdue first (as on the dashboard)."""
    rows = action_rows(kb, as_of)
    if query.statuses:
        rows = [r for r in rows if r.action.status in query.statuses]
    if query.owner:
        needle = query.owner.casefold()
        rows = [r for r in rows if needle in r.action.owner.casefold()]
    if query.overdue_only:
        rows = [r for r in rows if r.overdue]
    if query.due_within is not None:
        horizon = as_of + dt.timedelta(days=query.due_within)
        rows = [r for r in rows if r.action.is_open and r.action.due <= horizon]
    return rows


def _record(row: ActionRow) -> dict:
    a = row.action
    return {"review": row.review.id, "action": a.id, "title": a.title, "owner": a.owner, "due": a.due.isoformat(),
            "status": a.status, "overdue": row.overdue, "days_overdue": row.days_overdue,
            "completed": a.completed.isoformat() if a.completed else None,
            "url": f"incidents/{row.review.id}/#{a.id.lower()}"}


def as_json(rows: list[ActionRow]) -> str:
    return json.dumps([_record(r) for r in rows], indent=2, ensure_ascii=False) + "\n"


def as_csv(rows: list[ActionRow]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in _record(row).items()})
    return out.getvalue()


def as_text(rows: list[ActionRow], *, style=lambda text, **_: text) -> str:
    """A table for the terminal; `style` is click.style when colour is wanted."""
    if not rows:
        return "no matching action\n"
    lines = []
    for row in rows:
        a = row.action
        flag = style(f"overdue {row.days_overdue} d", fg="red", bold=True) if row.overdue else ""
        lines.append(f"{row.review.id} {a.id:<4} {a.status:<11} due {a.due.isoformat()}  {a.owner}  {flag}".rstrip())
        lines.append(f"    {a.title}")
    return "\n".join(lines) + "\n"
