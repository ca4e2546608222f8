"""Read the knowledge base from disk: discover files, parse YAML, keep source positions.

A broken file is a Diagnostic, never an exception: one bad file must not hide the others.
The YAML is composed by libyaml (when present) into nodes, and this module builds the
plain data itself, so that it can
- reject duplicate keys (PyYAML silently keeps the last one),
- keep dates and timestamps as the text written (the schema judges them),
- bound alias expansion and nesting (an alias bomb fails fast, in bounded memory),
- know the line and column of every key and value, for findings.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable

import yaml

from generator.diagnostics import Diagnostic, error, warning

MAX_FILE_BYTES = 1024 * 1024
MAX_ALIAS_NODES = 10_000
MAX_DEPTH = 100
# libyaml's composer recurses in C: a deep enough document crashes the process. Documents
# that could nest that deep are first scanned event by event, which does not recurse.
_SAFE_COMPOSE_DEPTH = 1000

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Python's own composer recurses in Python frames (a few a level): scan anything that could pass MAX_DEPTH.
_SCAN_ABOVE = _SAFE_COMPOSE_DEPTH // 2 if Loader is not yaml.SafeLoader else MAX_DEPTH

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp")}
_COLLECTION_TAGS: dict[type, str] = {yaml.MappingNode: _TAG + "map", yaml.SequenceNode: _TAG + "seq"}
_CONSTRUCTOR = yaml.SafeLoader("")  # only its scalar converters are used (int, float, bool)

JsonPath = tuple  # of str keys and int indices


@dataclass(frozen=True)
class Span:
    """1-based line and column of a key and of its value."""

    key_line: int
    key_col: int
    value_line: int
    value_col: int


class Positions:
    """Where each key and value of a document stands in its source."""

    def __init__(self, table: dict[JsonPath, Span]):
        self._table = table

    def _nearest(self, path: JsonPath) -> tuple[JsonPath, Span | None]:
        path = tuple(path)
        while path and path not in self._table:
            path = path[:-1]
        return path, self._table.get(path)

    def key(self, path: JsonPath) -> tuple[int, int]:
        """The key (or list item) at path; the nearest enclosing one if path is not there."""
        _, span = self._nearest(path)
        return (span.key_line, span.key_col) if span else (1, 1)

    def value(self, path: JsonPath) -> tuple[int, int]:
        """The value at path; the nearest enclosing key if path is not there."""
        found, span = self._nearest(path)
        if span is None:
            return (1, 1)
        if found == tuple(path):
            return (span.value_line, span.value_col)
        return (span.key_line, span.key_col)

    def mapping(self, path: JsonPath) -> tuple[int, int]:
        """First line of the mapping at path (line 1 for the top level), for a missing key."""
        if not path:
            return (1, 1)
        return self.value(path)


@dataclass
class SourceRecord:
    """One parsed YAML file: its plain data and, on demand, the positions of its nodes."""

    path: Path
    data: Any
    text: str = field(repr=False)
    # Plain scalars YAML 1.1 reads surprisingly (1:30 is 90, 0755 is 493, yes is true):
    # (path, line, col, as written, value), checked against the schema in schema.check.
    surprises: tuple[tuple[JsonPath, int, int, str, Any], ...] = ()

    @property
    def stem(self) -> str:
        return self.path.stem

    @property
    def declared_id(self) -> Any:
        """The record's `id` as written (None when there is none)."""
        return self.data.get("id") if isinstance(self.data, dict) else None

    @cached_property
    def positions(self) -> Positions:
        # Built only for files that have findings: a clean file never pays for it.
        node = _compose(self.text)
        table: dict[JsonPath, Span] = {}
        if node is not None:
            _Builder(record_positions=table).build(node)
        return Positions(table)

    def at_key(self, path: JsonPath) -> tuple[int, int]:
        return self.positions.key(path)

    def at_value(self, path: JsonPath) -> tuple[int, int]:
        return self.positions.value(path)

    def at_mapping(self, path: JsonPath) -> tuple[int, int]:
        return self.positions.mapping(path)


