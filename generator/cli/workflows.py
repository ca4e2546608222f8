"""The everyday commands: kb new, search, show, similar, actions, training, export, evidence.

The commands that read the KB go through index.validate and audience.view, so none shows
more than the site would; a KB with errors still serves its valid records, with a warning.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import click

from generator.cli.common import (DATE, KBError, _checked, _colour, _complete_categories, _complete_ids, _progress,
                                  _published, _style, _warn_errors, as_of_option, echo, kb_dir_option)
from generator.model import ACTION_STATUSES, LESSON_KINDS, SEVERITIES
from generator.settings import AUDIENCES, TRACKER_AUDIENCES
from generator.show import printable


@click.command()
@click.option("--kb", "kb_dir", type=click.Path(file_okay=False, path_type=Path), default="kb", show_default=True,
              help="The knowledge base folder (created, with reviews/, if missing).")
@click.option("--severity", type=click.Choice(SEVERITIES), default="P2", show_default=True,
              help="The incident's severity (a P3 review also needs review_reasons).")
@click.option("--title", help="The review's title (one line).")
@click.option("--as-of", type=DATE, default=None, help="The day whose year the id takes (YYYY-MM-DD). Default: today.")
@click.option("--similar", "similar_to", metavar="WORDS",
              help="Only list the published reviews most like these words (what to read and link in "
                   "`related`); nothing is written.")
def new(kb_dir: Path, severity: str, title: str | None, as_of: dt.date | None, similar_to: str | None) -> None:
    """Start a review: write reviews/<next free id>.yaml from a template.

    The id is the year's next sequence number in the KB (INC-2026-008 after
    INC-2026-007). An existing file is never overwritten. Prints the path written and the
    fields still to fill; `kb validate` points at each of them. With --similar "WORDS" it
    writes nothing and lists the earlier reviews to read first (run it again without
    --similar to write the record).
    """
    from generator.scaffold import ScaffoldError, create

    if similar_to is not None:
        from generator import similar

        if not (kb_dir / "reviews").is_dir():
            raise KBError(f"{kb_dir} holds no reviews/ folder yet: there is nothing to compare with")
        found = similar.for_text(_published(kb_dir, as_of or dt.date.today()), similar_to)
        echo(similar.as_text(found), nl=False)
        echo(f"{len(found)} similar review{'' if len(found) == 1 else 's'}; link the ones that apply in "
                   "`related`. Nothing written: run kb new without --similar to start the review.", err=True)
        return

    try:
        made = create(kb_dir, severity=severity, title=title, today=as_of or dt.date.today())
    except ScaffoldError as exc:
        raise KBError(str(exc)) from exc
    echo(f"wrote {os.path.relpath(made.path)}")
    echo("fill in: " + ", ".join(made.to_fill))
    for name in made.missing:
        echo(f"note: {os.path.relpath(kb_dir / name)} does not exist yet; kb validate needs it "
                   "(see the record format)", err=True)


@click.command()
@click.argument("query")
@kb_dir_option
@click.option("--category", metavar="ID", shell_complete=_complete_categories,
              help="Only reviews with this root-cause category (an id from taxonomy.yaml).")
@click.option("--control", metavar="REF", help="Only reviews citing this control (FRAMEWORK/CONTROL).")
@click.option("--severity", type=click.Choice(SEVERITIES), help="Only reviews of this severity.")
@click.option("--kind", type=click.Choice(LESSON_KINDS), help="Only lessons of this kind.")
@click.option("--since", type=DATE, help="Only reviews held on or after this date (YYYY-MM-DD).")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="At most this many hits.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for people; json: a list of {review, score, field, excerpt, url, title, item, also}, best first.")
def search(query: str, kb_dir: Path, category: str | None, control: str | None, severity: str | None,
           kind: str | None, since: dt.date | None, limit: int, fmt: str) -> None:
    """Full-text search over titles, summaries, root causes, lessons and actions.

    Words are stemmed (breach finds breaches); all of them must match, else any of them;
    "quoted words" match as a phrase. Hits are ranked by relevance, a lesson or title
    weighing more than a timeline, newest first among equals. Each hit names the review,
    where it matched best, an excerpt and the page's URL on the site, and the other parts of
    the review that match ("also in: lessons, actions"): one hit per review.
    """
    from generator import search as engine

    def load() -> engine.Loaded:
        return engine.Loaded(*_checked(kb_dir, dt.date.today()))

    colour = _colour() and fmt == "text"
    filters = engine.Filters(category, control, severity, kind, since)
    try:
        with engine.open_index(kb_dir, load) as index:
            _warn_errors(index.errors)
            hits = engine.search(index, query, filters=filters, limit=limit,
                                 mark=("\x1b[1m", "\x1b[0m") if colour else ("[", "]"))
    except engine.UnknownFilter as exc:
        raise click.BadParameter(str(exc), param_hint=f"--{exc.option}") from exc
    except engine.SearchError as exc:
        raise KBError(str(exc)) from exc
    if fmt == "json":
        echo(json.dumps(engine.as_rows(hits), indent=2, ensure_ascii=False))
        return
    if not hits:
        echo("no match", err=True)
    style = _style()
    for hit in hits:
        where = f"{hit.field} {hit.item}".strip()
        echo(f"{style(hit.review, bold=True)}  {hit.title}", colours=True)
        echo(f"  {where} · {hit.url} · score {hit.score}")
        echo(f"  {hit.excerpt}")
        if hit.also:
            echo(f"  also in: {', '.join(hit.also)}")


@click.command()
@click.argument("review_id", metavar="ID", shell_complete=_complete_ids)
@kb_dir_option
@as_of_option
def show(review_id: str, kb_dir: Path, as_of: dt.date | None) -> None:
    """Print one review readably in the terminal (a TLP:RED one only as restricted).

    The id may be written in any case (inc-2025-014). Open actions are marked overdue
    and stale as on the site, judged on --as-of.
    """
    from generator.audience import RESTRICTED_NOTE
    from generator.rules import suggest
    from generator.procedure import ID_PATTERN
    from generator.show import render

    day = as_of or dt.date.today()
    given, review_id = review_id, review_id.strip().upper()  # ids are upper case; inc-2025-014 finds it too
    kb = _published(kb_dir, day)
    if review_id in kb.restricted:
        # The note begins "restricted: ..."; the word is said once.
        echo(f"{review_id}: restricted (TLP:RED); {RESTRICTED_NOTE.removeprefix('restricted: ')}")
        return
    review = kb.by_id.get(review_id)
    if review is not None:
        echo(render(review, as_of=day, style=_style()), nl=False, colours=True)
        return
    if ID_PATTERN.fullmatch(review_id) and any((kb_dir / "reviews" / f"{review_id}{s}").is_file() for s in (".yaml", ".yml")):
        raise KBError(f"review {review_id} has errors and cannot be shown; run kb validate --kb {kb_dir}")
    raise KBError(f"no review {given!r}; {suggest(review_id, [*kb.by_id, *kb.restricted])}")


@click.command("similar")
@click.argument("review_id", metavar="ID", shell_complete=_complete_ids)
@kb_dir_option
@click.option("--limit", type=click.IntRange(1, 100), default=5, show_default=True, help="At most this many reviews.")
@click.option("--audience", type=click.Choice(AUDIENCES), default="internal", show_default=True,
              help="internal: all but TLP:RED reviews; public: only TLP:CLEAR and TLP:GREEN reviews.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for people; json: a list of {review, title, score, url, categories, controls, services, words}.")
def similar_reviews(review_id: str, kb_dir: Path, limit: int, audience: str, fmt: str) -> None:
    """The published reviews most like one review, and why (shared categories, controls,
    services and words of lessons and root causes), as its page lists them."""
    from generator import similar
    from generator.rules import suggest

    kb = _published(kb_dir, dt.date.today(), audience)
    if review_id not in kb.by_id:
        if review_id in kb.restricted:
            raise KBError(f"{review_id} is restricted (TLP:RED): no similar reviews are shown for it")
        raise KBError(f"no published review {review_id!r}; {suggest(review_id, list(kb.by_id))}")
    found = similar.compute(kb, limit=limit).get(review_id, ())
    if fmt == "json":
        echo(json.dumps(similar.as_rows(found), indent=2, ensure_ascii=True))
        return
    if not found:
        echo(f"no review is similar enough to {review_id}", err=True)
    echo(similar.as_text(found), nl=False)


@click.command()
@kb_dir_option
@click.option("--status", "statuses", multiple=True, type=click.Choice(ACTION_STATUSES),
              help="Only actions with this status (repeat for several).")
@click.option("--owner", metavar="NAME", help="Only actions whose owner contains this text (case-insensitive).")
@click.option("--overdue", is_flag=True, help="Only overdue actions; exit 1 when there is any (for a scheduled job).")
@click.option("--due-within", type=click.IntRange(0), metavar="DAYS",
              help="Only open actions due within this many days of --as-of (overdue ones included).")
@click.option("--stale", is_flag=True,
              help="Only stale actions (open or in progress, no progress for more than 30 days); exit 1 when there is any.")
@click.option("--audience", type=click.Choice(TRACKER_AUDIENCES), default="all", show_default=True,
              help="all: every review the KB holds, TLP:RED too (each row carries its label); "
                   "internal or public: what the site publishes for that audience.")
@as_of_option
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv"]), default="text", show_default=True,
              help="text: a table; json: a list of objects; csv: one row an action.")
def actions(kb_dir: Path, statuses: tuple[str, ...], owner: str | None, overdue: bool, due_within: int | None,
            stale: bool, audience: str, as_of: dt.date | None, fmt: str) -> None:
    """The action tracker: actions of every review, overdue first, then by due date.

    With --overdue it lists only overdue actions (open or in progress, due before
    --as-of), with --stale only stale ones (no news for more than 30 days), and exits 1
    when there is any, so a scheduled CI job can flag them. It reads every review the
    files hold (TLP:RED too, labelled) unless --audience narrows it.
    """
    from generator import tracker

    day = as_of or dt.date.today()
    kb = _published(kb_dir, day, audience)
    unknown = tracker.unknown_owner(kb, owner) if owner else None
    if unknown:
        raise click.BadParameter(unknown, param_hint="--owner")
    query = tracker.ActionQuery(statuses, owner, overdue, due_within, stale_only=stale)
    rows = tracker.select(kb, query, day)
    if fmt == "json":
        echo(tracker.as_json(rows), nl=False)
    elif fmt == "csv":
        echo(tracker.as_csv(rows), nl=False)
    else:
        echo(tracker.as_text(rows, style=_style()), nl=False, colours=True)
        echo(tracker.summary(rows), err=True)
    if (overdue or stale) and rows:
        raise click.exceptions.Exit(1)


@click.command()
@kb_dir_option
@click.option("--since", type=DATE, required=True, help="Lessons of reviews held on or after this date (YYYY-MM-DD).")
@click.option("--audience", type=click.Choice(AUDIENCES), default="internal", show_default=True,
              help="internal: all but TLP:RED reviews; public: only TLP:CLEAR and TLP:GREEN reviews.")
@click.option("--include-unapproved", is_flag=True,
              help="Also lessons of draft and in-review reviews (labelled UNAPPROVED in Markdown).")
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown", show_default=True,
              help="markdown to paste into a training update; json: a list of {review, lesson, text, kind, "
                   "categories, classification, status, held, adopted_in}.")
def training(kb_dir: Path, since: dt.date, audience: str, include_unapproved: bool, fmt: str) -> None:
    """Lessons new since a date for a training update: each lesson once, with its categories,
    its review's TLP label and status; approved and closed reviews only unless
    --include-unapproved. Newest review first. TLP:RED reviews are never listed."""
    from generator import training as lessons

    kb = _published(kb_dir, dt.date.today(), audience)
    if fmt == "json":
        echo(lessons.as_json(kb, since, include_unapproved=include_unapproved), nl=False)
    else:
        echo(printable(lessons.as_markdown(kb, since, include_unapproved=include_unapproved, audience=audience)),
                   nl=False)


def _print_schema(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        from generator.export import EXPORT_SCHEMA

        echo(json.dumps(EXPORT_SCHEMA, indent=2))
        ctx.exit(0)


@click.command()
@kb_dir_option
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True,
              help="json: one document; csv: reviews.csv, lessons.csv, actions.csv and recurrences.csv.")
@click.option("--audience", type=click.Choice(AUDIENCES), default="internal", show_default=True,
              help="internal: all but TLP:RED content; public: only TLP:CLEAR and TLP:GREEN reviews.")
@click.option("--output", type=click.Path(path_type=Path), default=None,
              help="json: the file to write (default: standard output). csv: the folder for the three files.")
@as_of_option
@click.option("--schema", is_flag=True, is_eager=True, expose_value=False, callback=_print_schema,
              help="Print the JSON Schema of the export document and exit.")
def export(kb_dir: Path, fmt: str, audience: str, output: Path | None, as_of: dt.date | None) -> None:
    """Export reviews, lessons and actions as JSON or CSV, for spreadsheets and BI tools.

    Holds only what the audience may see, as the site does. The JSON document is
    described by `kb export --schema`; the CSV files have the same columns.
    """
    from generator import export as exporter

    if fmt == "csv" and output is None:
        raise click.UsageError("--format csv needs --output FOLDER (one file per table)")
    if output is not None and output.exists() and output.is_dir() != (fmt == "csv"):
        what = "a folder for the CSV files" if fmt == "csv" else "the JSON file to write"
        raise click.BadParameter(f"{output} exists and is not {what}", param_hint="--output")
    day = as_of or dt.date.today()
    kb = _published(kb_dir, day, audience)
    with _progress("exporting", len(kb.reviews)) as progress:
        if output is not None and fmt == "csv":
            written = exporter.write_csv(kb, output, as_of=day, progress=progress)
        else:
            text = exporter.as_json(kb, audience=audience, as_of=day, progress=progress)
            if output is not None:
                exporter.write_text(text, output)
            written = [output] if output is not None else []
    if fmt == "json" and output is None:
        echo(text, nl=False)
    for path in written:
        echo(f"wrote {path}", err=True)


@click.command()
@click.argument("ref", metavar="REF")
@kb_dir_option
@click.option("--from", "start", type=DATE, default=None,
              help="First day of the audit period: reviews held on or after it (YYYY-MM-DD).")
@click.option("--to", "end", type=DATE, default=None,
              help="Last day of the audit period: reviews held on or before it (YYYY-MM-DD).")
@as_of_option
@click.option("--audience", type=click.Choice(AUDIENCES), default="internal", show_default=True,
              help="internal: all but TLP:RED content (those named by id only); public: only TLP:CLEAR and TLP:GREEN reviews.")
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown", show_default=True,
              help="markdown: a document that prints well; json: {control, title, replaces, from, to, reviews, pending, ...}.")
def evidence(ref: str, kb_dir: Path, start: dt.date | None, end: dt.date | None, as_of: dt.date | None,
             audience: str, fmt: str) -> None:
    """The evidence pack for one control (FRAMEWORK/CONTROL) over an audit period.

    Every review held in the period that cites REF or a control REF replaces (across
    editions, e.g. ISO27001-2013/A.16.1.6 for ISO27001-2022/A.5.27): approved and closed
    ones as evidence, the others as pending, each with its lessons, actions, effectiveness
    checks, approval and the git commits that changed the record.
    """
    from generator import evidence as packs
    from generator.index import validate as run_validate

    if start and end and start > end:
        raise click.BadParameter(f"--from {start} is after --to {end}", param_hint="--from")
    day = as_of or dt.date.today()
    result = run_validate(kb_dir, as_of=day)
    _warn_errors(len(result.errors))
    try:
        pack = packs.evidence_pack(result.value, ref, period=packs.Period(start, end), audience=audience, as_of=day)
    except packs.EvidenceError as exc:
        raise KBError(str(exc)) from exc
    # printable() is safe on JSON too: a control character can only be inside a string
    # there, and its \uXXXX escape is the same string to a JSON reader.
    echo(printable(packs.as_json(pack) if fmt == "json" else packs.as_markdown(pack, result.value)), nl=False)
