"""The review procedure's rules beyond the schema, one small function per rule id.

Rules read the raw record data defensively (a field of the wrong type is the schema's
finding, not a crash here), so a record with a schema error still gets every other
finding in the same run.
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from generator import dates
from generator.diagnostics import Diagnostic, error, warning
from generator.load import SourceRecord

REVIEW_DEADLINES = {"P1": dt.timedelta(hours=72), "P2": dt.timedelta(hours=72), "P3": dt.timedelta(days=7)}
OPEN_ACTION_STATUSES = ("open", "in-progress")
REQUIRED_APPROVER_ROLE = "CISO"


@dataclass(frozen=True)
class ControlInfo:
    """What the rules need to know of a cataloged control."""

    ref: str
    replaced_by: tuple[str, ...] = ()


@dataclass
class RuleContext:
    """The KB-wide facts the per-review rules consult."""

    as_of: dt.date
    categories: set[str] = field(default_factory=set)
    controls: dict[str, ControlInfo] = field(default_factory=dict)
    review_ids: set[str] = field(default_factory=set)
    unparsed_ids: frozenset[str] = frozenset()  # records whose file exists but has its own YAML error


Rule = Callable[[SourceRecord, RuleContext], Iterable[Diagnostic]]
RULES: dict[str, Rule] = {}


def rule(rule_id: str) -> Callable[[Rule], Rule]:
    """Register a rule function under its stable id."""

    def register(function: Rule) -> Rule:
        RULES[rule_id] = function
        return function

    return register


def run_rules(record: SourceRecord, context: RuleContext) -> list[Diagnostic]:
    """Every rule's findings for one review record."""
    found: list[Diagnostic] = []
    for function in RULES.values():
        found.extend(function(record, context))
    return found


# -- defensive access to raw data ------------------------------------------------------

def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _items(data: Any, key: str) -> Iterator[tuple[int, dict]]:
    """(index, mapping) for each mapping in the list at key."""
    value = _get(data, key)
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict):
                yield index, item


def _strings(data: Any, *keys: str) -> Iterator[tuple[int, str]]:
    value = _get(data, *keys)
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, str):
                yield index, item


def suggest(value: str, known: Iterable[str]) -> str:
    known = sorted(known)
    close = difflib.get_close_matches(value, known, n=3, cutoff=0.6)
    if close:
        return "did you mean " + " or ".join(repr(c) for c in close) + "?"
    if not known:
        return "none is defined yet"
    shown = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
    return f"known ones: {shown}"


# -- references ------------------------------------------------------------------------

@rule("unknown-category")
def unknown_category(record: SourceRecord, ctx: RuleContext) -> Iterator[Diagnostic]:
    for index, category in _strings(record.data, "root_cause", "categories"):
        if category not in ctx.categories:
            yield error(record.path, *record.at_value(("root_cause", "categories", index)), "unknown-category",
                        f"root_cause.categories[{index}]: unknown category {category!r}",
                        suggest(category, ctx.categories) + " (categories are defined in taxonomy.yaml)")


@rule("unknown-control")
def unknown_control(record: SourceRecord, ctx: RuleContext) -> Iterator[Diagnostic]:
    for index, ref in _strings(record.data, "controls"):
        if ref not in ctx.controls:
            yield error(record.path, *record.at_value(("controls", index)), "unknown-control",
                        f"controls[{index}]: unknown control {ref!r}",
                        suggest(ref, ctx.controls) + " (controls are defined in controls.yaml)")


@rule("superseded-control")
def superseded_control(record: SourceRecord, ctx: RuleContext) -> Iterator[Diagnostic]:
    for index, ref in _strings(record.data, "controls"):
        info = ctx.controls.get(ref)
        if info is not None and info.replaced_by:
            replacements = " and ".join(info.replaced_by)
            yield warning(record.path, *record.at_value(("controls", index)), "superseded-control",
                          f"controls[{index}]: {ref} is superseded by {replacements}",
                          f"cite {replacements} instead" if len(info.replaced_by) == 1
                          else f"cite whichever of {', '.join(info.replaced_by)} applies (or both)")


@rule("unknown-related")
def unknown_related(record: SourceRecord, ctx: RuleContext) -> Iterator[Diagnostic]:
    own = _get(record.data, "id")
    for index, other in _strings(record.data, "related"):
        if other == own:
            yield warning(record.path, *record.at_value(("related", index)), "related-self", f"related[{index}]: the review lists itself as related",
                          "remove it: related names other reviews")
        elif other not in ctx.review_ids and other not in ctx.unparsed_ids:
            # A reference to a record that failed to parse is not unknown: that file's own
            # error is the one to fix.
            # Positions are worked out only for a finding: a clean record never pays for them.
            yield error(record.path, *record.at_value(("related", index)), "unknown-related", f"related[{index}]: no review has the id {other!r}",
                        suggest(other, ctx.review_ids - {own}))


