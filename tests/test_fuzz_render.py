"""Fuzz the render stage: any valid record text becomes pages without live markup or a crash."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser
from pathlib import Path

import markdown
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from conftest import CONTROLS, TAXONOMY, to_yaml, valid_review
from generator.index import check_kb
from generator.render import unsafe_url
from generator.load import SourceKB, parse_text
from generator.settings import Settings
from generator.site import render_pages

HOSTILE = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "[x](javascript:alert(1))", "{{ 7*7 }}",
           "{% if %}", "---\ntitle: x\n---", "<svg onload=alert(1)>", "\u202e", "\u200b", "`code <b>`", "# h",
           "[r]: javascript:x", "<a href='javascript:x'>", "&lt;script&gt;", "|", "\\", "**", "```",
           "\n<!-- /kb:html -->\n", "\n<!-- kb:html -->\n"]  # the lines around a page's HTML blocks (mdx.py)
text = st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(min_size=1, max_size=30)), min_size=1, max_size=6).map("".join)
line = text.map(lambda t: " ".join(t.split())[:200]).filter(lambda t: t.strip() != "")



class LiveMarkup(HTMLParser):
    """Collects what a browser would run: script-like tags, on* handlers, unsafe link targets."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "iframe", "object", "embed", "img", "svg"):
            self.found.append(tag)
        for name, value in attrs:
            if name.startswith("on") or (name in ("href", "src") and value and unsafe_url(value)):
                self.found.append(f"{tag} {name}={value}")


def live_markup(html: str) -> list[str]:
    parser = LiveMarkup()
    parser.feed(html)
    return parser.found
MD = markdown.Markdown(extensions=["tables", "admonition", "fenced_code", "toc", "generator.mdx"])


def source(path: Path, data) -> object:
    record, problems = parse_text(path, to_yaml(data).encode("utf-8"))
    assume(record is not None and not problems)
    return record


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=line, summary=text, lesson=text, event=text, owner=line)
def test_any_valid_text_renders_inert(title: str, summary: str, lesson: str, event: str, owner: str) -> None:
    review = valid_review(title=title, summary=summary)
    review["lessons"][0]["text"] = lesson
    review["timeline"][0]["event"] = event
    review["actions"][0]["owner"] = owner
    root = Path("/kb")
    kb = SourceKB(root=root, reviews=[source(root / "reviews" / "INC-2025-001.yaml", review)],
                  taxonomy=source(root / "taxonomy.yaml", TAXONOMY), controls=source(root / "controls.yaml", CONTROLS), files=3)
    result = check_kb(kb, as_of=dt.date(2025, 4, 1))
    assume(not result.errors)
    files, problems = render_pages(result.value, Settings(kb_dir=root, as_of=dt.date(2025, 4, 1)))
    assert not problems
    for doc in ("incidents/INC-2025-001/index.md", "lessons/index.md", "index.md", "actions/index.md"):
        html = MD.reset().convert(files[doc].split("---\n", 2)[2])
        assert live_markup(html) == [], doc
