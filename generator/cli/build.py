"""`kb validate`, `kb build` and `kb serve`: check the records, publish the site, preview it."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import click

from generator.cli.common import (DATE, KBError, _report, _settings, echo, kb_options, site_options)
from generator.report import FORMATS
from generator.settings import ENGINES


@click.command()
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


@click.command()
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
    echo(f"built {settings.site_dir}/ ({audience} audience{how})", err=True)


BUILD_STAGES = 5
"""validating, rendering, running MkDocs, indexing for search, publishing."""


@contextlib.contextmanager
def _stages() -> Iterator[Callable[[str], None]]:
    """What `kb build` is doing, on standard error: a bar with the stage's name on a terminal,
    one plain line a stage ("kb: rendering 1,213 pages") in CI logs and other non-terminals."""
    if not sys.stderr.isatty() or os.environ.get("CI"):
        yield lambda name: echo(f"kb: {name}", err=True)
        return
    shown = {"name": ""}
    bar: Any = click.progressbar(length=BUILD_STAGES, file=sys.stderr, show_eta=False, show_percent=False,
                                 item_show_func=lambda _: shown["name"], label="kb build")
    with bar:
        def stage(name: str) -> None:
            started, shown["name"] = shown["name"], name
            if started:
                bar.update(1)  # the previous stage is done
            else:
                bar.render_progress()
        yield stage
        if shown["name"] == "publishing":
            bar.update(1)


@click.command()
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
