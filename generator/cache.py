"""Remember what each review file gave, so that checking a large KB again is quick.

A team with thousands of reviews edits one or two at a time; re-parsing all of them on
every `kb validate` (or every save under `kb serve`) is most of the time spent. This
module keeps, per file and keyed by a hash of its bytes, what load.py and schema.py
made of it (the parsed data, its findings) and what the rules said about it, in a
folder of the current directory:

    .kb-cache/validate/<tool>/kb-<kb path hash>.marshal   one index per KB: file -> results
    .kb-cache/validate/<tool>/objects/<content hash>      the data and text of one record

<tool> is a hash of this package's code, the schemas and the library versions: any
change there starts an empty cache. A file whose size, times and inode are those of the
index (and that is not younger than the index, as git judges "racily clean") is not
even read; any other file is read and hashed. Rule findings depend on the KB as a whole
too (the categories, controls and review ids that exist, the as-of day), so they are
kept with a fingerprint of that context and reused only while it is the same. The cross-
file checks themselves (ids, references, rules on changed records) run every time.

Findings are stored with their lines, so the positions of a file's nodes (worked out only
for files with findings) are never needed again for it. Cold runs on many files parse them in a pool of processes, one per core. Small KBs are
not cached at all (they are fast anyway), nor is a KB when the current directory is
inside it: the cache never writes into the KB. KB_CACHE=off turns the cache off.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import marshal
import multiprocessing
import os
import shutil
import stat
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Iterator

from generator import schema
from generator.diagnostics import Diagnostic, Severity
from generator.load import SourceRecord, parse_text, read_bytes, read_files
from generator.rules import RuleContext, run_rules

CACHE_DIR = Path(".kb-cache") / "validate"
MIN_FILES = 200
"""KBs with fewer review files are checked without a cache (they take well under a second)."""
POOL_MIN_FILES = 500
"""Parse in a pool of processes only when at least this many files need parsing."""
RACY_NS = 2_000_000_000
"""A file modified this close to the index's writing is hashed, whatever its stat says."""
_FORMAT = 1


@contextlib.contextmanager
def quiet_gc() -> Iterator[None]:
    """No cyclic garbage collection while a KB is loaded and checked.

    Parsing builds millions of small, acyclic objects that stay alive; the collector
    would traverse all of them again and again (several times slower at 10,000
    reviews) and free nothing. Reference counting still frees everything.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class RecordChecks:
    """The checks run on each review record; FileCache answers them from earlier runs."""

    def read(self, paths: list[Path], root: Path) -> list[tuple[SourceRecord | None, list[Diagnostic]]]:
        """Each review file read and parsed (a load.Reader)."""
        return read_files(paths, root)

    def schema(self, record: SourceRecord) -> list[Diagnostic]:
        """The schema findings of one review record."""
        return schema.check(record, "review")

    def rules(self, record: SourceRecord, context: RuleContext) -> list[Diagnostic]:
        """The rules' findings of one review record."""
        return run_rules(record, context)

    def save(self) -> None:
        """Keep what this run learned (nothing to keep without a cache)."""


# -- one file ----------------------------------------------------------------------------

@dataclasses.dataclass
class _Outcome:
    """What reading, parsing and schema-checking one file gave."""

    digest: str = ""
    blob: bytes | None = None  # marshal of (data, text, surprises) when the file parsed into a record
    load_findings: list[Diagnostic] = dataclasses.field(default_factory=list)
    schema_findings: list[Diagnostic] = dataclasses.field(default_factory=list)
    declared_id: Any = None
    readable: bool = True
    unchanged: bool = False  # the digest was the expected one: nothing was parsed

    @property
    def has_record(self) -> bool:
        return self.blob is not None

    def record(self, path: Path) -> SourceRecord | None:
        if self.blob is None:
            return None
        data, text, surprises = marshal.loads(self.blob)
        return SourceRecord(path=path, data=data, text=text, surprises=surprises)


def _parse_file(path: Path, root: Path, expected: str = "", objects: Path | None = None) -> _Outcome:
    """Read, parse and schema-check one review file (run in a worker process on cold runs)."""
    raw, problems = read_bytes(path, root)
    if raw is None:
        return _Outcome(load_findings=problems, readable=False)
    digest = hashlib.sha1(raw).hexdigest()
    if digest == expected:
        return _Outcome(digest=digest, unchanged=True)
    record, found = parse_text(path, raw)
    if record is None:
        return _Outcome(digest=digest, load_findings=found)
    blob = marshal.dumps((record.data, record.text, record.surprises))
    if objects is not None:
        _write_object(objects, digest, blob)
    return _Outcome(digest=digest, blob=blob, load_findings=found, schema_findings=schema.check(record, "review"),
                    declared_id=record.declared_id)


