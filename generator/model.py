"""The knowledge base as typed, immutable objects, built from records that passed the schema."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable

from generator import dates
from generator.urls import category_url, control_url, framework_url, review_url, slug  # noqa: F401  (slug: re-exported)

from generator.procedure import (  # noqa: F401  (the value sets, re-exported for the model's users)
    ACTION_STATUSES, DEFAULT_TLP, LESSON_KINDS, OPEN_ACTION_STATUSES, RCA_METHODS, REVIEW_DEADLINES,
    REVIEW_STATUSES, SEVERITIES, STALE_AFTER_DAYS, TLP_LEVELS)


def last_heard(progress_dates: Iterable[dt.date], fallback: dt.date) -> dt.date:
    """The day an action was last heard of: its latest progress date, else `fallback`
    (the approval date, else the day the review was held)."""
    return max(progress_dates, default=fallback)


def is_stale(status: str, last: dt.date, as_of: dt.date) -> bool:
    """Whether an action of this status, last heard of on `last`, is stale on `as_of`:
    open or in progress and silent for more than STALE_AFTER_DAYS (30 days exactly is not stale)."""
    return status in OPEN_ACTION_STATUSES and (as_of - last).days > STALE_AFTER_DAYS




@dataclass(frozen=True)
class Category:
    id: str
    title: str
    description: str
    source: Path

    @property
    def url(self) -> str:
        return category_url(self.id)


@dataclass(frozen=True)
class Control:
    framework: str
    id: str
    title: str
    replaced_by: tuple[str, ...]  # empty for a current control; several when a newer version split it
    source: Path

    @property
    def ref(self) -> str:
        return f"{self.framework}/{self.id}"

    @property
    def url(self) -> str:
        return control_url(self.framework, self.id)


@dataclass(frozen=True)
class Framework:
    id: str
    title: str
    controls: tuple[Control, ...]

    @property
    def url(self) -> str:
        return framework_url(self.id)


@dataclass(frozen=True)
class Catalog:
    """The taxonomy and the control catalog: what any page may name by id."""

    categories: dict[str, Category]
    frameworks: tuple[Framework, ...]

    @cached_property
    def controls(self) -> dict[str, Control]:
        return {c.ref: c for f in self.frameworks for c in f.controls}


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    at_text: str
    event: str
    decision: bool


@dataclass(frozen=True)
class Adoption:
    """Procedure step 14: where a lesson was absorbed (v1.1 `adopted_in`)."""

    kind: str  # training | procedure | runbook | control
    ref: str
    date: dt.date | None


@dataclass(frozen=True)
class Lesson:
    id: str
    text: str
    kind: str
    tags: tuple[str, ...]
    critical: bool = False
    adopted_in: tuple[Adoption, ...] = ()


@dataclass(frozen=True)
class Progress:
    date: dt.date
    note: str


@dataclass(frozen=True)
class Effectiveness:
    validated: bool  # False: the check was made and the fix did not work
    date: dt.date | None
    note: str | None
    follow_up: tuple[str, ...] = ()  # actions of the same review that take over after a failed check


@dataclass(frozen=True)
class Action:
    id: str
    title: str
    owner: str
    due: dt.date
    success_criteria: str
    status: str
    completed: dt.date | None
    lessons: tuple[str, ...]
    progress: tuple[Progress, ...]
    effectiveness: Effectiveness | None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_ACTION_STATUSES

    def overdue(self, as_of: dt.date) -> bool:
        return self.is_open and self.due < as_of

    def last_update(self, fallback: dt.date) -> dt.date:
        """The latest progress date, else `fallback` (Review.stale_fallback)."""
        return last_heard((p.date for p in self.progress), fallback)

    def stale(self, as_of: dt.date, fallback: dt.date) -> bool:
        """Open or in progress with no news for more than STALE_AFTER_DAYS before as_of."""
        return is_stale(self.status, self.last_update(fallback), as_of)

    @property
    def failed_validation(self) -> bool:
        """The fix was checked and did not work (effectiveness.validated: false)."""
        return self.effectiveness is not None and not self.effectiveness.validated

    @property
    def validated_fix(self) -> bool:
        """Done, and its effectiveness was checked and confirmed."""
        return self.status == "done" and self.effectiveness is not None and self.effectiveness.validated

    @property
    def on_time(self) -> bool | None:
        """Whether a done action was completed by its due date (None when not done)."""
        if self.status != "done" or self.completed is None:
            return None
        return self.completed <= self.due


@dataclass(frozen=True)
class FaultNode:
    event: str
    gate: str | None
    children: tuple[FaultNode, ...]

    @property
    def depth(self) -> int:
        return 1 + max((c.depth for c in self.children), default=0)


@dataclass(frozen=True)
class RootCause:
    method: str
    categories: tuple[str, ...]
    summary: str
    five_whys: tuple[str, ...]
    fishbone: tuple[tuple[str, tuple[str, ...]], ...]
    fault_tree: FaultNode | None


@dataclass(frozen=True)
class Participant:
    name: str
    role: str | None


@dataclass(frozen=True)
class Impact:
    description: str
    users_affected: int | None
    data_exposed: bool | None
    regulatory: bool | None


@dataclass(frozen=True)
class SecurityImprovement:
    description: str
    type: str
    status: str
    owner: str | None = None
    due: dt.date | None = None


@dataclass(frozen=True)
class SecurityAssessment:
    """Procedure step 9: the need for immediate improvements was assessed."""

    date: dt.date | None
    conclusion: str


@dataclass(frozen=True)
class Approval:
    approver: str
    role: str
    date: dt.date
    action_plan: str | None = None  # approved | approved-with-changes (procedure step 11)
    resources: str | None = None
    executive_briefing: dt.date | None = None


@dataclass(frozen=True)
class Review:
    id: str
    title: str
    severity: str
    review_reasons: tuple[str, ...]
    status: str
    classification: str
    detected: dt.datetime
    resolved: dt.datetime
    services: tuple[str, ...]
    attack_vector: str | None
    held: dt.datetime
    facilitator: str
    participants: tuple[Participant, ...]
    summary: str
    impact: Impact
    timeline: tuple[TimelineEntry, ...]
    went_well: tuple[str, ...]
    to_improve: tuple[str, ...]
    root_cause: RootCause
    lessons: tuple[Lesson, ...]
    actions: tuple[Action, ...]
    security_improvements: tuple[SecurityImprovement, ...]
    security_assessment: SecurityAssessment | None
    controls: tuple[str, ...]
    approval: Approval | None
    related: tuple[str, ...]
    source: Path = field(compare=False)

    @property
    def url(self) -> str:
        return review_url(self.id)

    @property
    def review_deadline(self) -> dt.timedelta:
        return REVIEW_DEADLINES[self.severity]

    @property
    def review_lag(self) -> dt.timedelta:
        return self.held - self.resolved

    @property
    def deadline_met(self) -> bool:
        return self.review_lag <= self.review_deadline

    @property
    def year(self) -> int:
        return self.resolved.astimezone(dt.timezone.utc).year

    @property
    def quarter(self) -> str:
        when = self.resolved.astimezone(dt.timezone.utc)
        return f"{when.year}-Q{(when.month - 1) // 3 + 1}"

    @property
    def review_date(self) -> dt.date:
        """The day the review was held, in UTC: what "new since" is judged on."""
        return self.held.astimezone(dt.timezone.utc).date()

    @property
    def stale_fallback(self) -> dt.date:
        """What an action without progress was last heard of on: the approval date, else the
        day the review was held (as written, in the timestamp's own zone)."""
        return self.approval.date if self.approval is not None else dates.local_date(self.held)

    def stale_actions(self, as_of: dt.date) -> tuple[Action, ...]:
        """The open actions nobody has reported on for more than STALE_AFTER_DAYS."""
        return tuple(a for a in self.actions if a.stale(as_of, self.stale_fallback))

    @property
    def fix_validated_on(self) -> dt.date | None:
        """The earliest completion of a done action whose fix was validated (None without one):
        from that day on, the incident's root causes were believed fixed (see recurrence)."""
        return min((a.completed for a in self.actions if a.validated_fix and a.completed), default=None)

    def open_actions(self) -> tuple[Action, ...]:
        return tuple(a for a in self.actions if a.is_open)

    @property
    def open_action_count(self) -> int:
        return sum(a.is_open for a in self.actions)


def _tuple(value: Any) -> tuple:
    return tuple(value or ())


def _day(text: Any) -> dt.date:
    """A date the schema has already checked (a None here would be a bug upstream)."""
    day = dates.parse_date(text)
    if day is None:
        raise ValueError(f"{text!r} is not a date; records reach the model only after the schema check")
    return day


def _instant(text: Any) -> dt.datetime:
    """A timestamp the schema has already checked."""
    instant = dates.parse_timestamp(text)
    if instant is None:
        raise ValueError(f"{text!r} is not a timestamp; records reach the model only after the schema check")
    return instant


def _date(text: Any) -> dt.date | None:
    return dates.parse_date(text) if text is not None else None


def _fault(node: dict) -> FaultNode:
    return FaultNode(event=node["event"], gate=node.get("gate"),
                     children=tuple(_fault(child) for child in node.get("children", ())))


def _lesson(item: dict) -> Lesson:
    return Lesson(item["id"], item["text"], item["kind"], _tuple(item.get("tags")), bool(item.get("critical", False)),
                  tuple(Adoption(a["kind"], a["ref"], _date(a.get("date"))) for a in item.get("adopted_in", ())))


def _effectiveness(item: dict | None) -> Effectiveness | None:
    if not item:
        return None
    return Effectiveness(item["validated"], _date(item.get("date")), item.get("note"), _tuple(item.get("follow_up")))


def _approval(item: dict) -> Approval:
    return Approval(item["approver"], item["role"], _day(item["date"]), item.get("action_plan"),
                    item.get("resources"), _date(item.get("executive_briefing")))


def review_from_data(data: dict, source: Path) -> Review:
    """Build a Review from data that passed the review schema."""
    incident, meeting, impact, rc = data["incident"], data["review"], data["impact"], data["root_cause"]
    approval, assessment = data.get("approval"), data.get("security_assessment")
    return Review(
        id=data["id"],
        title=data["title"],
        severity=data["severity"],
        review_reasons=_tuple(data.get("review_reasons")),
        status=data["status"],
        classification=data.get("classification", DEFAULT_TLP),
        detected=_instant(incident["detected"]),
        resolved=_instant(incident["resolved"]),
        services=_tuple(incident.get("services")),
        attack_vector=incident.get("attack_vector"),
        held=_instant(meeting["held"]),
        facilitator=meeting["facilitator"],
        participants=tuple(Participant(p["name"], p.get("role")) for p in meeting.get("participants", ())),
        summary=data["summary"],
        impact=Impact(impact["description"], impact.get("users_affected"), impact.get("data_exposed"), impact.get("regulatory")),
        timeline=tuple(TimelineEntry(_instant(e["at"]), e["at"], e["event"], bool(e.get("decision", False)))
                       for e in data["timeline"]),
        went_well=_tuple(data.get("went_well")),
        to_improve=_tuple(data.get("to_improve")),
        root_cause=RootCause(
            method=rc["method"],
            categories=_tuple(rc["categories"]),
            summary=rc["summary"],
            five_whys=_tuple(rc.get("five_whys")),
            fishbone=tuple((group, tuple(causes)) for group, causes in (rc.get("fishbone") or {}).items()),
            fault_tree=_fault(rc["fault_tree"]) if rc.get("fault_tree") else None,
        ),
        lessons=tuple(_lesson(item) for item in data["lessons"]),
        actions=tuple(
            Action(
                id=a["id"], title=a["title"], owner=a["owner"], due=_day(a["due"]),
                success_criteria=a["success_criteria"], status=a["status"], completed=_date(a.get("completed")),
                lessons=_tuple(a.get("lessons")),
                progress=tuple(Progress(_day(p["date"]), p["note"]) for p in a.get("progress", ())),
                effectiveness=_effectiveness(a.get("effectiveness")),
            )
            for a in data["actions"]
        ),
        security_improvements=tuple(SecurityImprovement(s["description"], s["type"], s["status"], s.get("owner"),
                                                        _date(s.get("due")))
                                    for s in data.get("security_improvements", ())),
        security_assessment=(SecurityAssessment(_date(assessment.get("date")), assessment["conclusion"])
                             if assessment else None),
        controls=_tuple(data.get("controls")),
        approval=_approval(approval) if approval else None,
        related=_tuple(data.get("related")),
        source=source,
    )
