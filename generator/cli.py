"""The `kb` command line: parse options, call the pipeline, report, exit. Nothing else.

Exit codes (the contract): 0 no errors (and with --strict no warnings), 1 findings,
2 usage error.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import sys
from pathlib import Path
from typing import Any, Callable

import click

from generator import __version__, dates
from generator.diagnostics import Result
from generator.report import FORMATS, summary
from generator.settings import AUDIENCES, Settings


class KBError(click.ClickException):
    """A failure the user can act on, reported without a traceback (exit 1)."""

    exit_code = 1


class _Date(click.ParamType):
    name = "DATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            return dates.parse_day(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a date; write it as YYYY-MM-DD, e.g. 2025-03-31", param, ctx)


DATE = _Date()


class _Group(click.Group):
    """Turns an unexpected exception into a one-line error instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort, KeyboardInterrupt):
            raise
        except OSError as exc:
            if os.environ.get("KB_DEBUG"):
                raise
            raise KBError(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc)) from exc
        except Exception as exc:  # a bug: say so plainly, never a traceback
            if os.environ.get("KB_DEBUG"):
                raise
            raise KBError(f"internal error ({type(exc).__name__}: {exc}); run with KB_DEBUG=1 for details "
                          "and report it") from exc


def kb_options(function: Callable) -> Callable:
    """The options every command that reads the KB shares: --kb, --as-of, --strict."""

    @click.option("--kb", "kb_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default="kb",
                  show_default=True, help="The knowledge base folder (reviews/, taxonomy.yaml, controls.yaml).")
    @click.option("--as-of", type=DATE, default=None,
                  help="The day overdue actions are judged on (YYYY-MM-DD). Default: today.")
    @click.option("--strict", is_flag=True, help="Fail (exit 1) on warnings too.")
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)

    return wrapper


def _settings(kb_dir: Path, as_of: dt.date | None, strict: bool, **extra: Any) -> Settings:
    return Settings(kb_dir=kb_dir, as_of=as_of or dt.date.today(), strict=strict, **extra)


def _report(result: Result, fmt: str, *, strict: bool) -> None:
    """Print the findings and exit 1 if the run failed."""
    output = FORMATS[fmt](result.diagnostics, None)
    if output:
        click.echo(output, nl=False)
    if fmt != "json":
        click.echo(summary(result.diagnostics, result.value.files), err=True)
    if result.failed(strict=strict):
        sys.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kb")
def main() -> None:
    """Knowledge base of security post-incident reviews.

    Reviewers keep one YAML record per review in kb/reviews/; `kb validate` checks them,
    `kb build` publishes the cross-linked site.
    """


@main.command()
@kb_options
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), default="text", show_default=True,
              help="text for people, json for scripts, github for pull-request annotations.")
def validate(kb_dir: Path, as_of: dt.date | None, strict: bool, fmt: str) -> None:
    """Check every record against the schemas and the review procedure's rules.

    Prints PATH:LINE:COL: error|warning: MESSAGE [rule] for each finding. Exit 0 when
    clean, 1 on errors (or on warnings with --strict), 2 on a usage error.
    """
    from generator.index import check as run_validate

    settings = _settings(kb_dir, as_of, strict)
    _report(run_validate(settings.kb_dir, as_of=settings.as_of), fmt, strict=strict)


def site_options(function: Callable) -> Callable:
    """Options of the commands that publish: --audience and --training-since."""

    @click.option("--audience", type=click.Choice(AUDIENCES), default="internal", show_default=True,
                  help="internal: all but TLP:RED content; public: only TLP:CLEAR and TLP:GREEN reviews.")
    @click.option("--training-since", type=DATE, default=None,
                  help="Start of the training page's 'new since' section. Default: 90 days before --as-of.")
    @click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  help="The MkDocs configuration. Default: ./mkdocs.yml, else the one beside the KB folder, else built in.")
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)

    return wrapper


@main.command()
@kb_options
@site_options
@click.option("--site-dir", type=click.Path(file_okay=False, path_type=Path), default="site", show_default=True,
              help="Where the site is written; replaced only when the whole build succeeded.")
