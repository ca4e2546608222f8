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
from generator.text import terminal


class KBError(click.ClickException):
    """A failure the user can act on, reported without a traceback (exit 1)."""

    exit_code = 1

    def format_message(self) -> str:
        return terminal(self.message)


def echo(text: str, *, err: bool = False, nl: bool = True, workflow_commands: bool = False,
         colours: bool = False) -> None:
    """Every line a command prints goes through here: generator.text.terminal escapes
    control characters and defuses GitHub workflow commands that record text could form."""
    click.echo(terminal(str(text), workflow_commands=workflow_commands, colours=colours), err=err, nl=nl)


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
        echo(output, nl=False, workflow_commands=fmt == "github")
    if fmt != "json":
        echo(summary(result.diagnostics, result.value.files), err=True)
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
        echo(f"built {settings.site_dir}/ ({audience} audience)", err=True)


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
# kb new, search, show, actions, training and export. The commands that read the KB go
# through index.validate and audience.view, so none shows more than the site would; a KB
# with errors still serves its valid records, with a warning.
# (Imported here, not at the top, so that this section stays an addition to the file.)

import contextlib  # noqa: E402
import json  # noqa: E402
from typing import TYPE_CHECKING, Iterator  # noqa: E402

from generator.model import ACTION_STATUSES, LESSON_KINDS, SEVERITIES  # noqa: E402
from generator.show import printable  # noqa: E402

if TYPE_CHECKING:  # the model is loaded only by the commands that need it
    from generator.index import KnowledgeBase

PROGRESS_MIN = 1000
"""KBs with at least this many review files show progress on a terminal (on standard error)."""

_kb_dir = click.option("--kb", "kb_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default="kb",
                       show_default=True, help="The knowledge base folder (reviews/, taxonomy.yaml, controls.yaml).")
_as_of = click.option("--as-of", type=DATE, default=None,
                      help="The day overdue actions are judged on (YYYY-MM-DD). Default: today.")


def _colour() -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (no-color.org)."""
    return "NO_COLOR" not in os.environ and sys.stdout.isatty()


def _style() -> Callable[..., str]:
    return click.style if _colour() else (lambda text, **_: text)


def _record_ids(kb_dir: Path) -> list[str]:
    """The ids the record files of a KB are named after (none when reviews/ cannot be read)."""
    try:
        return sorted({Path(e.name).stem for e in os.scandir(kb_dir / "reviews") if e.name.endswith((".yaml", ".yml")) and not e.name.startswith(".")})
    except OSError:
        return []


def _checked(kb_dir: Path, as_of: dt.date, audience: str = "internal") -> tuple[KnowledgeBase, int]:
    """The KB as the audience may see it, and how many errors the KB has (their records are left out)."""
    from generator.audience import view
    from generator.index import validate as run_validate

    files = len(_record_ids(kb_dir))
    if files >= PROGRESS_MIN and sys.stderr.isatty():
        echo(f"reading {files:,} review files…", err=True)
    result = run_validate(kb_dir, as_of=as_of)
    return view(result.value, audience), len(result.errors)


def _warn_errors(count: int) -> None:
    if count:
        echo(f"warning: the knowledge base has {count} error{'' if count == 1 else 's'}; records with errors "
                   "are left out (run kb validate)", err=True)


def _published(kb_dir: Path, as_of: dt.date, audience: str = "internal") -> KnowledgeBase:
    """The KB as the audience may see it; a KB with errors still serves its valid reviews."""
    kb, errors = _checked(kb_dir, as_of, audience)
    _warn_errors(errors)
    return kb


@contextlib.contextmanager
def _progress(label: str, total: int) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on standard error for a long job on a terminal; None (no bar) otherwise."""
    if total < PROGRESS_MIN or not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        yield bar.update


