"""Confidentiality: what each audience's site holds, checked by grepping every byte built.

Each review that an audience must not see carries a marker string in every free-text
and one-line field; the built site (HTML, search index, sitemap, compressed files) must
hold none of them.
"""

from __future__ import annotations

import gzip
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


def all_text(site: Path) -> str:
    parts = []
    for path in sorted(site.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if path.suffix == ".gz":
                data = gzip.decompress(data)
            parts.append(data.decode("utf-8", "replace"))
    return "\n".join(parts)


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
