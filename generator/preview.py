"""`kb serve`: a live preview that regenerates pages when a record changes.

A watcher thread polls the KB (and the hand-written pages) and, when something changed,
rewrites the docs tree that MkDocs' live-reload server serves, re-rendering only the pages
whose inputs changed (site.RenderCache). The edited record's page is written first and
the server woken at once (through the hooks in mkdocs_hooks.py); the pages quoting the
record follow when that rebuild has ended. MkDocs rebuilds only the pages whose files
changed (dirty build) and reloads the browser. A record with errors keeps the last good
pages on screen and prints its findings.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import click
import jinja2
import jinja2.bccache

from generator.report import as_text, summary
from generator.settings import Settings
from generator.site import RenderCache, SiteError, find_config, handwritten_dir, prepare_docs, write_file
from generator.text import terminal

POLL_SECONDS = 0.2
PREVIEW_DOCS = Path(".kb-cache") / "preview" / "docs"

_live: list[Any] = []
"""MkDocs' live-reload server of this process, handed over by the on_serve hook (mkdocs_hooks)."""
BUILD_WAIT_SECONDS = 30.0
"""The longest a write waits for a rebuild to end (a rebuild that never reports is not waited for forever)."""


def attach(server: Any) -> bool:
    """Called by the on_serve hook: remember the server so a regeneration can wake it.
    Whether it can be woken (see _wake_mkdocs); if not, MkDocs' own poll must stay on."""
    _live[:] = [server]
    return hasattr(server, "_rebuild_cond") and hasattr(server, "_want_rebuild")


def serving() -> bool:
    """Whether MkDocs' live-reload server runs in this process (kb serve)."""
    return bool(_live)


class _Rebuilds:
    """Whether a rebuild the preview asked for has yet to end.

    MkDocs reads a page twice in a dirty build (its text, then whether it changed): a file
    written in between breaks the build. So the preview writes only while no rebuild it
    asked for is pending or running, and it is the only one to ask (MkDocs' own poll of the
    docs tree is off, mkdocs_hooks.on_serve).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self._wanted = self._started = 0.0

    def wanted(self) -> None:
        with self._lock:
            self._wanted = time.monotonic()
            self._idle.clear()

    def started(self) -> None:
        with self._lock:
            self._started = time.monotonic()

    def ended(self) -> None:
        with self._lock:
            if self._started >= self._wanted:  # the build that ended began after the last request
                self._idle.set()

    def wait(self) -> None:
        self._idle.wait(timeout=BUILD_WAIT_SECONDS)


_rebuilds = _Rebuilds()


def build_started() -> None:
    """Called by the on_pre_build hook."""
    _rebuilds.started()


def build_ended() -> None:
    """Called by the on_post_build and on_build_error hooks."""
    _rebuilds.ended()


class _TemplateCache(jinja2.BytecodeCache):
    """Compiled templates kept in memory for the life of the preview (keyed by source checksum)."""

    def __init__(self) -> None:
        self._store: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self._store:
            bucket.bytecode_from_string(self._store[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._store[bucket.key] = bucket.bytecode_to_string()


_templates = _TemplateCache()


def template_cache() -> jinja2.BytecodeCache:
    return _templates


def _wake_mkdocs() -> None:
    """Ask MkDocs to rebuild now. This does what MkDocs' own file watcher does on a change
    (the private attributes are checked by attach; without them MkDocs keeps polling)."""
    for server in _live:
        condition = getattr(server, "_rebuild_cond", None)
        if condition is not None and hasattr(server, "_want_rebuild"):
            _rebuilds.wanted()
            with condition:
                server._want_rebuild = True
                condition.notify_all()


def _signature(folders: list[Path]) -> tuple:
    """What changes when any file below these folders is added, removed or edited."""
    entries = []
    for folder in folders:
        if folder.is_dir():
            for path in folder.rglob("*"):
                try:
                    info = path.stat()
                except OSError:
                    continue
                entries.append((str(path), info.st_mtime_ns, info.st_size))
    return tuple(sorted(entries))


def _regenerate(settings: Settings, docs: Path, cache: RenderCache) -> bool:
    result, tree = prepare_docs(settings, cache)
    if tree is not None:
        _rebuilds.wait()
        tree.write(docs)
        _wake_mkdocs()
    if result.diagnostics:
        click.echo(terminal(as_text(result.diagnostics)), err=True, nl=False)
    click.echo(summary(result.diagnostics, result.value.files), err=True)
    return not result.failed(strict=settings.strict)


def serve(settings: Settings, *, dev_addr: str) -> None:
    """Generate the docs tree, start MkDocs' live-reload server, regenerate on change."""
    from mkdocs.commands.serve import serve as mkdocs_serve

    config_file = find_config(settings)
    docs = PREVIEW_DOCS.absolute()

    def show_first(files: dict[str, str]) -> None:
        # The edited record's page goes out first; MkDocs rebuilds it while the list
        # pages that quote the record are being re-rendered.
        if not serving():  # the first generation, before the server runs, writes all at once
            return
        _rebuilds.wait()
        for doc, text in files.items():
            write_file(docs / doc, text.encode("utf-8"))
        _wake_mkdocs()

    cache = RenderCache(first=show_first)  # an edit re-renders only the pages whose inputs it changed
    if not _regenerate(settings, docs, cache):
        raise SiteError("the knowledge base has errors; fix them (kb validate) and run kb serve again")
    watched = [settings.kb_dir] + [p for p in [handwritten_dir(config_file)] if p is not None]
    stop = threading.Event()

    def watch() -> None:
        last = _signature(watched)
        while not stop.wait(POLL_SECONDS):
            current = _signature(watched)
            if current != last:
                last = current
                _regenerate(settings, docs, cache)

    logging.basicConfig(format="%(levelname)-7s -  %(message)s", level=logging.INFO)
    watcher = threading.Thread(target=watch, name="kb-watch", daemon=True)
    watcher.start()
    try:
        mkdocs_serve(str(config_file), livereload=True, build_type="dirty", docs_dir=str(docs), dev_addr=dev_addr)
    finally:
        stop.set()
