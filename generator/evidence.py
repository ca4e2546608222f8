"""Evidence for a control: the reviews that cite it, or a control it replaces, across versions.

An auditor checking ISO27001-2022/A.5.27 accepts a review that cited the superseded
ISO27001-2013/A.16.1.6 as evidence for it: the catalog's `replaced_by` links say so. This
module works out, for one control, every control it replaces (transitively, a `replaced_by`
may name several successors), the reviews citing any of them ("cited as"), which of those
count as evidence (approved and closed) and which are pending (draft, in review), and the
git history of each record. The control pages, the coverage table (`controls/`) and
`kb evidence` all use `control_evidence`, so the site and the document always agree.

No click here: the CLI parses, calls `evidence_pack`, prints and exits.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.audience import RESTRICTED_LEVELS, is_published
from generator.index import KnowledgeBase
from generator.model import Action, Control, Review, TLP_LEVELS
from generator.rules import suggest

EVIDENCE_STATUSES = frozenset({"approved", "closed"})
"""Review statuses an auditor may accept as evidence: the CISO approved the review."""

GIT_TIMEOUT_SECONDS = 30


class EvidenceError(Exception):
    """A control reference the catalog does not hold (the CLI reports it and exits 1)."""


@dataclass(frozen=True)
class Citation:
    """A review citing a control of the closure: which refs it cited it as."""

    review: Review
    cited_as: tuple[str, ...]

    @property
    def is_evidence(self) -> bool:
        return self.review.status in EVIDENCE_STATUSES

    @property
    def evidence_date(self) -> tuple[dt.date, str]:
        """The day the review became evidence: its approval date, else (no approval
        recorded) the day it was held; with the word saying which."""
        if self.review.approval is not None:
            return self.review.approval.date, "approved"
        return self.review.review_date, "held"


@dataclass(frozen=True)
class Coverage:
    """The figures of a control's evidence, without the reviews: what controls/ shows and
    what every page of a control repeats (small, so a page's render-cache key stays small)."""

    count: int
    pending_count: int
    latest: tuple[dt.date, str] | None
    replaces: tuple[str, ...]


@dataclass(frozen=True)
class ControlEvidence:
    """What the catalog and the reviews say about one control."""

    control: Control
    replaces: tuple[str, ...]  # refs of the superseded controls it replaces, transitively
    evidence: tuple[Citation, ...]  # approved and closed reviews, newest first
    pending: tuple[Citation, ...]  # draft and in-review ones, newest first

    @property
    def count(self) -> int:
        return len(self.evidence)

    @property
    def latest(self) -> tuple[dt.date, str] | None:
        """The latest evidence date and what it is ("approved" or "held"); None without evidence."""
        return max((c.evidence_date for c in self.evidence), default=None)

    @property
    def pending_count(self) -> int:
        return len(self.pending)

    @property
    def coverage(self) -> Coverage:
        return Coverage(self.count, self.pending_count, self.latest, self.replaces)

    @property
    def citations(self) -> tuple[Citation, ...]:
        """Evidence first, then pending: the order a control page lists them in."""
        return self.evidence + self.pending


def replaced_controls(kb: KnowledgeBase, ref: str) -> tuple[str, ...]:
    """Every control `ref` replaces, directly or through older versions, sorted.

    The catalog is checked for replacement cycles (an error); the visited set keeps a
    KB with such an error from looping here all the same.
    """
    seen: set[str] = set()
    todo = list(kb.replaces.get(ref, ()))
    while todo:
        older = todo.pop()
        if older in seen or older == ref:
            continue
        seen.add(older)
        todo.extend(kb.replaces.get(older, ()))
    return tuple(sorted(seen))


def _newest_first(citations: list[Citation]) -> tuple[Citation, ...]:
    return tuple(sorted(citations, key=lambda c: (c.review.held, c.review.id), reverse=True))


def control_evidence(kb: KnowledgeBase, control: Control, *, reviews: tuple[Review, ...] | None = None) -> ControlEvidence:
    """The evidence for a control in this KB view (pages pass the audience's view).

    `reviews` narrows the candidates (kb evidence passes those held in the audit period).
    """
    replaces = replaced_controls(kb, control.ref)
    closure = (control.ref, *replaces)
    allowed = None if reviews is None else {r.id for r in reviews}
    found: dict[str, Citation] = {}
    for ref in closure:
        for review in kb.reviews_by_control.get(ref, ()):
            if review.id in found or (allowed is not None and review.id not in allowed):
                continue
            found[review.id] = Citation(review, tuple(r for r in dict.fromkeys(review.controls) if r in closure))
    citations = list(found.values())
    return ControlEvidence(control, replaces, _newest_first([c for c in citations if c.is_evidence]),
                           _newest_first([c for c in citations if not c.is_evidence]))


def coverage(kb: KnowledgeBase) -> dict[str, ControlEvidence]:
    """Control ref -> its evidence, for every control of the catalog (the `controls/` table)."""
    return {control.ref: control_evidence(kb, control) for control in kb.controls.values()}


def resolve(kb: KnowledgeBase, ref: str) -> Control:
    """The catalog's control for a reference typed by a user: exact, else case-insensitive
    when that names one control; otherwise an EvidenceError suggesting the closest."""
    if ref in kb.controls:
        return kb.controls[ref]
    folded = [c for r, c in kb.controls.items() if r.casefold() == ref.casefold()]
    if len(folded) == 1:
        return folded[0]
    if len(folded) > 1:
        raise EvidenceError(f"{ref!r} matches several controls when case is ignored: "
                            + ", ".join(sorted(c.ref for c in folded)) + "; write it exactly")
    raise EvidenceError(f"no control {ref!r} in the catalog; {suggest(ref, kb.controls)} "
                        "(controls are FRAMEWORK/CONTROL as defined in controls.yaml)")


# -- git history ------------------------------------------------------------------------

_FIELD, _RECORD = "\x1f", "\x1e"
_GIT_FORMAT = f"%H{_FIELD}%an{_FIELD}%ae{_FIELD}%aI{_FIELD}%s{_RECORD}"


def _git_env() -> dict[str, str]:
    """The environment git runs in: the user's config (aliases, pagers, log formats,
    signature display) and inherited GIT_* variables (a hook's GIT_DIR) cannot change
    what is read; the locale and the output encoding are fixed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, GIT_TERMINAL_PROMPT="0",
               GIT_PAGER="cat", PAGER="cat", LC_ALL="C", LANGUAGE="C")
    return env


def history(path: Path) -> list[dict[str, str]]:
    """The commits that changed a record file, newest first (`git log --follow`).

    Empty, never an error, when git is missing, the file is not in a git repository,
    has never been committed, or git fails for another reason (an unsafe directory).
    """
    folder = path.resolve().parent
    command = ["git", "--no-pager", "-c", "log.showSignature=false", "-c", "i18n.logOutputEncoding=UTF-8",
               "-c", "core.quotePath=false", "log", "--follow", "--no-color", "--no-show-signature",
               "--no-decorate", "--no-abbrev-commit", f"--format={_GIT_FORMAT}", "--", path.name]
    try:
        done = subprocess.run(command, cwd=folder, env=_git_env(), capture_output=True, timeout=GIT_TIMEOUT_SECONDS,
                              stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.SubprocessError):
        return []
    if done.returncode != 0:
        return []
    commits = []
    for entry in done.stdout.decode("utf-8", errors="replace").split(_RECORD):
        parts = entry.strip("\n").split(_FIELD)
        if len(parts) == 5:
            commit, author, email, date, subject = parts
            commits.append({"commit": commit, "author": author, "email": email, "date": date, "subject": subject})
    return commits


# -- the evidence pack ------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    """The audit period: reviews held from `start` to `end`, both inclusive (None: open)."""

    start: dt.date | None = None
    end: dt.date | None = None

    def holds(self, review: Review) -> bool:
        day = review.review_date
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class EvidencePack:
    """One control's evidence over an audit period, for one audience."""

    evidence: ControlEvidence
    period: Period
    audience: str
    as_of: dt.date
    restricted: tuple[str, ...]  # TLP:RED reviews citing the control in the period: ids only
    histories: dict[str, list[dict[str, str]]]

    @property
    def label(self) -> str | None:
        """The strictest TLP label of the reviews whose content the pack holds."""
        levels = [TLP_LEVELS.index(c.review.classification) for c in self.evidence.citations]
        return TLP_LEVELS[max(levels)] if levels else None


def evidence_pack(kb: KnowledgeBase, ref: str, *, period: Period, audience: str, as_of: dt.date,
                  with_history: bool = True) -> EvidencePack:
    """The evidence pack for one control: `kb` is the whole checked KB (not a view), so
    that TLP:RED reviews can be named as restricted ids under the internal audience."""
    control = resolve(kb, ref)
    in_period = tuple(r for r in kb.reviews if period.holds(r))
    shown = tuple(r for r in in_period if is_published(r, audience))
    found = control_evidence(kb, control, reviews=shown)
    restricted: tuple[str, ...] = ()
    if audience != "public":
        red = tuple(r for r in in_period if r.classification in RESTRICTED_LEVELS)
        restricted = tuple(sorted(c.review.id for c in control_evidence(kb, control, reviews=red).citations))
    histories = {c.review.id: (history(c.review.source) if with_history else []) for c in found.citations}
    return EvidencePack(found, period, audience, as_of, restricted, histories)


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _action(action: Action, as_of: dt.date) -> dict[str, Any]:
    check = action.effectiveness
    return {
        "id": action.id, "title": action.title, "owner": action.owner, "due": action.due.isoformat(),
        "status": action.status, "completed": _iso(action.completed), "overdue": action.overdue(as_of),
        "success_criteria": action.success_criteria,
        "effectiveness": None if check is None else {
            "validated": check.validated, "date": _iso(check.date), "note": check.note,
            "follow_up": list(check.follow_up)},
    }


def _review(citation: Citation, pack: EvidencePack) -> dict[str, Any]:
    review, approval = citation.review, citation.review.approval
    return {
        "id": review.id, "title": review.title, "severity": review.severity, "status": review.status,
        "classification": review.classification, "cited_as": list(citation.cited_as),
        "held": review.held.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z"),
        "approval": None if approval is None else {
            "approver": approval.approver, "role": approval.role, "date": approval.date.isoformat(),
            "action_plan": approval.action_plan, "resources": approval.resources,
            "executive_briefing": _iso(approval.executive_briefing)},
        "root_cause": {"method": review.root_cause.method, "categories": list(review.root_cause.categories),
                       "summary": review.root_cause.summary},
        "lessons": [{"id": l.id, "text": l.text, "kind": l.kind, "critical": l.critical,
                     "adopted_in": [{"kind": a.kind, "ref": a.ref, "date": _iso(a.date)} for a in l.adopted_in]}
                    for l in review.lessons],
        "actions": [_action(a, pack.as_of) for a in review.actions],
        "history": pack.histories.get(review.id, []),
    }


def as_data(pack: EvidencePack) -> dict[str, Any]:
    """The pack as the contract's JSON document (plus `restricted`, `audience`, `as_of`, `label`)."""
    control = pack.evidence.control
    return {
        "control": control.ref, "title": control.title, "replaces": list(pack.evidence.replaces),
        "replaced_by": list(control.replaced_by),
        "from": _iso(pack.period.start), "to": _iso(pack.period.end), "as_of": pack.as_of.isoformat(),
        "audience": pack.audience, "label": pack.label,
        "reviews": [_review(c, pack) for c in pack.evidence.evidence],
        "pending": [_review(c, pack) for c in pack.evidence.pending],
        "restricted": list(pack.restricted),
    }


def as_json(pack: EvidencePack) -> str:
    return json.dumps(as_data(pack), indent=2, ensure_ascii=False) + "\n"


def as_markdown(pack: EvidencePack, kb: KnowledgeBase) -> str:
    """The pack as a printable Markdown document; record text is escaped by the same
    template filters as the site's pages, so it never becomes markup."""
    from generator.render import Renderer

    renderer = Renderer(for_site=False)
    return renderer.render("evidence.md.j2", {
        "pack": pack, "ev": pack.evidence, "control": pack.evidence.control,
        "titles": {ref: kb.controls[ref].title for ref in (*pack.evidence.replaces, *pack.evidence.control.replaced_by)
                   if ref in kb.controls},
    }, here="evidence.md")
