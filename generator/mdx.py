"""A Python-Markdown extension for every page: it defuses unsafe link targets, and it hands
the generated pages' HTML bodies through without parsing them again.

Unsafe links: record text never reaches it as Markdown (generator.markdown renders and
sanitizes it into HTML blocks); it guards the hand-written pages and any renderer that reads the same
configuration (MkDocs today, Zensical tomorrow). An unsafe target is replaced by '#',
never deleted: MkDocs' link rewriting expects every <a> to keep its href, and a missing
one crashed the whole build.

HTML bodies: a generated page keeps its headings in Markdown (so the table of contents
and permalinks stay the engine's) and writes the rest as HTML that kb rendered on every
core, between the lines HTML_BEGIN and HTML_END (render.py's `block` filter). Python-Markdown
would find the same raw HTML block on its own, but its HTML parser walks every tag in
Python, which made it most of a build; this preprocessor stores the block as it is, so the
output is the same, only sooner. Nothing else can produce those lines: every record value
a template prints is escaped (render.py), so a record's '<' is never a tag. Without this
extension (another configuration) the pages come out the same, more slowly.
"""

from __future__ import annotations

from xml.etree import ElementTree

from markdown import Extension, Markdown
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor

from generator.markdown import unsafe_url

_URL_ATTRIBUTES = ("href", "src", "xlink:href", "action", "formaction")
HTML_BEGIN = "<!-- kb:html -->"
HTML_END = "<!-- /kb:html -->"


class _KeepHtml(Preprocessor):
    """Store each HTML_BEGIN ... HTML_END block whole, as the raw HTML it is (see the module's text)."""

    def run(self, lines: list[str]) -> list[str]:
        if HTML_BEGIN not in lines:
            return lines
        out: list[str] = []
        start = 0
        while True:
            try:
                begin = lines.index(HTML_BEGIN, start)
                end = lines.index(HTML_END, begin + 1)
            except ValueError:
                return out + lines[start:]
            # A comment leads the block, so Python-Markdown places it as block-level HTML.
            out += lines[start:begin] + ["", self.md.htmlStash.store("\n".join(lines[begin:end + 1])), ""]
            start = end + 1


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
        # After whitespace is normalised (30), before Python-Markdown looks for raw HTML (20).
        md.preprocessors.register(_KeepHtml(md), "kb_keep_html", 25)


def makeExtension(**kwargs: object) -> SafeLinksExtension:
    return SafeLinksExtension(**kwargs)
