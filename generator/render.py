"""Render planned pages to Markdown with Jinja2, treating every record string as untrusted.

Record text is Markdown, but raw HTML, unsafe link schemes, heading markers and the
like must show as text. The environment's `finalize` escapes every value a template
prints unless it was marked safe (a `Markup` made by one of the filters here), so a
template cannot forget to escape. Templates are files, found by name on a search path:
a project's override folder first, then the packaged templates.
"""

from __future__ import annotations

import datetime as dt
import html
import multiprocessing
import posixpath
import re
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Callable, Mapping

import jinja2
from markupsafe import Markup

from generator.model import slug

TEMPLATES = Path(__file__).parent / "templates"
SAFE_SCHEMES = ("http", "https", "mailto")

_CODE = re.compile(r"(?P<fence>^(?P<indent>[ \t]*)(?P<ticks>`{3,}|~{3,})[^\n]*\n.*?(?:^(?P=indent)(?P=ticks)[ \t]*$|\Z))"
                   r"|(?P<span>(?P<bt>`+)(?!`).+?(?<!`)(?P=bt)(?!`))", re.S | re.M)
_INLINE_LINK = re.compile(r"\]\((?P<url>[^)]*)\)?")
_REF_DEF = re.compile(r"^(?P<lead>[ ]{0,3})\[(?P<label>[^\]]*)\]:[ \t]*(?P<url>\S*)", re.M)
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")
_HEADING = re.compile(r"^([ ]{0,3})(#{1,6}(?:[ \t]|$))", re.M)
_SETEXT = re.compile(r"^([ ]{0,3})(=+|-{2,})[ \t]*$", re.M)
_ATTR = re.compile(r"[{}]")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


def unsafe_url(url: str) -> bool:
    """Whether a link target uses a scheme other than http, https or mailto."""
    cleaned = re.sub(r"[\x00-\x20\x7f<>]", "", html.unescape(url)).lower()
    match = _SCHEME.match(cleaned)
    return bool(match) and match.group(1) not in SAFE_SCHEMES


def _neutralise_links(text: str) -> str:
    def inline(match: re.Match) -> str:
        if unsafe_url(match.group("url")):
            return "]&#40;" + match.group(0)[2:]
        return match.group(0)

    def reference(match: re.Match) -> str:
        if unsafe_url(match.group("url")):
            return match.group("lead") + "\\[" + match.group(0)[len(match.group("lead")) + 1:]
        return match.group(0)

    return _REF_DEF.sub(reference, _INLINE_LINK.sub(inline, text))


Linker = Callable[[str], "str | None"]
# A review id standing alone in prose: not part of a link label, URL or longer word.
_REVIEW_ID = re.compile(r"(?<![\w/#\[.-])([A-Z][A-Z0-9]+-[0-9]{4}-[0-9]{3,})(?![\w\]-]|\.md)")


