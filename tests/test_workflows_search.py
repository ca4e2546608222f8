"""`kb search`: SQLite FTS5 ranking, filters, safe queries, the cached index and the audience."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import make_kb, run_kb, valid_review


def review(review_id: str, *, lesson: str = "Keep a runbook for the edge.", timeline: str = "Alert fired.",
           title: str = "Edge incident", held: str = "2025-03-05T15:00:00Z", **fields) -> dict:
    """A valid review whose lesson, timeline and title say what a ranking case needs."""
    data = valid_review(review_id, title=title, **fields)
    data["lessons"][0]["text"] = lesson
    data["lessons"][0].pop("tags")
    data["timeline"] = [{"at": "2025-03-02T14:05:00Z", "event": timeline}]
    data["review"]["held"] = held
    return data


def hits(kb: Path, *args: str) -> list[dict]:
    outcome = run_kb(["search", "--kb", str(kb), "--format", "json", *args], cwd=kb.parent)
    assert outcome.exit_code == 0, outcome.stderr
    return json.loads(outcome.stdout)


def places(found: list[dict]) -> list[tuple[str, str]]:
    return [(h["review"], h["field"]) for h in found]


# -- ranking --------------------------------------------------------------------------------

def test_a_lesson_hit_outranks_a_timeline_hit_whatever_the_order_of_the_reviews(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, {
        "INC-2025-001": review("INC-2025-001", timeline="Zebra crossing alert fired."),
        "INC-2025-002": review("INC-2025-002", lesson="Zebra crossing needs a runbook."),
    })
    found = hits(kb, "zebra")
    assert places(found) == [("INC-2025-002", "lesson"), ("INC-2025-001", "timeline")]
    assert found[0]["score"] > found[1]["score"]
    assert [h["url"] for h in found] == ["incidents/INC-2025-002/#l1", "incidents/INC-2025-001/#timeline"]


def test_one_hit_per_review_with_its_best_field_and_the_others_named(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, {
        "INC-2025-001": review("INC-2025-001", title="Narwhal at the edge", lesson="Narwhal lesson.",
                               timeline="Narwhal alert fired."),
        "INC-2025-002": review("INC-2025-002", timeline="Narwhal seen."),
    })
    found = hits(kb, "narwhal", "--limit", "5")
    assert places(found) == [("INC-2025-001", "lesson"), ("INC-2025-002", "timeline")]
    assert found[0]["also"] == ["title", "timeline"] and found[1]["also"] == []
    text = run_kb(["search", "--kb", str(kb), "narwhal"], cwd=kb.parent).stdout
    assert text.count("INC-2025-001  ") == 1 and "  also in: title, timeline\n" in text


def test_a_title_hit_outranks_a_timeline_hit(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, {
        "INC-2025-001": review("INC-2025-001", timeline="Walrus alert fired at the edge."),
        "INC-2025-002": review("INC-2025-002", title="Walrus at the edge"),
    })
    found = hits(kb, "walrus")
    assert places(found) == [("INC-2025-002", "title"), ("INC-2025-001", "timeline")]
    assert found[0]["url"] == "incidents/INC-2025-002/"  # the title is the page itself: no anchor


def test_equal_scores_go_to_the_newest_review(tmp_path: Path) -> None:
    # Same text; INC-2025-001 was reviewed later, so it comes first despite its lower id.
    kb = make_kb(tmp_path, {
        "INC-2025-001": review("INC-2025-001", lesson="Okapi lesson.", held="2025-03-06T10:00:00Z"),
        "INC-2025-002": review("INC-2025-002", lesson="Okapi lesson.", held="2025-03-05T10:00:00Z"),
    })
    found = hits(kb, "okapi")
    assert [h["review"] for h in found] == ["INC-2025-001", "INC-2025-002"]
    assert found[0]["score"] == found[1]["score"]


def test_words_are_stemmed_and_quoted_words_are_a_phrase(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, {
        "INC-2025-001": review("INC-2025-001", lesson="Rotating keys fails open under load."),
        "INC-2025-002": review("INC-2025-002", lesson="Open the runbook before the key fails."),
    })
    assert {h["review"] for h in hits(kb, "rotate")} == {"INC-2025-001"}
    assert {h["review"] for h in hits(kb, '"fails open"')} == {"INC-2025-001"}
    assert {h["review"] for h in hits(kb, "fails open")} == {"INC-2025-001", "INC-2025-002"}


def test_all_words_first_then_any_word(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, {
        "INC-2025-001": review("INC-2025-001", lesson="Tapir and llama."),
        "INC-2025-002": review("INC-2025-002", lesson="Only a tapir."),
    })
    assert [h["review"] for h in hits(kb, "tapir llama")] == ["INC-2025-001"]
    assert {h["review"] for h in hits(kb, "tapir gnu")} == {"INC-2025-001", "INC-2025-002"}


# -- output ---------------------------------------------------------------------------------

def test_json_hits_have_the_documented_keys_best_first(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, {"INC-2025-001": review("INC-2025-001", lesson="Ibis lesson.", timeline="Ibis seen.")})
    found = hits(kb, "ibis")
    assert all({"review", "score", "field", "excerpt", "url"} <= set(h) for h in found)
    assert [h["score"] for h in found] == sorted((h["score"] for h in found), reverse=True)
    assert found[0]["excerpt"] == "[Ibis] lesson."


def test_text_output_names_review_place_url_and_excerpt(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, {"INC-2025-001": review("INC-2025-001", lesson="Heron lesson.")})
    outcome = run_kb(["search", "--kb", str(kb), "heron"], cwd=tmp_path)
    assert outcome.exit_code == 0
    assert outcome.stdout.splitlines() == ["INC-2025-001  Edge incident", "  lesson L1 · incidents/INC-2025-001/#l1 · score "
                                           + str(hits(kb, "heron")[0]["score"]), "  [Heron] lesson."]
    nothing = run_kb(["search", "--kb", str(kb), "nothinglikethis"], cwd=tmp_path)
    assert nothing.exit_code == 0 and nothing.stdout == "" and "no match" in nothing.stderr


def test_colour_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    from generator.cli import common as cli

    monkeypatch.setattr(cli.sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert cli._colour() is True
    monkeypatch.setenv("NO_COLOR", "1")
    assert cli._colour() is False


def test_control_characters_in_a_record_are_escaped_on_the_terminal(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, {"INC-2025-001": review("INC-2025-001", title="Gecko \x1b[2J wipes the screen")})
    outcome = run_kb(["search", "--kb", str(kb), "gecko"], cwd=tmp_path)
    assert "\x1b" not in outcome.stdout
    title, _, excerpt = outcome.stdout.splitlines()
    assert title == "INC-2025-001  Gecko \\u001b[2J wipes the screen" and "\\u001b" in excerpt


# -- filters ----------------------------------------------------------------------------------

@pytest.fixture
def filter_kb(tmp_path: Path) -> Path:
    p1 = review("INC-2025-001", lesson="Quokka process lesson.", severity="P1",
                root_cause={**valid_review()["root_cause"], "categories": ["credential-compromise"]})
    tool = review("INC-2025-002", lesson="Quokka tool lesson.", held="2025-06-01T10:00:00Z", controls=["SOC2/CC7.5"])
    tool["lessons"][0]["kind"] = "tool"
    return make_kb(tmp_path, {"INC-2025-001": p1, "INC-2025-002": tool})


@pytest.mark.parametrize("options, expected", [
    ([], {"INC-2025-001", "INC-2025-002"}),
    (["--category", "credential-compromise"], {"INC-2025-001"}),
    (["--control", "SOC2/CC7.5"], {"INC-2025-001", "INC-2025-002"}),
    (["--control", "ISO27001-2022/A.5.27"], {"INC-2025-001"}),
    (["--severity", "P1"], {"INC-2025-001"}),
    (["--kind", "tool"], {"INC-2025-002"}),
    (["--since", "2025-06-01"], {"INC-2025-002"}),
    (["--since", "2025-06-02"], set()),
])
def test_filters(filter_kb: Path, options: list[str], expected: set[str]) -> None:
    assert {h["review"] for h in hits(filter_kb, "quokka", *options)} == expected


def test_kind_filter_returns_only_lessons_of_that_kind(filter_kb: Path) -> None:
    found = hits(filter_kb, "quokka", "--kind", "process")
    assert places(found) == [("INC-2025-001", "lesson")]


def test_limit(filter_kb: Path) -> None:
    assert len(hits(filter_kb, "quokka", "--limit", "1")) == 1


@pytest.mark.parametrize("option, value, hint", [
    ("--category", "credential", "did you mean 'credential-compromise'?"),
    ("--control", "SOC2/CC7.6", "did you mean 'SOC2/CC7.5'?"),
])
def test_an_unknown_category_or_control_is_an_error_with_a_suggestion(filter_kb: Path, option: str, value: str,
                                                                      hint: str) -> None:
    outcome = run_kb(["search", "--kb", str(filter_kb), "quokka", option, value], cwd=filter_kb.parent)
    assert outcome.exit_code == 2 and hint in outcome.stderr and outcome.stdout == ""


@pytest.mark.parametrize("options", [["--severity", "P4"], ["--kind", "people"], ["--since", "yesterday"],
                                     ["--limit", "0"], ["--format", "xml"], ["--nope"], []])
def test_bad_options_are_usage_errors(filter_kb: Path, options: list[str]) -> None:
    args = ["search", "--kb", str(filter_kb)] + (["quokka"] if options else []) + options
    assert run_kb(args, cwd=filter_kb.parent).exit_code == 2


@pytest.mark.parametrize("query", ['"unbalanced', 'a"b"c"', "AND OR NOT", "*", "token)(", "NEAR(a b)", "^",
                                   "''", "title:quokka", "-quokka", "quokka*", "{title}: x", "\\", "ä ß 日本",
                                   " ".join(["quokka"] * 500)])
def test_any_query_is_words_never_fts_syntax(filter_kb: Path, query: str) -> None:
    outcome = run_kb(["search", "--kb", str(filter_kb), "--", query], cwd=filter_kb.parent)
    outcome.assert_no_crash()
    assert outcome.exit_code == 0


# -- confidentiality --------------------------------------------------------------------------

def test_red_reviews_are_never_found(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, {
        "INC-2025-001": review("INC-2025-001", lesson="Marmot lesson."),
        "INC-2025-002": review("INC-2025-002", title="Marmot secret", lesson="Marmot red lesson.", classification="TLP:RED"),
    })
    outcome = run_kb(["search", "--kb", str(kb), "marmot", "--format", "json"], cwd=tmp_path)
    assert [h["review"] for h in json.loads(outcome.stdout)] == ["INC-2025-001"]
    assert "secret" not in outcome.stdout
    for index in (tmp_path / ".kb-cache").glob("search-*.sqlite"):
        assert b"Marmot red lesson" not in index.read_bytes()  # not even in the cache


# -- the index --------------------------------------------------------------------------------

def test_the_index_is_cached_in_the_current_directory_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kb = make_kb(tmp_path, {"INC-2025-001": review("INC-2025-001", lesson="Bison lesson.")})
    assert hits(kb, "bison")
    assert len(list((tmp_path / ".kb-cache").glob("search-*.sqlite"))) == 1
    assert not list(kb.rglob("*.sqlite*"))

    import generator.index

    def no_reload(*args, **kwargs):
        raise AssertionError("an unchanged KB must not be read again")

    monkeypatch.setattr(generator.index, "validate", no_reload)
    assert [h["review"] for h in hits(kb, "bison")] == ["INC-2025-001"]


def test_the_index_follows_added_edited_and_removed_records(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, {"INC-2025-001": review("INC-2025-001", lesson="Bison lesson.")})
    assert hits(kb, "yak") == []
    (kb / "reviews" / "INC-2025-002.yaml").write_text(
        (kb / "reviews" / "INC-2025-001.yaml").read_text().replace("INC-2025-001", "INC-2025-002").replace("Bison", "Yak"))
    assert [h["review"] for h in hits(kb, "yak")] == ["INC-2025-002"]
    record = kb / "reviews" / "INC-2025-001.yaml"
    record.write_text(record.read_text().replace("Bison", "Eland"))  # same length: the index must still notice
    assert [h["review"] for h in hits(kb, "eland")] == ["INC-2025-001"]
    (kb / "reviews" / "INC-2025-002.yaml").unlink()
    assert hits(kb, "yak") == []


def test_no_index_is_written_into_the_kb(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, {"INC-2025-001": review("INC-2025-001", lesson="Bison lesson.")})
    outcome = run_kb(["search", "--kb", ".", "bison", "--format", "json"], cwd=kb)
    assert [h["review"] for h in json.loads(outcome.stdout)] == ["INC-2025-001"]
    assert not (kb / ".kb-cache").exists()


def test_an_unwritable_cache_falls_back_to_memory(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, {"INC-2025-001": review("INC-2025-001", lesson="Bison lesson.")})
    (tmp_path / ".kb-cache").write_text("a file where the cache folder would be")
    assert [h["review"] for h in hits(kb, "bison")] == ["INC-2025-001"]


def test_a_corrupt_index_is_rebuilt(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, {"INC-2025-001": review("INC-2025-001", lesson="Bison lesson.")})
    hits(kb, "bison")
    (index,) = (tmp_path / ".kb-cache").glob("search-*.sqlite")
    index.write_bytes(b"not a database")
    assert [h["review"] for h in hits(kb, "bison")] == ["INC-2025-001"]


def test_a_kb_with_errors_is_searched_with_a_warning_every_time(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, {"INC-2025-001": review("INC-2025-001", lesson="Bison lesson."), "INC-2025-002": "id: [broken"})
    for _ in range(2):  # built, then from the cache
        outcome = run_kb(["search", "--kb", str(kb), "bison"], cwd=tmp_path)
        assert outcome.exit_code == 0 and "INC-2025-001" in outcome.stdout
        assert "warning: the knowledge base has 1 error;" in outcome.stderr and "kb validate" in outcome.stderr
