"""Figures computed from a published KB view: action status, deadlines, recurrence.

Everything here works on the view the audience may see (audience.view), so no figure
can count a review that is not published.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass

from generator.index import KnowledgeBase
from generator.model import ACTION_STATUSES, SEVERITIES, Action, Review

STATUS_ORDER = {s: i for i, s in enumerate(ACTION_STATUSES)}


@dataclass(frozen=True)
class ActionRow:
    """An action with the review it belongs to, as the dashboards list it."""

    review: Review
    action: Action
    overdue: bool
    days_overdue: int
    stale: bool = False  # open with no news for more than model.STALE_AFTER_DAYS (v1.1 stale-action)
    last_update: dt.date | None = None  # the day the action was last heard of (Action.last_update)


def action_row(review: Review, action: Action, as_of: dt.date) -> ActionRow:
    """One action as the dashboards and the tracker list it."""
    late = action.overdue(as_of)
    last = action.last_update(review.stale_fallback)
    return ActionRow(review, action, late, (as_of - action.due).days if late else 0,
                     action.stale(as_of, review.stale_fallback), last)


def action_rows(kb: KnowledgeBase, as_of: dt.date) -> list[ActionRow]:
    """Every action: overdue first (longest overdue on top), then by status, owner, due date and id."""
    rows = [action_row(r, a, as_of) for r in kb.reviews for a in r.actions]
    return sorted(rows, key=lambda row: (not row.overdue, -row.days_overdue, STATUS_ORDER[row.action.status],
                                         row.action.owner.lower(), row.action.due, row.review.id, row.action.id))


def percent(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100.0 * part / whole, 1)


@dataclass(frozen=True)
class ActionFigures:
    total: int
    by_status: dict[str, int]
    overdue: int
    completion_rate: float | None  # done / (all but cancelled)
    on_time_rate: float | None  # done by the due date / done
    overdue_rate: float | None  # overdue / open or in progress


def action_figures(rows: list[ActionRow]) -> ActionFigures:
    by_status = Counter(row.action.status for row in rows)
    done = [row.action for row in rows if row.action.status == "done"]
    open_count = by_status["open"] + by_status["in-progress"]
    overdue = sum(row.overdue for row in rows)
    return ActionFigures(
        total=len(rows),
        by_status={s: by_status.get(s, 0) for s in ACTION_STATUSES},
        overdue=overdue,
        completion_rate=percent(len(done), len(rows) - by_status["cancelled"]),
        on_time_rate=percent(sum(bool(a.on_time) for a in done), len(done)),
        overdue_rate=percent(overdue, open_count),
    )


@dataclass(frozen=True)
class DeadlineFigures:
    severity: str
    reviews: int
    met: int
    rate: float | None
    median_hours: float | None


def deadline_figures(kb: KnowledgeBase) -> list[DeadlineFigures]:
    """Review-deadline compliance per severity (72 h for P1/P2, 7 days for P3)."""
    figures = []
    for severity in SEVERITIES:
        reviews = [r for r in kb.reviews if r.severity == severity]
        met = sum(r.deadline_met for r in reviews)
        lags = [r.review_lag.total_seconds() / 3600 for r in reviews]
        figures.append(DeadlineFigures(severity, len(reviews), met, percent(met, len(reviews)),
                                       round(statistics.median(lags), 1) if lags else None))
    return figures


def approval_lags(kb: KnowledgeBase) -> list[tuple[Review, int]]:
    """Days from the review meeting to the CISO's approval, for approved reviews."""
    return [(r, (r.approval.date - r.review_date).days) for r in kb.reviews if r.approval is not None]


def most_recent_approvals(lags: list[tuple[Review, int]], count: int) -> list[tuple[Review, int]]:
    """The `count` latest approvals (by approval date, then id), oldest of them first."""
    latest = sorted(lags, key=lambda item: (item[0].approval.date, item[0].id))[-count:]
    return latest


def median_days(lags: list[tuple[Review, int]]) -> float | None:
    return round(statistics.median(days for _, days in lags), 1) if lags else None


def late_reviews(kb: KnowledgeBase) -> list[Review]:
    return [r for r in kb.reviews if not r.deadline_met]


def awaiting_approval(kb: KnowledgeBase) -> list[Review]:
    return [r for r in kb.reviews if r.status in ("draft", "in-review")]


def per_year(reviews: tuple[Review, ...] | list[Review]) -> list[tuple[int, int]]:
    """(year, number of reviews) for every year from the first to the last, gaps as 0."""
    counts = Counter(r.year for r in reviews)
    if not counts:
        return []
    return [(year, counts.get(year, 0)) for year in range(min(counts), max(counts) + 1)]


def per_quarter(kb: KnowledgeBase) -> list[tuple[str, int]]:
    counts = Counter(r.quarter for r in kb.reviews)
    return sorted(counts.items())


def category_quarters(kb: KnowledgeBase) -> tuple[list[str], list[tuple[str, list[int]]]]:
    """Quarters (columns) and, per category, the number of reviews in each quarter."""
    quarters = sorted({r.quarter for r in kb.reviews})
    table: dict[str, Counter] = defaultdict(Counter)
    for review in kb.reviews:
        for category in review.root_cause.categories:
            table[category][review.quarter] += 1
    rows = [(category, [table[category].get(q, 0) for q in quarters]) for category in sorted(table)]
    return quarters, rows


def newest_first(reviews: tuple[Review, ...] | list[Review]) -> list[Review]:
    return sorted(reviews, key=lambda r: (r.resolved, r.id), reverse=True)
