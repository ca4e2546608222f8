"""Property: whatever Markdown a record holds, with HTML in any structural position, the
record renderer's output holds only allowlisted tags, attributes and URLs, and stays so
when Python-Markdown renders the page around it (block, list item, table cell, label)."""

from __future__ import annotations

from html.parser import HTMLParser

import markdown
from hypothesis import HealthCheck, given, settings, strategies as st

from generator.markdown import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, markdown_block, markdown_inline, plain, unsafe_url

HTML = st.sampled_from([
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<svg onload=alert(1)>", "</title><b>",
    "<a href=\"javascript:alert(1)\">a</a>", "<details open ontoggle=alert(1)>", "<iframe src=//x>",
    "<style>*{}</style>", "<!-- c -->", "<p onclick=alert(1)>", "</div>", "<div>", "<![CDATA[x]]>",
    "&lt;script&gt;", "&#106;avascript:alert(1)", "<javascript:alert(1)>", "<https://ok.example>",
    "{: onclick=alert(1)}", "{{ x }}", "{% y %}", "\x02wzxhzdk:0\x03", "\u202e",
])
INLINE = st.sampled_from([
    "[a](javascript:alert(1))", "[a](data:text/html,x)", "[a](https://ok.example \"t\")", "[a][r]", "[r]",
    "`code`", "``a`b``", "*em*", "**strong**", "_u_", "\\*", "![i](x.png)", "<mailto:a@b.c>", "|", "INC-2025-001",
])
BLOCK_PREFIX = st.sampled_from(["", "# ", "> ", "- ", "1. ", "    ", "  - ", "* ", "Label: "])
BLOCK_SUFFIX = st.sampled_from(["", "\n", "\n\n", "\n===", "\n---", "\n  "])
FENCE = st.sampled_from(["```", "~~~", "```js", "    ```"])
REF = st.sampled_from(["[r]: javascript:alert(1)", "[r]:\n  javascript:alert(1)", "  [r]: data:x",
                       "[r]: https://ok.example"])
WORDS = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)


@st.composite
def documents(draw: st.DrawFn) -> str:
    blocks = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.integers(0, 3))
        if kind == 0:
            parts = draw(st.lists(st.one_of(HTML, INLINE, WORDS), min_size=1, max_size=6))
            blocks.append(draw(BLOCK_PREFIX) + " ".join(parts) + draw(BLOCK_SUFFIX))
        elif kind == 1:
            fence = draw(FENCE)
            inner = " ".join(draw(st.lists(st.one_of(HTML, INLINE), min_size=1, max_size=4)))
            close = draw(st.booleans())
            blocks.append(f"{draw(BLOCK_PREFIX)}{fence}\n{inner}\n" + (fence.strip()[:3] if close else ""))
        elif kind == 2:
            blocks.append(draw(REF))
        else:
            blocks.append(draw(HTML) + draw(st.sampled_from(["\n", "\n\n", " "])) + draw(HTML))
    return draw(st.sampled_from(["\n", "\n\n"])).join(blocks)


class Allowlist(HTMLParser):
    """Every tag, attribute and URL that is not on the allowlist."""

    def __init__(self, tags: frozenset[str], attributes: dict[str, frozenset[str]]) -> None:
        super().__init__(convert_charrefs=True)
        self.tags, self.attributes = tags, attributes
        self.bad: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.tags:
            self.bad.append(f"<{tag}>")
        for name, value in attrs:
            if name not in self.attributes.get(tag, frozenset()):
                self.bad.append(f"<{tag} {name}>")
            if name in ("href", "src") and (value is None or unsafe_url(value)):
                self.bad.append(f"<{tag} {name}={value!r}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_comment(self, data: str) -> None:
        self.bad.append("<!--")

    def unknown_decl(self, data: str) -> None:
        self.bad.append("<![")

    def handle_pi(self, data: str) -> None:
        self.bad.append("<?")


def violations(html: str, tags: frozenset[str], attributes: dict[str, frozenset[str]]) -> list[str]:
    parser = Allowlist(tags, attributes)
    parser.feed(html)
    parser.close()
    return parser.bad


# What the page around the fragments adds: Python-Markdown's own tags, and our wrapper div.
PAGE_TAGS = ALLOWED_TAGS | {"div", "h1", "table", "thead", "tbody", "tr", "th", "td", "ul", "li", "p"}
PAGE_ATTRIBUTES = {**ALLOWED_ATTRIBUTES, "div": frozenset({"class"}), "h1": frozenset({"id"}),
                   "a": ALLOWED_ATTRIBUTES["a"]}
EXTENSIONS = ["tables", "admonition", "fenced_code", "toc", "attr_list", "md_in_html"]


def linker(review_id: str) -> str | None:
    return f"../{review_id}/"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_rendered_fragments_hold_only_allowlisted_markup(text: str) -> None:
    block, inline = markdown_block(text, linker), markdown_inline(text, linker)
    assert violations(block, ALLOWED_TAGS | {"div"}, {**ALLOWED_ATTRIBUTES, "div": frozenset({"class"})}) == []
    assert violations(inline, ALLOWED_TAGS, ALLOWED_ATTRIBUTES) == []
    assert "\n" not in inline
    assert "\x02" not in block and "\x03" not in block and "\u202e" not in block


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(), st.text(max_size=60))
def test_the_page_python_markdown_renders_around_them_stays_allowlisted(text: str, title: str) -> None:
    # Python-Markdown with more extensions than the site uses (attr_list, md_in_html): the
    # fragments must pass through it unchanged wherever a template puts them.
    page = (f"# {plain(title)}\n{markdown_block(text, linker)}\n- {markdown_inline(text, linker)}\n\n"
            f"| a | b |\n| --- | --- |\n| {markdown_inline(text, linker)} | {plain(title)} |\n\n"
            f"Label: {markdown_inline(text, linker)}\n")
    html = markdown.markdown(page, extensions=EXTENSIONS)
    assert violations(html, PAGE_TAGS, PAGE_ATTRIBUTES) == [], html


_PROSE_ALPHABET = "aZ09 ,.;:'\"()/%+?!-\n\t*_`<>&#[]\\|~=\u00e9"


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=_PROSE_ALPHABET, max_size=40), st.booleans())
def test_prose_written_without_parsing_equals_the_parsed_fragment(text: str, one_line: bool) -> None:
    """Plain prose skips the parser (generator.markdown._prose); whatever it accepts must come
    out exactly as markdown-it, nh3 and the serializer make it, and it must turn down the rest."""
    from generator.markdown import _parsed_fragment, _prose

    for candidate in (text, "A" + text, "The " + text.strip() + "\n"):
        fast = _prose(candidate, one_line=one_line)
        if fast is not None:
            assert fast == _parsed_fragment(candidate, (), one_line), repr(candidate)


def test_prose_fast_path_takes_plain_sentences_and_nothing_with_markup() -> None:
    from generator.markdown import _prose

    assert _prose("The CDN accepted expired tokens (for 40 min).\nNobody noticed.\n", one_line=False) == \
        "<p>The CDN accepted expired tokens (for 40 min).\nNobody noticed.</p>"
    assert _prose("The CDN accepted expired tokens.\nNobody noticed.", one_line=True) == \
        "<p>The CDN accepted expired tokens. Nobody noticed.</p>"
    for marked in ("*bold*", "a <b>", "a &amp; b", "a `code`", "a [x](y)", "- item", "1. one", "a  \nb", "a\n\nb",
                   "a\\b", "x_y_", "a | b", "\u202eabc", "a\u0000b", "> quote", "    code"):
        assert _prose(marked, one_line=False) is None, marked
