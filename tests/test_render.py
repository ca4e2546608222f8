"""Render stage: record text is Markdown, but nothing in it can become live markup."""

from __future__ import annotations

import re

import markdown
import pytest

from generator.markdown import markdown_block, markdown_inline, plain, unsafe_url
from generator.render import doc_for, relative_link

EXTENSIONS = ["tables", "fenced_code", "admonition", "toc", "generator.mdx"]


def html_of(text: str) -> str:
    """The record text as a page shows it: a block, and on one line in a list and a table."""
    page = (f"Label: {markdown_inline(text)}\n{markdown_block(text)}\n- {markdown_inline(text)}\n\n"
            f"| a | b |\n| --- | --- |\n| {markdown_inline(text)} | x |\n")
    return markdown.markdown(page, extensions=EXTENSIONS)


@pytest.mark.parametrize("hostile", [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(2)>",
    '<a href="javascript:alert(4)">x</a>',
    "<svg onload=alert(5)>",
    "<iframe src=https://evil.example></iframe>",
])
def test_raw_html_shows_as_text(hostile: str) -> None:
    html = html_of(f"before {hostile} after")
    assert "<script" not in html and "<img" not in html and "<svg" not in html and "<iframe" not in html
    assert "&lt;" in html or "&#60;" in html


@pytest.mark.parametrize("link", [
    "[click](javascript:alert(3))",
    "[click]( JaVaScRiPt:alert(3))",
    "[click](java\tscript:alert(3))",
    "[click](data:text/html;base64,PHNjcmlwdD4=)",
    "![img](javascript:alert(3))",
    "[click][r]\n\n[r]: javascript:alert(3)",
    "[click](vbscript:msgbox(1))",
])
def test_unsafe_links_never_become_hrefs(link: str) -> None:
    html = html_of(link)
    assert "href" not in html and "src=" not in html
    assert "<a" not in html and "<img" not in html


def test_safe_markdown_still_renders() -> None:
    html = html_of("Some **bold**, a [link](https://example.org/x) and `code <b>`.\n\n- a list")
    assert "<strong>bold</strong>" in html
    assert 'href="https://example.org/x"' in html
    assert "<code>code &lt;b&gt;</code>" in html
    assert "<li>a list</li>" in html


def test_structure_cannot_be_changed_from_a_record() -> None:
    html = html_of("# not a heading\ntext\n\n{: onclick=alert(1) }\n{{ 7*7 }} {% if x %}")
    assert "<h1" not in html and "<h2" not in html
    assert "onclick=" not in html
    assert "&#123;&#123; 7&#42;7 &#125;&#125;" in html  # {{ 7*7 }} shown as text


def test_code_fences_are_kept_as_code() -> None:
    html = html_of("```\n<script>alert(1)</script>\n```")
    assert "<code>" in html and "&lt;script&gt;" in html and "<script>" not in html


@pytest.mark.parametrize("text", [
    "a `code\n\nspan` <img src=x onerror=alert(1)>",   # a code span cannot cross a blank line
    "```\n<script>alert(1)</script>",                    # a fence never closed
    "Note: ```\n<svg onload=alert(1)>\n```",             # a fence after a label
    "- item\n\n  ```\n  <img src=x onerror=alert(1)>\n  ```",
    "[x][r]\n\n[r]:\n  javascript:alert(1)",            # the URL on the next line
    "- a\n\n  [x][r]\n\n  [r]: javascript:alert(1)",   # an indented definition in a list
    "<javascript:alert(1)> [y](&#106;avascript:alert(1))",
])
def test_markdown_the_old_regexes_misread_stays_inert(text: str) -> None:
    html = html_of(text)
    for live in ("<script", "<img", "<svg", "onerror=", "onload=", 'href="javascript', 'href="&#106;'):
        assert live not in html
    assert not [url for url in re.findall(r'(?:href|src)="([^"]*)"', html) if unsafe_url(url)]


