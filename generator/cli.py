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
