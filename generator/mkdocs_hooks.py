"""MkDocs hooks: the "edit this page" button opens the YAML record; search sees only what it should.

Generated pages carry `kb_source: <path of the record, relative to the project>` in
their front matter (`generated` for pages that show no single record), and `kb_edit: <URL>`
when the KB's repository is known (repository.py: repo_url in mkdocs.yml, else the git
remote). The button then opens the record instead of a Markdown file that exists only in
the build; without a known repository a generated page has no edit button.

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
    if page.meta.get("kb_edit"):  # the record in its repository's web editor (repository.py)
        page.edit_url = page.meta["kb_edit"]
    elif source == "generated":  # an index page: there is no file to edit
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


def on_page_content(html: str, *, page: Any, config: Any, files: Any) -> str:
    if not searchable(page.meta):
        return html
    return f"<div data-pagefind-body>\n{html}\n</div>"
