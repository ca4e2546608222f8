"""MkDocs hook: a generated page's "edit this page" button opens the YAML record it shows.

Generated pages carry `kb_source: <path of the record, relative to the project>` in
their front matter (`generated` for pages that show no single record). With `repo_url` and `edit_uri` set in mkdocs.yml, the button then
points at the record instead of at a Markdown file that exists only in the build.
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
