"""Golden files: the generated Markdown of the example KB, page by page.

A change to a template, a filter or the model shows up here as a diff of the pages a
reviewer would read, in review. When the change is intended, update the golden files
with the one command (and read the diff before committing it):

    KB_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py

The pages are generated for both audiences on a fixed day, so the files change only
when the tool or the example KB does.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

from generator.settings import Settings
from generator.site import prepare_docs

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
AS_OF = dt.date(2026, 12, 1)


def generated(audience: str) -> dict[str, str]:
    result, tree = prepare_docs(Settings(kb_dir=ROOT / "kb", as_of=AS_OF, audience=audience))
    assert tree is not None, [d.format() for d in result.diagnostics]
    return {doc: text for doc, text in tree.generated.items() if doc.endswith(".md")}


@pytest.mark.parametrize("audience", ["internal", "public"])
def test_generated_pages_match_the_golden_files(audience: str) -> None:
    pages = generated(audience)
    folder = GOLDEN / audience
    if os.environ.get("KB_UPDATE_GOLDEN"):
        shutil.rmtree(folder, ignore_errors=True)
        for doc, text in pages.items():
            (folder / doc).parent.mkdir(parents=True, exist_ok=True)
            (folder / doc).write_text(text, encoding="utf-8")
    expected = {path.relative_to(folder).as_posix(): path.read_text(encoding="utf-8")
                for path in sorted(folder.rglob("*.md"))}
    assert sorted(pages) == sorted(expected), "pages were added or removed: update the golden files (see the docstring)"
    changed = [doc for doc in pages if pages[doc] != expected[doc]]
    assert changed == [], f"these pages differ from their golden files: {changed[:10]} (see the docstring)"
