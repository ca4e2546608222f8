"""The review procedure's rules beyond the schema, one small function per rule id.

Rules read the raw record data defensively (a field of the wrong type is the schema's
finding, not a crash here), so a record with a schema error still gets every other
finding in the same run.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from generator import blame, dates, schema
from generator.diagnostics import Diagnostic, error, warning
from generator.load import JsonPath, SourceRecord
from generator.model import is_stale, last_heard
from generator.procedure import OPEN_ACTION_STATUSES, REQUIRED_APPROVER_ROLE, REVIEW_DEADLINES, STALE_AFTER_DAYS



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


# -- record format v1.1: closing the learning loop ----------------------------------------

PAST_DRAFT = ("in-review", "approved", "closed")
APPROVED = ("approved", "closed")


@rule("security-assessment-missing")
def security_assessment_missing(record: SourceRecord, ctx: RuleContext) -> Iterator[Diagnostic]:
    # An empty security_improvements list records nothing, so it counts as absent.
    if _get(record.data, "status") in PAST_DRAFT and not _get(record.data, "security_improvements") \
            and _get(record.data, "security_assessment") is None:
        yield warning(record.path, 1, 1, "security-assessment-missing",
                      "the review has neither security_improvements nor security_assessment: procedure step 9 "
                      "(assess the need for immediate improvements or emergency patches) is not recorded",
                      "list the immediate improvements in security_improvements, or record security_assessment "
                      "{date, conclusion} saying none was needed")


@rule("executive-briefing-missing")
def executive_briefing_missing(record: SourceRecord, ctx: RuleContext) -> Iterator[Diagnostic]:
    approval = _get(record.data, "approval")
    if _get(record.data, "status") not in APPROVED or not isinstance(approval, dict):
        return
    critical = [str(item.get("id", index)) for index, item in _items(record.data, "lessons") if item.get("critical") is True]
    if critical and approval.get("executive_briefing") is None:
        yield warning(record.path, *record.at_key(("approval",)), "executive-briefing-missing",
                      f"approval: lesson{'s' if len(critical) > 1 else ''} {', '.join(critical)} "
                      f"{'are' if len(critical) > 1 else 'is'} critical, but no executive briefing is recorded",
                      "once the CISO has made the executives aware of the critical findings (procedure step 11), "
                      "record the day as approval.executive_briefing")


def _held_day(data: Any) -> dt.date | None:
    held = dates.parse_timestamp(_get(data, "review", "held"))
    return dates.local_date(held) if held else None


@rule("stale-action")
def stale_action(record: SourceRecord, ctx: RuleContext) -> Iterator[Diagnostic]:
    approved = dates.parse_date(_get(record.data, "approval", "date"))
    fallback = approved or _held_day(record.data)
    source = "approval" if approved else "review meeting"
    for index, action in _items(record.data, "actions"):
        if action.get("status") not in OPEN_ACTION_STATUSES:
            continue
        progress = [d for _, p in _items(action, "progress") if (d := dates.parse_date(p.get("date"))) is not None]
        if not progress and fallback is None:
            continue
        last = last_heard(progress, fallback or dt.date.min)
        if is_stale(action["status"], last, ctx.as_of):
            since = "last progress" if progress else source
            yield warning(record.path, *record.at_value(("actions", index, "status")), "stale-action",
                          f"actions[{index}].status: action {action.get('id', index)} is {action['status']} with no news "
                          f"for {_days(ctx.as_of - last)} ({since} {last.isoformat()}; more than {STALE_AFTER_DAYS} days "
                          f"before {ctx.as_of.isoformat()})",
                          "the action owner adds a progress entry {date, note}, or the action is marked done or cancelled")


@rule("effectiveness-missing")
def effectiveness_missing(record: SourceRecord, ctx: RuleContext) -> Iterator[Diagnostic]:
    if _get(record.data, "status") != "closed":
        return
    for index, action in _items(record.data, "actions"):
        if action.get("status") == "done" and action.get("effectiveness") is None:
            yield warning(record.path, *record.at_value(("actions", index, "status")), "effectiveness-missing",
                          f"actions[{index}].status: the review is closed but done action {action.get('id', index)} "
                          "has no effectiveness check",
                          "the Incident Response Manager validates that the fix worked and records effectiveness "
                          "{validated, date, note}, or sets the review back to approved until then")


@rule("effectiveness-failed")
def effectiveness_failed(record: SourceRecord, ctx: RuleContext) -> Iterator[Diagnostic]:
    for index, action in _items(record.data, "actions"):
        check = action.get("effectiveness")
        if isinstance(check, dict) and check.get("validated") is False and not check.get("follow_up"):
            yield warning(record.path, *record.at_value(("actions", index, "effectiveness", "validated")),
                          "effectiveness-failed",
                          f"actions[{index}].effectiveness.validated: the fix of action {action.get('id', index)} did "
                          "not work and no action takes over",
                          "add an action for the next attempt and name it in effectiveness.follow_up")


@rule("unknown-action")
def unknown_action(record: SourceRecord, ctx: RuleContext) -> Iterator[Diagnostic]:
    actions = {item["id"] for _, item in _items(record.data, "actions") if isinstance(item.get("id"), str)}
    for index, action in _items(record.data, "actions"):
        for position, other in _strings(action, "effectiveness", "follow_up"):
            if other not in actions:
                yield error(record.path, *record.at_value(("actions", index, "effectiveness", "follow_up", position)),
                            "unknown-action",
                            f"actions[{index}].effectiveness.follow_up[{position}]: this review has no action {other!r}",
                            suggest(other, actions) + " (follow_up names actions of this review; add the action first)")


@rule("date-order")
def date_order(record: SourceRecord, ctx: RuleContext) -> Iterator[Diagnostic]:
    # Timestamps are reduced to their day as written, in their own zone (dates.local_date):
    # a date on the same day as the timestamp is never "before" it.
    detected_at = dates.parse_timestamp(_get(record.data, "incident", "detected"))
    detected = dates.local_date(detected_at) if detected_at else None
    hint = "check the date: it cannot come before the event it follows"
    for index, action in _items(record.data, "actions"):
        name = action.get("id", index)
        completed = dates.parse_date(action.get("completed"))
        if detected and completed and completed < detected:
            yield warning(record.path, *record.at_value(("actions", index, "completed")), "date-order",
                          f"actions[{index}].completed: action {name} is completed on {completed.isoformat()}, before "
                          f"the incident was detected ({detected.isoformat()})", hint)
        for position, entry in _items(action, "progress"):
            day = dates.parse_date(entry.get("date"))
            if detected and day and day < detected:
                yield warning(record.path, *record.at_value(("actions", index, "progress", position, "date")), "date-order",
                              f"actions[{index}].progress[{position}].date: {day.isoformat()} is before the incident "
                              f"was detected ({detected.isoformat()})", hint)
        checked = dates.parse_date(_get(action, "effectiveness", "date"))
        where = ("actions", index, "effectiveness", "date")
        if detected and checked and checked < detected:
            yield warning(record.path, *record.at_value(where), "date-order",
                          f"actions[{index}].effectiveness.date: {checked.isoformat()} is before the incident was "
                          f"detected ({detected.isoformat()})", hint)
        elif completed and checked and checked < completed:
            yield warning(record.path, *record.at_value(where), "date-order",
                          f"actions[{index}].effectiveness.date: the fix of action {name} is validated on "
                          f"{checked.isoformat()}, before it was completed ({completed.isoformat()})",
                          "validate a fix once it is done: check both dates")
    approved = dates.parse_date(_get(record.data, "approval", "date"))
    held = _held_day(record.data)
    if approved and held and approved < held:
        yield warning(record.path, *record.at_value(("approval", "date")), "date-order",
                      f"approval.date: the review is approved on {approved.isoformat()}, before the review meeting "
                      f"({held.isoformat()})", "the CISO approves after the review is held: check both dates")


BLAME_EXEMPTION = re.compile(r"#\s*kb:\s*allow\s+blame-language\s*$")
"""The comment that ends a source line to exempt findings on that line from blame-language."""


def free_texts(data: Any) -> Iterator[tuple[JsonPath, str]]:
    """(path, text) of every free-text string of a review (the contract's list, v1 and v1.1)."""
    for key in ("summary",):
        if isinstance(data.get(key), str):
            yield (key,), data[key]
    for path in (("impact", "description"), ("root_cause", "summary"), ("security_assessment", "conclusion"),
                 ("approval", "resources")):
        if isinstance(value := _get(data, *path), str):
            yield path, value
    for key in ("went_well", "to_improve"):
        for index, text in _strings(data, key):
            yield (key, index), text
    for index, text in _strings(data, "root_cause", "five_whys"):
        yield ("root_cause", "five_whys", index), text
    groups = _get(data, "root_cause", "fishbone")
    for group, causes in (groups.items() if isinstance(groups, dict) else ()):
        for index, text in enumerate(causes if isinstance(causes, list) else ()):
            if isinstance(text, str):
                yield ("root_cause", "fishbone", group, index), text
    for index, entry in _items(data, "timeline"):
        if isinstance(entry.get("event"), str):
            yield ("timeline", index, "event"), entry["event"]
    for index, lesson in _items(data, "lessons"):
        if isinstance(lesson.get("text"), str):
            yield ("lessons", index, "text"), lesson["text"]
    for index, action in _items(data, "actions"):
        if isinstance(action.get("success_criteria"), str):
            yield ("actions", index, "success_criteria"), action["success_criteria"]
        for position, entry in _items(action, "progress"):
            if isinstance(entry.get("note"), str):
                yield ("actions", index, "progress", position, "note"), entry["note"]
        if isinstance(note := _get(action, "effectiveness", "note"), str):
            yield ("actions", index, "effectiveness", "note"), note
    for index, item in _items(data, "security_improvements"):
        if isinstance(item.get("description"), str):
            yield ("security_improvements", index, "description"), item["description"]


def _people(data: Any) -> list[str]:
    names = [_get(data, "review", "facilitator")]
    names += [p.get("name") for _, p in _items(_get(data, "review"), "participants")]
    return [n for n in names if isinstance(n, str)]


def _blame_line(record: SourceRecord, path: JsonPath, phrase: str) -> tuple[int, int, int]:
    """(line, col, exempting line) of a finding: the value; inside a block scalar (| or >),
    the line of the block holding the phrase. The exempting line is the value's first line
    (for a block scalar the key's line: a comment cannot sit inside the block, so the one
    on the key's line exempts the whole block)."""
    line, col = record.at_value(path)
    lines = record.text.splitlines()
    if not 0 < line <= len(lines) or lines[line - 1][col - 1:col] not in ("|", ">"):
        return line, col, line
    first = phrase.split()[0].casefold()
    indent = None
    for number in range(line + 1, len(lines) + 1):
        text = lines[number - 1]
        if not text.strip():
            continue
        here = len(text) - len(text.lstrip())
        if indent is None:
            indent = here
        if here < indent:
            break
        if first in text.casefold():
            return number, here + 1, line
    return line, col, line


@rule("blame-language")
def blame_language(record: SourceRecord, ctx: RuleContext) -> Iterator[Diagnostic]:
    if not isinstance(record.data, dict):
        return
    people = blame.people(_people(record.data))
    lines: list[str] | None = None
    for path, text in free_texts(record.data):
        for finding in blame.find(text, people):
            line, col, own = _blame_line(record, path, finding.phrase)
            lines = lines if lines is not None else record.text.splitlines()
            if any(0 < n <= len(lines) and BLAME_EXEMPTION.search(lines[n - 1]) for n in {line, own}):
                continue
            yield warning(record.path, line, col, "blame-language",
                          f"{schema.dotted(path)}: {printable_phrase(finding.phrase)!r} names a person as the cause",
                          "describe what the system and the process allowed, not who erred (the review is for "
                          "learning, not blame); if the words are quoted or not about a person, end the line with "
                          "# kb: allow blame-language")
            break  # one finding a value: the first phrase not exempted


def printable_phrase(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."