def build(kb_dir: Path, as_of: dt.date | None, strict: bool, audience: str, training_since: dt.date | None,
          config_file: Path | None, site_dir: Path) -> None:
    """Validate the KB, then publish it as a static site (MkDocs + Material).

    Writes nothing when the KB has errors (or warnings with --strict); the previous
    site stays complete until the new one is ready.
    """
    from generator.site import SiteError, build_site

    settings = _settings(kb_dir, as_of, strict, audience=audience, training_since=training_since,
                         config_file=config_file, site_dir=site_dir)
    try:
        result = build_site(settings)
    except SiteError as exc:
        raise KBError(str(exc)) from exc
    _report(result, "text", strict=strict)
    if not result.failed(strict=strict):
        click.echo(f"built {settings.site_dir}/ ({audience} audience)", err=True)


@main.command()
@kb_options
@site_options
@click.option("--dev-addr", default="127.0.0.1:8000", show_default=True, help="Address the preview listens on.")
def serve(kb_dir: Path, as_of: dt.date | None, strict: bool, audience: str, training_since: dt.date | None,
          config_file: Path | None, dev_addr: str) -> None:
    """Preview the site; editing a record regenerates its pages and refreshes the browser."""
    from generator.preview import serve as run_serve
    from generator.site import SiteError

    settings = _settings(kb_dir, as_of, strict, audience=audience, training_since=training_since,
                         config_file=config_file)
    try:
        run_serve(settings, dev_addr=dev_addr)
    except SiteError as exc:
        raise KBError(str(exc)) from exc


# -- everyday workflows --------------------------------------------------------------