class _Stop(Exception):
    """Construction stops at the first structural problem (bomb, depth, bad tag)."""

    def __init__(self, diagnostic_args: tuple[int, int, str, str, str]):
        super().__init__(diagnostic_args[3])
        self.args_ = diagnostic_args


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    """Turn composed nodes into plain data: dict, list, str, int, float, bool, None."""

    def __init__(self, *, record_positions: dict[JsonPath, Span] | None = None):
        self.positions = record_positions
        self.surprises: list[tuple[JsonPath, int, int, str, Any]] = []
        self.problems: list[tuple[int, int, str, str, str]] = []
        self.done: dict[int, Any] = {}  # id(node) -> value, to reuse anchored nodes
        self.heights: dict[int, int] = {}
        self.sizes: dict[int, int] = {}
        self.active: set[int] = set()
        self.alias_nodes = 0

    def build(self, node: yaml.Node) -> Any:
        line, col = _mark(node)
        if self.positions is not None:
            self.positions[()] = Span(1, 1, line, col)
        return self._value(node, (), 0)[0]

    def _value(self, node: yaml.Node, path: JsonPath, depth: int) -> tuple[Any, int, int]:
        """Return (value, height, size) of node; shared (aliased) nodes are reused."""
        key = id(node)
        if key in self.active:
            raise _Stop((*_mark(node), "alias-expansion", "an alias refers to the node that contains it (a recursive alias)", ""))
        if key in self.done:
            height, size = self.heights[key], self.sizes[key]
            self.alias_nodes += size
            if self.alias_nodes > MAX_ALIAS_NODES:
                raise _Stop((*_mark(node), "alias-expansion",
                             f"aliases expand to more than {MAX_ALIAS_NODES:,} nodes",
                             "anchors and aliases are allowed, but not to repeat this much; write the values out"))
            if depth + height > MAX_DEPTH:
                raise _Stop((*_mark(node), "nesting-depth", f"the document nests deeper than {MAX_DEPTH} levels", ""))
            return self.done[key], height, size
        # The top-level collection is the first level (as _too_deep counts), so a collection at depth MAX_DEPTH is one too many.
        if depth > MAX_DEPTH or (depth >= MAX_DEPTH and isinstance(node, (yaml.MappingNode, yaml.SequenceNode))):
            raise _Stop((*_mark(node), "nesting-depth", f"the document nests deeper than {MAX_DEPTH} levels", ""))
        if type(node) in _COLLECTION_TAGS and node.tag != _COLLECTION_TAGS[type(node)]:
            raise _unsupported_tag(node)  # e.g. !!python/object/apply on a list, never constructed
        self.active.add(key)
        value: Any
        if isinstance(node, yaml.MappingNode):
            value, height, size = self._mapping(node, path, depth)
        elif isinstance(node, yaml.SequenceNode):
            value, height, size = self._sequence(node, path, depth)
        elif isinstance(node, yaml.ScalarNode):
            value, height, size = self._scalar(node), 0, 1
            if not node.style and node.tag in _SURPRISING_TAGS and yaml11_surprise(node.value, value):
                self.surprises.append((path, *_mark(node), node.value, value))
        self.active.discard(key)
        self.done[key], self.heights[key], self.sizes[key] = value, height, size
        return value, height, size

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        tag = node.tag
        if tag not in _SCALAR_TAGS:
            if tag == _TAG + "merge":
                return "<<"
            raise _unsupported_tag(node)
        if tag in (_TAG + "str", _TAG + "timestamp"):
            # Timestamps stay as written: the schema decides if they are dates or instants.
            return node.value
        if tag == _TAG + "int":
            return _CONSTRUCTOR.construct_yaml_int(node)
        if tag == _TAG + "float":
            return _CONSTRUCTOR.construct_yaml_float(node)
        if tag == _TAG + "bool":
            return _CONSTRUCTOR.construct_yaml_bool(node)
        return None

    def _sequence(self, node: yaml.SequenceNode, path: JsonPath, depth: int) -> tuple[list, int, int]:
        items, height, size = [], 0, 1
        for index, child in enumerate(node.value):
            child_path = path + (index,)
            if self.positions is not None:
                line, col = _mark(child)
                self.positions[child_path] = Span(line, col, line, col)
            value, h, s = self._value(child, child_path, depth + 1)
            items.append(value)
            height, size = max(height, h + 1), size + s
        return items, height, size

    def _mapping(self, node: yaml.MappingNode, path: JsonPath, depth: int) -> tuple[dict, int, int]:
        result: dict[str, Any] = {}
        seen: dict[str, yaml.Node] = {}
        merges: list[yaml.Node] = []
        height, size = 0, 1
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                merges.append(value_node)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append((*_mark(key_node), "key-type", "a key must be a plain string, not a list or mapping", ""))
                continue
            key = self._scalar(key_node)
            if not isinstance(key, str):
                self.problems.append((*_mark(key_node), "key-type",
                                      f"the key {key_node.value!r} is read by YAML as {_describe(key)}, not as text",
                                      f"quote it: '{key_node.value}'"))
                continue
            if key in seen:
                first = seen[key].start_mark.line + 1
                self.problems.append((*_mark(key_node), "duplicate-key",
                                      f"duplicate key {key!r} (first defined on line {first})",
                                      "YAML keeps only one of them; remove or rename the other"))
                continue
            seen[key] = key_node
            child_path = path + (key,)
            if self.positions is not None:
                kl, kc = _mark(key_node)
                vl, vc = (kl, kc) if id(value_node) in self.done else _mark(value_node)
                self.positions[child_path] = Span(kl, kc, vl, vc)
            value, h, s = self._value(value_node, child_path, depth + 1)
            result[key] = value
            height, size = max(height, h + 1), size + s
        for merge_node in merges:
            # '<<: *base' merges the keys the mapping does not set itself.
            sources = merge_node.value if isinstance(merge_node, yaml.SequenceNode) else [merge_node]
            for source in sources:
                value, h, s = self._value(source, path, depth + 1)
                if not isinstance(value, dict):
                    self.problems.append((*_mark(source), "yaml", "a merge key '<<' must name a mapping", ""))
                    continue
                for k, v in value.items():
                    result.setdefault(k, v)
                height, size = max(height, h), size + s
        return result, height, size


