"""Check records against the JSON Schemas and turn schema errors into Diagnostics with lines.

The schemas in schemas/ are the same files editors use (via the yaml-language-server
modeline), so what an editor underlines and what `kb validate` reports agree. Each
schema is compiled once. Conditional requirements that the procedure names as rules
carry an `x-rule` (and `x-message`) so their findings get the rule id, not `schema`.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

from generator import dates, fastschema
from generator.diagnostics import Diagnostic, error
from generator.load import SourceRecord, yaml11_surprise

SCHEMA_NAMES = ("review", "taxonomy", "controls")

_FORMATS = jsonschema.FormatChecker(formats=())


@_FORMATS.checks("date")
def _is_date(value: object) -> bool:
    return not isinstance(value, str) or dates.parse_date(value) is not None


@_FORMATS.checks("date-time")
def _is_timestamp(value: object) -> bool:
    return not isinstance(value, str) or dates.parse_timestamp(value) is not None


def schema_text(name: str) -> str:
    """The JSON text of a schema, from the installed package or, in a checkout, schemas/."""
    filename = f"{name}.schema.json"
    try:
        return resources.files("generator.schemas").joinpath(filename).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        return (Path(__file__).resolve().parent.parent / "schemas" / filename).read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def validator(name: str) -> jsonschema.Draft202012Validator:
    """The compiled validator for one schema (review, taxonomy or controls)."""
    schema = json.loads(schema_text(name))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=_FORMATS)


@lru_cache(maxsize=None)
def fast_validator(name: str) -> fastschema.FastValidator:
    """The fast yes-or-no check of one schema (jsonschema-rs, when installed)."""
    return fastschema.FastValidator(json.loads(schema_text(name)), {"date": _is_date, "date-time": _is_timestamp})


def check(record: SourceRecord, name: str) -> list[Diagnostic]:
    """Every schema finding of one record, each at the key or value it is about."""
    if not record.surprises and fast_validator(name).is_valid(record.data):
        return []  # the common case, answered fast; anything else gets the full check
    errors = list(validator(name).iter_errors(record.data))
    found = [d for e in _explained(errors) for d in _diagnose(record, e)]
    return _yaml11(record, errors, found) if record.surprises else found


def _yaml11(record: SourceRecord, errors: list[ValidationError], found: list[Diagnostic]) -> list[Diagnostic]:
    """Values YAML 1.1 reads surprisingly (1:30 is 90) are errors that say how to write them.

    Where the schema refused the value already (owner: no is the boolean false), its
    finding gets the explanation as its hint; where the schema took it (users_affected:
    1:30 is a fine number), the value is an error of its own: it must never be published
    as something the reviewer did not write. A boolean field's yes/no/on/off is one too:
    YAML 1.2 tools, the editor's schema check among them, read it as text.
    """
    unknown = {tuple(e.absolute_path) for e in errors if e.validator == "additionalProperties"}
    at = {(d.line, d.col): i for i, d in enumerate(found)}
    out = list(found)
    for path, line, col, raw, value in record.surprises:
        why = yaml11_surprise(raw, value)
        if isinstance(value, bool):
            fix = f"write {str(value).lower()}"
        elif why and "octal" in why:
            fix = f"write {value!r}, or {int(raw.replace('_', ''), 10)} if the leading zero is not meant as octal"
        else:
            fix = f"write {value!r}, or quote it as '{raw}' if you meant text"
        if (line, col) in at:
            i = at[(line, col)]
            out[i] = dataclasses.replace(out[i], hint=f"{raw} {why}: quote it as '{raw}'")
        elif not any(path[:len(p)] == p for p in unknown):
            out.append(error(record.path, line, col, "schema", f"{dotted(path)}: {raw} {why}", fix))
    return out


def _explained(errors: list[ValidationError]) -> list[ValidationError]:
    # A value refused by an `x-rule` 'not' (TLP:WHITE) is explained by that rule alone;
    # the enum failure at the same place would only repeat it.
    ruled = {tuple(e.absolute_path) for e in errors if e.validator == "not" and "x-rule" in e.schema}
    return [e for e in errors if "x-rule" in e.schema or tuple(e.absolute_path) not in ruled]


def dotted(path: Iterable[Any]) -> str:
    """actions[1].due for ('actions', 1, 'due')."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


