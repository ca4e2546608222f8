"""`kb new`: start a review record from a template, with the next free id.

The file is created atomically and never replaces an existing one; the record is
written, not rewritten: the tool never touches a reviewer's existing files.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from generator import schema
from generator.load import parse_text
from generator.procedure import ID_PATTERN
from generator.render import TEMPLATES


class ScaffoldError(Exception):
    """The record could not be created; the message says why."""


@dataclass(frozen=True)
class NewReview:
    """What `kb new` wrote, and what the reviewer still has to do."""

    path: Path
    review_id: str
    to_fill: tuple[str, ...]  # the fields the schema still refuses, e.g. incident.detected
    missing: tuple[str, ...] = ()  # KB files the record needs that do not exist yet (taxonomy.yaml ...)


def next_id(reviews_dir: Path, year: int) -> str:
    """PREFIX-YEAR-NNN after the highest sequence of that year; the KB's usual prefix, else INC."""
    ids = [m.groups() for p in (reviews_dir.iterdir() if reviews_dir.is_dir() else ())
           if (m := ID_PATTERN.match(p.stem))]
    prefix = Counter(g[0] for g in ids).most_common(1)[0][0] if ids else "INC"
    taken = [int(seq) for pre, yr, seq in ids if pre == prefix and int(yr) == year]
    return f"{prefix}-{year}-{max(taken, default=0) + 1:03d}"


def _text(review_id: str, *, title: str, severity: str, kb_dir: Path, today: dt.date) -> str:
    import jinja2

    categories = []
    taxonomy = kb_dir / "taxonomy.yaml"
    if taxonomy.is_file():
        record, _ = parse_text(taxonomy, taxonomy.read_bytes())
        items = record.data.get("categories") if record and isinstance(record.data, dict) else None
        categories = [c["id"] for c in items or [] if isinstance(c, dict) and isinstance(c.get("id"), str)]
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True)
    return env.get_template("new-review.yaml.j2").render(
        review_id=review_id, title=json.dumps(title, ensure_ascii=False) if title else '""', severity=severity,
        today=today.isoformat(), categories=", ".join(categories) or "(none defined yet)",
        schema_path=_schema_path(kb_dir / "reviews"))


def _schema_path(reviews: Path) -> str:
    """The schema for the editor's modeline, relative to the record: the repository's schemas/.

    Looked for beside the KB and up from it (the project's layout keeps it at the top);
    a KB without one gets the layout's usual path, which works once the KB sits there.
    """
    start = reviews.resolve()
    for folder in start.parents:
        candidate = folder / "schemas" / "review.schema.json"
        if candidate.is_file():
            return Path(os.path.relpath(candidate, start)).as_posix()
    return "../../schemas/review.schema.json"


def create(kb_dir: Path, *, severity: str, title: str | None, today: dt.date) -> NewReview:
    """Write reviews/<next id>.yaml and say which fields the reviewer must still fill."""
    if title is not None and (not title.strip() or "\n" in title or len(title) > 200):
        raise ScaffoldError("--title must be one non-empty line of at most 200 characters")
    reviews = kb_dir / "reviews"
    reviews.mkdir(parents=True, exist_ok=True)
    review_id = next_id(reviews, today.year)
    path = reviews / f"{review_id}.yaml"
    text = _text(review_id, title=title or "", severity=severity, kb_dir=kb_dir, today=today)
    _create_new(path, text)
    missing = tuple(name for name in ("taxonomy.yaml", "controls.yaml") if not (kb_dir / name).exists())
    return NewReview(path, review_id, _fields_to_fill(path, text), missing)


def _create_new(path: Path, text: str) -> None:
    """Write a file that must not exist yet, whole or not at all."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    try:
        os.link(tmp, path)  # fails if the file exists: never overwrite a record
    except FileExistsError as exc:
        raise ScaffoldError(f"{path} already exists; not overwriting it (run kb new again for the next id)") from exc
    except OSError:
        # A file system without hard links: exclusive creation still never overwrites.
        try:
            with open(path, "x", encoding="utf-8") as handle:
                handle.write(text)
        except FileExistsError as exc:
            raise ScaffoldError(f"{path} already exists; not overwriting it") from exc
    finally:
        tmp.unlink(missing_ok=True)


def _fields_to_fill(path: Path, text: str) -> tuple[str, ...]:
    """The fields the schema still refuses in the new record: what the reviewer fills in."""
    record, _ = parse_text(path, text.encode("utf-8"))
    fields = set()
    for e in schema.validator("review").iter_errors(record.data if record else {}):
        where = list(e.absolute_path)
        if e.validator == "required":
            where += [name for name in e.validator_value if name not in e.instance][:1]
        fields.add(schema.dotted(where) or "(the record)")
    return tuple(sorted(fields))