_SURPRISING_TAGS = frozenset({_TAG + "int", _TAG + "float", _TAG + "bool"})
_OCTAL = re.compile(r"^[-+]?0[0-7_]+$")


def yaml11_surprise(raw: str, value: Any) -> str:
    """Why YAML 1.1's reading of a plain scalar surprises ('' when it does not): a
    sexagesimal, octal or binary number, digits with underscores, or a yes/no/on/off/y/n
    boolean. YAML 1.2 (editors, most other tools) reads all of them differently."""
    if isinstance(value, bool):
        if raw.lower() in ("true", "false"):
            return ""
        return f"is read by YAML 1.1 as the boolean {str(value).lower()}, but as text by YAML 1.2 tools and editors"
    if ":" in raw:
        return f"is read by YAML 1.1 as the sexagesimal (base 60) number {value!r}"
    if _OCTAL.match(raw):
        return f"is read by YAML 1.1 as the octal number {value!r}"
    if raw.lstrip("+-").startswith("0b"):
        return f"is read by YAML 1.1 as the binary number {value!r}"
    if "_" in raw:
        return f"is read by YAML 1.1 as the number {value!r}, but as text by YAML 1.2 tools and editors"
    return ""


def _unsupported_tag(node: yaml.Node) -> _Stop:
    shown = node.tag.replace(_TAG, "!!")
    return _Stop((*_mark(node), "yaml", f"the tag {shown} is not supported in a record",
                  "remove the tag; records hold plain strings, numbers, booleans, lists and mappings"))


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if value is None:
        return "null"
    return f"the number {value!r}"


def _compose(text: str) -> yaml.Node | None:
    loader = Loader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def _too_deep(text: str) -> tuple[int, int] | None:
    """Where the document first nests deeper than MAX_DEPTH, scanning events without recursion."""
    depth = 0
    loader = Loader(text)
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH and event.start_mark is not None:
                    return event.start_mark.line + 1, event.start_mark.column + 1
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    finally:
        loader.dispose()
    return None


def _could_be_deep(text: str, levels: int) -> bool:
    # Block nesting needs a column of indentation (or an indicator) per level, flow
    # nesting a bracket per level. Documents that could nest past what composing can
    # take are scanned first, without recursion; the others are composed, and the
    # builder stops at the collection the scan would have found (parse_text scans those
    # with findings). Most records have lines longer than MAX_DEPTH characters, so
    # scanning every document that could pass MAX_DEPTH would scan nearly all of them.
    brackets = text.count("[") + text.count("{")
    widest = max((len(line) for line in text.splitlines()), default=0)
    return brackets + widest >= levels


