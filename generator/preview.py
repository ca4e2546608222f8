"""`kb serve`: a live preview that regenerates pages when a record changes.

A watcher thread polls the KB (and the hand-written pages) and rewrites the docs tree
when something changed, re-rendering only the pages whose inputs changed (RenderCache); MkDocs' own server watches that tree, rebuilds only the pages
whose files changed (dirty build) and reloads the browser. A record with errors keeps
the last good pages on screen and prints its findings.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import click

from generator.report import as_text, summary
from generator.settings import Settings
from generator.site import RenderCache, SiteError, find_config, generate_docs, handwritten_dir

POLL_SECONDS = 0.2
PREVIEW_DOCS = Path(".kb-cache") / "preview" / "docs"


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
    result = generate_docs(settings, docs, cache)
    if result.diagnostics:
        click.echo(as_text(result.diagnostics), err=True, nl=False)
    click.echo(summary(result.diagnostics, result.value.files), err=True)
    return not result.failed(strict=settings.strict)


def serve(settings: Settings, *, dev_addr: str) -> None:
    """Generate the docs tree, start MkDocs' live-reload server, regenerate on change."""
    from mkdocs.commands.serve import serve as mkdocs_serve

    config_file = find_config(settings)
    docs = PREVIEW_DOCS.absolute()
    cache = RenderCache()  # an edit re-renders only the pages whose inputs it changed
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
