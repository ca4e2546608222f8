"""Full-text search over the published reviews with SQLite FTS5 (Python's own sqlite3).

One FTS5 row per searchable piece of a review (its title, summary, root cause, each
lesson, each action, the timeline ...), with one column per field and the piece's text
in its field's column, tokenized by `porter unicode61` (so "breach" finds "breaches").
Hits are ranked by bm25() with a weight per column, so a word in a lesson or the title
counts more than the same word in the timeline; equal scores go to the newest review.
(FTS5's bm25 applies a column weight to the term frequency and normalises by the whole
row's length, which here is the piece's own length.)

The index is a file in a git-ignored cache folder of the current directory, named after
the KB's absolute path. Beside the rows it keeps a manifest of the KB's files (each
record, taxonomy.yaml, controls.yaml): their stat (size, times, inode) and a hash of
their bytes. A search first stats the files and compares one digest of that listing with
the stored one: when nothing changed no file is read, and neither YAML, the schemas nor
the checks are imported. Otherwise only the files whose stat changed are hashed; when a hash
differs the KB is loaded (validated, and viewed as the internal audience) and only the
rows of the reviews whose file hash changed, that appeared, or that left the published
set are replaced, in one SQLite transaction (readers never see half of it).

A review's rows depend on its own file alone: its text, its TLP label, and whether it
passes the schema (a record with schema errors is left out); they are keyed by file, not by
id (two files may claim one id, an error, and both are searched). What depends on the whole KB
is stored anew on every refresh: the number of errors, the category and control ids. The
day does not enter the index (the as-of date only judges overdue actions, a warning). A
changed taxonomy.yaml or controls.yaml, another index format, tool or SQLite version, or
a change to most of the records rebuilds the whole index, into a temporary file renamed
into place. A file modified within RACY_NS of the stat that recorded it is hashed again
next time (a second edit in the same clock tick could keep its stat), as git does for
"racily clean" files. Where the index cannot be written (a read-only folder, or the
current directory inside the KB, which is never written to) it is built in memory for
the one search.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import hashlib
import json
import os
import re
import sqlite3
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

from generator import __version__
from generator.show import printable
from generator.urls import review_url

if TYPE_CHECKING:  # imported where used: a search of an unchanged KB needs neither YAML nor the checks
    from generator.index import KnowledgeBase
    from generator.model import Review

CACHE_DIR = Path(".kb-cache")
INDEX_VERSION = "4"  # bump when the tables change: older index files are then rebuilt
MAX_TERMS = 64  # a query is words, not a document: more would only slow the engine down
CATALOGS = ("taxonomy.yaml", "controls.yaml")
"""The KB files every review's checks depend on: a change to one rebuilds the index."""
RECORD_SUFFIXES = (".yaml", ".yml")  # the files of reviews/ that load.discover_reviews reads
RACY_NS = 2_000_000_000
"""A file modified this close to the stat that recorded it is hashed again at the next search."""
REBUILD_MIN = 100
"""More changed records than this, and than half the files, rebuild the index instead of updating it."""


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


class UnknownFilter(SearchError):
    """A filter names a category or control the KB does not have: a usage error (exit 2)."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(message)
        self.option = option


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
    also: tuple[str, ...] = ()  # the review's other fields that matched ("lessons", "actions" ...)


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


_TABLES = f"""
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
    CREATE TABLE files (name TEXT PRIMARY KEY, mode INTEGER, size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER,
                        ino INTEGER, digest TEXT);
    CREATE TABLE reviews (rowid INTEGER PRIMARY KEY, file TEXT UNIQUE, digest TEXT, id TEXT, title TEXT,
                          severity TEXT, day TEXT);
    CREATE TABLE facets (review INTEGER, facet TEXT, value TEXT);
    CREATE INDEX facets_by_value ON facets (facet, value, review);
    CREATE INDEX facets_by_review ON facets (review);
    CREATE TABLE piece (rowid INTEGER PRIMARY KEY, review INTEGER, field TEXT, item TEXT, kind TEXT);
    CREATE INDEX piece_by_review ON piece (review);
    CREATE VIRTUAL TABLE pieces USING fts5({', '.join(f.column for f in FIELDS)}, tokenize = 'porter unicode61');
