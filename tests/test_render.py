"""Render stage: record text is Markdown, but nothing in it can become live markup."""

from __future__ import annotations

import markdown
import pytest

from generator.render import doc_for, inline_text, markdown_text, relative_link, unsafe_url


def html_of(text: str) -> str:
    return markdown.markdown(markdown_text(text), extensions=["tables", "fenced_code", "generator.mdx"])


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
    assert "&lt;" in html


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


def test_safe_markdown_still_renders() -> None:
    html = html_of("Some **bold**, a [link](https://example.org/x) and `code <b>`.\n\n- a list")
    assert "<strong>bold</strong>" in html
    assert 'href="https://example.org/x"' in html
    assert "<code>code &lt;b&gt;</code>" in html
    assert "<li>a list</li>" in html


def test_structure_cannot_be_changed_from_a_record() -> None:
    html = html_of("# not a heading\ntext\n---\n{: onclick=alert(1) }\n{{ 7*7 }} {% if x %}")
    assert "<h1" not in html and "<h2" not in html and "<hr" not in html
    assert "onclick" not in html.split("&#123;")[0]
    assert "{{ 7*7 }}" in html.replace("&#123;", "{").replace("&#125;", "}")


def test_code_fences_are_kept_as_code() -> None:
    html = html_of("```\n<script>alert(1)</script>\n```")
    assert "<code>" in html and "&lt;script&gt;" in html and "<script>" not in html


def test_inline_text_is_one_table_safe_line() -> None:
    assert inline_text("a | b\nc") == "a \\| b c"


@pytest.mark.parametrize("url, unsafe", [
    ("javascript:alert(1)", True), ("JAVASCRIPT:x", True), (" java\nscript:x", True), ("&#106;avascript:x", True),
    ("data:text/html,x", True), ("https://example.org", False), ("mailto:a@b.c", False), ("../x.md#a1", False),
    ("#l1", False),
])
def test_unsafe_url(url: str, unsafe: bool) -> None:
    assert unsafe_url(url) is unsafe


def test_review_ids_in_prose_link_to_their_review() -> None:
    text = markdown_text("Same class as INC-2024-031, see `INC-2024-031` too.", lambda rid: f"[{rid}](x/{rid}.md)")
    assert text == "Same class as [INC-2024-031](x/INC-2024-031.md), see `INC-2024-031` too."


@pytest.mark.parametrize("url, doc", [
    ("incidents/INC-2025-014/", "incidents/INC-2025-014.md"),
    ("incidents/", "incidents/index.md"),
    ("controls/iso27001-2022/a-5-27/", "controls/iso27001-2022/a-5-27.md"),
    ("", "index.md"),
    ("incidents/INC-2025-014/#a1", "incidents/INC-2025-014.md#a1"),
])
def test_doc_for_contract_urls(url: str, doc: str) -> None:
    assert doc_for(url) == doc


def test_relative_link() -> None:
    assert relative_link("incidents/INC-1.md", "root-causes/x.md") == "../root-causes/x.md"
    assert relative_link("index.md", "incidents/index.md#a") == "incidents/index.md#a"

