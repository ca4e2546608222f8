"""MkDocs hooks: the "edit this page" button opens the YAML record; search sees only what it should.

Generated pages carry `kb_source: <path of the record, relative to the project>` in
their front matter (`generated` for pages that show no single record). With `repo_url` and `edit_uri` set in mkdocs.yml, the button then
points at the record instead of at a Markdown file that exists only in the build.

Pages that must not be found carry `search: exclude: true` in their front matter
(pages.py: every generated page but the reviews, the restricted placeholders and the
home page). Every other page's content is wrapped in `data-pagefind-body`, so Pagefind
(run by `kb build` on the finished site) indexes those pages only, and of them only the
article: not the navigation, header or footer that every page repeats.
"""

from __future__ import annotations

from typing import Any


def on_page_markdown(markdown: str, *, page: Any, config: Any, files: Any) -> str:
    source = page.meta.get("kb_source")
    if source == "generated":  # an index page: there is no file to edit
        page.edit_url = None
    elif source and config.repo_url and config.edit_uri:
        # edit_uri points into the docs folder ("edit/main/docs/"); records live beside it.
        base = config.edit_uri.rstrip("/")
        if base.endswith("/docs"):
            base = base[: -len("/docs")]
        page.edit_url = f"{config.repo_url.rstrip('/')}/{base}/{source}"
    return markdown


def searchable(meta: dict[str, Any]) -> bool:
    """Whether a page goes into the search index: all but those whose front matter excludes them."""
    search = meta.get("search")
    return not (isinstance(search, dict) and search.get("exclude") is True)


GUIDE_WEIGHT = "0.3"
"""Pagefind weight of a hand-written page's words: a guide ranks after the reviews that match."""


def on_page_content(html: str, *, page: Any, config: Any, files: Any) -> str:
    if not searchable(page.meta):
        return html
    # Generated pages carry kb_source; hand-written ones (the guides) do not. The filter lets
    # the header search list reviews first and guides after them (assets/kb-header-search.js).
    if "kb_source" in page.meta:
        return f'<div data-pagefind-body data-pagefind-filter="section:review">\n{html}\n</div>'
    return (f'<div data-pagefind-body data-pagefind-filter="section:guide" data-pagefind-weight="{GUIDE_WEIGHT}">'
            f"\n{html}\n</div>")


def on_serve(server: Any, *, config: Any, builder: Any) -> Any:
    """Under `kb serve`, let the KB watcher wake the server as soon as pages are written."""
    from generator import preview

    if preview.attach(server):
        # kb serve wakes the server itself once a whole set of pages is written; MkDocs'
        # own poll of the docs tree would start extra builds, some in the middle of a write.
        server.unwatch(config.docs_dir)
    return server


def on_env(env: Any, *, config: Any, files: Any) -> Any:
    """Under `kb serve`, keep the theme's compiled templates between rebuilds: MkDocs makes
    a new Jinja environment for every rebuild, and compiling Material's templates again
    was a third of the time a one-page rebuild took."""
    from generator import preview

    if preview.serving():
        env.bytecode_cache = preview.template_cache()
    return env


def on_pre_build(*, config: Any) -> None:
    from generator import preview

    preview.build_started()


def on_post_build(*, config: Any) -> None:
    from generator import preview

    preview.build_ended()


def on_build_error(*, error: Exception) -> None:
    from generator import preview

    preview.build_ended()
