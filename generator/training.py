"""Lessons for trainers: each lesson once, with its categories, label, status and adoption.

`kb training` (record format v1.1) and the site's training page draw on the same rows:
`training_rows` picks the lessons a trainer may use (approved and closed reviews unless
unapproved ones are asked for, newer than a date), newest first, each lesson once however
many root-cause categories its review has. `as_markdown` and `as_json` are the command's
two outputs.

Decisions (documented in docs/guide/cli-workflows.md):
- TLP:RED reviews are left out entirely (not even their id): an id alone teaches nothing
  and the contract forbids more. `--audience public` keeps TLP:CLEAR and TLP:GREEN only.
- `held` in JSON is the review meeting's timestamp in UTC, ISO 8601 with a Z
  (`2025-03-05T15:00:00Z`); "since" is judged on its UTC day.
- The Markdown groups lessons by kind (process, tool, training): a lesson has one kind, so
  no lesson is repeated; its categories are listed on its line.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict
from dataclasses import dataclass

from generator.index import KnowledgeBase
from generator.model import LESSON_KINDS, TLP_LEVELS, Lesson, Review
from generator.stats import newest_first

APPROVED_STATUSES = ("approved", "closed")
"""Review statuses whose lessons are approved for training (the CISO signed the review)."""


@dataclass(frozen=True)
class LessonRow:
    review: Review
    lesson: Lesson

    @property
    def url(self) -> str:
        """The lesson's place on its review page (relative to the site root)."""
        return f"{self.review.url}#{self.lesson.id.lower()}"

    @property
    def approved(self) -> bool:
        return self.review.status in APPROVED_STATUSES

    @property
    def adopted_in_training(self) -> bool:
        return any(a.kind == "training" for a in self.lesson.adopted_in)

    @property
    def in_backlog(self) -> bool:
        """A training lesson, or a critical one, not yet absorbed into training material."""
        return (self.lesson.kind == "training" or self.lesson.critical) and not self.adopted_in_training

    @property
    def held(self) -> str:
        """The review meeting as an ISO 8601 UTC timestamp (what JSON carries and pages sort on)."""
        return self.review.held.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _lesson_number(lesson: Lesson) -> int:
    return int(lesson.id[1:]) if lesson.id[1:].isdigit() else 0


def _order(row: LessonRow) -> tuple:
    """Newest review meeting first, then review id, then lesson number (L2 before L10)."""
    held = row.review.held.astimezone(dt.timezone.utc)
    return (-held.timestamp(), row.review.id, _lesson_number(row.lesson), row.lesson.id)


def lesson_rows(reviews: list[Review] | tuple[Review, ...]) -> list[LessonRow]:
    """Every lesson with its review, newest review first, then lesson order."""
    return [LessonRow(r, l) for r in newest_first(reviews) for l in r.lessons]


def training_rows(kb: KnowledgeBase, *, since: dt.date | None = None,
                  include_unapproved: bool = False) -> list[LessonRow]:
    """The lessons a trainer may use, each once, in the deterministic training order.

    `kb` is the view of the KB the reader may see (audience.view): nothing else is listed.
    """
    rows = [LessonRow(r, l) for r in kb.reviews for l in r.lessons
            if (include_unapproved or r.status in APPROVED_STATUSES)
            and (since is None or r.review_date >= since)]
    return sorted(rows, key=_order)


def new_since(kb: KnowledgeBase, since: dt.date) -> list[LessonRow]:
    """Lessons of the reviews held on or after `since` (the review date, in UTC)."""
    return [row for row in lesson_rows(kb.reviews) if row.review.review_date >= since]


def by_kind(rows: list[LessonRow]) -> list[tuple[str, list[LessonRow]]]:
    return [(kind, [row for row in rows if row.lesson.kind == kind]) for kind in LESSON_KINDS]


def by_category(rows: list[LessonRow]) -> list[tuple[str, list[LessonRow]]]:
    """Lessons under each root-cause category of their review (a lesson may sit under several)."""
    groups: dict[str, list[LessonRow]] = defaultdict(list)
    for row in rows:
        for category in row.review.root_cause.categories:
            groups[category].append(row)
    return [(c, groups[c]) for c in sorted(groups)]


def strictest_label(rows: list[LessonRow]) -> str | None:
    """The most restrictive TLP label among the rows' reviews (None for no rows)."""
    levels = [TLP_LEVELS.index(row.review.classification) for row in rows]
    return TLP_LEVELS[max(levels)] if levels else None


# -- output -------------------------------------------------------------------------------

# Characters that start inline Markdown (emphasis, code, link and image brackets, raw HTML, entities,
# table cells, strikethrough, attribute lists) are backslash-escaped: CommonMark shows an
# escaped ASCII punctuation character as itself, so the text reads as the reviewer wrote it.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>&|~{}])")
# Control characters would reach the terminal of whoever prints or pastes the output.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def markdown_escape(text: str) -> str:
    """Record text as literal Markdown on one line: no markup, no control characters."""
    text = " ".join(_CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text).split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def as_markdown(kb: KnowledgeBase, since: dt.date, *, include_unapproved: bool = False,
                audience: str = "internal") -> str:
    """The lessons since a date, by kind, each once, ready to paste into a training update."""
    rows = training_rows(kb, since=since, include_unapproved=include_unapproved)
    label = strictest_label(rows)
    count = len(rows)
    which = "reviews" if include_unapproved else "approved and closed reviews"
    out = [f"# Lessons new since {since.isoformat()}", ""]
    if label:
        out += [f"**{label}**: this list draws on reviews up to {label}; share it no wider than that label allows.", ""]
    out += [f"{count} {'lesson' if count == 1 else 'lessons'} from {which} held on or after {since.isoformat()}"
            f" ({audience} audience).", ""]
    for kind, items in by_kind(rows):
        if not items:
            continue
        out += [f"## {kind.capitalize()}", ""]
        for row in items:
            r = row.review
            flag = "" if row.approved else f"**UNAPPROVED ({r.status})** "
            categories = ", ".join(markdown_escape(c) for c in r.root_cause.categories)
            out.append(f"- {flag}{markdown_escape(row.lesson.text)} ({r.id} {row.lesson.id}; {r.classification}; "
                       f"{r.status}; held {r.review_date.isoformat()}; categories: {categories})")
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def as_records(rows: list[LessonRow]) -> list[dict]:
    """The JSON form of the contract: {review, lesson, text, kind, categories, classification,
    status, held, adopted_in}."""
    return [{"review": row.review.id, "lesson": row.lesson.id, "text": row.lesson.text, "kind": row.lesson.kind,
             "categories": list(row.review.root_cause.categories), "classification": row.review.classification,
             "status": row.review.status, "held": row.held,
             "adopted_in": [{"kind": a.kind, "ref": a.ref, "date": a.date.isoformat() if a.date else None}
                            for a in row.lesson.adopted_in]}
            for row in rows]


# JSON escapes C0 controls itself; DEL, C1 controls and bidi overrides would reach a terminal raw.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def safe_json(document: object) -> str:
    """JSON text with every character that could drive a terminal written as a \\u escape."""
    text = json.dumps(document, indent=2, ensure_ascii=False)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


def as_json(kb: KnowledgeBase, since: dt.date, *, include_unapproved: bool = False) -> str:
    """A list of lessons, each once, newest first (see as_records)."""
    return safe_json(as_records(training_rows(kb, since=since, include_unapproved=include_unapproved)))
