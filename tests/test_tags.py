"""Lesson tags link to a page listing the lessons with that tag (lessons/tags/<slug>/)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from conftest import make_kb, valid_review
from generator.settings import Settings
from generator.site import prepare_docs

AS_OF = dt.date(2025, 4, 1)


def docs(kb: Path, audience: str = "internal") -> dict[str, str]:
    result, tree = prepare_docs(Settings(kb_dir=kb, as_of=AS_OF, audience=audience))
    assert tree is not None, result.diagnostics
    return tree.generated


def test_tag_pages_list_each_lesson_once_and_merge_spellings(tmp_path: Path) -> None:
    one = valid_review("INC-2025-001", classification="TLP:GREEN")
    one["lessons"] = [{"id": "L1", "text": "Pin the CDN config.", "kind": "tool", "tags": ["CDN", "cdn"]},
                      {"id": "L2", "text": "Rotate <script>alert(1)</script> keys.", "kind": "process",
                       "tags": ["<b>x</b>"]}]
    one["actions"][0]["lessons"] = ["L1"]
    two = valid_review("INC-2025-002", classification="TLP:RED")
    two["lessons"][0]["tags"] = ["cdn", "secret-tag"]
    generated = docs(make_kb(tmp_path, {"INC-2025-001": one, "INC-2025-002": two}))
    index = generated["lessons/tags/index.md"]
    assert '<li><a href="cdn/">&#35;CDN / cdn</a> (1 lesson)</li>' in index  # one slug: one page, both spellings
    page = generated["lessons/tags/cdn/index.md"]
    assert page.count("INC-2025-001 L1") == 1 and "INC-2025-002" not in page  # TLP:RED: nothing
    assert "secret-tag" not in index and "lessons/tags/secret-tag/index.md" not in generated
    hostile = generated["lessons/tags/-b-x--b-/index.md"]
    assert "<b>" not in hostile and "<script>" not in hostile
    review = generated["incidents/INC-2025-001/index.md"]
    assert '<a href="../../lessons/tags/cdn/">#CDN</a> <a href="../../lessons/tags/cdn/">#cdn</a>' in review
    assert '<a href="../../lessons/tags/-b-x--b-/">#&lt;b&gt;x&lt;/b&gt;</a>' in review
    assert '<a href="tags/cdn/">#cdn</a>' in generated["lessons/index.md"]


def test_public_tag_pages_hold_only_public_lessons(tmp_path: Path) -> None:
    green = valid_review("INC-2025-001", classification="TLP:GREEN")
    amber = valid_review("INC-2025-002", classification="TLP:AMBER")
    amber["lessons"][0]["tags"] = ["amber-only"]
    generated = docs(make_kb(tmp_path, {"INC-2025-001": green, "INC-2025-002": amber}), "public")
    assert "lessons/tags/amber-only/index.md" not in generated and "amber-only" not in generated["lessons/tags/index.md"]
