"""A Python-Markdown extension that defuses unsafe link targets on every page.

Record text never reaches it as Markdown (generator.markdown renders and sanitizes it
into HTML blocks); it guards the hand-written pages and any renderer that reads the same
configuration (MkDocs today, Zensical tomorrow). An unsafe target is replaced by '#',
never deleted: MkDocs' link rewriting expects every <a> to keep its href, and a missing
one crashed the whole build.
"""

from __future__ import annotations

from xml.etree import ElementTree

from markdown import Extension, Markdown
from markdown.treeprocessors import Treeprocessor

from generator.markdown import unsafe_url

_URL_ATTRIBUTES = ("href", "src", "xlink:href", "action", "formaction")


class _DropUnsafeLinks(Treeprocessor):
    def run(self, root: ElementTree.Element) -> None:
        for element in root.iter():
            for attribute in _URL_ATTRIBUTES:
                value = element.get(attribute)
                if value is not None and unsafe_url(value):
                    element.set(attribute, "#")
            for attribute in [a for a in element.attrib if a.lower().startswith("on")]:
                del element.attrib[attribute]


class SafeLinksExtension(Extension):
    """Remove javascript:, data: and other non-http(s)/mailto targets and on* attributes."""

    def extendMarkdown(self, md: Markdown) -> None:
        md.treeprocessors.register(_DropUnsafeLinks(md), "kb_safe_links", 0)


def makeExtension(**kwargs: object) -> SafeLinksExtension:
    return SafeLinksExtension(**kwargs)
