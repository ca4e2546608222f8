"""Figures computed from a published KB view: action status, deadlines, recurrence.

Everything here works on the view the audience may see (audience.view), so no figure
can count a review that is not published.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass

from generator.index import KnowledgeBase
from generator.model import ACTION_STATUSES, SEVERITIES, Action, Category, Review

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
    """Every action, by what needs doing first: overdue ones (longest overdue on top), then the
    other open ones by due date, then done and cancelled ones (latest due first)."""
    rows = [action_row(r, a, as_of) for r in kb.reviews for a in r.actions]
    return sorted(rows, key=lambda row: (not row.overdue, not row.action.is_open,
                                         row.action.due.toordinal() * (1 if row.action.is_open else -1),
                                         STATUS_ORDER[row.action.status], row.review.id, row.action.id))


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
    done: int = 0  # the counts the rates are made of, for their definitions on the pages
    done_on_time: int = 0
    not_cancelled: int = 0
    open: int = 0


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
        done=len(done), done_on_time=sum(bool(a.on_time) for a in done),
        not_cancelled=len(rows) - by_status["cancelled"], open=open_count,
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
    # Every review here has an approval (approval_lags); date.min only satisfies the type.
    latest = sorted(lags, key=lambda item: (item[0].approval.date if item[0].approval else dt.date.min,
                                            item[0].id))[-count:]
    return latest


def median_days(lags: list[tuple[Review, int]]) -> float | None:
    return round(statistics.median(days for _, days in lags), 1) if lags else None


def late_reviews(kb: KnowledgeBase) -> list[Review]:
    return [r for r in kb.reviews if not r.deadline_met]


def awaiting_approval(kb: KnowledgeBase) -> list[Review]:
    return [r for r in kb.reviews if r.status in ("draft", "in-review")]


@dataclass(frozen=True)
class CategorySummary:
    """One row of the root-cause index: how often a category appears and what is still open."""

    category: Category
    reviews: int
    last_seen: dt.datetime | None  # the latest resolution among its reviews
    open_actions: int


def category_summary(category: Category, reviews: tuple[Review, ...] | list[Review]) -> CategorySummary:
    return CategorySummary(category, len(reviews), max((r.resolved for r in reviews), default=None),
                           sum(r.open_action_count for r in reviews))


def per_year(reviews: tuple[Review, ...] | list[Review]) -> list[tuple[int, int]]:
    """(year, number of reviews) for every year from the first to the last, gaps as 0."""
    counts = Counter(r.year for r in reviews)
    if not counts:
        return []
    return [(year, counts.get(year, 0)) for year in range(min(counts), max(counts) + 1)]


def _quarter_key(quarter: str) -> tuple[int, int]:
    year, q = quarter.split("-Q")
    return int(year), int(q)


def quarters_between(first: str, last: str) -> list[str]:
    """Every quarter from first to last ("2024-Q3" .. "2025-Q2"), both included, oldest first."""
    (year, q), end = _quarter_key(first), _quarter_key(last)
    found = []
    while (year, q) <= end:
        found.append(f"{year}-Q{q}")
        year, q = (year + 1, 1) if q == 4 else (year, q + 1)
    return found


def per_quarter(kb: KnowledgeBase) -> list[tuple[str, int]]:
    """(quarter, reviews) for every quarter from the first review's to the last's, gaps as 0:
    a time axis shows every period."""
    counts = Counter(r.quarter for r in kb.reviews)
    if not counts:
        return []
    ordered = sorted(counts, key=_quarter_key)
    return [(q, counts.get(q, 0)) for q in quarters_between(ordered[0], ordered[-1])]


def quarters_by_year(series: list[tuple[str, int]]) -> list[tuple[int, list[int | None]]]:
    """The quarter series as rows of a year: (year, [Q1, Q2, Q3, Q4]), None outside the series."""
    values = dict(series)
    years = sorted({_quarter_key(q)[0] for q, _ in series})
    return [(year, [values.get(f"{year}-Q{n}") for n in range(1, 5)]) for year in years]


FOLD_AFTER_QUARTERS = 8
"""A category-per-quarter table over more quarters than this shows the newest year's
quarters and then one column a year, so the newest periods are never scrolled away."""


def category_quarters(kb: KnowledgeBase) -> tuple[list[str], list[tuple[str, list[int]]]]:
    """Periods (columns, newest first) and, per category, the number of reviews in each.

    Every quarter of the span is a column, gaps included; over more than
    FOLD_AFTER_QUARTERS quarters, the newest year keeps its quarters and each earlier year
    is one column ("2024").
    """
    series = per_quarter(kb)
    if not series:
        return [], []
    quarters = [q for q, _ in series]
    newest_year = _quarter_key(quarters[-1])[0]

    def period(quarter: str) -> str:
        year = _quarter_key(quarter)[0]
        return quarter if len(quarters) <= FOLD_AFTER_QUARTERS or year == newest_year else str(year)

    periods = list(dict.fromkeys(period(q) for q in reversed(quarters)))
    table: dict[str, Counter] = defaultdict(Counter)
    for review in kb.reviews:
        for category in review.root_cause.categories:
            table[category][period(review.quarter)] += 1
    rows = [(category, [table[category].get(p, 0) for p in periods]) for category in sorted(table)]
    return periods, rows


def newest_first(reviews: tuple[Review, ...] | list[Review]) -> list[Review]:
    return sorted(reviews, key=lambda r: (r.resolved, r.id), reverse=True)


# -- record format v1.1: closing the loop -----------------------------------------------------

def by_due(rows: list[ActionRow]) -> list[ActionRow]:
    """Rows by due date (earliest first), then review and action id."""
    return sorted(rows, key=lambda row: (row.action.due, row.review.id, row.action.id))


def stale_rows(rows: list[ActionRow]) -> list[ActionRow]:
    """Open actions nobody has reported on for more than STALE_AFTER_DAYS, by due date."""
    return by_due([row for row in rows if row.stale])


def failed_rows(rows: list[ActionRow]) -> list[ActionRow]:
    """Actions whose fix was checked and did not work (effectiveness.validated: false), by due date."""
    return by_due([row for row in rows if row.action.failed_validation])


@dataclass(frozen=True)
class Figure:
    """A figure that says what it counts: numerator of denominator, and what both are."""

    label: str
    numerator: int
    denominator: int
    definition: str

    @property
    def rate(self) -> float | None:
        return percent(self.numerator, self.denominator)


def effectiveness_figures(rows: list[ActionRow]) -> list[Figure]:
    """Of the done actions: validated, failed, not yet checked."""
    done = [row.action for row in rows if row.action.status == "done"]
    validated = sum(a.effectiveness is not None and a.effectiveness.validated for a in done)
    failed = sum(a.failed_validation for a in done)
    unchecked = sum(a.effectiveness is None for a in done)
    whole = len(done)
    return [
        Figure("Validated", validated, whole, "done actions whose fix was checked and worked (effectiveness.validated: true)"),
        Figure("Failed", failed, whole, "done actions whose fix was checked and did not work (effectiveness.validated: false)"),
        Figure("Not yet checked", unchecked, whole, "done actions without an effectiveness check"),
    ]


def loop_figures(rows: list[ActionRow], as_of: dt.date) -> list[Figure]:
    """What the action rows say about closing the loop: completion, on time, overdue, stale."""
    done = [row for row in rows if row.action.status == "done"]
    live = [row for row in rows if row.action.is_open]
    counted = [row for row in rows if row.action.status != "cancelled"]
    return [
        Figure("Completion", len(done), len(counted), "done actions of all actions but cancelled ones"),
        Figure("On time", sum(bool(row.action.on_time) for row in done), len(done),
               "done actions completed on or before their due date, of the done actions"),
        Figure("Overdue", sum(row.overdue for row in live), len(live),
               f"open or in-progress actions due before {as_of.isoformat()}, of the open or in-progress actions"),
        Figure("Stale", sum(row.stale for row in live), len(live),
               "open or in-progress actions with no progress for more than 30 days, of the open or in-progress actions"),
    ]


def nearest_rank(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile: the smallest value with at least `share` of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(share * len(ordered))) - 1]


@dataclass(frozen=True)
class Duration:
    """Days between two steps of the procedure, over the reviews where both happened."""

    label: str
    definition: str
    days: tuple[int, ...]

    @property
    def count(self) -> int:
        return len(self.days)

    @property
    def median(self) -> float | None:
        return round(statistics.median(self.days), 1) if self.days else None

    @property
    def p90(self) -> float | None:
        return nearest_rank(list(self.days), 0.9)


def loop_durations(kb: KnowledgeBase) -> list[Duration]:
    """Review to approval, and approval to the last action done (reviews with every action finished)."""
    to_approval = [(r.approval.date - r.review_date).days for r in kb.reviews if r.approval is not None]
    to_done = []
    for r in kb.reviews:
        finished = [a.completed for a in r.actions if a.status == "done" and a.completed]
        if r.approval is not None and finished and not r.open_actions():
            to_done.append((max(finished) - r.approval.date).days)
    return [
        Duration("Review to approval", "days from the review meeting (its UTC day) to the CISO's approval, "
                 "of the approved and closed reviews", tuple(to_approval)),
        Duration("Approval to last action done", "days from the approval to the completion of the last action, "
                 "of the approved reviews whose actions are all done or cancelled (at least one done)", tuple(to_done)),
    ]


def recurrences_per_year(kb: KnowledgeBase) -> list[tuple[int, int, int]]:
    """(year, recurrences, reviews that recurred) by the year the later incident was detected.

    A recurrence here is a review coming back in one of its categories after an earlier fix,
    counted once however many earlier fixes it came back after (kb export lists every pair)."""
    events: dict[int, set[tuple[str, str]]] = defaultdict(set)
    for item in kb.shown_recurrences:
        events[kb.by_id[item.review].detected.year].add((item.review, item.category))
    return [(year, len(events[year]), len({review for review, _ in events[year]})) for year in sorted(events)]


def with_security_steps(kb: KnowledgeBase) -> list[Review]:
    """Reviews that record immediate improvements or a security assessment, newest first."""
    return newest_first([r for r in kb.reviews if r.security_improvements or r.security_assessment])
