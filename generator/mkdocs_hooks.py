"""MkDocs hooks: glue MkDocs alone needs. Nothing here is needed for a correct site.

What the hooks used to do lives where both engines (MkDocs and Zensical, which ignores
hooks) honour it, in kb's theme overrides: the edit button of a generated page opens its
YAML record (generator/theme/partials/actions.html, from the page's `kb_edit` or
`kb_source` front matter), and only searchable pages carry Pagefind's `data-pagefind-body`
(generator/theme/partials/content.html, from `search: exclude: true`).
"""

from __future__ import annotations
