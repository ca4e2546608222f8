"""What a page's text depends on, as a digest: the key of `kb serve`'s render cache.

A page is rendered from its template and its context (pages.plan). Two contexts with the
same fingerprint render the same text, so a live preview re-renders only the pages whose
fingerprint changed after an edit: the edited review's page, the list pages it sits on,
its categories' and controls' pages, the pages of reviews related to it.

Templates also read the KB object itself, but only for its shape: which ids exist (links
and autolinks), catalogs (category titles, control URLs) and the counts on the section
index pages; whatever else a page shows of another review is in its context (pages.plan
passes a review page the titles of its related reviews). The KB is therefore fingerprinted by
that shape, not by every record, which is what keeps one edit from invalidating every
page. A value of a kind not known here is fingerprinted by its repr(); where that holds a
memory address the page is simply rendered every time, never served stale.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

from generator.index import KnowledgeBase
from generator.model import Review

_PLAIN = (str, int, float, bool, type(None), dt.date, dt.datetime, dt.timedelta, Path)


class Fingerprints:
    """Digests of page contexts for one KB view; memoises what many pages share."""

    def __init__(self) -> None:
        self._reviews: dict[int, bytes] = {}
        self._kbs: dict[int, bytes] = {}
        self._objects: dict[int, bytes] = {}
        self._keep: list[Any] = []  # objects whose id() is memoised stay alive while memoised

    def page(self, template: str, here: str, context: dict[str, Any]) -> str:
        digest = hashlib.sha1(f"{template}\0{here}\0".encode())
        self._feed(digest, context)
        return digest.hexdigest()

    def _feed(self, digest: Any, value: Any) -> None:
        if isinstance(value, _PLAIN):
            digest.update(f"{type(value).__name__}:{value!r}\0".encode())
        elif isinstance(value, Review):
            digest.update(self._review(value))
        elif isinstance(value, KnowledgeBase):
            digest.update(self._kb(value))
        elif isinstance(value, dict):
            digest.update(b"{")
            for key, item in value.items():
                self._feed(digest, key)
                self._feed(digest, item)
            digest.update(b"}")
        elif isinstance(value, (list, tuple)):
            digest.update(b"[")
            for item in value:
                self._feed(digest, item)
            digest.update(b"]")
        elif isinstance(value, (set, frozenset)):
            digest.update(f"set:{sorted(map(repr, value))!r}".encode())
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            digest.update(self._dataclass(value))
        else:
            digest.update(f"{type(value).__qualname__}:{value!r}\0".encode())

    def _dataclass(self, value: Any) -> bytes:
        # Rows (a review with one of its actions or lessons) are shared by many pages and
        # come by the thousand: each is digested once a pass, its review by the review's
        # memoised digest and every other field by its repr (fast, and complete).
        key = id(value)
        if key not in self._objects:
            digest = hashlib.sha1(type(value).__qualname__.encode())
            for f in dataclasses.fields(value):
                item = getattr(value, f.name)
                if isinstance(item, (Review, KnowledgeBase)):
                    self._feed(digest, item)
                else:
                    digest.update(f"{f.name}={item!r}\0".encode())
            self._objects[key] = digest.digest()
            self._keep.append(value)
        return self._objects[key]

    def _review(self, review: Review) -> bytes:
        key = id(review)
        if key not in self._reviews:
            # The dataclass repr holds every field the templates read (the view may have
            # trimmed `related`, which the raw record would not show).
            self._reviews[key] = hashlib.sha1(repr(review).encode()).digest()
            self._keep.append(review)
        return self._reviews[key]

    def _kb(self, kb: KnowledgeBase) -> bytes:
        key = id(kb)
        if key not in self._kbs:
            shape = (
                [r.id for r in kb.reviews], kb.restricted,
                sorted(kb.categories.items()), kb.frameworks,
                sorted((c, len(rs)) for c, rs in kb.reviews_by_category.items()),
                sorted((c, len(rs)) for c, rs in kb.reviews_by_control.items()),
            )
            self._kbs[key] = hashlib.sha1(repr(shape).encode()).digest()
            self._keep.append(kb)
        return self._kbs[key]
