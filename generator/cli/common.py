"""What every `kb` command shares: the error type, safe printing, the option decorators,
the date type, the group that never shows a traceback, and the helpers that read the KB
as the site would. The commands live in build.py and workflows.py.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import click

from generator import __version__, dates
from generator.diagnostics import Result
from generator.report import FORMATS, summary
from generator.settings import AUDIENCES, ENGINES, TRACKER_AUDIENCES, Settings
from generator.text import terminal

if TYPE_CHECKING:  # the model is loaded only by the commands that need it
    from generator.index import KnowledgeBase


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
    raise click.exceptions.Exit(SIGPIPE_EXIT)


kb_dir_option = click.option(
    "--kb", "kb_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default="kb", show_default=True,
    help="The knowledge base folder (reviews/, taxonomy.yaml, controls.yaml).")
as_of_option = click.option("--as-of", type=DATE, default=None,
                            help="The day overdue actions are judged on (YYYY-MM-DD). Default: today.")


def kb_options(function: Callable) -> Callable:
    """The options every command that checks the KB shares: --kb, --as-of, --strict."""

    @kb_dir_option
    @as_of_option
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
        echo(output, nl=False, workflow_commands=fmt == "github")
    if fmt != "json":
        echo(summary(result.diagnostics, result.value.files), err=True)
    if result.failed(strict=strict):
        if failed:
            echo(failed, err=True)
        raise click.exceptions.Exit(1)


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


PROGRESS_MIN = 1000
"""KBs with at least this many review files show progress on a terminal (on standard error)."""



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
    # "all" (kb actions): every review the user's files hold, TLP:RED included.
    return (result.value if audience == "all" else view(result.value, audience)), len(result.errors)


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
