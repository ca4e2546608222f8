"""Record text to safe page text: parse Markdown, sanitize by allowlist, escape plain text.

Record text is hostile input. Markdown fields (summary, descriptions, lesson text, ...)
are parsed by markdown-it-py, a CommonMark parser, with raw HTML switched off (HTML in a
record is shown as text) and its `validateLink` refusing javascript:, data: and other
unsafe schemes. Review ids mentioned in the text become links on the parsed token
stream (text nodes only, never inside code or an existing link). The HTML markdown-it
renders is then cleaned by nh3 (Ammonia) against an allowlist of tags, attributes and
URL schemes, and written out again by `_Serializer` with every character Python-Markdown
gives a meaning (in text and attribute values) as a numeric character reference. That last
step is what makes the fragment inert for Python-Markdown, which renders the page
around it: the fragment either stands as an HTML block at column 0 (passed through
unchanged) or, inside a list item or table cell, as one line in which Python-Markdown
finds tags it stashes whole and text holding no character it would act on.

Everything else (titles, names, ids, tags) is plain text: `plain` escapes it the same
way, so no Markdown or HTML structure survives.
"""

from __future__ import annotations

import functools
import html
import re
import string
from html.parser import HTMLParser
from typing import Callable

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

from generator.procedure import REVIEW_ID

Linker = Callable[[str], "str | None"]
"""Review id -> the relative URL of its page (None: not a link, e.g. the page itself)."""

ALLOWED_TAGS = frozenset({"p", "br", "hr", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "a"})
ALLOWED_ATTRIBUTES: dict[str, frozenset[str]] = {
    "a": frozenset({"href", "title", "rel", "class"}),
    "ol": frozenset({"start"}),
}
REVIEW_LINK_CLASS = "kb-review-link"
SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
VOID_TAGS = frozenset({"br", "hr"})

_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
# C0 and C1 controls but tab and newline: never meaningful in a page, and \x02/\x03 are
# Python-Markdown's own placeholder markers.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_REVIEW_ID = re.compile(rf"(?<![\w/#.-])({REVIEW_ID})(?![\w-])")
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")
# What Python-Markdown (and the usual extensions: attr_list, pymdownx' tilde, caret, mark)
# gives a meaning anywhere in a line; '-', '+', '.', '=' and the like only at a line's start,
# so the first character is escaped whenever it is punctuation. '(' and ')' need a '[' first.
_ACTIVE = frozenset("\\`*_{}[]<>&|#~^=")
# HTML's own escapes where HTML needs them (as Python-Markdown writes them itself), so the
# page source reads as usual; quotes only inside attribute values.
_NAMED = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_QUOTES = {'"': "&quot;", "'": "&#x27;"}
_PUNCTUATION = frozenset(string.punctuation)


def reveal_bidi(text: str) -> str:
    """Show bidirectional override characters instead of obeying them.

    An override (U+202E) makes 'svc-\u202eexe.txt' display as 'svc-txt.exe': in a security
    record that disguises text, so the characters are shown as a visible mark.
    """
    return _BIDI.sub(lambda m: f"\u2039U+{ord(m.group(0)):04X}\u203a", text)


def _clean(text: str) -> str:
    return _CONTROLS.sub("\ufffd", reveal_bidi(text))


_TABLE = {ord(c): f"&#{ord(c)};" for c in _ACTIVE} | {ord(c): e for c, e in _NAMED.items()}
_TABLES = {
    (newlines, quotes): _TABLE | ({} if newlines else {ord("\n"): "&#10;"})
    | ({ord(c): e for c, e in _QUOTES.items()} if quotes else {})
    for newlines in (True, False) for quotes in (True, False)
}


def _encode(text: str, *, newlines: bool = True, line_start: bool = True, quotes: bool = False) -> str:
    """Text that Python-Markdown leaves alone and HTML shows as these characters: every
    character with a meaning as a character reference."""
    if not text:
        return text
    table = _TABLES[(newlines, quotes)]
    first = text[0]
    if line_start and first in _PUNCTUATION and ord(first) not in table:
        return f"&#{ord(first)};" + text[1:].translate(table)
    return text.translate(table)


def plain(value: object) -> str:
    """A one-line record string as Markdown text that shows exactly these characters."""
    return _encode(" ".join(_clean(str(value)).split()))


def attribute(value: object) -> str:
    """A record string inside raw HTML a template writes (text or an attribute value):
    the same escaping, quotes included."""
    return _encode(" ".join(_clean(str(value)).split()), quotes=True)


def unsafe_url(url: str) -> bool:
    """Whether a link target uses a scheme other than http, https or mailto."""
    cleaned = re.sub(r"[\x00-\x20\x7f<>]", "", html.unescape(url)).lower()
    match = _SCHEME.match(cleaned)
    return match is not None and match.group(1) not in SAFE_SCHEMES


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    # Headings and images stay text: a record's '# x' must not add a heading to the page
    # (nor to its table of contents), and an image would load from anywhere.
    md.disable(["heading", "lheading", "image"])
    return md


_MD = _parser()
_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    attributes={"a": {"href", "title"}, "ol": {"start"}},
    allowed_classes={"a": {REVIEW_LINK_CLASS}},
    url_schemes=set(SAFE_SCHEMES),
    link_rel="noopener noreferrer nofollow",
    strip_comments=True,
    clean_content_tags={"script", "style"},
)


