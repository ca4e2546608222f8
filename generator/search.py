"""Full-text search over the published reviews with SQLite FTS5 (Python's own sqlite3).

One row per searchable piece of a review (title, summary, root cause, each lesson, each
action, the timeline ...), ranked by bm25 times the weight of the piece's field, so a
hit in a lesson or title outranks one in a timeline; the porter tokenizer stems words.
The index lives in a git-ignored cache folder and is rebuilt when any KB file changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from generator.index import KnowledgeBase
from generator.model import Review

CACHE_DIR = Path(".kb-cache")
SCHEMA_VERSION = "1"

# How much a hit in each field counts: lessons and titles are what searchers look for.
FIELD_WEIGHTS = {
    "title": 3.0,
    "lesson": 2.5,
    "summary": 1.5,
    "root-cause": 1.5,
    "action": 1.2,
    "impact": 1.0,
    "review": 0.8,  # what went well / what to improve
    "timeline": 0.5,
}
FIELD_ANCHORS = {"title": "", "summary": "summary", "root-cause": "root-cause", "impact": "impact",
                 "review": "what-to-improve", "timeline": "timeline"}


@dataclass(frozen=True)
class Hit:
    """One search result: where in which review the query matched."""

    review: str
    title: str
    field: str
    item: str  # the lesson or action id, when the field has items
    score: float
    excerpt: str
    url: str


@dataclass(frozen=True)
class Filters:
    category: str | None = None
    control: str | None = None
    severity: str | None = None
    kind: str | None = None
    since: dt.date | None = None


def _pieces(review: Review) -> Iterator[tuple[str, str, str, str]]:
    """(field, item id, lesson kind, text) for every searchable piece of a review."""
    rc = review.root_cause
    yield "title", "", "", f"{review.id} {review.title}"
    yield "summary", "", "", review.summary
    yield "impact", "", "", review.impact.description
    cause_text = [rc.summary, *rc.five_whys, *(c for _, causes in rc.fishbone for c in causes)]
    node_stack = [rc.fault_tree] if rc.fault_tree else []
    while node_stack:
        node = node_stack.pop()
        cause_text.append(node.event)
        node_stack.extend(node.children)
    yield "root-cause", "", "", "\n".join(cause_text)
    for lesson in review.lessons:
        yield "lesson", lesson.id, lesson.kind, " ".join([lesson.text, *lesson.tags])
    for action in review.actions:
        notes = [p.note for p in action.progress] + ([action.effectiveness.note] if action.effectiveness and action.effectiveness.note else [])
        yield "action", action.id, "", "\n".join([action.title, action.success_criteria, *notes])
    if review.went_well or review.to_improve:
        yield "review", "", "", "\n".join([*review.went_well, *review.to_improve])
    yield "timeline", "", "", "\n".join(e.event for e in review.timeline)


def kb_signature(kb_dir: Path) -> str:
    """Changes whenever a KB file is added, removed or edited."""
    digest = hashlib.sha256(SCHEMA_VERSION.encode())
    files = [kb_dir / "taxonomy.yaml", kb_dir / "controls.yaml"]
    reviews = kb_dir / "reviews"
    if reviews.is_dir():
        files += sorted(reviews.iterdir())
    for path in files:
        try:
            info = path.stat()
        except OSError:
            continue
        digest.update(f"{path.name}\0{info.st_mtime_ns}\0{info.st_size}\n".encode())
    return digest.hexdigest()


def index_path(kb_dir: Path, cache_dir: Path = CACHE_DIR) -> Path:
    key = hashlib.sha256(str(kb_dir.resolve()).encode()).hexdigest()[:16]
    return cache_dir / f"search-{key}.sqlite"


def _create(path: Path, kb: KnowledgeBase, signature: str) -> None:
    """Write a fresh index to path (via a temporary file, renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    db = sqlite3.connect(tmp)
    try:
        db.executescript("""
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
            CREATE VIRTUAL TABLE pieces USING fts5(
                review UNINDEXED, title UNINDEXED, field UNINDEXED, item UNINDEXED, kind UNINDEXED,
                severity UNINDEXED, day UNINDEXED, categories UNINDEXED, controls UNINDEXED, weight UNINDEXED,
                body, tokenize = 'porter unicode61');
        """)
        rows = []
        for review in kb.reviews:
            day = review.review_date.isoformat()
            categories = " " + " ".join(review.root_cause.categories) + " "
            controls = " " + " ".join(review.controls) + " "
            for field, item, kind, text in _pieces(review):
                rows.append((review.id, review.title, field, item, kind, review.severity, day, categories,
                             controls, FIELD_WEIGHTS[field], text))
        db.executemany("INSERT INTO pieces VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
        db.execute("INSERT INTO meta VALUES ('signature', ?)", (signature,))
        db.commit()
    finally:
        db.close()
    os.replace(tmp, path)


def open_index(kb_dir: Path, load: Callable[[], KnowledgeBase], *, cache_dir: Path = CACHE_DIR) -> sqlite3.Connection:
    """The search index of a KB, rebuilt first when any of its files changed.

    `load` builds the (published) KnowledgeBase only when a rebuild is needed, so a
    search on an unchanged KB does not even parse the records.
    """
    path = index_path(kb_dir, cache_dir)
    signature = kb_signature(kb_dir)
    current = None
    if path.exists():
        try:
            with sqlite3.connect(path) as db:
                current = db.execute("SELECT value FROM meta WHERE key = 'signature'").fetchone()
        except sqlite3.DatabaseError:
            current = None
    if current is None or current[0] != signature:
        _create(path, load(), signature)
    return sqlite3.connect(path)


_TERM = re.compile(r'"([^"]+)"|(\S+)')


def match_expression(query: str, *, any_term: bool = False) -> str:
    """A safe FTS5 MATCH expression: every word or "quoted phrase" as a literal phrase."""
    terms = []
    for phrase, word in _TERM.findall(query):
        text = (phrase or word).strip()
        words = re.findall(r"\w+", text)
        if words:
            terms.append('"' + " ".join(words) + '"')
    return (" OR " if any_term else " AND ").join(terms)


def search(db: sqlite3.Connection, query: str, *, filters: Filters = Filters(), limit: int = 20,
           mark: tuple[str, str] = ("[", "]")) -> list[Hit]:
    """Hits for a query, best first; ties go to the newest review."""
    if not match_expression(query):
        return []
    conditions, params = ["pieces MATCH ?"], []
    if filters.category:
        conditions.append("categories LIKE ?")
        params.append(f"% {filters.category} %")
    if filters.control:
        conditions.append("controls LIKE ?")
        params.append(f"% {filters.control} %")
    if filters.severity:
        conditions.append("severity = ?")
        params.append(filters.severity)
    if filters.kind:
        conditions.append("kind = ?")
        params.append(filters.kind)
    if filters.since:
        conditions.append("day >= ?")
        params.append(filters.since.isoformat())
    sql = (f"SELECT review, title, field, item, -bm25(pieces) * weight AS score, "
           f"snippet(pieces, 10, ?, ?, '…', 14), day FROM pieces WHERE {' AND '.join(conditions)} "
           f"ORDER BY score DESC, day DESC, review, field LIMIT ?")
    for any_term in (False, True):  # all the words first; any of them when none has all
        rows = db.execute(sql, [mark[0], mark[1], match_expression(query, any_term=any_term), *params, limit]).fetchall()
        if rows:
            break
    return [Hit(review=r[0], title=r[1], field=r[2], item=r[3], score=float(f"{r[4]:.4g}"),
                excerpt=" ".join(r[5].split()), url=hit_url(r[0], r[2], r[3])) for r in rows]


def hit_url(review: str, field: str, item: str) -> str:
    """The site URL of the place a hit points at (relative to the site root)."""
    anchor = item.lower() if item else FIELD_ANCHORS.get(field, "")
    return f"incidents/{review}/" + (f"#{anchor}" if anchor else "")


def as_rows(hits: Iterable[Hit]) -> list[dict]:
    """The JSON form: review, score, field, excerpt, url (and title, item)."""
    return [{"review": h.review, "score": h.score, "field": h.field, "excerpt": h.excerpt, "url": h.url,
             "title": h.title, "item": h.item} for h in hits]
