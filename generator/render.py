"""Render planned pages to Markdown with Jinja2, treating every record string as untrusted.

The environment's `finalize` prints every value as plain text (generator.markdown.plain)
unless a filter here made it `Markup`: `md` (a Markdown field as a sanitized HTML block),
`md_inline` (the same on one line, for list items, table cells and after a label), `h`
(a value inside raw HTML a template writes). A template cannot forget to escape: `plain`
writes every character Markdown or HTML would act on as a numeric character reference,
which reads the same in both. Templates are files, found by name on a search path:
a project's override folder first, then the packaged templates.

A page for the site keeps its headings in Markdown and writes its body as HTML inside
`{% filter block %}`: the engine then builds the table of contents from the headings and
passes the body through (generator/mdx.py) instead of converting Markdown on one core.
`link` writes an HTML link on the site (its URL final, as raw HTML needs it) and a
Markdown link in a document for print or a terminal (for_site=False).
"""

from __future__ import annotations

import datetime as dt
import functools
import multiprocessing
import posixpath
import re
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Callable, Mapping

import jinja2
from markupsafe import Markup

from generator.markdown import attribute, markdown_block, markdown_inline, plain, reveal_bidi, unsafe_url
from generator.mdx import HTML_BEGIN, HTML_END
from generator.urls import category_url, control_url, doc_for, review_url, slug, tag_url

__all__ = ["Renderer", "render_all", "doc_for", "relative_link", "reveal_bidi", "unsafe_url"]

TEMPLATES = Path(__file__).parent / "templates"

@jinja2.pass_context
def _finalize(context: jinja2.runtime.Context, value: Any) -> Any:
    """Every value a template prints is plain text unless a filter here made it Markup."""
    if isinstance(value, Markup):
        return value
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return Markup(plain(value))


def relative_link(here: str, target: str) -> str:
    """A link from the page at docs path `here` to docs path `target` (#anchor kept)."""
    path, _, anchor = target.partition("#")
    if not path or (path == here and anchor):  # a place on this page: the fragment alone
        return "#" + anchor
    link = posixpath.relpath(path, posixpath.dirname(here) or ".")
    return link + ("#" + anchor if anchor else "")


class Renderer:
    """A Jinja2 environment for Markdown pages, with the link and escaping helpers.

    `reviews` says which review ids have a page and how (id -> "published" or
    "restricted"): the one fact a template may look up beyond its page's context, through
    the linker and `review_state`, and the render cache keys pages by it (fingerprint.py).
    """

    def __init__(self, *, override_dir: Path | None = None, globals_: dict[str, Any] | None = None,
                 reviews: Mapping[str, str] | None = None, for_site: bool = True):
        self.reviews: Mapping[str, str] = reviews or {}
        self.for_site = for_site
        # On the site a date is a span that never wraps; a document for print or a terminal
        # (kb evidence) keeps it as plain text.
        wrap: Callable[[str], Any] = _nowrap if for_site else Markup
        search = [str(p) for p in (override_dir, TEMPLATES) if p is not None and p.is_dir()]
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(search),
            bytecode_cache=_BYTECODE,
            undefined=jinja2.StrictUndefined,
            finalize=_finalize,
            # On, so macro output is Markup and values are never printed unescaped; the
            # finalize hook applies Markdown-aware escaping before HTML escaping would.
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self.env.filters.update(
            md=jinja2.pass_context(lambda ctx, text: Markup(markdown_block(str(text), ctx.get("linker")))),
            md_inline=jinja2.pass_context(lambda ctx, text: Markup(markdown_inline(str(text), ctx.get("linker")))),
            cell=lambda value: Markup(plain(value)),
            h=lambda value: Markup(attribute(value)),
            slug=slug,
            date=lambda value: wrap(_date(value)),
            day=lambda value: wrap(value.astimezone(dt.timezone.utc).date().isoformat()),
            when=lambda value: wrap(_when(value)),
            plural=_plural,
            anchor=lambda value: str(value).lower(),
            block=_block,
        )
        self.env.globals.update(globals_ or {})

    def render(self, template: str, context: dict[str, Any], *, here: str) -> str:
        """Render one template for the page at docs path `here`."""

        def link(target_url: str, text: Any, anchor: str = "") -> Markup:
            if self.for_site:
                return Markup(f'<a href="{href(target_url + ("#" + anchor if anchor else ""))}">{plain(text)}</a>')
            target = doc_for(target_url + ("#" + anchor if anchor else ""))
            return Markup(f"[{plain(text)}]({relative_link(here, target)})")

        def href(target_url: str) -> Markup:
            """A relative URL for raw HTML written by templates (charts, the fault tree)."""
            path, _, anchor = target_url.partition("#")
            # Pages are served as folders (use_directory_urls): x/y.md is at x/y/.
            base = posixpath.dirname(here) if posixpath.basename(here) == "index.md" else here[:-3]
            rel = _relative(path, base)
            rel = "" if rel == "." else rel + "/"
            # Built from ids and slugs the schema restricts; escaped for the attribute anyway.
            return Markup.escape(rel + ("#" + anchor if anchor else ""))

        known = self.reviews

        def linker(review_id: str) -> str | None:
            """The URL (relative, as raw HTML needs it) of a review mentioned in record text."""
            if review_id not in known or doc_for(review_url(review_id)) == here:
                return None
            return str(href(review_url(review_id)))

        text = self.env.get_template(template).render(**context, here=here, link=link, href=href, linker=linker,
                                                      review_state=known.get, review_url=review_url,
                                                      category_url=category_url, control_url=control_url,
                                                      tag_url=tag_url)
        return re.sub(r"\n{3,}", "\n\n", text).rstrip("\n") + "\n"


