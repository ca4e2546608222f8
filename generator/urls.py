"""Every address of the site, worked out here and only here (the contract's permalinks).

URLs are relative to the site root, folders ending in '/': `incidents/<ID>/`,
`root-causes/<category>/`, `controls/<framework>/<control>/` (slugged), the section
indexes, page n of a long list at `<list>/page/n/`, tag pages, the feed. Each URL's
Markdown file in the docs tree is the folder's index.md (doc_for). Templates reach the
same functions through the renderer's globals.
"""

from __future__ import annotations

import re

INCIDENTS = "incidents/"
ROOT_CAUSES = "root-causes/"
CONTROLS = "controls/"
LESSONS = "lessons/"
TAGS = "lessons/tags/"
ACTIONS = "actions/"
TRAINING = "training/"
METRICS = "metrics/"
SEARCH = "search/"
SECURITY_IMPROVEMENTS = "security-improvements/"
FEED = "feed.xml"


def slug(text: str) -> str:
    """Lower case, every character other than a-z, 0-9 and '-' replaced by '-' (the URL rule)."""
    return re.sub(r"[^a-z0-9-]", "-", text.lower())


def review_url(review_id: str, anchor: str = "") -> str:
    return f"{INCIDENTS}{review_id}/" + (f"#{anchor.lower()}" if anchor else "")


def category_url(category_id: str) -> str:
    return f"{ROOT_CAUSES}{category_id}/"


def control_url(framework: str, control: str) -> str:
    """controls/<framework>/<control>/, both slugged: ISO27001-2022/A.5.27 -> controls/iso27001-2022/a-5-27/."""
    return f"{CONTROLS}{slug(framework)}/{slug(control)}/"


def framework_url(framework: str) -> str:
    """A framework's section of the control index."""
    return f"{CONTROLS}#{slug(framework)}"


def tag_url(tag: str) -> str:
    return f"{TAGS}{slug(tag)}/"


def list_page(url: str, number: int) -> str:
    """Page `number` of the long list at `url`: page 1 keeps the list's own address."""
    return url if number == 1 else f"{url}page/{number}/"


def doc_for(url: str) -> str:
    """Docs path for a site URL: every page is the index page of its folder (incidents/X/ is
    incidents/X/index.md).

    Raw HTML in a page (sanitized record text, charts, tag links) links relatively, and
    MkDocs resolves such links against the page's URL while Zensical resolves them against
    the Markdown file: with every page an index.md the two are the same folder.
    """
    path, _, anchor = url.partition("#")
    doc = "index.md" if path in ("", "/") else path.strip("/") + "/index.md"
    return doc + ("#" + anchor if anchor else "")