@rule("unknown-lesson")
def unknown_lesson(record: SourceRecord, ctx: RuleContext) -> Iterator[Diagnostic]:
    lessons = {item["id"] for _, item in _items(record.data, "lessons") if isinstance(item.get("id"), str)}
    for index, action in _items(record.data, "actions"):
        for position, lesson in _strings(action, "lessons"):
            if lesson not in lessons:
                yield error(record.path, *record.at_value(("actions", index, "lessons", position)), "unknown-lesson",
                            f"actions[{index}].lessons[{position}]: this review has no lesson {lesson!r}",
                            suggest(lesson, lessons))


@rule("duplicate-item-id")
def duplicate_item_id(record: SourceRecord, ctx: RuleContext) -> Iterator[Diagnostic]:
    for key, noun in (("lessons", "lesson"), ("actions", "action")):
        seen: dict[str, int] = {}
        for index, item in _items(record.data, key):
            item_id = item.get("id")
            if not isinstance(item_id, str):
                continue
            if item_id in seen:
                first_line = record.at_value((key, seen[item_id], "id"))[0]
                yield error(record.path, *record.at_value((key, index, "id")), "duplicate-item-id",
                            f"{key}[{index}].id: {noun} id {item_id!r} is used twice in this review (first on line {first_line})",
                            f"give each {noun} its own id")
            else:
                seen[item_id] = index


# -- the procedure ---------------------------------------------------------------------

@rule("closed-open-action")
def closed_open_action(record: SourceRecord, ctx: RuleContext) -> Iterator[Diagnostic]:
    if _get(record.data, "status") != "closed":
        return
    for index, action in _items(record.data, "actions"):
        if action.get("status") in OPEN_ACTION_STATUSES:
            yield error(record.path, *record.at_value(("actions", index, "status")), "closed-open-action",
                        f"actions[{index}].status: the review is closed while action {action.get('id', index)} is {action['status']}",
                        "finish or cancel the action, or set the review back to approved")


@rule("timeline-order")
def timeline_order(record: SourceRecord, ctx: RuleContext) -> Iterator[Diagnostic]:
    previous: dt.datetime | None = None
    for index, entry in _items(record.data, "timeline"):
        at = dates.parse_timestamp(entry.get("at"))
        if at is None:
            continue
        if previous is not None and at < previous:
            yield error(record.path, *record.at_value(("timeline", index, "at")), "timeline-order",
                        f"timeline[{index}].at: {entry['at']} is earlier than the entry before it",
                        "list the timeline in chronological order (timestamps are compared as instants, zones included)")
            return
        previous = at


@rule("resolved-before-detected")
def resolved_before_detected(record: SourceRecord, ctx: RuleContext) -> Iterator[Diagnostic]:
    detected = dates.parse_timestamp(_get(record.data, "incident", "detected"))
    resolved = dates.parse_timestamp(_get(record.data, "incident", "resolved"))
    if detected and resolved and resolved < detected:
        yield error(record.path, *record.at_value(("incident", "resolved")), "resolved-before-detected",
                    "incident.resolved: the incident is resolved before it was detected",
                    "check both timestamps and their zones")


@rule("review-deadline")
def review_deadline(record: SourceRecord, ctx: RuleContext) -> Iterator[Diagnostic]:
    severity = _get(record.data, "severity")
    limit = REVIEW_DEADLINES.get(severity) if isinstance(severity, str) else None
    resolved = dates.parse_timestamp(_get(record.data, "incident", "resolved"))
    held = dates.parse_timestamp(_get(record.data, "review", "held"))
    if limit and resolved and held and held - resolved > limit:
        late = held - resolved
        shown = "72 hours" if limit == dt.timedelta(hours=72) else "7 days"
        yield warning(record.path, *record.at_value(("review", "held")), "review-deadline",
                      f"review.held: a {severity} review is due within {shown} of resolution; this one was held "
                      f"{_duration(late)} after it",
                      "record why in the summary; the procedure asks the Incident Response Manager to schedule it in time")


def _duration(delta: dt.timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.0f} hours" if hours < 72 else f"{hours / 24:.1f} days"


def _days(delta: dt.timedelta) -> str:
    return f"{delta.days} day{'' if delta.days == 1 else 's'}"


@rule("overdue-action")
def overdue_action(record: SourceRecord, ctx: RuleContext) -> Iterator[Diagnostic]:
    for index, action in _items(record.data, "actions"):
        due = dates.parse_date(action.get("due"))
        if action.get("status") in OPEN_ACTION_STATUSES and due is not None and due < ctx.as_of:
            yield warning(record.path, *record.at_value(("actions", index, "due")), "overdue-action",
                          f"actions[{index}].due: action {action.get('id', index)} ({action['status']}) was due {due.isoformat()}, "
                          f"{_days(ctx.as_of - due)} before {ctx.as_of.isoformat()}",
                          "finish it, or agree a new due date with the Incident Response Manager and record it in progress")


@rule("approver-role")
def approver_role(record: SourceRecord, ctx: RuleContext) -> Iterator[Diagnostic]:
    role = _get(record.data, "approval", "role")
    if isinstance(role, str) and role.strip().upper() != REQUIRED_APPROVER_ROLE:
        yield warning(record.path, *record.at_value(("approval", "role")), "approver-role",
                      f"approval.role: the procedure has the CISO approve reviews, not {role!r}",
                      "have the CISO approve, or note in the summary who approved on the CISO's behalf")