def _parse_many(jobs: list[tuple[Path, str]], root: Path, objects: Path | None) -> list[_Outcome]:
    """_parse_file for each (path, expected digest), in a process pool when there are many."""
    workers = available_cores()
    if len(jobs) < POOL_MIN_FILES or workers < 2:
        return [_parse_file(path, root, expected, objects) for path, expected in jobs]
    methods = multiprocessing.get_all_start_methods()
    # Not fork: kb serve calls this from a threaded process, where forking is unsafe.
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        chunk = max(1, len(jobs) // (workers * 16))
        return list(pool.map(_parse_job, [(str(path), expected) for path, expected in jobs],
                             [str(root)] * len(jobs), [str(objects) if objects else ""] * len(jobs), chunksize=chunk))


def _parse_job(job: tuple[str, str], root: str, objects: str) -> _Outcome:
    with quiet_gc():
        return _parse_file(Path(job[0]), Path(root), job[1], Path(objects) if objects else None)


def available_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _write_object(objects: Path, digest: str, blob: bytes) -> None:
    target = objects / digest
    if target.exists():
        return
    try:
        objects.mkdir(parents=True, exist_ok=True)
        tmp = objects / f".{digest}.{os.getpid()}.tmp"
        tmp.write_bytes(blob)
        os.replace(tmp, target)
    except OSError:
        pass  # a cache that cannot be written is only slower


# -- the cache -------------------------------------------------------------------------

def tool_fingerprint() -> str:
    """A hash of what decides the results: this package's code, the schemas, the libraries."""
    import yaml

    from generator import fastschema

    digest = hashlib.sha1()
    parts = [sys.version, yaml.__version__, str(yaml.__with_libyaml__), str(_FORMAT),
             getattr(fastschema.jsonschema_rs, "__version__", str(fastschema.jsonschema_rs is not None))]
    try:
        from importlib import metadata

        parts += [metadata.version("jsonschema")]
    except Exception:  # noqa: BLE001 - any failure only makes the fingerprint coarser
        pass
    digest.update("\0".join(parts).encode())
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.read_bytes())
    for name in schema.SCHEMA_NAMES:
        digest.update(schema.schema_text(name).encode())
    return digest.hexdigest()[:16]


def _signature(info: os.stat_result) -> tuple[int, int, int, int]:
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)


def _pack(found: list[Diagnostic]) -> list[tuple]:
    return [(str(d.path), d.line, d.col, d.severity.value, d.message, d.rule, d.hint) for d in found]


def _unpack(rows: list[tuple]) -> list[Diagnostic]:
    return [Diagnostic(Path(p), line, col, Severity(sev), message, rule, hint) for p, line, col, sev, message, rule, hint in rows]