def _escape_prose(text: str, linker: Linker | None) -> str:
    """Escape the parts of Markdown that could carry markup or change the page's structure."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _ATTR.sub(lambda m: "&#123;" if m.group(0) == "{" else "&#125;", text)
    text = _HEADING.sub(lambda m: m.group(1) + "\\" + m.group(2), text)
    text = _SETEXT.sub(lambda m: m.group(1) + "\\" + m.group(2), text)
    text = _neutralise_links(text)
    if linker is not None:
        # Every id is a link: a review id mentioned in prose links to that review.
        text = _REVIEW_ID.sub(lambda m: linker(m.group(1)) or m.group(1), text)
    return text


def reveal_bidi(text: str) -> str:
    """Show bidirectional override characters instead of obeying them.

    An override (U+202E) makes 'svc-\u202eexe.txt' display as 'svc-txt.exe': in a security
    record that disguises text, so the characters are shown as a visible mark.
    """
    return _BIDI.sub(lambda m: f"\u2039U+{ord(m.group(0)):04X}\u203a", text)


def markdown_text(text: str, linker: Linker | None = None) -> str:
    """Record Markdown made safe: prose escaped, code spans and fences kept as code."""
    text = reveal_bidi(text)
    out, last = [], 0
    for match in _CODE.finditer(text):
        out.append(_escape_prose(text[last:match.start()], linker))
        out.append(match.group(0))  # Markdown escapes code itself: it can hold no markup
        last = match.end()
    out.append(_escape_prose(text[last:], linker))
    return "".join(out)


def inline_text(value: Any, linker: Linker | None = None) -> str:
    """A value on one line of Markdown (a list item, a heading, a table cell)."""
    text = " ".join(str(value).split())
    return markdown_text(text, linker).replace("|", "\\|")


def html_text(value: Any) -> Markup:
    """A value inside raw HTML written by a template (no Markdown is processed there)."""
    return Markup(html.escape(reveal_bidi(" ".join(str(value).split())), quote=True))


@jinja2.pass_context
def _finalize(context: jinja2.runtime.Context, value: Any) -> Any:
    if isinstance(value, Markup):
        return value
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return Markup(inline_text(value, context.get("linker")))


def relative_link(here: str, target: str) -> str:
    """A link from the page at docs path `here` to docs path `target` (#anchor kept)."""
    path, _, anchor = target.partition("#")
    if not path:
        return "#" + anchor
    link = posixpath.relpath(path, posixpath.dirname(here) or ".")
    return link + ("#" + anchor if anchor else "")


# search/ too: its raw <script src> is page-relative, and Zensical resolves raw HTML URLs
# against the Markdown file, so the file must sit in the folder the page is served from.
INDEX_URLS = ("incidents/", "root-causes/", "controls/", "lessons/", "actions/", "training/", "metrics/", "search/")


def doc_for(url: str) -> str:
    """Docs path for a site URL: section indexes are folder index pages, others files."""
    path, _, anchor = url.partition("#")
    if path in ("", "/"):
        doc = "index.md"
    elif path in INDEX_URLS:
        doc = path + "index.md"
    else:
        doc = path.rstrip("/") + ".md"
    return doc + ("#" + anchor if anchor else "")


class Renderer:
    """A Jinja2 environment for Markdown pages, with the link and escaping helpers.

    `reviews` says which review ids have a page and how (id -> "published" or
    "restricted"): the one fact a template may look up beyond its page's context, through
    the linker and `review_state`, and the render cache keys pages by it (fingerprint.py).
    """

    def __init__(self, *, override_dir: Path | None = None, globals_: dict[str, Any] | None = None,
                 reviews: Mapping[str, str] | None = None, for_site: bool = True):
        self.reviews: Mapping[str, str] = reviews or {}
        # On the site a date is a span that never wraps; a document for print or a terminal
        # (kb evidence) keeps it as plain text.
        wrap: Callable[[str], Any] = _nowrap if for_site else Markup
        search = [str(p) for p in (override_dir, TEMPLATES) if p is not None and p.is_dir()]
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(search),
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
            md=jinja2.pass_context(lambda ctx, text: Markup(markdown_text(str(text), ctx.get("linker")))),
            cell=jinja2.pass_context(lambda ctx, value: Markup(inline_text(value, ctx.get("linker")))),
            h=html_text,
            slug=slug,
            date=lambda value: wrap(_date(value)),
            day=lambda value: wrap(value.astimezone(dt.timezone.utc).date().isoformat()),
            when=lambda value: wrap(_when(value)),
            plural=_plural,
            anchor=lambda value: str(value).lower(),
            indent_md=jinja2.pass_context(
                lambda ctx, text, n=4: Markup(_indent(markdown_text(str(text), ctx.get("linker")), n))),
        )
        self.env.globals.update(globals_ or {})

    def render(self, template: str, context: dict[str, Any], *, here: str) -> str:
        """Render one template for the page at docs path `here`."""

        def link(target_url: str, text: Any, anchor: str = "") -> Markup:
            target = doc_for(target_url + ("#" + anchor if anchor else ""))
            return Markup(f"[{inline_text(text)}]({relative_link(here, target)})")

        def href(target_url: str) -> str:
            """A relative URL for raw HTML written by templates (charts, the fault tree)."""
            path, _, anchor = target_url.partition("#")
            # Pages are served as folders (use_directory_urls): x/y.md is at x/y/.
            base = posixpath.dirname(here) if posixpath.basename(here) == "index.md" else here[:-3]
            rel = posixpath.relpath(path or ".", base or ".")
            rel = "" if rel == "." else rel + "/"
            return rel + ("#" + anchor if anchor else "")

        known = self.reviews

        def linker(review_id: str) -> str | None:
            target = doc_for(f"incidents/{review_id}/")
            if review_id not in known or target == here:
                return None
            return f"[{review_id}]({relative_link(here, target)})"

        text = self.env.get_template(template).render(**context, here=here, link=link, href=href, linker=linker,
                                                      review_state=known.get)
        return re.sub(r"\n{3,}", "\n\n", text).rstrip("\n") + "\n"


def _indent(text: str, n: int) -> str:
    pad = " " * n
    return "\n".join(pad + line if line.strip() else "" for line in text.splitlines())


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