def _complete_ids(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion of review ids: the record files of the KB (--kb, else ./kb)."""
    return [i for i in _record_ids(Path(ctx.params.get("kb_dir") or "kb")) if i.startswith(incomplete)]


def _complete_categories(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion of category ids, from the KB's taxonomy.yaml."""
    from generator.load import read_file

    kb_dir = Path(ctx.params.get("kb_dir") or "kb").resolve()
    record, _ = read_file(kb_dir / "taxonomy.yaml", kb_dir)
    items = record.data.get("categories") if record and isinstance(record.data, dict) else None
    ids = [item.get("id") for item in items or [] if isinstance(item, dict)]
    return sorted(i for i in ids if isinstance(i, str) and i.startswith(incomplete))


@main.command()
@click.option("--kb", "kb_dir", type=click.Path(file_okay=False, path_type=Path), default="kb", show_default=True,
              help="The knowledge base folder (created, with reviews/, if missing).")
@click.option("--severity", type=click.Choice(SEVERITIES), default="P2", show_default=True,
              help="The incident's severity (a P3 review also needs review_reasons).")
@click.option("--title", help="The review's title (one line).")
@click.option("--as-of", type=DATE, default=None, help="The day whose year the id takes (YYYY-MM-DD). Default: today.")
def new(kb_dir: Path, severity: str, title: str | None, as_of: dt.date | None) -> None:
    """Start a review: write reviews/<next free id>.yaml from a template.

    The id is the year's next sequence number in the KB (INC-2026-008 after
    INC-2026-007). An existing file is never overwritten. Prints the path written and the
    fields still to fill; `kb validate` points at each of them.
    """
    from generator.scaffold import ScaffoldError, create

    try:
        made = create(kb_dir, severity=severity, title=title, today=as_of or dt.date.today())
    except ScaffoldError as exc:
        raise KBError(str(exc)) from exc
    echo(f"wrote {os.path.relpath(made.path)}")
    echo("fill in: " + ", ".join(made.to_fill))
    for name in made.missing:
        echo(f"note: {os.path.relpath(kb_dir / name)} does not exist yet; kb validate needs it "
                   "(see the record format)", err=True)


@main.command()
@click.argument("query")
@_kb_dir
@click.option("--category", metavar="ID", shell_complete=_complete_categories,
              help="Only reviews with this root-cause category (an id from taxonomy.yaml).")
@click.option("--control", metavar="REF", help="Only reviews citing this control (FRAMEWORK/CONTROL).")
@click.option("--severity", type=click.Choice(SEVERITIES), help="Only reviews of this severity.")
@click.option("--kind", type=click.Choice(LESSON_KINDS), help="Only lessons of this kind.")
@click.option("--since", type=DATE, help="Only reviews held on or after this date (YYYY-MM-DD).")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="At most this many hits.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for people; json: a list of {review, score, field, excerpt, url}, best first.")
def search(query: str, kb_dir: Path, category: str | None, control: str | None, severity: str | None,
           kind: str | None, since: dt.date | None, limit: int, fmt: str) -> None:
    """Full-text search over titles, summaries, root causes, lessons and actions.

    Words are stemmed (breach finds breaches); all of them must match, else any of them;
    "quoted words" match as a phrase. Hits are ranked by relevance, a lesson or title
    weighing more than a timeline, newest first among equals. Each hit names the review,
    where it matched, an excerpt and the page's URL on the site.
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


@main.command()
@click.argument("review_id", metavar="ID", shell_complete=_complete_ids)
@_kb_dir
def show(review_id: str, kb_dir: Path) -> None:
    """Print one review readably in the terminal (a TLP:RED one only as restricted)."""
    from generator.audience import RESTRICTED_NOTE
    from generator.rules import suggest
    from generator.scaffold import ID_PATTERN
    from generator.show import render

    kb = _published(kb_dir, dt.date.today())
    if review_id in kb.restricted:
        echo(f"{review_id}: restricted (TLP:RED); {RESTRICTED_NOTE}")
        return
    review = kb.by_id.get(review_id)
    if review is not None:
        echo(render(review, style=_style()), nl=False, colours=True)
        return
    if ID_PATTERN.fullmatch(review_id) and any((kb_dir / "reviews" / f"{review_id}{s}").is_file() for s in (".yaml", ".yml")):
        raise KBError(f"review {review_id} has errors and cannot be shown; run kb validate --kb {kb_dir}")
    raise KBError(f"no review {review_id!r}; {suggest(review_id, [*kb.by_id, *kb.restricted])}")


@main.command()
@_kb_dir
@click.option("--status", "statuses", multiple=True, type=click.Choice(ACTION_STATUSES),
              help="Only actions with this status (repeat for several).")
@click.option("--owner", metavar="NAME", help="Only actions whose owner contains this text (case-insensitive).")
@click.option("--overdue", is_flag=True, help="Only overdue actions; exit 1 when there is any (for a scheduled job).")
@click.option("--due-within", type=click.IntRange(0), metavar="DAYS",
              help="Only open actions due within this many days of --as-of (overdue ones included).")
@_as_of
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv"]), default="text", show_default=True,
              help="text: a table; json: a list of objects; csv: one row an action.")
def actions(kb_dir: Path, statuses: tuple[str, ...], owner: str | None, overdue: bool, due_within: int | None,
            as_of: dt.date | None, fmt: str) -> None:
    """The action tracker: actions of every review, overdue first.

    With --overdue it lists only overdue actions (open or in progress, due before
    --as-of) and exits 1 when there is any, so a scheduled CI job can flag them.
    """
    from generator import tracker

    day = as_of or dt.date.today()
    rows = tracker.select(_published(kb_dir, day), tracker.ActionQuery(statuses, owner, overdue, due_within), day)
    if fmt == "json":
        echo(tracker.as_json(rows), nl=False)
    elif fmt == "csv":
        echo(tracker.as_csv(rows), nl=False)
    else:
        echo(tracker.as_text(rows, style=_style()), nl=False, colours=True)
        echo(tracker.summary(rows), err=True)
    if overdue and rows:
        sys.exit(1)


@main.command()
@_kb_dir
@click.option("--since", type=DATE, required=True, help="Lessons of reviews held on or after this date (YYYY-MM-DD).")
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown", show_default=True,
              help="markdown to paste into a training update; json for other tools.")
def training(kb_dir: Path, since: dt.date, fmt: str) -> None:
    """Lessons new since a date, grouped by root-cause category and kind, for a training update."""
    from generator import training as lessons

    kb = _published(kb_dir, dt.date.today())
    echo(lessons.as_json(kb, since) if fmt == "json" else printable(lessons.as_markdown(kb, since)), nl=False)


def _print_schema(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        from generator.export import EXPORT_SCHEMA

        echo(json.dumps(EXPORT_SCHEMA, indent=2))
        ctx.exit(0)


@main.command()
@_kb_dir
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True,
              help="json: one document; csv: reviews.csv, lessons.csv and actions.csv.")
@click.option("--audience", type=click.Choice(AUDIENCES), default="internal", show_default=True,
              help="internal: all but TLP:RED content; public: only TLP:CLEAR and TLP:GREEN reviews.")
@click.option("--output", type=click.Path(path_type=Path), default=None,
              help="json: the file to write (default: standard output). csv: the folder for the three files.")
@_as_of
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
