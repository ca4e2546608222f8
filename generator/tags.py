"""Lesson tags: each tag's page lists the lessons carrying it (lessons/tags/<slug>/).

A tag's address is its slug (model.slug, the rule of every generated URL). Two spellings
with one slug ("CDN" and "cdn", "on call" and "on-call") are one tag: their lessons share
the page, which names every spelling. Merging, not a collision error, because reviewers
write tags freely and the reader wants all the lessons on the subject.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from generator import urls
from generator.model import Review, slug
from generator.urls import tag_url
from generator.training import LessonRow, lesson_rows

TAGS_URL = urls.TAGS




@dataclass(frozen=True)
class Tag:
    slug: str
    names: tuple[str, ...]  # every spelling used, sorted
    rows: tuple[LessonRow, ...]  # newest review first, then lesson order

    @property
    def url(self) -> str:
        return tag_url(self.names[0])  # every spelling has the same slug

    @property
    def name(self) -> str:
        return " / ".join(self.names)


def collect(reviews: list[Review] | tuple[Review, ...]) -> list[Tag]:
    """Every tag of the reviews' lessons, by slug."""
    rows: dict[str, list[LessonRow]] = defaultdict(list)
    names: dict[str, set[str]] = defaultdict(set)
    for row in lesson_rows(reviews):
        for tag in dict.fromkeys(row.lesson.tags):
            key = slug(tag)
            if not rows[key] or rows[key][-1] is not row:
                rows[key].append(row)
            names[key].add(tag)
    return [Tag(key, tuple(sorted(names[key])), tuple(rows[key])) for key in sorted(rows)]
