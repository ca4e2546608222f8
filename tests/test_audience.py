"""Confidentiality: what each audience's site holds, checked by grepping every byte built.

Each review that an audience must not see carries a marker string in every free-text
and one-line field; the built site (HTML, search index, sitemap, compressed files) must
hold none of them. The search index is Pagefind's: gzip-compressed files whose fragments
hold each indexed page's text as written and whose index chunks hold its words,
lowercased and stemmed (LEAKAMBER is indexed as "leakamb"), so those are searched too.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from conftest import make_kb, run_kb, valid_review

AS_OF = "2025-04-01"
LEVELS = {"TLP:CLEAR": "CLEAR", "TLP:GREEN": "GREEN", "TLP:AMBER": "AMBER", "TLP:AMBER+STRICT": "STRICT", "TLP:RED": "RED"}


def marked_review(review_id: str, level: str, related: list[str]) -> dict:
    """A valid review whose every text field says LEAK<level>."""
    tag = f"LEAK{LEVELS[level]}"
    review = valid_review(review_id, classification=level, title=f"{tag} title", summary=f"{tag} summary",
                          related=related)
    review["impact"]["description"] = f"{tag} impact"
    review["incident"]["services"] = [f"{tag}-service"]
    review["incident"]["attack_vector"] = f"{tag} vector"
    review["root_cause"]["summary"] = f"{tag} root cause"
    for entry in review["timeline"]:
        entry["event"] = f"{tag} event"
    for lesson in review["lessons"]:
        lesson["text"] = f"{tag} lesson"
        lesson["tags"] = [f"{tag}tag"]
    for action in review["actions"]:
        action["title"] = f"{tag} action"
        action["owner"] = f"{tag} owner"
        action["success_criteria"] = f"{tag} criteria"
    review["went_well"] = [f"{tag} went well"]
    review["to_improve"] = [f"{tag} to improve"]
    review["review"]["facilitator"] = f"{tag} facilitator"
    return review


GZIP_MAGIC = b"\x1f\x8b"
HIDDEN_WORDS = {"LEAKAMBER": "leakamb", "LEAKSTRICT": "leakstrict", "LEAKRED": "leakr"}
"""Each marker as a prefix of its stem in Pagefind's word index (Snowball English cuts -er, -ed)."""


def all_text(site: Path) -> str:
    """Every byte below `site` as text, compressed files (sitemap.xml.gz, Pagefind's) uncompressed."""
    parts = []
    for path in sorted(site.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if data.startswith(GZIP_MAGIC):
                data = gzip.decompress(data)
            parts.append(data.decode("utf-8", "replace"))
    return "\n".join(parts)


def index_words(site: Path) -> str:
    """The words of Pagefind's index chunks (what a query is matched against), as text."""
    chunks = sorted((site / "pagefind" / "index").glob("*.pf_index"))
    assert chunks, f"no Pagefind index in {site}"
    return "\n".join(gzip.decompress(path.read_bytes()).decode("utf-8", "replace") for path in chunks)


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("audience")
    ids = {level: f"INC-2025-00{n}" for n, level in enumerate(LEVELS, start=1)}
    every = list(ids.values())
    reviews = {rid: marked_review(rid, level, [o for o in every if o != rid]) for level, rid in ids.items()}
    kb = make_kb(root, reviews)
    built = {}
    for audience in ("internal", "public"):
        outcome = run_kb(["build", "--kb", str(kb), "--site-dir", str(root / audience), "--as-of", AS_OF,
                          "--audience", audience], cwd=root)
        assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
        built[audience] = all_text(root / audience)
        built[f"{audience} search"] = all_text(root / audience / "pagefind")
        built[f"{audience} words"] = index_words(root / audience)
    return built


def test_public_site_holds_only_clear_and_green(sites: dict[str, str]) -> None:
    text = sites["public"]
    assert "LEAKCLEAR" in text and "LEAKGREEN" in text
    for hidden in ("LEAKAMBER", "LEAKSTRICT", "LEAKRED"):
        assert hidden not in text
    for hidden_id in ("INC-2025-003", "INC-2025-004", "INC-2025-005"):
        assert hidden_id not in text  # not even the id, a link or a sitemap entry


def test_internal_site_shows_red_only_as_restricted_id(sites: dict[str, str]) -> None:
    text = sites["internal"]
    for shown in ("LEAKCLEAR", "LEAKGREEN", "LEAKAMBER", "LEAKSTRICT"):
        assert shown in text
    assert "LEAKRED" not in text
    assert "INC-2025-005" in text and "restricted: ask the incident response manager" in text


def test_public_counts_reveal_no_hidden_review(sites: dict[str, str]) -> None:
    assert "2 published reviews" in sites["public"]
    assert "restricted: ask" not in sites["public"] and 'class="kb-restricted"' not in sites["public"]


def test_search_index_holds_only_what_the_audience_may_see(sites: dict[str, str]) -> None:
    hidden = {"public": ("LEAKAMBER", "LEAKSTRICT", "LEAKRED"), "internal": ("LEAKRED",)}
    for audience, markers in hidden.items():
        search, words = sites[f"{audience} search"], sites[f"{audience} words"]
        # The greps can see inside: a published review's text and words are there.
        assert "LEAKCLEAR lesson" in search and "leakclear" in words, audience
        for marker in markers:
            assert marker not in search.upper(), (audience, marker)
            assert HIDDEN_WORDS[marker] not in words, (audience, marker)
    for marker in ("LEAKAMBER", "LEAKSTRICT"):  # the stems looked for are the ones Pagefind writes
        assert HIDDEN_WORDS[marker] in sites["internal words"], marker
    assert "inc2025005" in sites["internal words"]  # the restricted id is findable, nothing else of it
    for hidden_id in ("inc2025003", "inc2025004", "inc2025005"):
        assert hidden_id not in sites["public words"], hidden_id


def test_search_index_holds_only_the_review_pages(sites: dict[str, str]) -> None:
    """Index pages (and home) quote review text too; only the reviews (and placeholders) are indexed."""
    pages = {audience: sorted(re.findall(r'"url":"([^"]*)"', sites[f"{audience} search"]))
             for audience in ("internal", "public")}
    assert pages["public"] == ["/incidents/INC-2025-001/", "/incidents/INC-2025-002/"]
    assert pages["internal"] == [f"/incidents/INC-2025-00{n}/" for n in range(1, 6)]