_TYPE_NAMES = {"string": "text", "integer": "a whole number", "number": "a number", "boolean": "true or false",
               "array": "a list", "object": "a mapping of fields", "null": "nothing"}


def _type_hint(value: Any, expected: str) -> str:
    if expected in ("integer", "number") and isinstance(value, str) and re.fullmatch(r"[-+]?0[oOxXbB][0-9a-fA-F_]+", value.strip()):
        try:
            decimal = int(value.strip().replace("_", ""), 0)
        except ValueError:
            return "write the number in decimal digits"
        return f"{value} is YAML 1.2 notation, which a YAML 1.1 reader takes as text: write {decimal}"
    if expected == "string" and isinstance(value, bool):
        return "YAML reads yes/no/on/off/true/false as booleans: put the text in quotes"
    if expected == "string" and isinstance(value, (int, float)):
        return "YAML reads this as a number (1.10 becomes 1.1): put it in quotes"
    if value is None:
        return "write a value, or remove the key if the field is optional"
    if expected in ("array",) and isinstance(value, str):
        return "write a list: one '- item' per line, or [a, b]"
    return ""


_PATTERNS = {
    "^[A-Z][A-Z0-9]+-[0-9]{4}-[0-9]{3,}$": ("is not a review id", "a review id looks like INC-2025-014: letters, the year, a sequence number"),
    "^[a-z0-9]+(-[a-z0-9]+)*$": ("is not a category id", "category ids are lower-case words joined by hyphens, e.g. configuration-change"),
    "^L[0-9]+$": ("is not a lesson id", "lesson ids are L1, L2, ..."),
    "^A[0-9]+$": ("is not an action id", "action ids are A1, A2, ..."),
    "^[^/\\s]+/[^/\\s]+$": ("is not a control reference", "write FRAMEWORK/CONTROL as in controls.yaml, e.g. ISO27001-2022/A.5.27"),
    "^[^/\\s]+$": ("is not a valid id", "ids have no '/' and no spaces"),
    "^[^\\r\\n]*\\S[^\\r\\n]*$(?!\\n)": ("must be one line of text, not blank", "write it on a single line; long text belongs in a summary or description"),
    "\\S": ("must not be blank", "write the text, or remove the key if the field is optional"),
    "^[a-z][a-z0-9-]*$": ("is not a cause group name", "cause groups are lower-case words such as people, process, technology, environment"),
}