"""


def _published(loaded: Loaded) -> list[tuple[str, Review]]:
    """(file in the KB, review) of every review the search may show, in id order."""
    return [(f"reviews/{review.source.name}", review) for review in loaded.kb.reviews]


def _insert(db: sqlite3.Connection, reviews: list[tuple[str, str, Review]]) -> None:
    """Add the rows of reviews given as (file in the KB, hash of its bytes, review)."""
    number = db.execute("SELECT coalesce(max(rowid), 0) FROM reviews").fetchone()[0]
    piece = db.execute("SELECT coalesce(max(rowid), 0) FROM piece").fetchone()[0]
    heads: list[tuple] = []
    facets: list[tuple[int, str, str]] = []
    rows: list[tuple[int, int, str, str, str]] = []
    texts: list[tuple] = []
    for file, digest, review in reviews:
        number += 1
        heads.append((number, file, digest, review.id, printable(review.title), review.severity,
                      review.review_date.isoformat()))
        facets += [(number, "category", c) for c in review.root_cause.categories]
        facets += [(number, "control", c) for c in review.controls]
        for field, item, kind, text in _pieces(review):
            piece += 1
            rows.append((piece, number, field, item, kind))
            columns: list[str | None] = [None] * len(FIELDS)
            columns[_COLUMNS[field]] = printable(text)  # excerpts go to terminals: no control characters
            texts.append((piece, *columns))
    db.executemany("INSERT INTO reviews VALUES (?, ?, ?, ?, ?, ?, ?)", heads)
    db.executemany("INSERT INTO facets VALUES (?, ?, ?)", facets)
    db.executemany("INSERT INTO piece VALUES (?, ?, ?, ?, ?)", rows)
    db.executemany(f"INSERT INTO pieces (rowid, {', '.join(f.column for f in FIELDS)}) VALUES (?{', ?' * len(FIELDS)})",
                   texts)


def _delete(db: sqlite3.Connection, numbers: list[int]) -> None:
    """Remove every row of the reviews with these rowids."""
    for statement in ("DELETE FROM pieces WHERE rowid IN (SELECT rowid FROM piece WHERE review = ?)",
                      "DELETE FROM piece WHERE review = ?", "DELETE FROM facets WHERE review = ?",
                      "DELETE FROM reviews WHERE rowid = ?"):
        db.executemany(statement, [(number,) for number in numbers])


def _remember_kb(db: sqlite3.Connection, loaded: Loaded) -> None:
    """Store the facts that depend on the whole KB."""
    kb = loaded.kb
    facts = {"errors": str(loaded.errors), "categories": json.dumps(sorted(kb.categories)),
             "controls": json.dumps(sorted(kb.controls))}
    db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", facts.items())


def _fill(db: sqlite3.Connection, loaded: Loaded, digests: dict[str, str] | None = None) -> None:
    """Create the tables of an empty database and index every published review (digests: file -> hash)."""
    db.executescript(_TABLES)
    _insert(db, [(file, (digests or {}).get(file, ""), review) for file, review in _published(loaded)])
    _remember_kb(db, loaded)
    db.commit()


def _update(db: sqlite3.Connection, loaded: Loaded, digests: dict[str, str]) -> None:
    """Replace the rows of the reviews whose file changed, appeared or left the published set."""
    wanted = {file: (digests.get(file, ""), review) for file, review in _published(loaded)}
    stale, kept = [], set()
    for number, file, digest in db.execute("SELECT rowid, file, digest FROM reviews").fetchall():
        if file in wanted and wanted[file][0] == digest and digest:
            kept.add(file)
        else:
            stale.append(number)
    _delete(db, stale)
    _insert(db, [(file, digest, review) for file, (digest, review) in wanted.items() if file not in kept])
    _remember_kb(db, loaded)


# -- what the index was built from ----------------------------------------------------------

Stat = tuple[int, int, int, int, int]  # mode, size, mtime_ns, ctime_ns, inode


@dataclass(frozen=True)
class Scan:
    """The KB's files as they are now: name in the KB -> stat (None: missing, or a broken link)."""

    files: dict[str, Stat | None]
    taken_ns: int

    @functools.cached_property
    def listing(self) -> str:
        """One digest of every name and stat: equal to the stored one, nothing changed."""
        lines = sorted(f"{name}\0{info}" for name, info in self.files.items())
        return hashlib.sha256("\n".join(lines).encode()).hexdigest()

    def racy(self) -> list[str]:
        """The files modified so close to this scan that a later edit could keep their stat."""
        return sorted(name for name, info in self.files.items()
                      if info is not None and info[2] >= self.taken_ns - RACY_NS)


