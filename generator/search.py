"""Full-text search over the published reviews with SQLite FTS5 (Python's own sqlite3).

One FTS5 row per searchable piece of a review (its title, summary, root cause, each
lesson, each action, the timeline ...), with one column per field and the piece's text
in its field's column, tokenized by `porter unicode61` (so "breach" finds "breaches").
Hits are ranked by bm25() with a weight per column, so a word in a lesson or the title
counts more than the same word in the timeline; equal scores go to the newest review.
(FTS5's bm25 applies a column weight to the term frequency and normalises by the whole
row's length, which here is the piece's own length.)

The index is a file in a git-ignored cache folder of the current directory, named after
the KB's absolute path. It is rebuilt, into a temporary file renamed into place, when
any KB file was added, removed or changed; where it cannot be written (a read-only
folder, or the current directory inside the KB, which is never written to) it is built
in memory for the one search.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import json
import os
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from generator.index import KnowledgeBase
from generator.model import Review
from generator.show import printable
from generator.rules import suggest  # the same "did you mean" as validate's findings

CACHE_DIR = Path(".kb-cache")
INDEX_VERSION = "3"  # bump when the tables change: older index files are then rebuilt
MAX_TERMS = 64  # a query is words, not a document: more would only slow the engine down


@dataclass(frozen=True)
class Field:
    """A searchable part of a review: its name in results, column, weight and page anchor."""

    name: str
    column: str
    weight: float
    anchor: str


# How much a hit in each field counts: lessons and titles are what searchers look for.
FIELDS = (
    Field("title", "title", 3.0, ""),
    Field("lesson", "lessons", 2.5, "lessons"),
    Field("summary", "summary", 1.5, "summary"),
    Field("root-cause", "root_cause", 1.5, "root-cause"),
    Field("action", "actions", 1.2, "actions"),
    Field("impact", "impact", 1.0, "impact"),
    Field("went-well", "went_well", 0.8, "what-went-well"),
    Field("to-improve", "to_improve", 0.8, "what-to-improve"),
    Field("timeline", "timeline", 0.5, "timeline"),
)
_OPEN, _CLOSE = "\x02", "\x03"  # snippet marks no record text holds; replaced by the caller's marks


class SearchError(Exception):
    """A search that cannot run as asked (an unknown category or control); the message says why."""


@dataclass(frozen=True)
class Hit:
    """One search result: the review, where in it the query matched best, and an excerpt."""

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
    kind: str | None = None  # a lesson kind: only lesson hits of that kind
    since: dt.date | None = None


@dataclass(frozen=True)
class Loaded:
    """What the index is built from: the published KB and how many errors the KB had."""

    kb: KnowledgeBase
    errors: int


@dataclass(frozen=True)
class Index:
    """An open search index and the facts about the KB stored with it."""

    db: sqlite3.Connection
    errors: int
    categories: frozenset[str]
    controls: frozenset[str]


# -- building -----------------------------------------------------------------------------

def _fault_events(review: Review) -> list[str]:
    stack = [review.root_cause.fault_tree] if review.root_cause.fault_tree else []
    events = []
    while stack:
        node = stack.pop()
        events.append(node.event)
        stack.extend(reversed(node.children))
    return events


def _pieces(review: Review) -> Iterator[tuple[str, str, str, str]]:
    """(field name, lesson or action id, lesson kind, text) of every searchable piece of a review."""
    rc = review.root_cause
    yield "title", "", "", f"{review.id} {review.title}"
    yield "summary", "", "", review.summary
    yield "impact", "", "", review.impact.description
    yield "root-cause", "", "", "\n".join([rc.summary, *rc.five_whys, *(c for _, causes in rc.fishbone for c in causes),
                                          *_fault_events(review)])
    for lesson in review.lessons:
        tags = f" (tags: {', '.join(lesson.tags)})" if lesson.tags else ""
        yield "lesson", lesson.id, lesson.kind, lesson.text + tags
    for action in review.actions:
        notes = [p.note for p in action.progress]
        if action.effectiveness and action.effectiveness.note:
            notes.append(action.effectiveness.note)
        yield "action", action.id, "", "\n".join([action.title, action.success_criteria, *notes])
    if review.went_well:
        yield "went-well", "", "", "\n".join(review.went_well)
    if review.to_improve:
        yield "to-improve", "", "", "\n".join(review.to_improve)
    yield "timeline", "", "", "\n".join(e.event for e in review.timeline)


_COLUMNS = {f.name: i for i, f in enumerate(FIELDS)}


def _fill(db: sqlite3.Connection, loaded: Loaded, signature: str) -> None:
    db.executescript(f"""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
        CREATE TABLE reviews (rowid INTEGER PRIMARY KEY, id TEXT UNIQUE, title TEXT, severity TEXT, day TEXT);
        CREATE TABLE facets (review INTEGER, facet TEXT, value TEXT);
        CREATE INDEX facets_by_value ON facets (facet, value, review);
        CREATE TABLE piece (rowid INTEGER PRIMARY KEY, review INTEGER, field TEXT, item TEXT, kind TEXT);
        CREATE VIRTUAL TABLE pieces USING fts5({', '.join(f.column for f in FIELDS)}, tokenize = 'porter unicode61');
    """)
    kb = loaded.kb
    rows: list[tuple[int, int, str, str, str]] = []
    texts: list[tuple] = []
    for number, review in enumerate(kb.reviews, start=1):
        db.execute("INSERT INTO reviews VALUES (?, ?, ?, ?, ?)",
                   (number, review.id, printable(review.title), review.severity, review.review_date.isoformat()))
        db.executemany("INSERT INTO facets VALUES (?, ?, ?)",
                       [(number, "category", c) for c in review.root_cause.categories]
                       + [(number, "control", c) for c in review.controls])
        for field, item, kind, text in _pieces(review):
            rows.append((len(rows) + 1, number, field, item, kind))
            columns: list[str | None] = [None] * len(FIELDS)
            columns[_COLUMNS[field]] = printable(text)  # excerpts go to terminals: no control characters
            texts.append((len(rows), *columns))
    db.executemany("INSERT INTO piece VALUES (?, ?, ?, ?, ?)", rows)
    db.executemany(f"INSERT INTO pieces (rowid, {', '.join(f.column for f in FIELDS)}) VALUES (?{', ?' * len(FIELDS)})",
                   texts)
    facts = {"signature": signature, "errors": str(loaded.errors),
             "categories": json.dumps(sorted(kb.categories)), "controls": json.dumps(sorted(kb.controls))}
    db.executemany("INSERT INTO meta VALUES (?, ?)", facts.items())
    db.commit()


def kb_signature(kb_dir: Path) -> str:
    """Changes whenever a KB file is added, removed or edited (or the index format changes)."""
    digest = hashlib.sha256(f"{INDEX_VERSION}\0{sqlite3.sqlite_version}\0{kb_dir.resolve()}\n".encode())
    files = [kb_dir / "taxonomy.yaml", kb_dir / "controls.yaml"]
    reviews = kb_dir / "reviews"
    if reviews.is_dir():
        files += sorted(reviews.iterdir())
    for path in files:
        try:
            info = path.stat()
        except OSError:
            continue
        # ctime too: an edit that keeps the size within one mtime tick still moves it.
        digest.update(f"{path.name}\0{info.st_mtime_ns}\0{info.st_ctime_ns}\0{info.st_ino}\0{info.st_size}\n".encode())
    return digest.hexdigest()


def index_path(kb_dir: Path, cache_dir: Path = CACHE_DIR) -> Path:
    key = hashlib.sha256(str(kb_dir.resolve()).encode()).hexdigest()[:16]
    return cache_dir / f"search-{key}.sqlite"


def _facts(db: sqlite3.Connection) -> dict[str, str]:
    return dict(db.execute("SELECT key, value FROM meta").fetchall())


def _stored_signature(path: Path) -> str | None:
    if not path.is_file():
        return None
    try:
        with contextlib.closing(sqlite3.connect(path)) as db:
            return _facts(db).get("signature")
    except sqlite3.DatabaseError:  # a truncated or foreign file: rebuild it
        return None


def _write(path: Path, loaded: Loaded, signature: str) -> None:
    """Build the index into a temporary file and rename it into place (readers never see half of it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        with contextlib.closing(sqlite3.connect(tmp)) as db:
            _fill(db, loaded, signature)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _open(db: sqlite3.Connection) -> Index:
    facts = _facts(db)
    return Index(db, int(facts.get("errors", "0")), frozenset(json.loads(facts.get("categories", "[]"))),
                 frozenset(json.loads(facts.get("controls", "[]"))))


@contextlib.contextmanager
def open_index(kb_dir: Path, load: Callable[[], Loaded], *, cache_dir: Path = CACHE_DIR) -> Iterator[Index]:
    """The search index of a KB, rebuilt first when any of its files changed.

    `load` builds the published KnowledgeBase only when a rebuild is needed, so a search
    on an unchanged KB does not even parse the records.
    """
    signature = kb_signature(kb_dir)
    path = index_path(kb_dir, cache_dir)
    load = functools.cache(load)  # read at most once, even when caching fails half-way
    db: sqlite3.Connection | None = None
    if not _inside(cache_dir.resolve(), kb_dir.resolve()):  # never write into the KB
        try:
            if _stored_signature(path) != signature:
                _write(path, load(), signature)
            db = sqlite3.connect(path)
        except (OSError, sqlite3.Error):
            db = None  # cannot be cached here (read-only folder, full disk): search from memory
    if db is None:
        db = sqlite3.connect(":memory:")
        _fill(db, load(), signature)
    try:
        yield _open(db)
    finally:
        db.close()


# -- querying -----------------------------------------------------------------------------

_TERM = re.compile(r'"([^"]*)"?|(\S+)')


def match_expression(query: str, *, any_term: bool = False) -> str:
    """A safe FTS5 MATCH expression: each word or "quoted phrase" as a literal phrase.

    The query is read as words, never as FTS5 syntax: operators, brackets, stars and
    column names in it are plain text, so no query can be a syntax error.
    """
    terms = []
    for phrase, word in _TERM.findall(query):
        words = re.findall(r"\w+", phrase or word)
        if words:
            terms.append('"' + " ".join(words) + '"')
    return (" OR " if any_term else " AND ").join(terms[:MAX_TERMS])


def _check_filters(index: Index, filters: Filters) -> None:
    if filters.category and filters.category not in index.categories:
        raise SearchError(f"unknown category {filters.category!r}; {suggest(filters.category, index.categories)}")
    if filters.control and filters.control not in index.controls:
        raise SearchError(f"unknown control {filters.control!r}; {suggest(filters.control, index.controls)}")


def _where(filters: Filters) -> tuple[list[str], list[object]]:
    """SQL conditions on the review (table alias r) for the filters, and their parameters."""
    conditions: list[str] = []
    params: list[object] = []
    for facet, value in (("category", filters.category), ("control", filters.control)):
        if value:
            conditions.append("EXISTS (SELECT 1 FROM facets f WHERE f.review = r.rowid AND f.facet = ? AND f.value = ?)")
            params += [facet, value]
    if filters.severity:
        conditions.append("r.severity = ?")
        params.append(filters.severity)
    if filters.since:
        conditions.append("r.day >= ?")
        params.append(filters.since.isoformat())
    return conditions, params


def _ranked(db: sqlite3.Connection, expression: str, filters: Filters, limit: int) -> list[tuple]:
    """(piece rowid, review id, title, field, item, score) of the best pieces, best first."""
    conditions, params = _where(filters)
    if filters.kind:
        conditions.append("p.field = 'lesson' AND p.kind = ?")
        params.append(filters.kind)
    weights = ", ".join(str(f.weight) for f in FIELDS)
    return db.execute(
        f"SELECT pieces.rowid, r.id, r.title, p.field, p.item, -bm25(pieces, {weights}) AS score "
        "FROM pieces JOIN piece p ON p.rowid = pieces.rowid JOIN reviews r ON r.rowid = p.review "
        f"WHERE pieces MATCH ? {''.join(' AND ' + c for c in conditions)} "
        "ORDER BY round(score, 9) DESC, r.day DESC, r.id DESC, pieces.rowid LIMIT ?",
        (expression, *params, limit)).fetchall()


def _excerpt(db: sqlite3.Connection, expression: str, rowid: int, mark: tuple[str, str]) -> str:
    # Worked out for the hits shown only: a snippet of every matching piece would be most of the time.
    text = db.execute(f"SELECT snippet(pieces, -1, '{_OPEN}', '{_CLOSE}', '…', 16) FROM pieces "
                      "WHERE pieces MATCH ? AND rowid = ?", (expression, rowid)).fetchone()[0]
    return " ".join(text.split()).replace(_OPEN, mark[0]).replace(_CLOSE, mark[1])


def search(index: Index, query: str, *, filters: Filters = Filters(), limit: int = 20,
           mark: tuple[str, str] = ("[", "]")) -> list[Hit]:
    """Hits for a query, best first; equal scores go to the newest review.

    Pieces holding all the words are found first; when none does, those holding any of them.
    Raises SearchError for a category or control the KB does not define.
    """
    _check_filters(index, filters)
    for any_term in (False, True):
        expression = match_expression(query, any_term=any_term)
        if not expression:
            return []
        rows = _ranked(index.db, expression, filters, limit)
        if rows:
            return [Hit(review, title, field, item, float(f"{score:.4g}"), _excerpt(index.db, expression, rowid, mark),
                        hit_url(review, field, item)) for rowid, review, title, field, item, score in rows]
    return []


def hit_url(review: str, field: str, item: str) -> str:
    """The site URL of the place a hit points at (relative to the site root)."""
    anchor = item.lower() if item else FIELDS[_COLUMNS[field]].anchor
    return f"incidents/{review}/" + (f"#{anchor}" if anchor else "")


def as_rows(hits: Iterable[Hit]) -> list[dict]:
    """The JSON form: review, score, field, excerpt, url (and title, item)."""
    return [{"review": h.review, "score": h.score, "field": h.field, "excerpt": h.excerpt, "url": h.url,
             "title": h.title, "item": h.item} for h in hits]