def _line_col_of_offset(data: bytes | str, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of an offset into text, or into UTF-8 bytes."""
    if isinstance(data, bytes):
        start = data.rfind(b"\n", 0, offset) + 1
        return data.count(b"\n", 0, offset) + 1, len(data[start:offset].decode("utf-8", "replace")) + 1
    start = data.rfind("\n", 0, offset) + 1
    return data.count("\n", 0, offset) + 1, len(data[start:offset]) + 1


def _flow_limit_position(text: str) -> tuple[int, int] | None:
    """Where flow brackets first open more than MAX_DEPTH levels (outside quotes)."""
    depth, quote = 0, ""
    for offset, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[{":
            depth += 1
            if depth + 1 > MAX_DEPTH:  # the top-level mapping is the first level
                return _line_col_of_offset(text, offset)
        elif char in "]}":
            depth -= 1
    return None


def _yaml_error(path: Path, text: str, exc: yaml.YAMLError) -> Diagnostic:
    if isinstance(exc, yaml.reader.ReaderError):
        # libyaml reports a byte offset into the UTF-8 text, the pure-Python reader a character offset.
        source = text.encode("utf-8") if Loader is not yaml.SafeLoader else text
        line, col = _line_col_of_offset(source, exc.position)
        return error(path, line, col, "yaml", f"the control character U+{exc.character:04X} is not allowed in YAML",
                     "remove it, or write it as an escape (\\u....) inside double quotes")
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    opened = getattr(exc, "context_mark", None)
    if opened is not None and context and context.startswith("while scanning a quoted scalar"):
        # An unclosed quote is found where the scanner gives up (often far below, in a
        # comment); the reviewer needs the line where the quote opened.
        return error(path, opened.line + 1, opened.column + 1, "yaml",
                     "not valid YAML: this quoted text is never closed "
                     f"(the parser ran on to line {mark.line + 1 if mark else '?'}: {problem})",
                     "close the quote on this line, or escape a quote inside the text (\\\" in \"...\", '' in '...')")
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    if isinstance(exc, yaml.composer.ComposerError) and "single document" in (context or ""):
        return error(path, line, col, "multiple-documents", "the file holds more than one YAML document",
                     "a record is one document: remove the '---' separator and what follows, or split it into two files")
    if "nesting depth" in problem:
        # libyaml 0.2.6+ stops at its own limit (1000) while scanning ahead, before any
        # event says where our limit was passed: find that bracket ourselves.
        line, col = _flow_limit_position(text) or (line, col)
        return error(path, line, col, "nesting-depth", f"the document nests deeper than {MAX_DEPTH} levels")
    runaway = _runaway_quote(text, mark) if mark is not None else None
    if runaway is not None and mark is not None:
        return error(path, runaway.line + 1, runaway.column + 1, "yaml",
                     f"not valid YAML: the quoted text opened here runs on to line {mark.line + 1}, where "
                     f"the parser stops ({problem})",
                     "close the quote on this line; inside \"...\" write a quote as \\\", inside '...' as ''")
    message = problem if not context else f"{context}: {problem}"
    hint = ""
    lines = text.splitlines()
    if 0 < line <= len(lines) and "\t" in lines[line - 1][: col + 1]:
        hint = "YAML does not allow tabs for indentation; indent with spaces"
    return error(path, line, col, "yaml", f"not valid YAML: {message}", hint)


def _runaway_quote(text: str, mark: Any) -> Any:
    """Where a quoted scalar that spans lines and ends on the error's line opened, if one does.

    A forgotten closing quote makes the scalar run on until the next quote character, which
    may be many lines below (in a comment, say); the parser then fails there. The reviewer
    needs the line where the quote was opened.
    """
    last = None
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if token.start_mark.index >= mark.index:
                break
            if isinstance(token, yaml.ScalarToken) and token.style in ('"', "'"):
                last = token
    except yaml.YAMLError:
        pass
    if last is None or last.start_mark.line == last.end_mark.line:
        return None
    return last.start_mark if last.end_mark.line == mark.line else None


def parse_text(path: Path, raw: bytes) -> tuple[SourceRecord | None, list[Diagnostic]]:
    """Parse the bytes of one file into a SourceRecord, or say why it cannot be."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _line_col_of_offset(raw, exc.start)
        return None, [error(path, line, col, "encoding", f"the file is not UTF-8 (byte 0x{raw[exc.start]:02x})",
                            "save the file as UTF-8")]
    if text.startswith("\ufeff"):
        text = text[1:]
    record, found = _parse_yaml(path, text)
    if found and _could_be_deep(text, MAX_DEPTH):
        # A document that could nest past the limit and has any finding gets the event
        # scan's answer first, exactly as if every such document had been scanned (most
        # are not: see _could_be_deep).
        try:
            where = _too_deep(text)
        except yaml.YAMLError:
            where = None
        if where is not None:
            return None, [error(path, *where, "nesting-depth", f"the document nests deeper than {MAX_DEPTH} levels")]
    return record, found


def _parse_yaml(path: Path, text: str) -> tuple[SourceRecord | None, list[Diagnostic]]:
    try:
        if _could_be_deep(text, _SCAN_ABOVE):
            where = _too_deep(text)
            if where is not None:
                return None, [error(path, *where, "nesting-depth", f"the document nests deeper than {MAX_DEPTH} levels")]
        # Whitespace only (tabs included, which YAML itself would reject) is an empty file.
        node = _compose(text) if text.strip() else None
    except yaml.YAMLError as exc:
        return None, [_yaml_error(path, text, exc)]
    if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == _TAG + "null" and not node.value):
        # No document, or only '---': nothing was written.
        return None, [error(path, 1, 1, "empty-file", "the file is empty", "write the record, or delete the file")]
    if not isinstance(node, yaml.MappingNode):
        kind = "a list" if isinstance(node, yaml.SequenceNode) else "a single value"
        return None, [error(path, *_mark(node), "not-a-mapping", f"the document is {kind}, not a mapping of fields",
                            "a record is a mapping: 'id: ...', 'title: ...' and so on, one per line")]
    builder = _Builder()
    try:
        data = builder.build(node)
    except _Stop as stop:
        line, col, rule, message, hint = stop.args_
        return None, [error(path, line, col, rule, message, hint)]
    diagnostics = [error(path, line, col, rule, message, hint) for line, col, rule, message, hint in builder.problems]
    return SourceRecord(path=path, data=data, text=text, surprises=tuple(builder.surprises)), diagnostics


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


