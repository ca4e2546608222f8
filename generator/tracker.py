"""The action tracker on the command line: filter actions, and print them as text, JSON or CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from typing import Callable

from generator.export import csv_cell
from generator.index import KnowledgeBase
from generator.show import printable
from generator.stats import ActionRow, action_rows
from generator.urls import review_url

COLUMNS = ("review", "classification", "action", "title", "owner", "due", "status", "overdue", "days_overdue",
           "stale", "last_update", "completed", "url")



@dataclass(frozen=True)
class ActionQuery:
    """What `kb actions` filters on; every filter given must hold."""

    statuses: tuple[str, ...] = ()
    owner: str | None = None
    overdue_only: bool = False
    due_within: int | None = None
    stale_only: bool = False


def select(kb: KnowledgeBase, query: ActionQuery, as_of: dt.date) -> list[ActionRow]:
    """The actions matching the query, overdue first (as on the site's actions page).

    `due_within` keeps the open actions due on or before as-of + that many days, overdue
    ones included: they are the most pressing of all.
    """
    rows = action_rows(kb, as_of)
    if query.statuses:
        rows = [r for r in rows if r.action.status in query.statuses]
    if query.owner:
        needle = query.owner.casefold()
        rows = [r for r in rows if needle in r.action.owner.casefold()]
    if query.overdue_only:
        rows = [r for r in rows if r.overdue]
    if query.stale_only:
        rows = [r for r in rows if r.stale]
    if query.due_within is not None:
        horizon = as_of + dt.timedelta(days=query.due_within)
        rows = [r for r in rows if r.action.is_open and r.action.due <= horizon]
    return rows


def unknown_owner(kb: KnowledgeBase, owner: str) -> str | None:
    """Why --owner matches no action of the KB, with the closest owners; None when it matches one."""
    from generator.rules import suggest

    owners = {a.owner for r in kb.reviews for a in r.actions}
    needle = owner.casefold()
    if not owners or any(needle in name.casefold() for name in owners):
        return None
    return f"no action owner contains {owner!r}; {suggest(owner, owners)}"


def _record(row: ActionRow) -> dict:
    a = row.action
    return {"review": row.review.id, "classification": row.review.classification, "action": a.id, "title": a.title,
            "owner": a.owner, "due": a.due.isoformat(), "status": a.status, "overdue": row.overdue,
            "days_overdue": row.days_overdue, "stale": row.stale,
            "last_update": row.last_update.isoformat() if row.last_update else None,
            "completed": a.completed.isoformat() if a.completed else None,
            "url": review_url(row.review.id, a.id)}


def as_json(rows: list[ActionRow]) -> str:
    """A JSON list of {review, classification, action, title, owner, due, status, overdue, days_overdue, stale,
    last_update, completed, url}."""
    return json.dumps([_record(r) for r in rows], indent=2, ensure_ascii=False) + "\n"


def as_csv(rows: list[ActionRow]) -> str:
    """The same columns as as_json, one action a row (cells as in `kb export`: null is empty)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: csv_cell(v) for k, v in _record(row).items()})
    return out.getvalue()


def as_text(rows: list[ActionRow], *, style: Callable[..., str] = lambda text, **_: text) -> str:
    """An aligned table for the terminal, the title last; `style` is click.style when colour is wanted.

    Record text is made printable before it is styled, so only the table's own colours reach the terminal.
    """
    if not rows:
        return "no matching action\n"
    header = ("ACTION", "TLP", "STATUS", "DUE", "OWNER", "TITLE")
    table = [(f"{r.review.id} {r.action.id}", r.review.classification.removeprefix("TLP:"),
              r.action.status + (f" · overdue {r.days_overdue} d" if r.overdue else "") + (" · stale" if r.stale else ""),
              r.action.due.isoformat(), printable(r.action.owner), printable(" ".join(r.action.title.split())))
             for r in rows]
    widths = [max(len(line[i]) for line in [header, *table]) for i in range(len(header) - 1)]

    def line(cells: tuple[str, ...], overdue: bool = False) -> str:
        padded = [cell.ljust(width) for cell, width in zip(cells, widths)]
        if overdue:  # padded first: the colour codes must not count towards the width
            padded[2] = style(padded[2], fg="red", bold=True)
        return "  ".join([*padded, cells[-1]]).rstrip()

    return "\n".join([line(header)] + [line(cells, row.overdue) for cells, row in zip(table, rows)]) + "\n"


def summary(rows: list[ActionRow]) -> str:
    """'12 actions, 3 overdue, 2 stale' (for standard error, beside the table)."""
    overdue = sum(r.overdue for r in rows)
    stale = sum(r.stale for r in rows)
    return f"{len(rows)} {'action' if len(rows) == 1 else 'actions'}, {overdue} overdue, {stale} stale"
