"""Check the whole knowledge base and index it: catalogs, ids, references, rules, backlinks.

Built in passes (as strictdoc builds its traceability index): read the catalogs, check
each record against its schema, register every review id (a duplicate names both
files), run the rules that resolve references, then build the typed model and the
backlinks both ways. Every finding of the run is returned; nothing is raised.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable

from generator import schema
from generator.cache import FileCache, RecordChecks, quiet_gc
from generator.diagnostics import Diagnostic, Result, Severity, error, sorted_diagnostics
from generator.load import SourceKB, SourceRecord, load_kb
from generator.model import Catalog, Category, Control, Framework, Review, review_from_data, slug
from generator.rules import ControlInfo, RuleContext


@dataclass(frozen=True, order=True)
class Recurrence:
    """Review `review` recurred in `category` after a fix of the earlier review `earlier`
    (record format v1.1, "Derived: recurrence"): `earlier` was detected first, shares the
    category, and has a done action with a validated fix completed before `review` was
    detected (the completion day before the detection's day as written, in its own zone)."""

    review: str
    earlier: str
    category: str


SHOWN_PER_REVIEW = 5
"""On the site a review names at most this many earlier reviews per category (the latest
ones); `kb export` carries every pair."""


def find_recurrences(reviews: tuple[Review, ...] | list[Review], *, latest: int | None = None) -> tuple[Recurrence, ...]:
    """The recurrences among these reviews, sorted: every pair the contract defines, or with
    `latest`, for each review and category only the `latest` most recent earlier reviews.

    Every pair grows with the square of a category's reviews (a category met twice a week
    for years holds millions), which is what the export promises and no page can show; the
    site asks for the latest few, which keeps a build linear in the KB.
    """
    found: list[Recurrence] = []
    by_category: dict[str, list[Review]] = defaultdict(list)
    for review in reviews:
        for category in dict.fromkeys(review.root_cause.categories):
            by_category[category].append(review)
    for category, members in by_category.items():
        # Only reviews with a validated fix can be the earlier one of a pair, latest detected last.
        fixed = sorted(((r.detected, r.id, day) for r in members if (day := r.fix_validated_on) is not None),
                       key=lambda item: (item[0], item[1]))
        if not fixed:
            continue
        detected = [item[0] for item in fixed]
        for later in members:
            day = later.detected.date()
            named = 0
            for position in range(bisect.bisect_left(detected, later.detected) - 1, -1, -1):
                _, earlier, fix_day = fixed[position]
                if fix_day < day:
                    found.append(Recurrence(later.id, earlier, category))
                    named += 1
                    if latest is not None and named >= latest:
                        break
    return tuple(sorted(found))


@dataclass(frozen=True)
class KnowledgeBase:
    """The checked knowledge base: typed reviews, catalogs and the links between them."""

    root: Path
    reviews: tuple[Review, ...]
    categories: dict[str, Category]
    frameworks: tuple[Framework, ...]
    restricted: tuple[str, ...] = ()
    files: int = 0

    @cached_property
    def by_id(self) -> dict[str, Review]:
        return {r.id: r for r in self.reviews}

    @cached_property
    def catalog(self) -> Catalog:
        return Catalog(self.categories, self.frameworks)

    @cached_property
    def controls(self) -> dict[str, Control]:
        return self.catalog.controls

    @cached_property
    def referenced_by(self) -> dict[str, tuple[str, ...]]:
        """Review id -> ids of the reviews that list it as related (the backlinks)."""
        links: dict[str, set[str]] = defaultdict(set)
        for review in self.reviews:
            for other in review.related:
                if other != review.id:
                    links[other].add(review.id)
        return {k: tuple(sorted(v)) for k, v in links.items()}

    def related_both_ways(self, review: Review) -> tuple[str, ...]:
        """Ids related to a review in either direction, sorted."""
        ids = set(review.related) | set(self.referenced_by.get(review.id, ()))
        ids.discard(review.id)
        return tuple(sorted(ids))

    @cached_property
    def replaces(self) -> dict[str, tuple[str, ...]]:
        """Control ref -> refs of the superseded controls it replaces."""
        links: dict[str, list[str]] = defaultdict(list)
        for control in self.controls.values():
            for target in control.replaced_by:
                links[target].append(control.ref)
        return {k: tuple(sorted(v)) for k, v in links.items()}

    @cached_property
    def reviews_by_category(self) -> dict[str, tuple[Review, ...]]:
        groups: dict[str, list[Review]] = defaultdict(list)
        for review in self.reviews:
            for category in review.root_cause.categories:
                groups[category].append(review)
        return {k: tuple(v) for k, v in groups.items()}

    @cached_property
    def recurrences(self) -> tuple[Recurrence, ...]:
        """Every recurrence after a validated fix among these reviews (record format v1.1; what
        `kb export` carries). Computed on the KB the audience sees (audience.view makes a new
        KnowledgeBase), so a hidden review is never one of a pair."""
        return find_recurrences(self.reviews)

    @cached_property
    def shown_recurrences(self) -> tuple[Recurrence, ...]:
        """The recurrences the site shows: per review and category the SHOWN_PER_REVIEW latest
        earlier reviews (every pair where there are no more than that)."""
        return find_recurrences(self.reviews, latest=SHOWN_PER_REVIEW)

    @cached_property
    def recurrences_of(self) -> dict[str, tuple[Recurrence, ...]]:
        """Review id -> the shown recurrences in which it is the later review."""
        return _grouped(self.shown_recurrences, lambda item: item.review)

    @cached_property
    def recurrences_from(self) -> dict[str, tuple[Recurrence, ...]]:
        """Review id -> the shown recurrences in which it is the earlier review."""
        return _grouped(self.shown_recurrences, lambda item: item.earlier)

    @cached_property
    def recurrences_in(self) -> dict[str, tuple[Recurrence, ...]]:
        """Category id -> its shown recurrences."""
        return _grouped(self.shown_recurrences, lambda item: item.category)

    @cached_property
    def reviews_by_control(self) -> dict[str, tuple[Review, ...]]:
        groups: dict[str, list[Review]] = defaultdict(list)
        for review in self.reviews:
            for ref in review.controls:
                groups[ref].append(review)
        return {k: tuple(v) for k, v in groups.items()}


def _grouped(items: tuple[Recurrence, ...], key: Callable[[Recurrence], str]) -> dict[str, tuple[Recurrence, ...]]:
    groups: dict[str, list[Recurrence]] = defaultdict(list)
    for item in items:
        groups[key(item)].append(item)
    return {k: tuple(v) for k, v in groups.items()}


# -- catalogs --------------------------------------------------------------------------

def _categories(record: SourceRecord | None, found: list[Diagnostic]) -> dict[str, Category]:
    if record is None:
        return {}
    problems = schema.check(record, "taxonomy")
    found += problems
    categories: dict[str, Category] = {}
    items = record.data.get("categories") if isinstance(record.data, dict) else None
    for index, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            continue
        cid = item["id"]
        if cid in categories:
            found.append(error(record.path, *record.at_value(("categories", index, "id")), "duplicate-id",
                               f"categories[{index}].id: category {cid!r} is defined twice", "give each category its own id"))
            continue
        categories[cid] = Category(cid, str(item.get("title", cid)), str(item.get("description", "") or ""), record.path)
    return categories


def _frameworks(record: SourceRecord | None, found: list[Diagnostic]) -> tuple[Framework, ...]:
    if record is None:
        return ()
    found += schema.check(record, "controls")
    frameworks: list[Framework] = []
    framework_slugs: dict[str, str] = {}
    items = record.data.get("frameworks") if isinstance(record.data, dict) else None
    for f_index, fw in enumerate(items if isinstance(items, list) else []):
        if not isinstance(fw, dict) or not isinstance(fw.get("id"), str):
            continue
        fid = fw["id"]
        other = framework_slugs.get(slug(fid))
        if other is not None:
            same = "is defined twice" if other == fid else f"has the same page address as {other!r} (controls/{slug(fid)}/)"
            found.append(error(record.path, *record.at_value(("frameworks", f_index, "id")), "duplicate-id",
                               f"frameworks[{f_index}].id: framework {fid!r} {same}", "give each framework its own id"))
            continue
        framework_slugs[slug(fid)] = fid
        controls: list[Control] = []
        control_slugs: dict[str, str] = {}
        entries = fw.get("controls")
        for c_index, item in enumerate(entries if isinstance(entries, list) else []):
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                continue
            cid = item["id"]
            other = control_slugs.get(slug(cid))
            if other is not None:
                same = "is defined twice" if other == cid else f"has the same page address as {other!r}"
                found.append(error(record.path, *record.at_value(("frameworks", f_index, "controls", c_index, "id")), "duplicate-id",
                                   f"frameworks[{f_index}].controls[{c_index}].id: control {fid}/{cid} {same}",
                                   "give each control its own id"))
                continue
            control_slugs[slug(cid)] = cid
            replaced_by = _refs(item.get("replaced_by"))
            controls.append(Control(fid, cid, str(item.get("title", cid)), replaced_by, record.path))
        frameworks.append(Framework(fid, str(fw.get("title", fid)), tuple(controls)))
    known = {c.ref for f in frameworks for c in f.controls}
    for f_index, fw in enumerate(items if isinstance(items, list) else []):
        for c_index, item in enumerate(fw.get("controls", []) if isinstance(fw, dict) and isinstance(fw.get("controls"), list) else []):
            targets = item.get("replaced_by") if isinstance(item, dict) else None
            listed = isinstance(targets, list)
            candidates: list[Any] = targets if isinstance(targets, list) else [targets]
            for t_index, target in enumerate(candidates):
                if isinstance(target, str) and target not in known:
                    where = ("frameworks", f_index, "controls", c_index, "replaced_by") + ((t_index,) if listed else ())
                    found.append(error(record.path, *record.at_value(where), "unknown-replacement",
                                       f"{schema.dotted(where)}: no control {target!r} in the catalog",
                                       "name the replacement as FRAMEWORK/CONTROL of a control defined in controls.yaml"))
    found += _replacement_cycles(record, items, frameworks)
    return tuple(frameworks)


def _refs(value: object) -> tuple[str, ...]:
    """replaced_by as written: one FRAMEWORK/CONTROL or a list of them (v1.1)."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(dict.fromkeys(v for v in value if isinstance(v, str)))
    return ()


def _replacement_cycles(record: SourceRecord, items: object, frameworks: list[Framework]) -> list[Diagnostic]:
    """An error on each control whose replaced_by chain comes back to itself, naming the cycle.

    A cycle would make "the control that replaces this one" endless: evidence pages and
    `kb evidence` follow these links, so the catalog must be a forest.
    """
    graph = {c.ref: c.replaced_by for f in frameworks for c in f.controls}
    where: dict[str, tuple] = {}
    for f_index, fw in enumerate(items if isinstance(items, list) else []):
        for c_index, item in enumerate(fw.get("controls", []) if isinstance(fw, dict) and isinstance(fw.get("controls"), list) else []):
            if isinstance(item, dict) and isinstance(fw.get("id"), str) and isinstance(item.get("id"), str):
                where.setdefault(f"{fw['id']}/{item['id']}", ("frameworks", f_index, "controls", c_index, "replaced_by"))
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(ref: str, path: list[str]) -> None:
        state[ref] = 1
        path.append(ref)
        for target in graph.get(ref, ()):
            if state.get(target) == 1:
                cycles.append(path[path.index(target):])
            elif target in graph and target not in state:
                visit(target, path)
        path.pop()
        state[ref] = 2

    for ref in sorted(graph):
        if ref not in state:
            visit(ref, [])
    found = []
    for cycle in cycles:
        shown = " -> ".join(cycle + [cycle[0]])
        for ref in cycle:
            found.append(error(record.path, *record.at_value(where[ref]), "replacement-cycle",
                               f"{schema.dotted(where[ref])}: {ref} is part of a replaced_by cycle: {shown}",
                               "a control is replaced by a newer one; remove the replaced_by that points back"))
    return found


# -- reviews ---------------------------------------------------------------------------

def _check_ids(records: list[SourceRecord], found: list[Diagnostic]) -> set[str]:
    """Each id equals its file stem and is unique; returns every id seen."""
    owners: dict[str, list[SourceRecord]] = defaultdict(list)
    id_pattern = schema.validator("review").schema["properties"]["id"]["pattern"]
    for record in records:
        rid = record.declared_id
        if isinstance(rid, str):
            owners[rid].append(record)
            if rid != record.stem:
                # Suggest a rename only to a well-formed id: never to a name like ../../etc/passwd.
                rename = f"rename the file to {rid}.yaml, or " if re.match(id_pattern, rid) else ""
                found.append(error(record.path, *record.at_value(("id",)), "id-mismatch",
                                   f"id: {rid!r} differs from the file name {record.path.name!r}",
                                   f"{rename}set id: {record.stem}"))
        owners_by_stem = owners.setdefault("\0stem:" + record.stem, [])
        owners_by_stem.append(record)
    for key, group in owners.items():
        if len(group) < 2:
            continue
        if key.startswith("\0") and len({str(r.declared_id) for r in group}) == 1 and isinstance(group[0].declared_id, str):
            continue  # X.yaml beside X.yml, both saying id X: the id group reports it
        for record in group:
            others = ", ".join(_shown(o.path) for o in group if o is not record)
            what = f"the id {record.declared_id!r}" if not key.startswith("\0") else f"the id {record.stem!r} (file name)"
            found.append(error(record.path, *record.at_value(("id",)), "duplicate-id",
                               f"id: {what} is also used by {others}", "every review needs its own id"))
    return {k for k in owners if not k.startswith("\0")}


def _shown(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


@dataclass(frozen=True)
class Checked:
    """What `kb validate` reports beside the findings: how many files it read."""

    root: Path
    files: int


def _check(source: SourceKB, as_of: dt.date, checks: RecordChecks) -> tuple[list[Diagnostic], list[SourceRecord],
                                                                          dict[str, Category], tuple[Framework, ...]]:
    """Every finding on what was loaded, and the review records valid enough for the model."""
    found: list[Diagnostic] = []
    categories = _categories(source.taxonomy, found)
    frameworks = _frameworks(source.controls, found)
    valid: list[SourceRecord] = []
    for record in source.reviews:
        problems = checks.schema(record)
        found += problems
        if not any(p.severity is Severity.ERROR for p in problems):
            valid.append(record)
    review_ids = _check_ids(source.reviews, found)
    context = RuleContext(
        as_of=as_of,
        categories=set(categories),
        controls={c.ref: ControlInfo(c.ref, c.replaced_by) for f in frameworks for c in f.controls},
        review_ids=review_ids,
        unparsed_ids=source.unparsed,
    )
    for record in source.reviews:
        found += checks.rules(record, context)
    return found, valid, categories, frameworks


def check_kb(source: SourceKB, *, as_of: dt.date, checks: RecordChecks | None = None) -> Result[KnowledgeBase]:
    """Run every check on what was loaded, and build the model of the valid reviews."""
    found, valid, categories, frameworks = _check(source, as_of, checks or RecordChecks())
    reviews = sorted((review_from_data(r.data, r.path) for r in valid), key=lambda r: r.id)
    kb = KnowledgeBase(root=source.root, reviews=tuple(reviews), categories=categories, frameworks=frameworks,
                       files=source.files)
    return Result(kb, sorted_diagnostics(found))


def validate(kb_dir: Path, *, as_of: dt.date) -> Result[KnowledgeBase]:
    """Load and check a KB folder, and build its model (what `kb build` publishes)."""
    with quiet_gc():
        checks = FileCache.open(kb_dir)
        source, found = load_kb(kb_dir, reader=checks.read)
        result = check_kb(source, as_of=as_of, checks=checks)
        checks.save()
    return Result(result.value, sorted_diagnostics(found + result.diagnostics))


def check(kb_dir: Path, *, as_of: dt.date) -> Result[Checked]:
    """Load and check a KB folder without building the model: the whole of `kb validate`.

    The same findings as validate(); on a warm cache the records that did not change
    are not even read.
    """
    with quiet_gc():
        checks = FileCache.open(kb_dir)
        source, found = load_kb(kb_dir, reader=checks.read)
        problems = _check(source, as_of, checks)[0]
        checks.save()
    return Result(Checked(source.root, source.files), sorted_diagnostics(found + problems))
