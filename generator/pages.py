"""Plan the site: which page goes where, from which template, with what data.

Each page's docs path is worked out here and only here (the contract's permalinks), and
two pages at one path are refused. Rendering and writing come later.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from generator import evidence, similar, stats, tags, training
from generator.audience import RESTRICTED_NOTE
from generator.diagnostics import Diagnostic, error
from generator.index import KnowledgeBase, Recurrence
from generator.markdown import reveal_bidi
from generator.model import STALE_AFTER_DAYS, TLP_LEVELS, Review
from generator.repository import Repository
from generator import urls
from generator.urls import doc_for

_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
from generator.settings import Settings


FIXED_TITLES = {
    "home.md.j2": "Post-incident reviews", "incidents.md.j2": "Incidents", "categories.md.j2": "Root causes",
    "controls.md.j2": "Controls", "lessons.md.j2": "Lessons", "actions.md.j2": "Actions",
    "training.md.j2": "Training", "metrics.md.j2": "Metrics", "search.md.j2": "Search",
    "security-improvements.md.j2": "Security improvements", "tags.md.j2": "Lesson tags",
}
SEARCHABLE_TEMPLATES = frozenset({"review.md.j2", "restricted.md.j2"})


@dataclass(frozen=True)
class PageSpec:
    """One page to write: its docs path, template, data, and the record it shows."""

    doc: str
    template: str
    context: dict[str, Any] = field(hash=False, compare=False)
    source: Path | None = None
    wide: bool = False  # a table page: shown without the navigation sidebar
    edit_url: str | None = None  # the record in the repository's web editor, when the repository is known
    boost: float = 1.0  # search weight: a review's own page outranks the lists quoting it

    @property
    def title(self) -> str:
        """The page's title as plain text (the browser tab, navigation, breadcrumbs, search)."""
        c = self.context
        if self.template == "review.md.j2":
            return f"{c['review'].id}: {c['review'].title}"
        if self.template == "restricted.md.j2":
            return str(c["rid"])
        if self.template == "category.md.j2":
            return str(c["category"].title)
        if self.template == "control.md.j2":
            return f"{c['control'].ref}: {c['control'].title}"
        if self.template == "tag.md.j2":
            return f"Lessons tagged #{c['tag'].name}"
        return FIXED_TITLES.get(self.template, "Post-incident reviews")

    @property
    def source_is_review(self) -> bool:
        """The page shows one review record (the page a reviewer previews while editing)."""
        return self.template == "review.md.j2"

    @property
    def searchable(self) -> bool:
        """A lesson is quoted on the lesson, training, category and control pages; only its
        review page (and a TLP:RED id's placeholder) is indexed, so search leads to the review."""
        return self.template in SEARCHABLE_TEMPLATES


def _site_context(kb: KnowledgeBase, settings: Settings) -> dict[str, Any]:
    """What every page may show: the catalogs, the day and the audience, never the whole KB.

    A page's context holds exactly the data its template shows (its cache key is the
    digest of that context, fingerprint.py); whether another review has a page is looked
    up through the renderer's `review_state`, keyed by the ids the page mentions.
    """
    return {
        "catalog": kb.catalog,
        "as_of": settings.as_of,
        "audience": settings.audience,
        "restricted_note": RESTRICTED_NOTE,
        "page_tlp": strictest(kb.reviews),
        "stale_days": STALE_AFTER_DAYS,
    }


def strictest(reviews: list[Review] | tuple[Review, ...]) -> str | None:
    """The most restrictive TLP label among the reviews a page draws on (None for none)."""
    levels = [TLP_LEVELS.index(r.classification) for r in reviews]
    return TLP_LEVELS[max(levels)] if levels else None


REVIEWS_PER_PAGE = 50
"""Reviews listed on one page of a list that grows with the KB (incidents, lessons,
training, a category's or a control's evidence); later reviews go to page 2, 3 ..."""
ROWS_PER_PAGE = 100
"""Action rows on one page of the action dashboard."""
HOME_ITEMS = 10
"""Entries in each "needs attention" list of the home page; the rest are a link away."""
RECENT_APPROVALS = 30
"""Approvals drawn in the metrics page's approval-lag chart and table (the most recent)."""