def test_inline_markdown_is_one_table_safe_line() -> None:
    assert markdown_inline("a | b\nc") == "a &#124; b c"
    assert "\n" not in markdown_inline("para 1\n\n```\ncode\n\nmore\n```")


def test_plain_text_keeps_no_structure() -> None:
    text = "# *x* [a](javascript:y) <b>&amp; | `c` {: onclick=z} \\"
    html = markdown.markdown(f"# {plain(text)}\n\n| {plain(text)} |\n| --- |\n| {plain(text)} |", extensions=EXTENSIONS)
    assert html.count("<em>") == 0 and "<a" not in html.replace('<a class="headerlink"', "") and "<b>" not in html
    assert "&#42;x&#42;" in html and "&lt;b&gt;&amp;amp;" in html


@pytest.mark.parametrize("url, unsafe", [
    ("javascript:alert(1)", True), ("JAVASCRIPT:x", True), (" java\nscript:x", True), ("&#106;avascript:x", True),
    ("data:text/html,x", True), ("https://example.org", False), ("mailto:a@b.c", False), ("../x.md#a1", False),
    ("#l1", False),
])
def test_unsafe_url(url: str, unsafe: bool) -> None:
    assert unsafe_url(url) is unsafe


def test_review_ids_in_prose_link_to_their_review() -> None:
    text = markdown_inline("Same class as INC-2024-031, see `INC-2024-031` and [INC-2024-031](https://x.example).",
                           lambda rid: f"../{rid}/")
    assert text.count("<a ") == 2  # the id in prose and the record's own link; not the one in code
    assert '<a href="../INC-2024-031/" class="kb-review-link"' in text
    assert "<code>INC-2024-031</code>" in text


@pytest.mark.parametrize("url, doc", [
    ("incidents/INC-2025-014/", "incidents/INC-2025-014/index.md"),
    ("incidents/", "incidents/index.md"),
    ("controls/iso27001-2022/a-5-27/", "controls/iso27001-2022/a-5-27/index.md"),
    ("", "index.md"),
    ("incidents/INC-2025-014/#a1", "incidents/INC-2025-014/index.md#a1"),
])
def test_doc_for_contract_urls(url: str, doc: str) -> None:
    assert doc_for(url) == doc


def test_relative_link() -> None:
    assert relative_link("incidents/INC-1.md", "root-causes/x.md") == "../root-causes/x.md"
    assert relative_link("index.md", "incidents/index.md#a") == "incidents/index.md#a"



@pytest.mark.parametrize("title", [
    "plain", "a: b # c", "\"quoted\" and 'single'", "*alias &anchor !tag", "back\\slash", "--- \n...", "{x: [y]}",
    "</title><svg onload=alert(1)>", "&lt;script&gt;", "\u202eevil", "tab\there", "% @ ` |",
])
def test_front_matter_titles_are_yaml_safe_and_html_escaped(title: str) -> None:
    import html as html_module

    import yaml

    from generator.pages import yaml_title

    loaded = yaml.safe_load(f"title: {yaml_title(title)}\n")["title"]
    assert isinstance(loaded, str) and "<" not in loaded and "\u202e" not in loaded
    # MkDocs treats titles as HTML: unescaped once, it is the text as written (bidi shown as a mark).
    shown = html_module.unescape(loaded)
    assert shown == " ".join(title.replace("\u202e", "\u2039U+202E\u203a").split())


def test_links_between_pages_are_relative_as_posixpath_would_make_them() -> None:
    """render._relative computes relpath from the names alone (relpath asks the file system)."""
    import itertools
    import posixpath

    from generator.render import _relative

    parts = ["incidents", "INC-2025-001", "a", "", ".", ".."]
    for depth_a, depth_b in itertools.product(range(4), repeat=2):
        for path in itertools.product(parts, repeat=depth_a):
            for base in itertools.islice(itertools.product(parts, repeat=depth_b), 60):
                for target in ("/".join(path), "/".join(path) + "/", "/" + "/".join(path)):
                    assert _relative(target, "/".join(base)) == posixpath.relpath(target or ".", "/".join(base) or "."), \
                        (target, base)