def _link_ids(tokens: list[Token], linker: Linker) -> None:
    """Turn review ids in text nodes (outside links and code) into link tokens."""
    for block in tokens:
        if block.type != "inline" or not block.children:
            continue
        children: list[Token] = []
        depth = 0
        for token in block.children:
            if token.type == "link_open":
                depth += 1
            elif token.type == "link_close":
                depth -= 1
            if token.type != "text" or depth > 0:
                children.append(token)
                continue
            last = 0
            for match in _REVIEW_ID.finditer(token.content):
                url = linker(match.group(1))
                if url is None:
                    continue
                if match.start() > last:
                    children.append(_text(token.content[last:match.start()]))
                opened = Token("link_open", "a", 1)
                opened.attrs = {"href": url, "class": REVIEW_LINK_CLASS}
                children += [opened, _text(match.group(1)), Token("link_close", "a", -1)]
                last = match.end()
            children.append(token if last == 0 else _text(token.content[last:]))
        block.children = children


def _text(content: str) -> Token:
    token = Token("text", "", 0)
    token.content = content
    return token


class _Serializer(HTMLParser):
    """Writes a sanitized fragment again, every tag and attribute checked against the
    allowlist and all punctuation of text and values as character references."""

    def __init__(self, *, one_line: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.one_line = one_line
        self.pre = 0
        self.out: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            return
        self.pre += tag == "pre"
        allowed = ALLOWED_ATTRIBUTES.get(tag, frozenset())
        parts = [tag]
        for name, value in attrs:
            if name not in allowed or value is None or (name == "href" and unsafe_url(value)):
                continue
            parts.append(f'{name}="{_encode(value, newlines=False, line_start=False, quotes=True)}"')
        self.out.append("<" + " ".join(parts) + ">")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in ALLOWED_TAGS and tag not in VOID_TAGS:
            self.pre -= tag == "pre" and self.pre > 0
            self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if self.one_line and not self.pre:
            data = data.replace("\n", " ")
        self.out.append(_encode(data, newlines=not self.one_line))


def _fragment(text: str, linker: Linker | None, *, one_line: bool) -> str:
    # Parsing is most of the cost (markdown-it-py is pure Python) and a lesson's text is
    # shown on several pages: cache by the text and by where each id it mentions links to
    # from this page (the ids found here only make the key; linking is on the tokens).
    links = () if linker is None else tuple((rid, linker(rid)) for rid in sorted(set(_REVIEW_ID.findall(text))))
    return _cached_fragment(str(text), links, one_line)


# A line of plain prose: it starts with a letter and holds no character Markdown or HTML
# acts on (no emphasis, code, link, escape, entity or tag) nor spaces at either end (a
# hard break), so markdown-it would make it one paragraph of exactly these characters.
_PROSE_LINE = re.compile(r"[A-Za-z](?:[A-Za-z0-9,.;:'\"()/%+?! -]*[A-Za-z0-9,.;:'\"()/%+?!-])?")


def _prose(text: str, *, one_line: bool) -> str | None:
    """The fragment of a text that is plain prose, written without parsing (most record text
    is: it was most of rendering); None when it is anything else. Equal to what the parser,
    the sanitizer and the serializer make of it (tests/test_markdown_property.py checks)."""
    lines = text.rstrip("\n").split("\n")
    if not all(_PROSE_LINE.fullmatch(line) for line in lines):
        return None
    return f"<p>{_encode((' ' if one_line else chr(10)).join(lines), newlines=not one_line)}</p>"


@functools.lru_cache(maxsize=16384)
def _cached_fragment(text: str, links: tuple[tuple[str, str | None], ...], one_line: bool) -> str:
    if not links:
        fast = _prose(text, one_line=one_line)
        if fast is not None:
            return fast
    return _parsed_fragment(text, links, one_line)


def _parsed_fragment(text: str, links: tuple[tuple[str, str | None], ...], one_line: bool) -> str:
    tokens = _MD.parse(_clean(text))
    if links:
        _link_ids(tokens, dict(links).get)
    rendered = _MD.renderer.render(tokens, _MD.options, {})
    cleaned = _CLEANER.clean(rendered)
    writer = _Serializer(one_line=one_line)
    writer.feed(cleaned)
    writer.close()
    return "".join(writer.out).strip()


def markdown_block(text: str, linker: Linker | None = None) -> str:
    """A Markdown field as an HTML block: a <div> at column 0 with blank lines around it,
    which Python-Markdown passes through unchanged."""
    return f'\n\n<div class="kb-md">\n{_fragment(text, linker, one_line=False)}\n</div>\n\n'


_ONE_PARAGRAPH = re.compile(r"^<p>((?:(?!</?p>).)*)</p>$", re.S)


def markdown_inline(text: str, linker: Linker | None = None) -> str:
    """A Markdown field on one line (a list item, a table cell, after a label).

    One paragraph loses its <p>; anything longer keeps its blocks, on one line, so the
    line structure of the page around it (the list, the table) is untouched."""
    fragment = _fragment(text, linker, one_line=True)
    single = _ONE_PARAGRAPH.match(fragment)
    return single.group(1) if single else fragment
