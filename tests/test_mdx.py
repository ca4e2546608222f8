"""generator.mdx: the generated pages' HTML blocks pass through Python-Markdown unparsed.

The passthrough is there for speed only, so a page must come out the same with and without
it; a marker it does not find whole changes nothing; and no record text can write a marker
line, so no record can open or close a block (render.py escapes every value it prints).
"""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from pathlib import Path

import markdown
import pytest

from browser import hostile
from conftest import make_kb, run_kb, valid_review
from generator.mdx import HTML_BEGIN, HTML_END
from generator.settings import Settings
from generator.site import prepare_docs, render_pages

ROOT = Path(__file__).resolve().parent.parent
EXTENSIONS = ["tables", "admonition", "fenced_code", "toc"]  # mkdocs.yml's, but generator.mdx
AS_OF = dt.date(2025, 7, 1)


def convert(text: str, *, passthrough: bool) -> str:
    return markdown.Markdown(extensions=EXTENSIONS + (["generator.mdx"] if passthrough else [])).convert(text)


class _Tokens(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[object] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.append((tag, sorted(attrs)))

    def handle_endtag(self, tag: str) -> None:
        self.out.append("/" + tag)

    def handle_data(self, data: str) -> None:
        if data.split():
            self.out.append(" ".join(data.split()))

    def handle_comment(self, data: str) -> None:
        self.out.append("<!--" + data + "-->")


def dom(html: str) -> list[object]:
    """The elements, attributes, comments and text of an HTML fragment, whitespace aside."""
    tokens = _Tokens()
    tokens.feed(html)
    tokens.close()
    return tokens.out


def body(page: str) -> str:
    """A generated page without its front matter, as MkDocs hands it to Python-Markdown."""
    return page.split("---\n", 2)[2]


def differing_pages(kb: Path) -> list[str]:
    differ = []
    for audience in ("internal", "public"):
        result, tree = prepare_docs(Settings(kb_dir=kb, as_of=dt.date(2026, 12, 1), audience=audience))
        assert tree is not None, [d.format() for d in result.diagnostics]
        pages = {doc: text for doc, text in tree.generated.items() if doc.endswith(".md")}
        assert sum(HTML_BEGIN in text for text in pages.values()) > len(pages) // 2  # the pages do use blocks
        differ += [f"{audience}: {doc}" for doc, text in sorted(pages.items())
                   if dom(convert(body(text), passthrough=True)) != dom(convert(body(text), passthrough=False))]
    return differ


def test_every_page_of_the_example_kb_is_the_same_with_and_without_the_passthrough() -> None:
    assert differing_pages(ROOT / "kb") == []


def test_every_page_of_the_hostile_kb_is_the_same_with_and_without_the_passthrough(tmp_path: Path) -> None:
    # Code blocks with blank lines, unclosed fences, every Markdown trick inside the blocks.
    assert differing_pages(hostile.write(tmp_path)) == []


def test_a_block_is_kept_verbatim_and_markdown_around_it_still_converts() -> None:
    block = f"{HTML_BEGIN}\n<p>*not emphasis* and <code>`x`</code></p>\n\n<ul>\n<li>a</li>\n</ul>\n{HTML_END}"
    html = convert(f"# Title\n\n*before*\n\n{block}\n\n*after*\n", passthrough=True)
    assert block in html
    assert "<p><em>before</em></p>" in html and "<p><em>after</em></p>" in html
    assert '<h1 id="title">Title</h1>' in html


@pytest.mark.parametrize("text", [
    f"{HTML_BEGIN}\n<p>a</p>\n\n*b*\n",  # never closed
    f"*a*\n\n{HTML_END}\n\n*b*\n",  # closed, never opened
    f"{HTML_END}\n<p>a</p>\n{HTML_BEGIN}\n\n*b*\n",  # the wrong way round
    f"{HTML_BEGIN}\n<p>a</p>\n{HTML_END}\n\n*b*\n\n{HTML_BEGIN}\n<p>c</p>\n\n*d*\n",  # the second never closed
    f"  {HTML_BEGIN}\n<p>a</p>\n{HTML_END}  \n\n*b*\n",  # not whole lines
])
def test_a_marker_that_is_not_found_whole_changes_nothing(text: str) -> None:
    with_it, without = convert(text, passthrough=True), convert(text, passthrough=False)
    assert dom(with_it) == dom(without)
    assert "<em>b</em>" in with_it  # the Markdown after the stray marker is still Markdown


# A marker alone on a line, and around a payload that would run if it ever left its block.
PAYLOAD = "<img src=x onerror=alert('kb-marker')>"
LINES = f"{HTML_END}\n{PAYLOAD}\n{HTML_BEGIN}"
PARAGRAPHS = f"Before.\n\n{HTML_END}\n\n{PAYLOAD}\n\n{HTML_BEGIN}\n\nAfter."
ONE_LINE = f"{HTML_END} {PAYLOAD} {HTML_BEGIN}"  # titles, names: one line by the schema


def marked_review(payload: str, one_line: str) -> dict:
    data = valid_review(title=one_line, summary=payload)
    data["timeline"][0]["event"] = payload
    data["lessons"][0]["text"] = payload
    data["went_well"] = [payload]
    data["actions"][0]["title"] = one_line
    data["actions"][0]["owner"] = one_line
    data["actions"][0]["success_criteria"] = payload
    data["actions"][0]["progress"][0]["note"] = payload
    data["review"]["participants"][0]["name"] = one_line
    data["root_cause"]["summary"] = payload
    return data


def marker_lines(pages: dict[str, str]) -> dict[str, tuple[int, int]]:
    return {doc: (text.splitlines().count(HTML_BEGIN), text.splitlines().count(HTML_END)) for doc, text in pages.items()}


def pages(tmp_path: Path, review: dict) -> dict[str, str]:
    """The generated Markdown of a KB of one review, by docs path."""
    from generator.index import validate

    kb = make_kb(tmp_path, {review["id"]: review})
    result = validate(kb, as_of=AS_OF)
    assert result.errors == []
    texts, problems = render_pages(result.value, Settings(kb_dir=kb, as_of=AS_OF))
    assert problems == []
    return texts


@pytest.mark.parametrize("payload", [LINES, PARAGRAPHS, HTML_BEGIN, HTML_END])
def test_record_text_never_writes_a_marker_line(tmp_path: Path, payload: str) -> None:
    hostile_pages = pages(tmp_path / "hostile", marked_review(payload, payload if "\n" not in payload else ONE_LINE))
    plain_pages = pages(tmp_path / "plain", marked_review("Plain text.", "Plain text"))
    assert marker_lines(hostile_pages) == marker_lines(plain_pages)  # only the templates' own
    review = hostile_pages["incidents/INC-2025-001/index.md"]
    assert "&lt;!-- /kb:html --&gt;" in review or "&lt;!-- kb:html --&gt;" in review


def test_a_marker_in_record_text_is_shown_as_text_on_the_built_page(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, {"INC-2025-001": marked_review(PARAGRAPHS, ONE_LINE)})
    outcome = run_kb(["build", "--kb", str(kb), "--site-dir", str(tmp_path / "site"), "--as-of", AS_OF.isoformat()],
                     cwd=tmp_path)
    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    templates_wrote = marker_lines(pages(tmp_path / "plain", marked_review("Plain text.", "Plain text")))
    for page in ("incidents/INC-2025-001/index.html", "index.html", "lessons/index.html", "actions/index.html"):
        html = (tmp_path / "site" / page).read_text(encoding="utf-8")
        article = re.search(r"<article.*?</article>", html, re.S)
        assert article, page
        # The blocks the templates wrote, as comments; none opened or closed by the record.
        comments = (article.group(0).count(HTML_BEGIN), article.group(0).count(HTML_END))
        assert comments == templates_wrote[page.replace(".html", ".md")], page
        elements = [token for token in dom(article.group(0)) if isinstance(token, tuple)]
        assert not [tag for tag, attrs in elements if tag == "img" or any(n.startswith("on") for n, _ in attrs)], page
        assert "&lt;!-- /kb:html --&gt;" in article.group(0), page  # the reader sees what the reviewer wrote
    review = (tmp_path / "site" / "incidents/INC-2025-001/index.html").read_text(encoding="utf-8")
    # The sections after each payload are still there, as headings of their own.
    assert all(f'<h2 id="{section}">' in review for section in ("summary", "timeline", "lessons", "actions"))
