"""A Python-Markdown extension that drops unsafe link targets from every page.

The generator already escapes record text (render.py); this is the second line of
defence, listed in mkdocs.yml so it also guards hand-written pages and any renderer
that reads the same configuration (MkDocs today, Zensical tomorrow).
"""

from __future__ import annotations

from xml.etree import ElementTree

from markdown import Extension, Markdown
from markdown.treeprocessors import Treeprocessor

from generator.render import unsafe_url

_URL_ATTRIBUTES = ("href", "src", "xlink:href", "action", "formaction")


class _DropUnsafeLinks(Treeprocessor):
    def run(self, root: ElementTree.Element) -> None:
        for element in root.iter():
            for attribute in _URL_ATTRIBUTES:
                value = element.get(attribute)
                if value is not None and unsafe_url(value):
                    del element.attrib[attribute]
            for attribute in [a for a in element.attrib if a.lower().startswith("on")]:
                del element.attrib[attribute]


class SafeLinksExtension(Extension):
    """Remove javascript:, data: and other non-http(s)/mailto targets and on* attributes."""

    def extendMarkdown(self, md: Markdown) -> None:
        md.treeprocessors.register(_DropUnsafeLinks(md), "kb_safe_links", 0)


def makeExtension(**kwargs: object) -> SafeLinksExtension:
    return SafeLinksExtension(**kwargs)
