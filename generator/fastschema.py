"""A fast answer to "is this record valid?", for the common case where it is.

jsonschema explains a failure well (schema.py turns its errors into findings with lines
and hints) but takes milliseconds a record; the Rust engine jsonschema-rs answers the
yes-or-no question about twenty times faster. schema.check asks this module first and
runs jsonschema only when the answer is not a sure "valid", so the findings are the same
with or without the fast engine, and it stays optional: without jsonschema-rs installed
every record simply takes the full check.

A "valid" from here must never hide a finding jsonschema would report. The engines
differ in two places, both handled:
- regular expressions: Python's `\\s` also matches the separators U+001C to U+001F and
  NEXT LINE (U+0085), Rust's does not, so a string holding one of them goes to jsonschema;
- numbers: jsonschema-rs refuses NaN and infinities (stricter, so harmless) and raises on
  what it cannot convert, which counts as "not sure".
Formats use the very functions jsonschema uses (the record format's date rules).
"""

from __future__ import annotations

import re
from typing import Any, Callable

try:
    import jsonschema_rs
except ImportError:  # optional: the full check alone gives the same findings, slower
    jsonschema_rs = None  # type: ignore[assignment]  # checked before every use

# Characters Python's regular expressions treat as whitespace and Rust's do not.
_DIALECT_GAP = re.compile("[\x1c-\x1f\x85]")


class FastValidator:
    """The yes-or-no validity of data against one schema; None from is_valid means "ask jsonschema"."""

    def __init__(self, schema: dict, formats: dict[str, Callable[[Any], bool]]):
        self._validator = None
        if jsonschema_rs is not None:
            try:
                self._validator = jsonschema_rs.validator_for(schema, validate_formats=True, formats=formats)
            except Exception:  # noqa: BLE001 - a version without these options: every record takes the full check
                self._validator = None

    @property
    def available(self) -> bool:
        return self._validator is not None

    def is_valid(self, data: Any) -> bool:
        """True only when the data is certainly valid; False when unsure or invalid."""
        if self._validator is None or _has_dialect_gap(data):
            return False
        try:
            return self._validator.is_valid(data)
        except (ValueError, TypeError, OverflowError):  # a value it cannot convert: let jsonschema judge
            return False


def _has_dialect_gap(data: Any) -> bool:
    """Whether any string (key or value) holds a character the two regex engines read differently."""
    stack = [data]
    search = _DIALECT_GAP.search
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if search(item):
                return True
        elif isinstance(item, dict):
            for key, value in item.items():
                if isinstance(key, str) and search(key):
                    return True
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return False
