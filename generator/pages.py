"""Plan the site: which page goes where, from which template, with what data.

Each page's docs path is worked out here and only here (the contract's permalinks), and
two pages at one path are refused. Rendering and writing come later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator import stats, training
from generator.audience import RESTRICTED_NOTE
from generator.diagnostics import Diagnostic, error
from generator.index import KnowledgeBase
from generator.model import TLP_LEVELS, Review
from generator.render import doc_for
from generator.settings import Settings


SEARCHABLE_TEMPLATES = frozenset({"review.md.j2", "home.md.j2", "restricted.md.j2"})


@dataclass(frozen=True)
class PageSpec:
    """One page to write: its docs path, template, data, and the record it shows."""

    doc: str
    template: str
    context: dict[str, Any] = field(hash=False, compare=False)
    source: Path | None = None
    wide: bool = False  # a table page: shown without the navigation sidebar
    boost: float = 1.0  # search weight: a review's own page outranks the lists quoting it

    @property
    def searchable(self) -> bool:
        """A lesson is quoted on the lesson, training, category and control pages; only its
        review page (and the home page) is indexed, so search leads to the review."""
        return self.template in SEARCHABLE_TEMPLATES


def _site_context(kb: KnowledgeBase, settings: Settings) -> dict[str, Any]:
    return {
        "kb": kb,
        "as_of": settings.as_of,
        "audience": settings.audience,
        "restricted": set(kb.restricted),
        "restricted_note": RESTRICTED_NOTE,
        "page_tlp": strictest(kb.reviews),
    }


def strictest(reviews: list[Review] | tuple[Review, ...]) -> str | None:
    """The most restrictive TLP label among the reviews a page draws on (None for none)."""
    levels = [TLP_LEVELS.index(r.classification) for r in reviews]
    return TLP_LEVELS[max(levels)] if levels else None


def plan(kb: KnowledgeBase, settings: Settings) -> tuple[list[PageSpec], list[Diagnostic]]:
    """Every generated page of the site for this (already audience-filtered) KB view."""
    base = _site_context(kb, settings)
    rows = stats.action_rows(kb, settings.as_of)
    figures = stats.action_figures(rows)
    all_lessons = training.lesson_rows(kb.reviews)
    cutoff = settings.training_cutoff
    new_lessons = training.new_since(kb, cutoff)
    deadlines = stats.deadline_figures(kb)
    lags = stats.approval_lags(kb)
    pages: list[PageSpec] = [
        PageSpec("index.md", "home.md.j2", {
            **base, "figures": figures, "overdue": [r for r in rows if r.overdue],
            "awaiting": stats.awaiting_approval(kb), "late": stats.late_reviews(kb),
            "latest": all_lessons[:8], "lesson_count": len(all_lessons)}),
        PageSpec("incidents/index.md", "incidents.md.j2", {**base, "reviews": stats.newest_first(kb.reviews)}, wide=True),
        PageSpec("root-causes/index.md", "categories.md.j2", {**base}),
        PageSpec("controls/index.md", "controls.md.j2", {**base}, wide=True),
        PageSpec("lessons/index.md", "lessons.md.j2", {**base, "groups": training.by_kind(all_lessons), "count": len(all_lessons)}),
        PageSpec("actions/index.md", "actions.md.j2", {**base, "rows": rows, "figures": figures}, wide=True),
        PageSpec("training/index.md", "training.md.j2", {
            **base, "training": [row for row in all_lessons if row.lesson.kind == "training"],
            "by_category": training.by_category(all_lessons), "since": cutoff,
            "new": training.by_kind(new_lessons), "new_count": len(new_lessons)}),
        PageSpec("metrics/index.md", "metrics.md.j2", {
            **base, "figures": figures, "deadlines": deadlines,
            "deadline_chart": [(d.severity, d.rate) for d in deadlines if d.rate is not None],
            "approval_lags": lags, "lag_chart": [(r.id, days) for r, days in lags],
            "category_chart": [(kb.categories[c].title if c in kb.categories else c, len(rs))
                               for c, rs in sorted(kb.reviews_by_category.items())],
            "per_quarter": stats.per_quarter(kb), "category_quarters": stats.category_quarters(kb)}, wide=True),
    ]
    for review in kb.reviews:
        pages.append(PageSpec(doc_for(review.url), "review.md.j2", boost=2.0, context={
            **base, "review": review, "related": kb.related_both_ways(review),
            "source_path": source_path(review.source, settings),
            "referenced_by": kb.referenced_by.get(review.id, ())}, source=review.source))
    for rid in kb.restricted:
        pages.append(PageSpec(doc_for(f"incidents/{rid}/"), "restricted.md.j2", {**base, "rid": rid}))
    for category in kb.categories.values():
        reviews = stats.newest_first(kb.reviews_by_category.get(category.id, ()))
        members = ids(reviews)
        pages.append(PageSpec(doc_for(category.url), "category.md.j2", {
            **base, "category": category, "reviews": reviews, "page_tlp": strictest(reviews), "per_year": stats.per_year(reviews),
            "lessons": training.lesson_rows(reviews),
            "open_actions": [r for r in rows if r.review.id in members and r.action.is_open]},
            category.source))
    for control in kb.controls.values():
        reviews = stats.newest_first(kb.reviews_by_control.get(control.ref, ()))
        members = ids(reviews)
        pages.append(PageSpec(doc_for(control.url), "control.md.j2", {
            **base, "control": control, "reviews": reviews, "page_tlp": strictest(reviews), "lessons": training.lesson_rows(reviews),
            "actions": [r for r in rows if r.review.id in members],
            "replacement": kb.controls.get(control.replaced_by) if control.replaced_by else None,
            "replaces": [kb.controls[ref] for ref in kb.replaces.get(control.ref, ())]}, control.source))
    return pages, _collisions(pages)


def front_matter(page: PageSpec, settings: Settings) -> str:
    """The page's metadata for MkDocs: the record it shows (for the edit button) and layout."""
    lines = ["---", f"kb_source: {source_path(page.source, settings) if page.source else 'generated'}"]
    if page.wide:
        lines += ["hide:", "  - navigation"]
    if not page.searchable:
        lines += ["search:", "  exclude: true"]
    elif page.boost != 1.0:
        lines += ["search:", f"  boost: {page.boost}"]
    return "\n".join(lines + ["---", "", ""])


def _collisions(pages: list[PageSpec]) -> list[Diagnostic]:
    seen: dict[str, PageSpec] = {}
    found = []
    for page in pages:
        key = page.doc.lower()  # case-insensitive file systems would merge these
        if key in seen:
            where = page.source or Path("site")
            found.append(error(where, 1, 1, "page-collision",
                               f"two pages would be written to {page.doc} ({seen[key].template} and {page.template})",
                               "rename one of the ids so their page addresses differ"))
        else:
            seen[key] = page
    return found



def source_path(path: Path, settings: Settings) -> str:
    """The record's path as a reader of the repository knows it: relative to the project
    (the folder holding the KB), e.g. kb/reviews/INC-2025-014.yaml."""
    project = settings.kb_dir.resolve().parent
    try:
        return path.resolve().relative_to(project).as_posix()
    except ValueError:
        return f"{settings.kb_dir.name}/reviews/{path.name}"


def ids(reviews: list[Review]) -> set[str]:
    return {r.id for r in reviews}
