"""`kb show ID`: one review, readable in a terminal; and text made safe for a terminal."""

from __future__ import annotations

import datetime as dt
import re
import textwrap
from typing import Callable

from generator.model import STALE_AFTER_DAYS, Action, FaultNode, Review
from generator.text import printable
from generator.urls import review_url

__all__ = ["printable", "render"]

Style = Callable[..., str]


def _plain(text: str, **_: object) -> str:
    return text


def _wrap(text: str, indent: str = "  ") -> list[str]:
    lines = []
    for paragraph in text.strip().split("\n\n"):
        lines += textwrap.wrap(" ".join(paragraph.split()), width=88, initial_indent=indent, subsequent_indent=indent)
        lines.append("")
    return lines[:-1]


def _tree(node: FaultNode, depth: int = 1) -> list[str]:
    gate = f" [{node.gate.upper()}]" if node.gate else ""
    lines = ["  " * depth + f"- {node.event}{gate}"]
    for child in node.children:
        lines += _tree(child, depth + 1)
    return lines


class _Heading(str):
    """A line of the output shown in bold."""


def action_marks(action: Action, review: Review, as_of: dt.date) -> str:
    """' · overdue N d', ' · stale' or both, as the site marks the action (empty for neither)."""
    marks = []
    if action.overdue(as_of):
        marks.append(f"overdue {(as_of - action.due).days} d")
    if action.stale(as_of, review.stale_fallback):
        marks.append(f"stale: no progress for over {STALE_AFTER_DAYS} days")
    return "".join(f" · {mark}" for mark in marks)


def render(review: Review, *, as_of: dt.date, style: Style = _plain) -> str:
    """The review as text, actions judged on as_of; `style` is click.style when colour is wanted."""
    h = _Heading
    out = [h(f"{review.id}: {review.title}"),
           f"{review.severity} · {review.status} · {review.classification} · categories: {', '.join(review.root_cause.categories)}",
           f"detected {review.detected.isoformat()} · resolved {review.resolved.isoformat()} · review held {review.held.isoformat()}"
           f" ({'in time' if review.deadline_met else 'late'})",
           f"page: {review_url(review.id)}", "", h("Summary"), *_wrap(review.summary), "", h("Impact"), *_wrap(review.impact.description),
           "", h("Timeline")]
    out += [f"  {e.at_text}  {' '.join(e.event.split())}{'  [decision]' if e.decision else ''}" for e in review.timeline]
    rc = review.root_cause
    out += ["", h(f"Root cause ({rc.method})"), *_wrap(rc.summary)]
    out += [f"  {n}. {' '.join(w.split())}" for n, w in enumerate(rc.five_whys, start=1)]
    for group, causes in rc.fishbone:
        out += [f"  {group}:"] + [f"    - {' '.join(c.split())}" for c in causes]
    if rc.fault_tree:
        out += _tree(rc.fault_tree)
    for heading, items in (("What went well", review.went_well), ("What to improve", review.to_improve)):
        if items:
            out += ["", h(heading)] + [f"  - {' '.join(item.split())}" for item in items]
    out += ["", h("Lessons")]
    out += [f"  {l.id} ({l.kind}) {' '.join(l.text.split())}" for l in review.lessons]
    out += ["", h("Actions")]
    for a in review.actions:
        out.append(f"  {a.id} [{a.status}{action_marks(a, review, as_of)}] {a.title} — {a.owner}, due {a.due.isoformat()}"
                   + (f", completed {a.completed.isoformat()}" if a.completed else ""))
    if review.controls:
        out += ["", h("Controls"), "  " + ", ".join(review.controls)]
    if review.related:
        out += ["", h("Related"), "  " + ", ".join(review.related)]
    if review.approval:
        out += ["", f"Approved by {review.approval.approver} ({review.approval.role}) on {review.approval.date.isoformat()}"]
    # Record text is made printable line by line; only then are the headings styled.
    return "\n".join(style(printable(line), bold=True) if isinstance(line, _Heading) else printable(line)
                     for line in out) + "\n"