@dataclass(frozen=True)
class Pager:
    """Where one page of a long list sits: page `number` of `count`, items `first`..`last` of `total`.

    Page 1 keeps the list's permalink (`url`, e.g. incidents/); page n is at `url` + page/n/.
    """

    url: str
    number: int
    count: int
    first: int
    last: int
    total: int

    def url_of(self, number: int) -> str:
        return urls.list_page(self.url, number)

    @property
    def window(self) -> list[int]:
        """The page numbers a pager links: the first, the last and two on each side of this one."""
        near = range(max(1, self.number - 2), min(self.count, self.number + 2) + 1)
        return sorted({1, self.count, *near})


def paginate(url: str, items: list[Any], per_page: int) -> list[tuple[Pager, list[Any]]]:
    """Split a list into pages (one page, possibly empty, for an empty list)."""
    count = max(1, -(-len(items) // per_page))
    pages = []
    for number in range(1, count + 1):
        chunk = items[(number - 1) * per_page: number * per_page]
        first = (number - 1) * per_page + 1 if chunk else 0
        pages.append((Pager(url, number, count, first, first + len(chunk) - 1 if chunk else 0, len(items)), chunk))
    return pages


def plan(kb: KnowledgeBase, settings: Settings, *, repo: Repository | None = None,
         ranked: Callable[[KnowledgeBase], dict[str, tuple[similar.Similar, ...]]] = similar.compute,
         ) -> tuple[list[PageSpec], list[Diagnostic]]:
    """Every generated page of the site for this (already audience-filtered) KB view.

    `ranked` gives the similar reviews of the view (similar.compute, or the render cache's
    memo of it, site.RenderCache.similar).

    No page grows with the number of reviews except by pagination: lists that do are
    split into pages of REVIEWS_PER_PAGE reviews (ROWS_PER_PAGE actions), newest first,
    and the navigation lists sections only.
    """
    base = _site_context(kb, settings)
    rows = stats.action_rows(kb, settings.as_of)
    figures = stats.action_figures(rows)
    all_lessons = training.lesson_rows(kb.reviews)
    cutoff = settings.training_cutoff
    new_lessons = training.new_since(kb, cutoff)
    deadlines = stats.deadline_figures(kb)
    lags = stats.approval_lags(kb)
    recent_lags = stats.most_recent_approvals(lags, RECENT_APPROVALS)
    newest = stats.newest_first(kb.reviews)
    overdue = [r for r in rows if r.overdue]
    rows_of = _rows_by_review(rows)
    awaiting, late = stats.awaiting_approval(kb), stats.late_reviews(kb)
    covered = evidence.coverage(kb)  # one count for controls/ and every control page
    per_quarter = stats.per_quarter(kb)
    loop = _loop_context(kb, rows)  # v1.1: stale actions, failed validations, recurrences
    pages: list[PageSpec] = [
        PageSpec("index.md", "home.md.j2", {
            **base, "figures": figures, "overdue": overdue[:HOME_ITEMS], "overdue_count": len(overdue),
            "awaiting": awaiting[:HOME_ITEMS], "awaiting_count": len(awaiting),
            "late": late[:HOME_ITEMS], "late_count": len(late),
            "latest": all_lessons[:8], "lesson_count": len(all_lessons),
            "review_count": len(kb.reviews), "restricted_count": len(kb.restricted),
            **_capped(loop, HOME_ITEMS)}),
        *_security_pages(kb, base),
        PageSpec(doc_for(urls.ROOT_CAUSES), "categories.md.j2", {**base, "categories": [
            stats.category_summary(category, kb.reviews_by_category.get(category.id, ()))
            for category in sorted(kb.categories.values(), key=lambda c: c.id)]}),
        PageSpec(doc_for(urls.CONTROLS), "controls.md.j2", {**base, "coverage": {ref: found.coverage for ref, found in covered.items()}}, wide=True),
        PageSpec(doc_for(urls.SEARCH), "search.md.j2", {**base}),  # Pagefind's UI; not itself indexed
        PageSpec(doc_for(urls.METRICS), "metrics.md.j2", {
            **base, "figures": figures, "deadlines": deadlines,
            "deadline_chart": [(d.severity, d.rate) for d in deadlines if d.rate is not None],
            "approval_lags": recent_lags, "approved_count": len(lags), "lag_median": stats.median_days(lags),
            "lag_chart": [(r.id, days) for r, days in recent_lags],
            "category_chart": [(kb.categories[c].title if c in kb.categories else c, len(rs))
                               for c, rs in sorted(kb.reviews_by_category.items())],
            "per_quarter": per_quarter, "quarters_by_year": stats.quarters_by_year(per_quarter),
            "category_quarters": stats.category_quarters(kb),
            "loop_figures": stats.loop_figures(rows, settings.as_of),
            "effectiveness": stats.effectiveness_figures(rows), "durations": stats.loop_durations(kb),
            "recurrences_per_year": stats.recurrences_per_year(kb)}, wide=True),
    ]
    for pager, chunk in paginate(urls.INCIDENTS, newest, REVIEWS_PER_PAGE):
        pages.append(PageSpec(doc_for(pager.url_of(pager.number)), "incidents.md.j2", {
            **base, "pager": pager, "reviews": chunk, "page_tlp": strictest(chunk), "review_count": len(kb.reviews),
            "restricted": kb.restricted if pager.number == 1 else ()}, wide=True))
    for pager, chunk in paginate(urls.LESSONS, newest, REVIEWS_PER_PAGE):
        pages.append(PageSpec(doc_for(pager.url_of(pager.number)), "lessons.md.j2", {
            **base, "pager": pager, "page_tlp": strictest(chunk),
            "groups": training.by_kind(training.lesson_rows(chunk)), "count": len(all_lessons)}))
    all_tags = tags.collect(kb.reviews)
    for pager, chunk in paginate(tags.TAGS_URL, all_tags, ROWS_PER_PAGE):
        pages.append(PageSpec(doc_for(pager.url_of(pager.number)), "tags.md.j2", {
            **base, "pager": pager, "tags": chunk,
            "page_tlp": strictest(list({r.review.id: r.review for t in chunk for r in t.rows}.values()))}))
    for tag in all_tags:
        for pager, chunk in paginate(tag.url, list(tag.rows), ROWS_PER_PAGE):
            pages.append(PageSpec(doc_for(pager.url_of(pager.number)), "tag.md.j2", {
                **base, "pager": pager, "tag": tag, "rows": chunk,
                "page_tlp": strictest(list({r.review.id: r.review for r in chunk}.values()))}))
    for pager, chunk in paginate(urls.ACTIONS, rows, ROWS_PER_PAGE):
        pages.append(PageSpec(doc_for(pager.url_of(pager.number)), "actions.md.j2", {
            **base, "pager": pager, "rows": chunk, "figures": figures, **_capped(loop if pager.number == 1 else {}, ROWS_PER_PAGE),
            "page_tlp": strictest(list({row.review.id: row.review for row in chunk}.values()))}, wide=True))
    for pager, chunk in paginate(urls.TRAINING, newest, REVIEWS_PER_PAGE):
        lessons = training.training_rows(dataclasses.replace(kb, reviews=tuple(chunk)), include_unapproved=True)
        pages.append(PageSpec(doc_for(pager.url_of(pager.number)), "training.md.j2", {
            **base, "pager": pager, "page_tlp": strictest(chunk), "lessons": lessons,
            "backlog": [row for row in lessons if row.in_backlog],
            "adopted": [row for row in lessons if row.lesson.adopted_in],
            "since": cutoff, "new_count": len(new_lessons)}))
    similar_of = ranked(kb)  # on this audience's view: a hidden review is never named
    for review in kb.reviews:
        related = kb.related_both_ways(review)
        path = source_path(review.source, settings)
        pages.append(PageSpec(doc_for(review.url), "review.md.j2", boost=2.0, context={
            **base, "review": review, "related": related, "similar": similar_of.get(review.id, ()),
            "related_titles": {rid: kb.by_id[rid].title for rid in related if rid in kb.by_id},
            "source_path": path, "source_url": repo.blob_url(path) if repo else None,
            "referenced_by": kb.referenced_by.get(review.id, ()),
            **_recurrence_context(kb, review)}, source=review.source,
            edit_url=repo.edit_url(path) if repo else None))
    for rid in kb.restricted:
        pages.append(PageSpec(doc_for(urls.review_url(rid)), "restricted.md.j2", {**base, "rid": rid}))
    for category in kb.categories.values():
        reviews = stats.newest_first(kb.reviews_by_category.get(category.id, ()))
        per_year = stats.per_year(reviews)
        for pager, chunk in paginate(category.url, reviews, REVIEWS_PER_PAGE):
            pages.append(PageSpec(doc_for(pager.url_of(pager.number)), "category.md.j2", {
                **base, "pager": pager, "category": category, "reviews": chunk, "page_tlp": strictest(chunk),
                "per_year": per_year, "lessons": training.lesson_rows(chunk),
                **_capped({"recurrences": [(p, kb.by_id[p.review].detected) for p in _newest_pairs(
                    kb, kb.recurrences_in.get(category.id, ()))] if pager.number == 1 else []}, REVIEWS_PER_PAGE),
                "open_actions": [r for r in rows_of(chunk) if r.action.is_open]},
                category.source))
    for control in kb.controls.values():
        found = covered[control.ref]
        replacements = [kb.controls[ref] for ref in control.replaced_by if ref in kb.controls]
        replaces = [kb.controls[ref] for ref in found.replaces]
        for pager, chunk in paginate(control.url, list(found.citations), REVIEWS_PER_PAGE):
            pages.append(PageSpec(doc_for(pager.url_of(pager.number)), "control.md.j2", {
                **base, "pager": pager, "control": control, "ev": found.coverage, "reviews": chunk,
                "page_tlp": strictest([c.review for c in chunk]),
                "replacements": replacements, "replaces": replaces}, control.source))
    return pages, _collisions(pages)


def _newest_pairs(kb: KnowledgeBase, pairs: tuple[Recurrence, ...] | list[Recurrence]) -> list[Recurrence]:
    """Recurrences newest first (by the later incident's detection), then by id."""
    return sorted(pairs, key=lambda p: (kb.by_id[p.review].detected, p.review, p.earlier, p.category), reverse=True)


def _loop_context(kb: KnowledgeBase, rows: list[stats.ActionRow]) -> dict[str, list[Any]]:
    """What the home page and the action dashboard show beside overdue actions (v1.1)."""
    return {"stale": stats.stale_rows(rows), "failed": stats.failed_rows(rows),
            "recurrences": [(p, kb.by_id[p.earlier].title) for p in _newest_pairs(kb, kb.shown_recurrences)]}


def _capped(lists: dict[str, list[Any]], limit: int) -> dict[str, Any]:
    """Each list cut to its first `limit` entries, beside its full length as KEY_count: a page
    never grows with the KB (the full lists are a command away: kb actions --stale, kb export)."""
    return {**{key: value[:limit] for key, value in lists.items()},
            **{f"{key}_count": len(value) for key, value in lists.items()}}


def _recurrence_context(kb: KnowledgeBase, review: Review) -> dict[str, Any]:
    """A review page's recurrences both ways, with the other review's title (the KB itself is
    fingerprinted by shape only, so what the page shows of other reviews is in its context)."""
    after = kb.recurrences_of.get(review.id, ())
    before = list(kb.recurrences_from.get(review.id, ()))
    titles = {p.earlier: kb.by_id[p.earlier].title for p in after} | {p.review: kb.by_id[p.review].title for p in before}
    return {"recurred_after": list(after), "recurred_later": before, "recurrence_titles": titles}


def _security_pages(kb: KnowledgeBase, base: dict[str, Any]) -> list[PageSpec]:
    """security-improvements/: each review's immediate improvements and assessment, newest first."""
    reviews = stats.with_security_steps(kb)
    counts = {kind: sum(s.type == kind for r in reviews for s in r.security_improvements)
              for kind in ("control-improvement", "emergency-patch")}
    return [PageSpec(doc_for(pager.url_of(pager.number)), "security-improvements.md.j2", {
        **base, "pager": pager, "reviews": chunk, "page_tlp": strictest(chunk), "counts": counts,
        "assessed_count": sum(r.security_assessment is not None for r in reviews)}, wide=True)
        for pager, chunk in paginate(urls.SECURITY_IMPROVEMENTS, reviews, REVIEWS_PER_PAGE)]


def _rows_by_review(rows: list[stats.ActionRow]) -> Callable[[list[Review]], list[stats.ActionRow]]:
    """A lookup of the action rows of some reviews, in the dashboard's order: a page of a
    category or control then costs its own reviews' actions, not a pass over every action."""
    of_review: dict[str, list[tuple[int, stats.ActionRow]]] = defaultdict(list)
    for position, row in enumerate(rows):
        of_review[row.review.id].append((position, row))

    def lookup(reviews: list[Review]) -> list[stats.ActionRow]:
        return [row for _, row in sorted(item for r in reviews for item in of_review.get(r.id, ()))]
    return lookup


SEARCH_EXCLUDED = "search:\n  exclude: true\n"
"""The front matter lines of a page that is left out of the search index (the theme's content.html reads them)."""


def searchable(text: str) -> bool:
    """Whether a generated page (as front_matter wrote it) is indexed for search."""
    head, _, _ = text.partition("\n---\n")
    return f"\n{SEARCH_EXCLUDED}" not in head + "\n"


def front_matter(page: PageSpec, settings: Settings) -> str:
    """The page's metadata for MkDocs: the record it shows (for the edit button) and layout."""
    lines = ["---", f"title: {yaml_title(page.title)}",
             f"kb_source: {source_path(page.source, settings) if page.source else 'generated'}"]
    if page.edit_url:
        lines.append(f"kb_edit: {json.dumps(page.edit_url)}")
    if page.wide:  # tables need the width: no sidebars
        lines += ["hide:", "  - navigation", "  - toc"]
    if not page.searchable:
        lines += SEARCH_EXCLUDED.splitlines()
    elif page.boost != 1.0:
        lines += ["search:", f"  boost: {page.boost}"]
    return "\n".join(lines + ["---", "", ""])


def yaml_title(text: str) -> str:
    """A title for front matter: set explicitly, so MkDocs never takes it from the H1.

    MkDocs treats a page title as HTML (it prints it raw), so the text is HTML-escaped;
    the theme overrides (generator/theme) print every title with `striptags | e`. JSON's
    double-quoted string is YAML too, and escapes what would end it.
    """
    shown = html.escape(reveal_bidi(_CONTROLS.sub("\ufffd", " ".join(text.split()))), quote=True)
    return json.dumps(shown, ensure_ascii=False)


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
    try:  # records are found below the KB folder, so the path is relative to it as written
        inside = path.absolute().relative_to(settings.kb_dir.absolute()).as_posix()  # catalogs' paths are absolute
    except ValueError:
        return f"{settings.kb_dir.name}/reviews/{path.name}"
    return f"{_folder_name(settings.kb_dir)}/{inside}"


@functools.lru_cache(maxsize=16)
def _folder_name(folder: Path) -> str:
    """The folder's own name, also when it was given as "." or "../kb"."""
    return folder.resolve().name
