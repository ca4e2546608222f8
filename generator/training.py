"""Lessons for trainers: what is new since a date, grouped by root-cause category and kind.

The site's training page and `kb training` show the same grouping.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass

from generator.index import KnowledgeBase
from generator.model import LESSON_KINDS, Lesson, Review
from generator.stats import newest_first


@dataclass(frozen=True)
class LessonRow:
    review: Review
    lesson: Lesson


def lesson_rows(reviews: list[Review] | tuple[Review, ...]) -> list[LessonRow]:
    """Every lesson with its review, newest review first, then lesson order."""
    return [LessonRow(r, l) for r in newest_first(reviews) for l in r.lessons]


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


def as_markdown(kb: KnowledgeBase, since: dt.date) -> str:
    """The new lessons, by category then kind, ready to paste into a training update."""
    rows = new_since(kb, since)
    out = [f"# Lessons new since {since.isoformat()}", "", f"{len(rows)} lessons from reviews held on or after {since.isoformat()}.", ""]
    for category, in_category in by_category(rows):
        title = kb.categories[category].title if category in kb.categories else category
        out += [f"## {title}", ""]
        for kind, items in by_kind(in_category):
            if items:
                out += [f"### {kind.capitalize()}", ""]
                out += [f"- {' '.join(r.lesson.text.split())} ({r.review.id} {r.lesson.id}, {r.review.review_date.isoformat()})"
                        for r in items]
                out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def as_json(kb: KnowledgeBase, since: dt.date) -> str:
    rows = new_since(kb, since)
    groups = [{"category": category, "title": kb.categories[category].title if category in kb.categories else category,
               "kinds": [{"kind": kind, "lessons": [{"review": r.review.id, "lesson": r.lesson.id, "text": r.lesson.text,
                                                     "review_date": r.review.review_date.isoformat(),
                                                     "url": f"incidents/{r.review.id}/#{r.lesson.id.lower()}"}
                                                    for r in items]}
                         for kind, items in by_kind(in_category) if items]}
              for category, in_category in by_category(rows)]
    return json.dumps({"since": since.isoformat(), "count": len(rows), "categories": groups}, indent=2, ensure_ascii=False) + "\n"
