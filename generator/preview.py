"""`kb serve`: a live preview built on MkDocs' public API.

MkDocs' live-reload server watches the KB, the hand-written pages and the configuration
through its public `watch()`. On a change it calls one builder, in its own build thread:
the builder regenerates the docs tree (re-rendering only the pages whose inputs changed,
site.RenderCache) and then runs a MkDocs build of that tree. Regeneration and build run
one after the other in that thread, so nothing writes the docs tree while MkDocs reads it.

The build is dirty (MkDocs rebuilds only the pages whose files changed) unless a page
went away: then it is clean, so that a deleted record's pages disappear. While a record
is broken its page is a banner naming the file, line and message (and the home page
lists the broken files), instead of the last good page; the console shows the findings
once per change.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import jinja2
import jinja2.bccache

from generator.report import as_text, summary
from generator.settings import Settings
from generator.site import RenderCache, find_config, handwritten_dir, prepare_preview
from generator.text import terminal

class _TemplateCache(jinja2.BytecodeCache):
    """Compiled theme templates kept in memory for the life of the preview (keyed by source
    checksum): MkDocs makes a new Jinja environment for every build, and compiling
    Material's templates again was a third of the time a one-page rebuild took."""

    def __init__(self) -> None:
        self._store: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self._store:
            bucket.bytecode_from_string(self._store[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._store[bucket.key] = bucket.bytecode_to_string()


@dataclass
class _KeepTemplates:
    """A MkDocs event handler (registered on the preview's own configuration only)."""

    cache: _TemplateCache = field(default_factory=_TemplateCache)

    def on_env(self, env: jinja2.Environment, *, config: Any, files: Any) -> jinja2.Environment:
        env.bytecode_cache = self.cache
        return env


class NoDirtyWarning(logging.Filter):
    """MkDocs warns on every dirty build that navigation may be stale. The preview's
    navigation lists sections only and a removed page triggers a clean build, so the
    warning says nothing here; it would bury the findings the reviewer needs to see."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("A 'dirty' build is being performed")


@dataclass
class Preview:
    """What one `kb serve` keeps between builds."""

    settings: Settings
    config_file: Path
    docs: Path
    site: Path
    dev_addr: str
    cache: RenderCache = field(default_factory=RenderCache)
    templates: _KeepTemplates = field(default_factory=_KeepTemplates)

    @property
    def serve_url(self) -> str:
        return f"http://{self.dev_addr}/"

    def regenerate(self) -> bool:
        """Bring the docs tree up to date and report the findings; whether a page went away."""
        result, tree = prepare_preview(self.settings, self.cache)
        if result.diagnostics:
            click.echo(terminal(as_text(result.diagnostics)), err=True, nl=False)
        click.echo(summary(result.diagnostics, result.value.files), err=True)
        return tree.write(self.docs).removed > 0

    def build(self) -> None:
        """The live-reload server's builder: regenerate, then build the site (dirty unless a page went away)."""
        from mkdocs.commands.build import build
        from mkdocs.config import load_config

        removed = self.regenerate()
        config = load_config(str(self.config_file), docs_dir=str(self.docs), site_dir=str(self.site),
                             dev_addr=self.dev_addr)
        config.site_url = self.serve_url
        config.plugins["kb-preview"] = self.templates  # type: ignore[assignment]  # any object with on_* methods
        build(config, serve_url=self.serve_url, dirty=not removed)


def serve(settings: Settings, *, dev_addr: str) -> None:
    """Generate the docs tree, build it, and serve it; rebuild when the KB or the pages change."""
    from mkdocs.livereload import LiveReloadServer

    host, _, port = dev_addr.rpartition(":")
    if not host or not port.isdigit():
        raise click.BadParameter(f"{dev_addr!r} is not HOST:PORT", param_hint="--dev-addr")
    config_file = find_config(settings)
    # The docs tree and the site live outside every watched folder (a tree inside the KB
    # would wake the watcher with each write) and go when the preview stops.
    work = Path(tempfile.mkdtemp(prefix="kb-serve-"))
    site = work / "site"
    preview = Preview(settings, config_file, work / "docs", site, dev_addr)
    logging.basicConfig(format="%(levelname)-7s -  %(message)s", level=logging.INFO)
    logging.getLogger("mkdocs.commands.build").addFilter(NoDirtyWarning())
    server = LiveReloadServer(builder=preview.build, host=host, port=int(port), root=str(site))

    def error_page(code: int) -> bytes | None:
        page = site / f"{code}.html"
        return page.read_bytes() if code in (404, 500) and page.is_file() else None

    server.error_handler = error_page
    try:
        preview.build()
        for watched in [settings.kb_dir, handwritten_dir(config_file), config_file]:
            if watched is not None and watched.exists():
                server.watch(str(watched))
        try:
            server.serve()
        except KeyboardInterrupt:
            logging.getLogger(__name__).info("Shutting down...")
        finally:
            server.shutdown()
    finally:
        shutil.rmtree(work, ignore_errors=True)