def _colour() -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (no-color.org)."""
    return "NO_COLOR" not in os.environ and sys.stdout.isatty()


def _published(kb_dir: Path, as_of: dt.date, audience: str = "internal") -> Any:
    """The KB as the audience may see it; a KB with errors still serves its valid reviews."""
    from generator.audience import view
    from generator.index import validate as run_validate

    result = run_validate(kb_dir, as_of=as_of)
    if result.errors:
        click.echo(f"warning: the knowledge base has {len(result.errors)} errors; records with errors are left out "
                   "(run kb validate)", err=True)
    return view(result.value, audience)


@main.command()
@click.argument("query")
@click.option("--kb", "kb_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default="kb",
              show_default=True, help="The knowledge base folder.")
@click.option("--category", help="Only reviews with this root-cause category id.")
@click.option("--control", help="Only reviews citing this control (FRAMEWORK/CONTROL).")
@click.option("--severity", type=click.Choice(["P1", "P2", "P3"]), help="Only reviews of this severity.")
@click.option("--kind", type=click.Choice(["process", "tool", "training"]), help="Only lessons of this kind.")
@click.option("--since", type=DATE, help="Only reviews held on or after this date.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="At most this many hits.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def search(query: str, kb_dir: Path, category: str | None, control: str | None, severity: str | None,
           kind: str | None, since: dt.date | None, limit: int, fmt: str) -> None:
    """Full-text search over titles, summaries, root causes, lessons and actions.

    Words are stemmed (breach finds breaches); "quoted words" match as a phrase. Hits
    are ranked by relevance, a lesson or title weighing more than a timeline.
    """
    import json as json_module

    from generator import search as engine

    colour = _colour() and fmt == "text"
    with engine.open_index(kb_dir, lambda: _published(kb_dir, dt.date.today())) as db:
        hits = engine.search(db, query, filters=engine.Filters(category, control, severity, kind, since), limit=limit,
                             mark=("\x1b[1m", "\x1b[0m") if colour else ("[", "]"))
    if fmt == "json":
        click.echo(json_module.dumps(engine.as_rows(hits), indent=2, ensure_ascii=False))
        return
    if not hits:
        click.echo("no match", err=True)
    for hit in hits:
        where = f"{hit.field} {hit.item}".strip()
        click.echo(f"{click.style(hit.review, bold=True) if colour else hit.review}  {where}  {hit.url}  ({hit.score})")
        click.echo(f"    {hit.excerpt}")


@main.command()
@click.argument("review_id")
@click.option("--kb", "kb_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default="kb",
              show_default=True, help="The knowledge base folder.")
def show(review_id: str, kb_dir: Path) -> None:
    """Print one review readably in the terminal."""
    import difflib

    from generator.show import render

    kb = _published(kb_dir, dt.date.today())
    if review_id in kb.restricted:
        click.echo(f"{review_id}: restricted (TLP:RED): ask the incident response manager")
        return
    if review_id not in kb.by_id:
        close = difflib.get_close_matches(review_id, list(kb.by_id), n=3)
        raise KBError(f"no review {review_id!r}" + (f"; did you mean {', '.join(close)}?" if close else ""))
    click.echo(render(kb.by_id[review_id], style=click.style if _colour() else lambda text, **_: text), nl=False)


@main.command()
@click.option("--kb", "kb_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default="kb",
              show_default=True, help="The knowledge base folder.")
@click.option("--status", "statuses", multiple=True, type=click.Choice(["open", "in-progress", "done", "cancelled"]),
              help="Only actions with this status (repeat for several).")
@click.option("--owner", help="Only actions whose owner contains this text (case-insensitive).")
@click.option("--overdue", is_flag=True, help="Only overdue actions; exit 1 when there is any.")
@click.option("--due-within", type=click.IntRange(0), help="Only open actions due within this many days.")
@click.option("--as-of", type=DATE, default=None, help="The day overdue is judged on (YYYY-MM-DD). Default: today.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv"]), default="text", show_default=True)
def actions(kb_dir: Path, statuses: tuple[str, ...], owner: str | None, overdue: bool, due_within: int | None,
            as_of: dt.date | None, fmt: str) -> None:
    """The action tracker: list actions, overdue first. With --overdue, exit 1 when any is overdue."""
    from generator import tracker

    day = as_of or dt.date.today()
    rows = tracker.select(_published(kb_dir, day), tracker.ActionQuery(statuses, owner, overdue, due_within), day)
    if fmt == "json":
        click.echo(tracker.as_json(rows), nl=False)
    elif fmt == "csv":
        click.echo(tracker.as_csv(rows), nl=False)
    else:
        click.echo(tracker.as_text(rows, style=click.style if _colour() else lambda text, **_: text), nl=False)
    if overdue and rows:
        sys.exit(1)


@main.command()
@click.option("--kb", "kb_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default="kb",
              show_default=True, help="The knowledge base folder.")
@click.option("--since", type=DATE, required=True, help="Lessons of reviews held on or after this date.")
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown", show_default=True)
def training(kb_dir: Path, since: dt.date, fmt: str) -> None:
    """Lessons new since a date, grouped by category and kind, ready for a training update."""
    from generator import training as lessons

    kb = _published(kb_dir, dt.date.today())
    click.echo(lessons.as_json(kb, since) if fmt == "json" else lessons.as_markdown(kb, since), nl=False)


@main.command()
@click.option("--kb", "kb_dir", type=click.Path(file_okay=False, path_type=Path), default="kb", show_default=True,
              help="The knowledge base folder (created if missing).")
@click.option("--severity", type=click.Choice(["P1", "P2", "P3"]), default="P2", show_default=True)
@click.option("--title", help="The review's title (one line).")
@click.option("--as-of", type=DATE, default=None, help="The day whose year the id takes. Default: today.")
def new(kb_dir: Path, severity: str, title: str | None, as_of: dt.date | None) -> None:
    """Start a review: write reviews/<next free id>.yaml from a template (never overwrites)."""
    from generator.scaffold import ScaffoldError, create

    try:
        made = create(kb_dir, severity=severity, title=title, today=as_of or dt.date.today())
    except ScaffoldError as exc:
        raise KBError(str(exc)) from exc
    click.echo(f"wrote {os.path.relpath(made.path)}")
    click.echo("fill in: " + ", ".join(made.to_fill))


@main.command()
@click.option("--kb", "kb_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default="kb",
              show_default=True, help="The knowledge base folder.")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True)
@click.option("--audience", type=click.Choice(AUDIENCES), default="internal", show_default=True,
              help="internal: all but TLP:RED content; public: only TLP:CLEAR and TLP:GREEN reviews.")
@click.option("--output", type=click.Path(path_type=Path), default=None,
              help="JSON: a file (default standard output). CSV: the folder for reviews.csv, lessons.csv, actions.csv.")
@click.option("--as-of", type=DATE, default=None, help="The day overdue is judged on. Default: today.")
def export(kb_dir: Path, fmt: str, audience: str, output: Path | None, as_of: dt.date | None) -> None:
    """Export reviews, lessons and actions as JSON or CSV for spreadsheets and BI tools."""
    from generator import export as exporter

    day = as_of or dt.date.today()
    kb = _published(kb_dir, day, audience)
    if fmt == "csv":
        if output is None:
            raise click.UsageError("--format csv needs --output FOLDER (one file per table)")
        for path in exporter.write_csv(kb, output, as_of=day):
            click.echo(f"wrote {path}", err=True)
    elif output is None:
        click.echo(exporter.as_json(kb, audience=audience, as_of=day), nl=False)
    else:
        exporter.write_text(exporter.as_json(kb, audience=audience, as_of=day), output)
        click.echo(f"wrote {output}", err=True)
