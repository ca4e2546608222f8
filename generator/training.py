"""Lessons for trainers: what is new since a date, grouped by root-cause category and kind.

`lessons_since` is the one grouping: `kb training` prints it (as Markdown or JSON, below)
and the site's training page renders it, so both always show the same lessons.
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

    @property
    def url(self) -> str:
        """The lesson's place on its review page (relative to the site root)."""
        return f"{self.review.url}#{self.lesson.id.lower()}"


@dataclass(frozen=True)
class KindGroup:
    """The lessons of one kind (process, tool or training) under a category."""

    kind: str
    lessons: tuple[LessonRow, ...]


@dataclass(frozen=True)
class CategoryGroup:
    """The new lessons whose review has this root-cause category, by kind."""

    category: str  # the category id
    title: str  # its title in the taxonomy (the id when the taxonomy lacks it)
    url: str
    kinds: tuple[KindGroup, ...]  # in LESSON_KINDS order, only kinds that have lessons

    @property
    def count(self) -> int:
        return sum(len(group.lessons) for group in self.kinds)


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


def lessons_since(kb: KnowledgeBase, since: dt.date) -> tuple[CategoryGroup, ...]:
    """The lessons new since a date, by root-cause category (sorted by id), then by kind.

    A review's lessons sit under each of its categories, newest review first. `kb` is the
    view of the KB the reader may see (audience.view): nothing else is grouped.
    """
    return by_category_and_kind(new_since(kb, since), kb)


def by_category_and_kind(rows: list[LessonRow], kb: KnowledgeBase) -> tuple[CategoryGroup, ...]:
    """Lessons under each root-cause category of their review (sorted by id), then by kind."""
    groups = []
    for category, in_category in by_category(rows):
        known = kb.categories.get(category)
        kinds = tuple(KindGroup(kind, tuple(items)) for kind, items in by_kind(in_category) if items)
        groups.append(CategoryGroup(category, known.title if known else category, f"root-causes/{category}/", kinds))
    return tuple(groups)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def as_markdown(kb: KnowledgeBase, since: dt.date) -> str:
    """The new lessons, by category then kind, ready to paste into a training update."""
    count = len(new_since(kb, since))
    out = [f"# Lessons new since {since.isoformat()}", "",
           f"{count} {'lesson' if count == 1 else 'lessons'} from reviews held on or after {since.isoformat()}.", ""]
    for group in lessons_since(kb, since):
        out += [f"## {group.title}", ""]
        for kind in group.kinds:
            out += [f"### {kind.kind.capitalize()}", ""]
            out += [f"- {_one_line(r.lesson.text)} ({r.review.id} {r.lesson.id}, {r.review.review_date.isoformat()})"
                    for r in kind.lessons]
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def as_json(kb: KnowledgeBase, since: dt.date) -> str:
    """{since, count, categories: [{category, title, url, kinds: [{kind, lessons: [...]}]}]}."""
    groups = [{"category": g.category, "title": g.title, "url": g.url,
               "kinds": [{"kind": k.kind,
                          "lessons": [{"review": r.review.id, "lesson": r.lesson.id, "text": r.lesson.text,
                                       "tags": list(r.lesson.tags), "review_date": r.review.review_date.isoformat(),
                                       "url": r.url} for r in k.lessons]}
                         for k in g.kinds]}
              for g in lessons_since(kb, since)]
    document = {"since": since.isoformat(), "count": len(new_since(kb, since)), "categories": groups}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