_OPTIONAL = ", or remove the key if the field is optional"


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def _diagnose(record: SourceRecord, e: ValidationError) -> list[Diagnostic]:
    """One or more Diagnostics for a schema error, with the place it is about."""
    if e.validator in ("anyOf", "oneOf") and e.context:
        e = best_match(e.context)
    path = tuple(e.absolute_path)
    where = dotted(path)
    prefix = f"{where}: " if where else ""
    rule = e.schema.get("x-rule", "schema") if isinstance(e.schema, dict) else "schema"
    custom = e.schema.get("x-message") if isinstance(e.schema, dict) else None
    hint = e.schema.get("x-hint", "") if isinstance(e.schema, dict) else ""
    value = e.instance
    v = e.validator

    def at_value(message: str, hint_: str = "") -> Diagnostic:
        return error(record.path, *record.at_value(path), rule, prefix + message, hint_ or hint)

    if v == "required":
        missing = [name for name in e.validator_value if isinstance(value, dict) and name not in value]
        line, col = record.at_mapping(path)
        message = custom or "missing required field {}"
        return [error(record.path, line, col, rule,
                      prefix + (message if custom else message.format(repr(name))),
                      hint or f"add '{name}:' to {'the record' if not path else where}")
                for name in missing]
    if v == "additionalProperties":
        allowed = sorted(e.schema.get("properties", {}))
        extras = [k for k in value if k not in allowed] if isinstance(value, dict) else []
        found = []
        for key in extras:
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            tip = f"did you mean '{close[0]}'?" if close else f"the fields allowed here are: {', '.join(allowed)}"
            found.append(error(record.path, *record.at_key(path + (key,)), rule,
                               f"{prefix}unknown field {key!r}", tip))
        return found
    if "propertyNames" in list(e.relative_schema_path)[-2:-1]:
        # jsonschema checks a key by validating its text at the mapping's path: point at the key.
        return [error(record.path, *record.at_key(path + (value,)), rule,
                      f"{prefix}{_short(value)} is not a cause group name",
                      "cause groups are lower-case words such as people, process, technology, environment")]
    if v == "dependentRequired":
        present = next((k for k, needs in e.validator_value.items()
                        if isinstance(value, dict) and k in value and any(n not in value for n in needs)), "")
        missing = [n for n in e.validator_value.get(present, []) if n not in value]
        return [error(record.path, *record.at_mapping(path), rule,
                      f"{prefix}{', '.join(repr(m) for m in missing)} is required when {present!r} is given",
                      "in a fault tree a node with a gate has children and a node with children has a gate; a leaf has neither")]
    if v == "not" and custom:
        return [at_value(f"{_short(value)}: {custom}" if not isinstance(value, (dict, list)) else custom)]
    if v == "type":
        expected = e.validator_value if isinstance(e.validator_value, str) else e.validator_value[0]
        return [at_value(f"expected {_TYPE_NAMES.get(expected, expected)}, found {_kind(value)}", _type_hint(value, expected))]
    if v == "enum":
        options = [str(o) for o in e.validator_value]
        close = difflib.get_close_matches(str(value), options, n=1, cutoff=0.5) if isinstance(value, str) else []
        tip = f"did you mean '{close[0]}'?" if close else ""
        if isinstance(value, (bool, int, float)) or value is None:
            tip = tip or _type_hint(value, "string")
        return [at_value(f"{_short(value)} is not one of: {', '.join(options)}", tip)]
    if v == "const":
        return [at_value(f"{_short(value)} must be {e.validator_value!r}")]
    if v == "format":
        problem = dates.date_problem(value) if e.validator_value == "date" else dates.timestamp_problem(value)
        return [at_value(problem)]
    if v == "pattern":
        if value == "" and isinstance(e.schema, dict) and e.schema.get("minLength", 0) >= 1:
            return []  # minLength says it once, with the advice for an empty field
        text, tip = _PATTERNS.get(e.validator_value, (f"does not match the pattern {e.validator_value}", ""))
        return [at_value(f"{_short(value)} {text}", tip)]
    if v == "minLength":
        one_line = isinstance(e.schema, dict) and e.schema.get("maxLength", 0) <= 200
        return [at_value("must not be empty", "fill it in (one line)" + _OPTIONAL if one_line else "write the text" + _OPTIONAL)]
    if v == "maxLength":
        return [at_value(f"is {len(value):,} characters long; at most {e.validator_value:,} are allowed",
                         "shorten it" if e.validator_value <= 200 else "shorten it, or link to a longer document")]
    if v == "minItems":
        if custom:
            return [at_value(custom)]
        need = e.validator_value
        return [at_value(f"needs at least {need} {'entry' if need == 1 else 'entries'}, has {len(value)}")]
    if v == "maxItems":
        return [at_value(f"has {len(value)} entries; at most {e.validator_value} are allowed")]
    if v == "uniqueItems":
        seen, duplicate = set(), None
        for item in value:
            key = json.dumps(item, sort_keys=True, default=str)
            if key in seen:
                duplicate = item
                break
            seen.add(key)
        return [at_value(f"lists {_short(duplicate)} more than once", "remove the repeated entry")]
    if v == "minimum":
        return [at_value(f"{_short(value)} is less than {e.validator_value}")]
    if v == "minProperties":
        return [at_value("must not be empty")]
    return [at_value(e.message)]