def _stat(info: os.stat_result) -> Stat:
    return (info.st_mode, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)


def scan(kb_dir: Path) -> Scan:
    """Stat the catalogs and the record files of a KB (links followed: an edit of the target counts)."""
    taken = time.time_ns()
    files: dict[str, Stat | None] = {}
    for name in CATALOGS:
        try:
            files[name] = _stat(os.stat(kb_dir / name))
        except OSError:
            files[name] = None
    with contextlib.suppress(OSError):  # no reviews/ folder: no records
        with os.scandir(kb_dir / "reviews") as entries:
            for entry in entries:
                if entry.name.endswith(RECORD_SUFFIXES):
                    try:
                        files[f"reviews/{entry.name}"] = _stat(entry.stat())
                    except OSError:
                        files[f"reviews/{entry.name}"] = None
    return Scan(files, taken)


def _digest(path: Path, info: Stat | None) -> str:
    """A hash of a file's bytes; what is not a regular file is named by its stat, never opened (a FIFO would block)."""
    if info is None or not stat.S_ISREG(info[0]):
        return f"not a file: {info}"
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(functools.partial(handle.read, 1 << 20), b""):
                digest.update(block)
    except OSError:
        return f"unreadable: {info}"
    return digest.hexdigest()


def _digests(kb_dir: Path, now: Scan, stored: dict[str, tuple[Stat | None, str]],
             racy: Iterable[str] = ()) -> dict[str, str]:
    """The hash of each file: the stored one while its stat is the stored one (and was not racy), else read."""
    suspect = set(racy)
    digests = {}
    for name, info in now.files.items():
        known = stored.get(name)
        if known is not None and known[0] == info and name not in suspect:
            digests[name] = known[1]
        else:
            digests[name] = _digest(kb_dir / name, info)
    return digests


def _format(kb_dir: Path) -> str:
    """What else the rows depend on: the index's tables, the tool, SQLite (its tokenizer) and the KB."""
    return f"{INDEX_VERSION}\0{__version__}\0{sqlite3.sqlite_version}\0{kb_dir.resolve()}"


def _remember_files(db: sqlite3.Connection, kb_dir: Path, now: Scan, digests: dict[str, str]) -> None:
    """Store the manifest the next search compares the KB with."""
    facts = {"format": _format(kb_dir), "listing": now.listing, "racy": json.dumps(now.racy())}
    db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", facts.items())
    db.execute("DELETE FROM files")
    db.executemany("INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?)",
                   [(name, *(info or (None,) * 5), digests[name]) for name, info in now.files.items()])


def _manifest(db: sqlite3.Connection) -> dict[str, tuple[Stat | None, str]]:
    """The stored manifest: name -> (stat, hash)."""
    return {row[0]: (row[1:6] if row[1] is not None else None, row[6])
            for row in db.execute("SELECT name, mode, size, mtime_ns, ctime_ns, ino, digest FROM files")}


# -- the cache ------------------------------------------------------------------------------

