"""Similar reviews: on each review page and from `kb similar`, never a hidden review, never itself."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from conftest import make_kb, run_kb, valid_review
from generator import similar
from generator.audience import view
from generator.index import validate
from generator.settings import Settings
from generator.site import prepare_docs

AS_OF = dt.date(2025, 4, 1)
LEVELS = ["TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED", "TLP:GREEN"]


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    """Six reviews telling the same story (so each resembles every other), one per label, and a different one."""
    reviews = {}
    for n, level in enumerate(LEVELS, start=1):
        data = valid_review(f"INC-2025-00{n}", classification=level, title=f"Signed URL bypass {n}")
        data["lessons"][0]["text"] = "Signed URL tokens must expire; the edge must reject expired tokens."
        reviews[data["id"]] = data
    other = valid_review("INC-2025-009", classification="TLP:CLEAR", title="Phishing of support staff",
                         controls=[], root_cause={**valid_review()["root_cause"], "categories": ["credential-compromise"]})
    other["incident"]["services"] = ["helpdesk"]
    other["lessons"][0]["text"] = "Support staff verify callers through a second channel."
    other["root_cause"]["summary"] = "Callers were trusted on the phone."
    other["root_cause"]["five_whys"] = ["Callers were trusted.", "No second channel.", "Nobody asked for one."]
    reviews[other["id"]] = other
    return make_kb(tmp_path, reviews)


def kb_view(kb_dir: Path, audience: str):
    return view(validate(kb_dir, as_of=AS_OF).value, audience)


@pytest.mark.parametrize("audience", ["internal", "public"])
def test_similar_reviews_are_published_ones_never_the_review_itself(kb: Path, audience: str) -> None:
    found = similar.compute(kb_view(kb, audience))
    visible = {r.id for r in kb_view(kb, audience).reviews}
    assert set(found) == visible
    for rid, items in found.items():
        names = [s.id for s in items]
        assert rid not in names and set(names) <= visible and len(names) <= similar.LIMIT
    assert "INC-2025-005" not in json.dumps({k: [s.id for s in v] for k, v in found.items()})  # TLP:RED
    assert [s.id for s in found["INC-2025-002"]][:1] in (["INC-2025-001"], ["INC-2025-006"])
    assert found["INC-2025-001"] and "shared words" in found["INC-2025-001"][0].reason
    assert all(s.id != "INC-2025-009" for s in found["INC-2025-001"])  # a different story is not similar


def test_similar_is_deterministic(kb: Path) -> None:
    assert similar.compute(kb_view(kb, "internal")) == similar.compute(kb_view(kb, "internal"))


def test_review_page_lists_similar_reviews_of_its_audience_only(kb: Path) -> None:
    for audience in ("internal", "public"):
        result, tree = prepare_docs(Settings(kb_dir=kb, as_of=AS_OF, audience=audience))
        assert tree is not None, result.diagnostics
        page = tree.generated["incidents/INC-2025-001/index.md"]
        section = page.split("## Similar reviews", 1)[1]
        named = set(re.findall(r">(INC-\d{4}-\d{3})</a>", section))
        assert named and "INC-2025-001" not in named and "INC-2025-005" not in named
        if audience == "public":
            assert named <= {"INC-2025-002", "INC-2025-006", "INC-2025-009"}


def test_kb_similar_command(kb: Path) -> None:
    outcome = run_kb(["similar", "INC-2025-001", "--kb", str(kb), "--format", "json", "--limit", "2"], cwd=kb.parent)
    assert outcome.exit_code == 0, outcome.stderr
    rows = json.loads(outcome.stdout)
    assert len(rows) == 2 and all(set(r) == {"review", "title", "score", "url", "categories", "controls", "services",
                                             "words"} for r in rows)
    assert "INC-2025-005" not in outcome.stdout
    text = run_kb(["similar", "INC-2025-001", "--kb", str(kb)], cwd=kb.parent).stdout
    assert text.splitlines()[0].startswith("INC-2025-00") and "shared words" in text
    public = run_kb(["similar", "INC-2025-001", "--kb", str(kb), "--audience", "public"], cwd=kb.parent).stdout
    assert "INC-2025-003" not in public and "INC-2025-004" not in public
    for missing, message in (("INC-2025-005", "restricted"), ("INC-2025-077", "no published review")):
        outcome = run_kb(["similar", missing, "--kb", str(kb)], cwd=kb.parent)
        assert outcome.exit_code == 1 and message in outcome.stderr


def test_kb_new_similar_lists_and_writes_nothing(kb: Path) -> None:
    before = sorted(p.name for p in (kb / "reviews").iterdir())
    outcome = run_kb(["new", "--kb", str(kb), "--similar", "expired signed URL tokens at the edge"], cwd=kb.parent)
    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.stdout.startswith("INC-2025-00") and "INC-2025-005" not in outcome.stdout
    assert "Nothing written" in outcome.stderr
    assert sorted(p.name for p in (kb / "reviews").iterdir()) == before


def _brute_force(kb_view, limit: int = similar.LIMIT) -> dict[str, list[tuple[str, float]]]:
    """Every pair scored in full, as the module's text defines it: the reference compute must equal."""
    profiles = similar._profiles(similar.sources(kb_view))
    df_words: dict[str, int] = {}
    df_facets: dict[tuple[str, str], int] = {}
    for p in profiles:
        for w in p.vector:
            df_words[w] = df_words.get(w, 0) + 1
        for f in p.facets:
            df_facets[f] = df_facets.get(f, 0) + 1
    found = {}
    for one in profiles:
        ranked = []
        for other in profiles:
            if other is one:
                continue
            # A candidate shares a word or facet that is not too common.
            if not any(df_words[w] <= similar.COMMON_CAP for w in one.vector.keys() & other.vector.keys()) and \
                    not any(df_facets[f] <= similar.COMMON_CAP for f in one.facets & other.facets):
                continue
            score = similar._score(one, other)[0]
            if score >= similar.MIN_SCORE:
                ranked.append((-score, -other.source.held, other.source.id))
        ranked.sort()
        found[one.source.id] = [(rid, -score) for score, _, rid in ranked[:limit]]
    return found


@pytest.mark.parametrize("cap", [2, 4, 1000])
def test_the_fast_ranking_equals_scoring_every_pair_in_full(monkeypatch: pytest.MonkeyPatch, cap: int) -> None:
    """compute scores each pair once, from postings, with common words and facets added on the side;
    it must rank exactly as scoring every pair in full does, with some words too common to follow."""
    monkeypatch.setattr(similar, "COMMON_CAP", cap)
    kb_view = view(validate(Path(__file__).parent.parent / "kb", as_of=AS_OF).value, "internal")
    fast = {rid: [(s.id, s.score) for s in found] for rid, found in similar.compute(kb_view).items()}
    reference = _brute_force(kb_view)
    assert fast == reference  # both rounded to 4 places, as shown
    assert any(fast.values()), "the example KB has similar reviews to compare"
    assert similar.compute(kb_view, limit=0) == {rid: () for rid in fast}