def read_bytes(path: Path, root: Path) -> tuple[bytes | None, list[Diagnostic]]:
    """The bytes of one KB file, read safely: no symlink out of the KB, nothing over 1 MiB."""
    try:
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            target = Path(os.path.realpath(path))  # unlike resolve(), no RuntimeError on a link loop
            if not _inside(target, root):
                return None, [error(path, 1, 1, "symlink-escape", "the file is a symbolic link that leaves the knowledge base; it was not followed",
                                    "copy the record into the knowledge base instead of linking to it")]
            info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            return None, [error(path, 1, 1, "not-a-file", "not a regular file")]
        if info.st_size > MAX_FILE_BYTES:
            return None, [error(path, 1, 1, "file-too-large",
                                f"the file is {info.st_size:,} bytes; a KB file may be at most {MAX_FILE_BYTES:,} bytes (1 MiB)",
                                "split the record or move attachments out of it")]
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        return None, [error(path, 1, 1, "missing-file", "the file does not exist (or is a broken link)")]
    except OSError as exc:
        return None, [error(path, 1, 1, "unreadable", f"cannot read the file: {exc.strerror or exc}")]
    if len(raw) > MAX_FILE_BYTES:  # grew while we read it
        return None, [error(path, 1, 1, "file-too-large", f"the file is larger than {MAX_FILE_BYTES:,} bytes (1 MiB)")]
    return raw, []


def read_file(path: Path, root: Path) -> tuple[SourceRecord | None, list[Diagnostic]]:
    """Read and parse one KB file safely: no symlink out of the KB, nothing over 1 MiB."""
    raw, problems = read_bytes(path, root)
    if raw is None:
        return None, problems
    return parse_text(path, raw)


Reader = Callable[[list[Path], Path], list[tuple["SourceRecord | None", list[Diagnostic]]]]
"""Reads many review files at once (load.read_file for each, or the cache in generator/cache.py)."""


def read_files(paths: list[Path], root: Path) -> list[tuple[SourceRecord | None, list[Diagnostic]]]:
    return [read_file(path, root) for path in paths]


@dataclass
class SourceKB:
    """Everything read from a KB folder, before any checking beyond YAML."""

    root: Path
    reviews: list[SourceRecord]
    taxonomy: SourceRecord | None
    controls: SourceRecord | None
    files: int
    unparsed: frozenset[str] = frozenset()  # stems of record files that could not be read or parsed


REVIEW_SUFFIXES = (".yaml", ".yml")