def _stable(value: Any) -> Any:
    """A value with a repr that does not depend on set or dict order."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__, tuple(_stable(getattr(value, f.name)) for f in dataclasses.fields(value)))
    if isinstance(value, dict):
        return tuple(sorted((repr(k), _stable(v)) for k, v in value.items()))
    if isinstance(value, (set, frozenset)):
        return tuple(sorted(repr(v) for v in value))
    if isinstance(value, (list, tuple)):
        return tuple(_stable(v) for v in value)
    return repr(value)


class _Entry:
    """What the index remembers of one review file."""

    __slots__ = ("signature", "digest", "has_record", "declared_id", "load", "schema", "context", "rules")

    def __init__(self, row: tuple):
        (self.signature, self.digest, self.has_record, self.declared_id,
         self.load, self.schema, self.context, self.rules) = row

    def row(self) -> tuple:
        return (self.signature, self.digest, self.has_record, self.declared_id, self.load, self.schema,
                self.context, self.rules)


class CachedRecord(SourceRecord):
    """A record whose data and text are read from the cache only if something asks for them."""

    def __init__(self, path: Path, objects: Path, entry: _Entry, root: Path):
        self.path = path
        self._objects, self._entry, self._root = objects, entry, root
        self._content: tuple[Any, str, tuple] | None = None

    def _load(self) -> tuple[Any, str, tuple]:
        if self._content is None:
            try:
                self._content = marshal.loads((self._objects / self._entry.digest).read_bytes())
            except (OSError, ValueError, EOFError, TypeError):
                # The object went missing: the file itself, whose hash this run checked, says the same.
                raw, _ = read_bytes(self.path, self._root)
                record, _ = parse_text(self.path, raw or b"")
                self._content = (record.data, record.text, record.surprises) if record else ({}, "", ())
        return self._content

    @property
    def data(self) -> Any:
        return self._load()[0]

    @property
    def text(self) -> str:  # type: ignore[override]
        return self._load()[1]

    @property
    def surprises(self) -> tuple:  # type: ignore[override]
        return self._load()[2]

    @property
    def declared_id(self) -> Any:
        return self._entry.declared_id


class FileCache(RecordChecks):
    """Per-file results of earlier runs on one KB, kept in .kb-cache/ of the current directory."""

    def __init__(self, folder: Path, root: Path):
        self.folder = folder
        self.objects = folder / "objects"
        self.index_file = folder / f"kb-{hashlib.sha1(str(root).encode()).hexdigest()[:16]}.marshal"
        self.entries: dict[str, _Entry] = {}
        self.written_ns = 0
        self.changed = False
        self._by_path: dict[Path, _Entry] = {}
        self._contexts: dict[int, tuple[RuleContext, str]] = {}
        self._ready: bool | None = None
        try:
            stored = marshal.loads(self.index_file.read_bytes())
            if stored.get("format") == _FORMAT:
                self.entries = {name: _Entry(row) for name, row in stored["entries"].items()}
                self.written_ns = stored["written"]
        except (OSError, ValueError, EOFError, TypeError, KeyError, AttributeError):
            self.entries = {}

    @classmethod
    def open(cls, kb_dir: Path) -> RecordChecks:
        """The cache of a KB, or plain checks when it is off or the current directory is inside the KB."""
        root = kb_dir.resolve()
        cwd = Path.cwd().resolve()
        if os.environ.get("KB_CACHE", "").lower() in ("off", "0", "no", "false"):
            return RecordChecks()
        if cwd == root or root in cwd.parents:
            return RecordChecks()
        return cls(cwd / CACHE_DIR / tool_fingerprint(), root)

    def read(self, paths: list[Path], root: Path) -> list[tuple[SourceRecord | None, list[Diagnostic]]]:
        if len(paths) < MIN_FILES:
            self.entries, self.changed = {}, False
            return super().read(paths, root)
        trusted_before = self.written_ns - RACY_NS
        results: dict[Path, tuple[SourceRecord | None, list[Diagnostic]]] = {}
        jobs: list[tuple[Path, str]] = []
        for path in paths:
            entry = self.entries.get(path.name)
            try:
                info = os.lstat(path)
            except OSError:
                info = None
            if (entry is not None and info is not None and stat.S_ISREG(info.st_mode)
                    and _signature(info) == tuple(entry.signature) and info.st_mtime_ns < trusted_before):
                results[path] = self._hit(path, entry, root)
            else:
                jobs.append((path, entry.digest if entry is not None else ""))
        objects = self.objects if jobs and self._prepare() else None
        for (path, _), outcome in zip(jobs, _parse_many(jobs, root, objects)):
            results[path] = self._store(path, outcome, root)
        names = {path.name for path in paths}
        if set(self.entries) - names:
            self.entries = {name: entry for name, entry in self.entries.items() if name in names}
            self.changed = True
        return [results[path] for path in paths]

    def _prepare(self) -> bool:
        """Create the cache folder (removing those of other versions of the tool); False if it cannot be."""
        if self._ready is None:
            try:
                fresh = not self.folder.is_dir()
                self.objects.mkdir(parents=True, exist_ok=True)
                if fresh:
                    for stale in self.folder.parent.iterdir():
                        if stale != self.folder and stale.is_dir():
                            shutil.rmtree(stale, ignore_errors=True)
                self._ready = True
            except OSError:
                self._ready = False
        return self._ready

    def _hit(self, path: Path, entry: _Entry, root: Path) -> tuple[SourceRecord | None, list[Diagnostic]]:
        self._by_path[path] = entry
        record = CachedRecord(path, self.objects, entry, root) if entry.has_record else None
        return record, _unpack(entry.load)

    def _store(self, path: Path, outcome: _Outcome, root: Path) -> tuple[SourceRecord | None, list[Diagnostic]]:
        if not outcome.readable:
            self.entries.pop(path.name, None)
            return None, outcome.load_findings
        try:
            signature = _signature(os.lstat(path))
        except OSError:
            signature = (-1, -1, -1, -1)
        self.changed = True
        if outcome.unchanged:
            entry = self.entries[path.name]
            entry.signature = signature
            return self._hit(path, entry, root)
        entry = _Entry((signature, outcome.digest, outcome.has_record, outcome.declared_id,
                        _pack(outcome.load_findings), _pack(outcome.schema_findings), "", []))
        self.entries[path.name] = entry
        self._by_path[path] = entry
        return outcome.record(path), outcome.load_findings

    def schema(self, record: SourceRecord) -> list[Diagnostic]:
        entry = self._by_path.get(record.path)
        return _unpack(entry.schema) if entry is not None else schema.check(record, "review")

    def rules(self, record: SourceRecord, context: RuleContext) -> list[Diagnostic]:
        entry = self._by_path.get(record.path)
        if entry is None:
            return run_rules(record, context)
        fingerprint = self._context_fingerprint(context)
        if entry.context != fingerprint:
            entry.rules, entry.context = _pack(run_rules(record, context)), fingerprint
            self.changed = True
        return _unpack(entry.rules)

    def _context_fingerprint(self, context: RuleContext) -> str:
        known = self._contexts.get(id(context))
        if known is None or known[0] is not context:
            known = (context, hashlib.sha1(repr(_stable(context)).encode()).hexdigest())
            self._contexts[id(context)] = known
        return known[1]

    def save(self) -> None:
        if not self.changed or not self._prepare():
            return
        stored = {"format": _FORMAT, "written": time.time_ns(),
                  "entries": {name: entry.row() for name, entry in self.entries.items()}}
        try:
            tmp = self.index_file.with_name(f".{self.index_file.name}.{os.getpid()}.tmp")
            tmp.write_bytes(marshal.dumps(stored))
            os.replace(tmp, self.index_file)
        except OSError:
            pass  # a cache that cannot be written is only slower