_BYTECODE: jinja2.BytecodeCache | None = None
"""Where compiled templates are kept between builds (use_bytecode_cache); None: compiled each time."""


def use_bytecode_cache(folder: Path) -> None:
    """Keep compiled templates in `folder` (kb build's cache): compiling them was a tenth of a
    build after one edit. Jinja checks each entry against its template's source and the
    Python version, so an edited template is compiled again."""
    global _BYTECODE
    _BYTECODE = _TemplateCache(folder)


class _TemplateCache(jinja2.FileSystemBytecodeCache):
    """Jinja's cache of compiled templates, its folder made when the first one is kept (a
    build that stops at an error writes nothing); a folder that cannot be written only
    means compiling again."""

    def __init__(self, folder: Path) -> None:
        super().__init__(str(folder))
        self.folder = folder

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            super().dump_bytecode(bucket)
        except OSError:
            pass


@functools.lru_cache(maxsize=65536)
def _relative(path: str, base: str) -> str:
    """posixpath.relpath(path, base) for two folders of the site, by their names alone
    (relpath asks the file system for the current folder: it was a fifth of rendering)."""
    if ".." in path.split("/") or ".." in base.split("/") or path.startswith("/") or base.startswith("/"):
        return posixpath.relpath(path or ".", base or ".")
    to = [part for part in path.split("/") if part not in ("", ".")]
    start = [part for part in base.split("/") if part not in ("", ".")]
    common = 0
    while common < min(len(to), len(start)) and to[common] == start[common]:
        common += 1
    return "/".join([".."] * (len(start) - common) + to[common:]) or "."


def _block(html: str) -> Markup:
    """A page's HTML between two headings, marked so the engine passes it through (mdx.py)."""
    body = str(html).strip("\n")
    return Markup(f"\n\n{HTML_BEGIN}\n{body}\n{HTML_END}\n\n") if body.strip() else Markup("")


def _date(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def _nowrap(text: str) -> Markup:
    """A date kept on one line ("2024-05-22", never "2024-" then "05-22"): kb.css styles .kb-date.

    The text is digits, '-', ':', '+', ' ', '(', ')' and 'UTC' only, so it needs no escaping.
    """
    return Markup(f'<span class="kb-date">{text}</span>') if text else Markup("")


def _when(value: dt.datetime) -> str:
    """A timestamp as written by the reviewer's zone, plus UTC when it differs."""
    utc = value.astimezone(dt.timezone.utc)
    if value.utcoffset() == dt.timedelta(0):
        return utc.strftime("%Y-%m-%d %H:%M UTC")
    return value.strftime("%Y-%m-%d %H:%M %z") + utc.strftime(" (%H:%M UTC)")


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else (plural or word + 's')}"



PARALLEL_MIN_PAGES = 300
"""Below this many pages, forking workers costs more than it saves."""

_SHARED: tuple[list[tuple[str, dict[str, Any], str]], Path | None, dict[str, Any], Mapping[str, str]] | None = None
"""The jobs of render_all, inherited (not pickled) by its forked workers."""


def render_all(jobs: list[tuple[str, dict[str, Any], str]], *, override_dir: Path | None = None,
               globals_: dict[str, Any] | None = None, reviews: Mapping[str, str] | None = None) -> list[str]:
    """Render many (template, context, docs path) jobs; the texts in job order.

    On a machine with several cores the pages are split among forked workers, which share
    the parent's memory: the contexts (the whole KB) are never pickled, only the texts
    come back. Fork is used only where it is safe, in a process with no other thread
    (kb build; kb serve renders its few changed pages in MkDocs' build thread, site.RenderCache).
    """
    global _SHARED
    from generator.cache import available_cores

    workers = min(available_cores(), 8)
    if (len(jobs) < PARALLEL_MIN_PAGES or workers < 2 or threading.active_count() > 1
            or "fork" not in multiprocessing.get_all_start_methods()):
        renderer = Renderer(override_dir=override_dir, globals_=globals_, reviews=reviews)
        return [renderer.render(template, context, here=here) for template, context, here in jobs]
    _SHARED = (jobs, override_dir, globals_ or {}, reviews or {})
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
            shards = list(pool.map(_render_shard, range(workers), [workers] * workers))
    finally:
        _SHARED = None
    texts: list[str] = [""] * len(jobs)
    for shard, rendered in enumerate(shards):
        texts[shard::workers] = rendered
    return texts


def _render_shard(shard: int, count: int) -> list[str]:
    """Every count-th job from `shard` on (interleaved, so big and small pages spread evenly)."""
    assert _SHARED is not None, "render_all's workers are forked from the process that set the jobs"
    jobs, override_dir, globals_, reviews = _SHARED
    renderer = Renderer(override_dir=override_dir, globals_=globals_, reviews=reviews)
    return [renderer.render(template, context, here=here) for template, context, here in jobs[shard::count]]