def discover_reviews(root: Path) -> tuple[list[Path], list[Diagnostic]]:
    """The record files in reviews/ (not recursive); anything else there is a warning."""
    folder = root / "reviews"
    diagnostics: list[Diagnostic] = []
    if folder.is_symlink() and not _inside(Path(os.path.realpath(folder)), root):
        return [], [error(folder, 1, 1, "symlink-escape", "reviews/ is a symbolic link that leaves the knowledge base; it was not followed")]
    if not folder.is_dir():
        return [], []
    paths: list[Path] = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        path = folder / entry.name
        if entry.name.startswith("."):
            # Like the shell's reviews/*.yaml, a dotfile is not a record: editors leave
            # swap files (.INC-2025-001.yaml.swp) and drafts hide as .draft.yaml.
            diagnostics.append(warning(path, 1, 1, "stray-file", "not a record: files whose name starts with '.' are not read",
                                       _dotfile_hint(path)))
        elif entry.name.endswith(REVIEW_SUFFIXES) and not entry.is_dir(follow_symlinks=False):
            paths.append(path)
        elif entry.is_dir(follow_symlinks=False):
            diagnostics.append(warning(path, 1, 1, "stray-file", "a folder in reviews/ is not read: records are not looked for in subfolders",
                                       "move its records into reviews/ itself"))
        else:
            hint = "records are reviews/<ID>.yaml or reviews/<ID>.yml"
            if entry.name.lower().endswith(REVIEW_SUFFIXES):
                hint = f"rename it to {Path(entry.name).stem}.yaml (the suffix is lower case)"
            diagnostics.append(warning(path, 1, 1, "stray-file", "not a record: only .yaml and .yml files in reviews/ are read", hint))
    return paths, diagnostics


_ID_IN_NAME = re.compile(r"[A-Z][A-Z0-9]+-[0-9]{4}-[0-9]{3,}")


def _dotfile_hint(path: Path) -> str:
    """How to turn a hidden file into a record, or what it probably is."""
    name = path.name
    found = _ID_IN_NAME.search(name)
    if name.endswith(REVIEW_SUFFIXES) and not found:
        declared = _declared_id(path)
        if declared:
            return f"if it is a record, rename it to {declared}{path.suffix} (the id it declares)"
    if found and not name.endswith(REVIEW_SUFFIXES):
        return (f"it looks like an editor's swap or backup file of {found.group(0)}.yaml: delete it, "
                "or add it to .gitignore")
    if found:
        return f"if it is a record, rename it to {found.group(0)}{Path(name).suffix}"
    return ("if it is a record, rename it to its review id, e.g. INC-2025-001.yaml (the id pattern is "
            "PREFIX-YYYY-NNN; kb new picks the next free id)")


def _declared_id(path: Path) -> str:
    """The review id a file declares on an `id:` line ('' if none), read without parsing."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(65536).decode("utf-8", errors="replace")
    except OSError:
        return ""
    match = re.search(r"^id:[ \t]*['\"]?([A-Z][A-Z0-9]+-[0-9]{4}-[0-9]{3,})['\"]?[ \t]*(?:#.*)?$", head, re.M)
    return match.group(1) if match else ""


def load_kb(root: Path, *, reader: Reader = read_files) -> tuple[SourceKB, list[Diagnostic]]:
    """Read every file of the KB, returning what parsed and a finding for everything else."""
    root = root.resolve()
    diagnostics: list[Diagnostic] = []
    paths, found = discover_reviews(root)
    diagnostics += found
    reviews: list[SourceRecord] = []
    for record, problems in reader(paths, root):
        diagnostics += problems
        if record is not None:
            reviews.append(record)
    catalogs: dict[str, SourceRecord | None] = {}
    for name in ("taxonomy", "controls"):
        path = root / f"{name}.yaml"
        if not path.exists() and not path.is_symlink():
            diagnostics.append(error(path, 1, 1, "missing-file", f"the knowledge base has no {name}.yaml",
                                     f"create {name}.yaml (see the record format); reviews refer to it"))
            catalogs[name] = None
            continue
        record, problems = read_file(path, root)
        diagnostics += problems
        catalogs[name] = record
    unparsed = frozenset({p.stem for p in paths} - {r.path.stem for r in reviews})
    kb = SourceKB(root=root, reviews=reviews, taxonomy=catalogs["taxonomy"], controls=catalogs["controls"],
                  files=len(paths) + 2, unparsed=unparsed)
    return kb, diagnostics
