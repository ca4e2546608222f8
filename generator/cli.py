"""The `kb` command line: parse options, call the pipeline, report, exit. Nothing else.

Exit codes (the contract): 0 no errors (and with --strict no warnings), 1 findings,
2 usage error.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import click

from generator import __version__, dates
from generator.diagnostics import Result
from generator.report import FORMATS, summary
from generator.settings import AUDIENCES, ENGINES, TRACKER_AUDIENCES, Settings


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
            # A real-looking but impossible day says which day the month lacks ("November has 30 days").
            self.fail(dates.impossible_date(str(value)) or f"{value!r} is not a date; write it as YYYY-MM-DD, e.g. 2025-03-31",
                      param, ctx)


DATE = _Date()


class _Group(click.Group):
    """Turns an unexpected exception into a one-line error instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            value = super().invoke(ctx)
            sys.stdout.flush()  # a closed pipe shows here, not at shutdown where it cannot be caught
            return value
        except BrokenPipeError:
            _stop_quietly()
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


SIGPIPE_EXIT = 141
"""The exit status of a Unix tool stopped by SIGPIPE (128 + 13): `kb search ... | head -1`."""


def _stop_quietly() -> None:
    """The reader of standard output went away (`| head -1`): stop as Unix tools do, silently.

    Standard output is pointed at /dev/null first, so that Python's own flush at shutdown
    does not print "Exception ignored ... BrokenPipeError".
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real file descriptor (a test runner's buffer)
        pass
    sys.exit(SIGPIPE_EXIT)


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


def _report(result: Result, fmt: str, *, strict: bool, failed: str = "") -> None:
    """Print the findings and exit 1 if the run failed (saying `failed` last, when given)."""
    output = FORMATS[fmt](result.diagnostics, None)
    if output:
        click.echo(output, nl=False)
    if fmt != "json":
        click.echo(summary(result.diagnostics, result.value.files), err=True)
    if result.failed(strict=strict):
        if failed:
            click.echo(failed, err=True)
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
@click.option("--engine", type=click.Choice(ENGINES), default="mkdocs", show_default=True,
              help="The site engine that reads mkdocs.yml: MkDocs, or Zensical (optional extra: pip install -e '.[zensical]').")
def build(kb_dir: Path, as_of: dt.date | None, strict: bool, audience: str, training_since: dt.date | None,
          config_file: Path | None, site_dir: Path, engine: str) -> None:
    """Validate the KB, then publish it as a static site (MkDocs + Material).

    Writes nothing when the KB has errors (or warnings with --strict); the previous
    site stays complete until the new one is ready. What a build made is kept in
    .kb-cache/build/, so after an edit only the pages it changed are built again, with
    the same bytes as a full build; KB_CACHE=off builds everything.
    """
    from generator.incremental import BuildStats
    from generator.site import SiteError, build_site

    settings = _settings(kb_dir, as_of, strict, audience=audience, training_since=training_since,
                         config_file=config_file, site_dir=site_dir, engine=engine)
    kept = (f"the previous site in {site_dir}/ is kept" if site_dir.is_dir()
            else f"nothing was written to {site_dir}/")
    try:
        with _stages() as stage:
            result = build_site(settings, stage=stage, stats=(stats := BuildStats()))
    except SiteError as exc:
        raise KBError(f"{exc}; the site was not written, {kept}") from exc
    _report(result, "text", strict=strict, failed=f"kb: the site was not written; {kept}")
    how = {"incremental": f"; incremental: {stats.rendered:,} of {stats.pages:,} pages rendered again",
           "cold": "; full build"}.get(stats.mode, "")
    click.echo(f"built {settings.site_dir}/ ({audience} audience{how})", err=True)


BUILD_STAGES = 5
"""validating, rendering, running MkDocs, indexing for search, publishing."""


@contextlib.contextmanager
def _stages() -> Iterator[Callable[[str], None]]:
    """What `kb build` is doing, on standard error: a bar with the stage's name on a terminal,
    one plain line a stage ("kb: rendering 1,213 pages") in CI logs and other non-terminals."""
    if not sys.stderr.isatty() or os.environ.get("CI"):
        yield lambda name: click.echo(f"kb: {name}", err=True)
        return
    shown = {"name": ""}
    with click.progressbar(length=BUILD_STAGES, file=sys.stderr, show_eta=False, show_percent=False,
                           item_show_func=lambda _: shown["name"], label="kb build") as bar:
        def stage(name: str) -> None:
            started, shown["name"] = shown["name"], name
            if started:
                bar.update(1)  # the previous stage is done
            else:
                bar.render_progress()
        yield stage
        if shown["name"] == "publishing":
            bar.update(1)


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

import json  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

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
        return sorted({Path(e.name).stem for e in os.scandir(kb_dir / "reviews") if e.name.endswith((".yaml", ".yml"))})
    except OSError:
        return []


def _checked(kb_dir: Path, as_of: dt.date, audience: str = "internal") -> tuple[KnowledgeBase, int]:
    """The KB as the audience may see it, and how many errors the KB has (their records are left out)."""
    from generator.audience import view
    from generator.index import validate as run_validate

    files = len(_record_ids(kb_dir))
    if files >= PROGRESS_MIN and sys.stderr.isatty():
        click.echo(f"reading {files:,} review files…", err=True)
    result = run_validate(kb_dir, as_of=as_of)
    # "all" (kb actions): every review the user's files hold, TLP:RED included.
    return (result.value if audience == "all" else view(result.value, audience)), len(result.errors)


def _warn_errors(count: int) -> None:
    if count:
        click.echo(f"warning: the knowledge base has {count} error{'' if count == 1 else 's'}; records with errors "
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
        click.echo(similar.as_text(found), nl=False)
        click.echo(f"{len(found)} similar review{'' if len(found) == 1 else 's'}; link the ones that apply in "
                   "`related`. Nothing written: run kb new without --similar to start the review.", err=True)
        return

    try:
        made = create(kb_dir, severity=severity, title=title, today=as_of or dt.date.today())
    except ScaffoldError as exc:
        raise KBError(str(exc)) from exc
    click.echo(f"wrote {os.path.relpath(made.path)}")
    click.echo("fill in: " + ", ".join(made.to_fill))
    for name in made.missing:
        click.echo(f"note: {os.path.relpath(kb_dir / name)} does not exist yet; kb validate needs it "
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
        click.echo(json.dumps(engine.as_rows(hits), indent=2, ensure_ascii=False))
        return
    if not hits:
        click.echo("no match", err=True)
    style = _style()
    for hit in hits:
        where = f"{hit.field} {hit.item}".strip()
        click.echo(f"{style(hit.review, bold=True)}  {hit.title}")
        click.echo(f"  {where} · {hit.url} · score {hit.score}")
        click.echo(f"  {hit.excerpt}")
        if hit.also:
            click.echo(f"  also in: {', '.join(hit.also)}")


@main.command()
@click.argument("review_id", metavar="ID", shell_complete=_complete_ids)
@_kb_dir
@_as_of
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
        click.echo(f"{review_id}: restricted (TLP:RED); {RESTRICTED_NOTE.removeprefix('restricted: ')}")
        return
    review = kb.by_id.get(review_id)
    if review is not None:
        click.echo(render(review, as_of=day, style=_style()), nl=False)
        return
    if ID_PATTERN.fullmatch(review_id) and any((kb_dir / "reviews" / f"{review_id}{s}").is_file() for s in (".yaml", ".yml")):
        raise KBError(f"review {review_id} has errors and cannot be shown; run kb validate --kb {kb_dir}")
    raise KBError(f"no review {given!r}; {suggest(review_id, [*kb.by_id, *kb.restricted])}")


@main.command("similar")
@click.argument("review_id", metavar="ID", shell_complete=_complete_ids)
@_kb_dir
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
        click.echo(json.dumps(similar.as_rows(found), indent=2, ensure_ascii=True))
        return
    if not found:
        click.echo(f"no review is similar enough to {review_id}", err=True)
    click.echo(similar.as_text(found), nl=False)


@main.command()
@_kb_dir
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
@_as_of
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
        click.echo(tracker.as_json(rows), nl=False)
    elif fmt == "csv":
        click.echo(tracker.as_csv(rows), nl=False)
    else:
        click.echo(tracker.as_text(rows, style=_style()), nl=False)
        click.echo(tracker.summary(rows), err=True)
    if (overdue or stale) and rows:
        sys.exit(1)


@main.command()
@_kb_dir
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
        click.echo(lessons.as_json(kb, since, include_unapproved=include_unapproved), nl=False)
    else:
        click.echo(printable(lessons.as_markdown(kb, since, include_unapproved=include_unapproved, audience=audience)),
                   nl=False)


def _print_schema(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        from generator.export import EXPORT_SCHEMA

        click.echo(json.dumps(EXPORT_SCHEMA, indent=2))
        ctx.exit(0)


@main.command()
@_kb_dir
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True,
              help="json: one document; csv: reviews.csv, lessons.csv, actions.csv and recurrences.csv.")
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
        click.echo(text, nl=False)
    for path in written:
        click.echo(f"wrote {path}", err=True)


@main.command()
@click.argument("ref", metavar="REF")
@_kb_dir
@click.option("--from", "start", type=DATE, default=None,
              help="First day of the audit period: reviews held on or after it (YYYY-MM-DD).")
@click.option("--to", "end", type=DATE, default=None,
              help="Last day of the audit period: reviews held on or before it (YYYY-MM-DD).")
@_as_of
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
    click.echo(printable(packs.as_json(pack) if fmt == "json" else packs.as_markdown(pack, result.value)), nl=False)
