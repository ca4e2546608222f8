"""What a page's text depends on, as a digest: the key of the render cache.

A page is rendered from its template and its context (pages.plan), and from nothing
else: the context holds exactly the data the template shows (never the whole KB), the
templates are files, and the one helper that looks beyond the context, the linker that
turns a review id in prose into a link, is keyed by what it can see. So the key is

    the digest of the templates' sources + the page's address + its whole context,
    walked deeply + the review ids it mentions that have pages.

Nothing is keyed by its shape or its repr: a value of a kind this module does not know
is an error, so a new context type fails the tests instead of serving a stale page. Big
values that many pages share (a review, the catalogs) are digested once a pass, by
identity, while the pass keeps them alive. The record model's frozen dataclasses
(generator/model.py: plain fields, no sets) are digested from their pickle, which holds
every field however deep and is written in C: walking them field by field was most of
the cost of keying a site after one edit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import pickle
import re
from pathlib import Path
from typing import Any, Iterable, Mapping

from generator.procedure import REVIEW_ID


_SCALARS = (str, int, float, bool, type(None), dt.date, dt.datetime, dt.timedelta, Path, enum.Enum)
# Every review id a string holds, overlapping ones too: a superset of what any linker
# rule (word boundaries, links, code) would link, so no page is keyed short of its links.
_REVIEW_ID = re.compile(rf"(?=({REVIEW_ID}))")
_REVIEW_ID_BYTES = re.compile(rf"(?=({REVIEW_ID}))".encode())
_MODEL = "generator.model"


def templates_digest(folders: Iterable[Path]) -> bytes:
    """One digest of every template file on the search path: a template may include or
    import any other, so an edit to any of them is an edit to every page."""
    digest = hashlib.sha256()
    for folder in folders:
        if folder.is_dir():
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                digest.update(f"{path.relative_to(folder).as_posix()}\0".encode())
                digest.update(path.read_bytes())
    return digest.digest()


class Fingerprints:
    """Digests of page contexts for one pass over the site.

    `reviews` says which review ids have a page, and how (id -> "published" or
    "restricted"; render.Renderer): the linker and `review_state` look up exactly the ids
    a page's context mentions, so a page's key holds those ids' states, not the whole map
    (adding a review re-renders only the pages that mention its id).
    """

    def __init__(self, *, templates: bytes, reviews: Mapping[str, str] | None = None) -> None:
        self._templates = templates
        self._reviews: Mapping[str, str] = reviews or {}
        self._shared: dict[int, tuple[bytes, frozenset[str]]] = {}
        self._keep: list[Any] = []  # objects memoised by id() stay alive while memoised

    def page(self, template: str, here: str, context: dict[str, Any]) -> str:
        digest = hashlib.sha256(self._templates)
        digest.update(f"{template}\0{here}\0".encode())
        mentioned: set[str] = set()
        self._feed(digest, context, mentioned)
        digest.update(repr(sorted((rid, self._reviews[rid]) for rid in mentioned if rid in self._reviews)).encode())
        return digest.hexdigest()

    def _feed(self, digest: Any, value: Any, mentioned: set[str]) -> None:
        if isinstance(value, str):  # Markup too: it is a str
            digest.update(f"s{len(value)}:".encode())
            digest.update(value.encode("utf-8", "surrogatepass"))
            if "-" in value:
                mentioned.update(_REVIEW_ID.findall(value))
        elif isinstance(value, _SCALARS):
            digest.update(f"{type(value).__name__}:{value!r}\0".encode())
        elif isinstance(value, dict):
            digest.update(b"{")
            for key, item in value.items():
                self._feed(digest, key, mentioned)
                self._feed(digest, item, mentioned)
            digest.update(b"}")
        elif isinstance(value, (list, tuple)):
            digest.update(f"[{type(value).__name__}".encode())
            for item in value:
                self._feed(digest, item, mentioned)
            digest.update(b"]")
        elif isinstance(value, (set, frozenset)):
            digest.update(b"<")
            for item in sorted(value, key=repr):
                self._feed(digest, item, mentioned)
            digest.update(b">")
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            own, ids = self._dataclass(value)
            digest.update(own)
            mentioned.update(ids)
        else:
            raise TypeError(f"a page context holds a {type(value).__qualname__}, which the render cache "
                            "cannot key by its content; pass plain data (see generator/fingerprint.py)")

    def _dataclass(self, value: Any) -> tuple[bytes, frozenset[str]]:
        # Reviews, lessons and action rows are shared by many pages and come by the
        # thousand: each is walked once a pass, every field, however deep.
        key = id(value)
        if key not in self._shared and type(value).__module__ == _MODEL:
            # A pickle names the class and holds every field; the ids in its strings are
            # found in its bytes (a superset: a page is never keyed short of a link).
            data = pickle.dumps(value, protocol=5)
            self._shared[key] = (hashlib.sha256(data).digest(),
                                 frozenset(m.decode() for m in _REVIEW_ID_BYTES.findall(data)))
            self._keep.append(value)
        elif key not in self._shared:
            digest = hashlib.sha256(type(value).__qualname__.encode())
            mentioned: set[str] = set()
            for name in _field_names(type(value)):
                digest.update(f"{name}=".encode())
                self._feed(digest, getattr(value, name), mentioned)
            self._shared[key] = (digest.digest(), frozenset(mentioned))
            self._keep.append(value)
        return self._shared[key]





_FIELDS: dict[type, tuple[str, ...]] = {}


def _field_names(kind: type) -> tuple[str, ...]:
    """A dataclass's field names, looked up once per class (dataclasses.fields builds them anew)."""
    names = _FIELDS.get(kind)
    if names is None:
        names = _FIELDS[kind] = tuple(f.name for f in dataclasses.fields(kind))
    return names
