"""feed.xml: a valid Atom feed (RFC 4287) of the published reviews, audience-aware and reproducible."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import make_kb, valid_review
from generator import feed
from generator.audience import view
from generator.index import validate
from generator.settings import Settings
from generator.site import prepare_docs

A = "{http://www.w3.org/2005/Atom}"
AS_OF = dt.date(2025, 4, 1)
HOSTILE = '<script>alert(1)</script> ]]> &amp; <b onmouseover="x">bold</b> \x1b[31m'


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    reviews = {}
    for n, level in enumerate(["TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED"], start=1):
        data = valid_review(f"INC-2025-00{n}", classification=level, title=f"Review {n} {HOSTILE}")
        data["review"]["held"] = f"2025-03-0{n}T15:00:00Z"
        data["approval"]["date"] = f"2025-03-1{n}"
        data["lessons"][0]["text"] = f"Lesson {n} {HOSTILE}"
        data["summary"] = f"Summary {n} {HOSTILE}"
        reviews[data["id"]] = data
    return make_kb(tmp_path, reviews)


def feed_of(kb: Path, audience: str) -> str:
    result, tree = prepare_docs(Settings(kb_dir=kb, as_of=AS_OF, audience=audience))
    assert tree is not None, result.diagnostics
    return tree.generated["feed.xml"]


def check_atom(text: str) -> ET.Element:
    """The elements RFC 4287 requires: feed id, title, updated, author; entry id, title, updated, link or content."""
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == f"{A}feed"
    for name in ("id", "title", "updated"):
        assert root.find(f"{A}{name}") is not None and root.find(f"{A}{name}").text, name
    assert root.find(f"{A}author/{A}name").text
    for entry in root.findall(f"{A}entry"):
        for name in ("id", "title", "updated", "summary", "content"):
            assert entry.find(f"{A}{name}") is not None, name
        assert entry.find(f"{A}link[@rel='alternate']").get("href")
        assert entry.find(f"{A}id").text.startswith(("tag:", "http://", "https://"))  # ids are absolute
        for stamp in (entry.find(f"{A}updated").text, entry.find(f"{A}published").text):
            assert dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).tzinfo is not None
    return root


@pytest.mark.parametrize("audience, expected", [
    ("public", ["INC-2025-002", "INC-2025-001"]),
    ("internal", ["INC-2025-004", "INC-2025-003", "INC-2025-002", "INC-2025-001"]),
])
def test_feed_holds_exactly_the_published_reviews_newest_first(kb: Path, audience: str, expected: list[str]) -> None:
    text = feed_of(kb, audience)
    root = check_atom(text)
    ids = [e.find(f"{A}id").text.rsplit(":", 1)[-1] for e in root.findall(f"{A}entry")]
    assert ids == [f"incidents/{i}/" for i in expected]
    assert "INC-2025-005" not in text and "Lesson 5" not in text  # TLP:RED: nothing, not even the id
    if audience == "public":
        assert "INC-2025-003" not in text and "INC-2025-004" not in text


def test_record_text_stays_text(kb: Path) -> None:
    text = feed_of(kb, "internal")
    root = check_atom(text)
    assert "<script>" not in text and "<b " not in text and "\x1b" not in text
    entry = root.find(f"{A}entry")
    for name in ("title", "summary", "content"):
        element = entry.find(f"{A}{name}")
        assert element.get("type") == "text" and len(element) == 0  # no child elements: text, never markup
    assert "<script>alert(1)</script>" in entry.find(f"{A}title").text  # shown as written
    assert "Lesson 4 <script>" in entry.find(f"{A}content").text


def test_feed_is_byte_identical_and_its_updated_comes_from_the_data(kb: Path) -> None:
    first, second = feed_of(kb, "internal"), feed_of(kb, "internal")
    assert first == second
    assert ET.fromstring(first).find(f"{A}updated").text == "2025-03-14T00:00:00Z"  # the latest published approval


def test_empty_feed_is_dated_by_the_as_of_day(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, {"INC-2025-001": valid_review("INC-2025-001", classification="TLP:AMBER")})
    text = feed_of(kb, "public")
    root = check_atom(text)
    assert root.findall(f"{A}entry") == [] and root.find(f"{A}updated").text == "2025-04-01T00:00:00Z"


def test_feed_keeps_the_newest_fifty(tmp_path: Path) -> None:
    kb_dir = make_kb(tmp_path, {f"INC-2025-{n:03d}": valid_review(f"INC-2025-{n:03d}") for n in range(1, 53)})
    kb = view(validate(kb_dir, as_of=AS_OF).value, "internal")
    assert len(feed.entries(kb)) == feed.FEED_SIZE
    root = check_atom(feed.atom(kb, site=feed.FeedSite("KB", "https://kb.example/"), as_of=AS_OF))
    assert root.find(f"{A}entry/{A}id").text.startswith("https://kb.example/incidents/")


def test_built_site_has_the_feed_and_every_page_announces_it(tmp_path: Path) -> None:
    from conftest import run_kb

    kb = make_kb(tmp_path, {"INC-2025-001": valid_review("INC-2025-001")})
    outcome = run_kb(["build", "--kb", str(kb), "--site-dir", str(tmp_path / "site"), "--as-of", "2025-04-01"],
                     cwd=tmp_path)
    assert outcome.exit_code == 0, outcome.stderr
    check_atom((tmp_path / "site" / "feed.xml").read_text(encoding="utf-8"))
    for page, href in (("index.html", "./feed.xml"), ("incidents/INC-2025-001/index.html", "../../feed.xml"),
                       ("training/index.html", "../feed.xml")):
        html = (tmp_path / "site" / page).read_text(encoding="utf-8")
        assert f'<link rel="alternate" type="application/atom+xml" title="Post-incident reviews" href="{href}">' in html