def index_path(kb_dir: Path, cache_dir: Path = CACHE_DIR) -> Path:
    key = hashlib.sha256(str(kb_dir.resolve()).encode()).hexdigest()[:16]
    return cache_dir / f"search-{key}.sqlite"


def _facts(db: sqlite3.Connection) -> dict[str, str]:
    return dict(db.execute("SELECT key, value FROM meta").fetchall())


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One write transaction: all of it is seen, or none (a concurrent search waits for the lock)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.rollback()
        raise
    db.commit()


def _refresh(db: sqlite3.Connection, kb_dir: Path, now: Scan, load: Callable[[], Loaded]) -> bool:
    """Bring a stored index up to date in place; False when it must be built afresh instead."""
    facts = _facts(db)
    if facts.get("format") != _format(kb_dir):
        return False
    racy = json.loads(facts.get("racy", "[]"))
    if facts.get("listing") == now.listing and not racy:
        return True  # the common case: no file read, nothing written
    stored = _manifest(db)
    digests = _digests(kb_dir, now, stored, racy)  # before loading: a later edit then shows at the next search
    changed = {name for name in digests.keys() | stored.keys() if digests.get(name) != stored.get(name, (None, ""))[1]}
    if changed & set(CATALOGS) or len(changed) > max(REBUILD_MIN, len(digests) // 2):
        return False
    if not changed and facts.get("listing") == now.listing and now.racy() == racy:
        return True  # the same files, still racy: nothing new to store
    with _transaction(db):
        if changed:
            _update(db, load(), digests)
        _remember_files(db, kb_dir, now, digests)
    return True


def _write(path: Path, kb_dir: Path, now: Scan, load: Callable[[], Loaded]) -> None:
    """Build the index into a temporary file and rename it into place (readers never see half of it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        digests = _digests(kb_dir, now, {})  # before loading: a later edit then shows at the next search
        with contextlib.closing(sqlite3.connect(tmp)) as db:
            _fill(db, load(), digests)
            _remember_files(db, kb_dir, now, digests)
            db.commit()
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _cached(path: Path, kb_dir: Path, load: Callable[[], Loaded]) -> sqlite3.Connection:
    """The stored index of a KB, updated or rebuilt first when the KB changed."""
    now = scan(kb_dir)
    if path.is_file():
        db = sqlite3.connect(path)
        try:
            if _refresh(db, kb_dir, now, load):
                return db
        except sqlite3.OperationalError:  # locked, or read-only: the caller searches from memory
            db.close()
            raise
        except sqlite3.DatabaseError:  # a truncated or foreign file: build it again
            pass
        db.close()
    _write(path, kb_dir, now, load)
    return sqlite3.connect(path)


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _open(db: sqlite3.Connection) -> Index:
    facts = _facts(db)
    return Index(db, int(facts.get("errors", "0")), frozenset(json.loads(facts.get("categories", "[]"))),
                 frozenset(json.loads(facts.get("controls", "[]"))))


@contextlib.contextmanager
def open_index(kb_dir: Path, load: Callable[[], Loaded], *, cache_dir: Path = CACHE_DIR) -> Iterator[Index]:
    """The search index of a KB, brought up to date first when any of its files changed.

    `load` builds the published KnowledgeBase only when some file's content changed, so a
    search on an unchanged KB does not even parse the records.
    """
    load = functools.cache(load)  # read at most once, even when caching fails half-way
    db: sqlite3.Connection | None = None
    # A loaded KB is millions of small acyclic objects: the collector would walk them all in
    # vain (seconds at 10,000 reviews), as cache.quiet_gc explains. They are freed, by reference
    # counting, before it runs again.
    collecting = gc.isenabled()
    gc.disable()
    try:
        if not _inside(cache_dir.resolve(), kb_dir.resolve()):  # never write into the KB
            try:
                db = _cached(index_path(kb_dir, cache_dir), kb_dir, load)
            except (OSError, sqlite3.Error):
                db = None  # cannot be cached here (read-only folder, full disk): search from memory
        if db is None:
            db = sqlite3.connect(":memory:")
            _fill(db, load())
        load.cache_clear()
    finally:
        if collecting:
            gc.enable()
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
    for what, value, known in (("category", filters.category, index.categories),
                               ("control", filters.control, index.controls)):
        if value and value not in known:
            from generator.rules import suggest  # validate's "did you mean"; loaded only for this message

            raise UnknownFilter(what, f"unknown {what} {value!r}; {suggest(value, known)}")


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
    """(piece rowid, review id, title, field, item, score, fields matched) of the best piece of
    each matching review (one hit per review), best first."""
    conditions, params = _where(filters)
    if filters.kind:
        conditions.append("p.field = 'lesson' AND p.kind = ?")
        params.append(filters.kind)
    weights = ", ".join(str(f.weight) for f in FIELDS)
    # r.file breaks a tie between two files that claim one id: the order never depends on rowids across reviews.
    return db.execute(
        "WITH hits AS ("
        f" SELECT pieces.rowid AS pid, r.rowid AS rr, r.id, r.title, r.day, r.file, p.field, p.item,"
        f" round(-bm25(pieces, {weights}), 9) AS score"
        " FROM pieces JOIN piece p ON p.rowid = pieces.rowid JOIN reviews r ON r.rowid = p.review"
        f" WHERE pieces MATCH ? {''.join(' AND ' + c for c in conditions)}),"
        " best AS (SELECT *, row_number() OVER (PARTITION BY rr ORDER BY score DESC, pid) AS n FROM hits),"
        " matched AS (SELECT rr, group_concat(DISTINCT field) AS fields FROM hits GROUP BY rr) "
        "SELECT b.pid, b.id, b.title, b.field, b.item, b.score, m.fields FROM best b JOIN matched m ON m.rr = b.rr "
        "WHERE b.n = 1 ORDER BY b.score DESC, b.day DESC, b.id DESC, b.file DESC, b.pid LIMIT ?",
        (expression, *params, limit)).fetchall()


def _also(best: str, fields: str) -> tuple[str, ...]:
    """The other fields of the review that matched, in FIELDS order, named for people."""
    found = set(fields.split(",")) - {best}
    return tuple(FIELD_LABELS[f.name] for f in FIELDS if f.name in found)


FIELD_LABELS = {"title": "title", "lesson": "lessons", "summary": "summary", "root-cause": "root cause",
                "action": "actions", "impact": "impact", "went-well": "what went well",
                "to-improve": "what to improve", "timeline": "timeline"}


def _excerpt(db: sqlite3.Connection, expression: str, rowid: int, mark: tuple[str, str]) -> str:
    # Worked out for the hits shown only: a snippet of every matching piece would be most of the time.
    text = db.execute(f"SELECT snippet(pieces, -1, '{_OPEN}', '{_CLOSE}', '…', 16) FROM pieces "
                      "WHERE pieces MATCH ? AND rowid = ?", (expression, rowid)).fetchone()[0]
    return " ".join(text.split()).replace(_OPEN, mark[0]).replace(_CLOSE, mark[1])


def search(index: Index, query: str, *, filters: Filters = Filters(), limit: int = 20,
           mark: tuple[str, str] = ("[", "]")) -> list[Hit]:
    """Hits for a query, one per review (its best piece), best first; equal scores go to the newest review.

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
                        hit_url(review, field, item), _also(field, fields))
                    for rowid, review, title, field, item, score, fields in rows]
    return []


def hit_url(review: str, field: str, item: str) -> str:
    """The site URL of the place a hit points at (relative to the site root)."""
    anchor = item.lower() if item else FIELDS[_COLUMNS[field]].anchor
    return review_url(review, anchor)


def as_rows(hits: Iterable[Hit]) -> list[dict]:
    """The JSON form: review, score, field, excerpt, url (and title, item, also)."""
    return [{"review": h.review, "score": h.score, "field": h.field, "excerpt": h.excerpt, "url": h.url,
             "title": h.title, "item": h.item, "also": list(h.also)} for h in hits]
