"""The generated pages as a reader meets them: lists that stay lists, sections that
are never empty, words instead of identifiers. A page keeps its headings in Markdown and
its body as HTML blocks the engine passes through (render.py's `block`)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from conftest import DELETE, make_kb, valid_review

from generator.mdx import HTML_BEGIN, HTML_END


def pages(tmp_path: Path, *reviews: dict) -> dict[str, str]:
    """Every generated page's Markdown by docs path, as `kb build` hands it to MkDocs."""
    from generator.index import validate
    from generator.settings import Settings
    from generator.site import render_pages

    kb_dir = make_kb(tmp_path, {r["id"]: r for r in reviews})
    result = validate(kb_dir, as_of=dt.date(2025, 7, 1))
    assert result.errors == []
    texts, problems = render_pages(result.value, Settings(kb_dir=kb_dir, as_of=dt.date(2025, 7, 1)))
    assert problems == []
    return texts


def section(page: str, heading: str) -> str:
    """The text under one `## heading`, up to the next heading of that level."""
    return page.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def html(text: str) -> str:
    """The HTML of a section, without the marker lines around its blocks."""
    return "\n".join(line for line in text.strip().splitlines() if line not in (HTML_BEGIN, HTML_END))


def items(text: str) -> list[str]:
    """The list items of a section's HTML."""
    return re.findall(r"<li>(.*?)</li>", text, re.S)


def test_each_adopted_lesson_is_its_own_list_item_on_the_training_page(tmp_path: Path) -> None:
    data = valid_review()
    data["lessons"][0]["adopted_in"] = [{"kind": "training", "ref": "SEC-101 v3", "date": "2025-04-02"}]
    data["lessons"].append({"id": "L2", "text": "Edge on-call needs a drift check.", "kind": "tool",
                            "adopted_in": [{"kind": "runbook", "ref": "Edge runbook section 7"}]})
    adopted = section(pages(tmp_path, data)["training/index.md"], "Adopted")
    listed = items(adopted)
    assert len(listed) == 2, adopted  # they ran together as "...(2025-04-02)- [INC-... L2]..."
    assert "SEC-101 v3" in listed[0] and "Edge runbook section 7" in listed[1]


def test_a_draft_without_actions_says_so_instead_of_an_empty_section(tmp_path: Path) -> None:
    draft = valid_review(status="draft", actions=[], approval=DELETE)
    actions = section(pages(tmp_path, draft)["incidents/INC-2025-001/index.md"], "Actions")
    assert html(actions) == "<p>No action items yet.</p>"


def test_the_root_cause_method_is_named_as_the_procedure_names_it(tmp_path: Path) -> None:
    page = pages(tmp_path, valid_review())["incidents/INC-2025-001/index.md"]
    method = valid_review()["root_cause"]["method"]
    named = {"five-whys": "5 Whys", "fishbone": "Fishbone (Ishikawa) diagram", "fault-tree": "Fault tree"}[method]
    assert f"<p>Method: <strong>{named}</strong></p>" in section(page, "Root cause")


def test_a_recurrence_in_two_categories_is_one_line_naming_both(tmp_path: Path) -> None:
    both = ["configuration-change", "insufficient-monitoring"]
    earlier = valid_review("INC-2025-001")
    earlier["root_cause"]["categories"] = both
    later = valid_review("INC-2025-002")
    later["root_cause"]["categories"] = both
    later["incident"].update(detected="2025-06-02T10:00:00Z", resolved="2025-06-03T09:40:00Z")
    later["timeline"] = [{"at": "2025-06-02T10:00:00Z", "event": "Alert"}]
    later["review"]["held"] = "2025-06-05T15:00:00Z"
    later["approval"]["date"] = "2025-06-10"
    later["actions"][1]["effectiveness"] = {"validated": False, "follow_up": ["A1"]}
    later["actions"][0]["progress"] = [{"date": "2025-06-20", "note": "x"}]
    texts = pages(tmp_path, earlier, later)
    for page, other in (("incidents/INC-2025-002/index.md", "INC-2025-001"), ("incidents/INC-2025-001/index.md", "INC-2025-002")):
        listed = items(section(texts[page], "Recurrence"))
        assert len(listed) == 1, listed  # it was one line per shared category, the same review twice
        assert f">{other}</a>" in listed[0]
        assert "Unsafe configuration change" in listed[0] and " and " in listed[0]
        assert "Insufficient monitoring and alerting" in listed[0]


def test_a_failed_check_gives_its_date_next_to_failed(tmp_path: Path) -> None:
    data = valid_review()
    data["actions"][1]["effectiveness"] = {"validated": False, "date": "2025-03-25", "note": "Drill missed a path.",
                                           "follow_up": ["A1"]}
    actions = section(pages(tmp_path, data)["incidents/INC-2025-001/index.md"], "Actions")
    # It read "the fix did not work on 2025-03-25", as if the fix, not the check, had a date.
    assert ('Effectiveness: <span class="kb-failed"><strong>FAILED</strong></span> on <span class="kb-date">2025-03-25</span> '
            "(the check showed the fix did not work): Drill missed a path.") in actions


def test_category_and_control_pages_name_their_catalog_file_as_source(tmp_path: Path, monkeypatch) -> None:
    """With repo_url and edit_uri the edit button opens kb_source: a catalog page named
    kb/reviews/taxonomy.yaml, a file that does not exist, when kb build ran with --kb kb."""
    from generator.index import validate
    from generator.settings import Settings
    from generator.site import render_pages

    make_kb(tmp_path, {"INC-2025-001": valid_review()})
    monkeypatch.chdir(tmp_path)
    settings = Settings(kb_dir=Path("kb"), as_of=dt.date(2025, 7, 1))
    texts, _ = render_pages(validate(settings.kb_dir, as_of=settings.as_of).value, settings)
    assert "\nkb_source: kb/taxonomy.yaml\n" in texts["root-causes/configuration-change/index.md"]
    assert "\nkb_source: kb/controls.yaml\n" in texts["controls/iso27001-2022/a-5-26/index.md"]
    assert "\nkb_source: kb/reviews/INC-2025-001.yaml\n" in texts["incidents/INC-2025-001/index.md"]



def test_related_and_similar_reviews_are_tight_lists_like_the_other_lists(tmp_path: Path) -> None:
    first = valid_review("INC-2025-001")
    second = valid_review("INC-2025-002", related=["INC-2025-001"])
    third = valid_review("INC-2025-003")
    page = pages(tmp_path, first, second, third)["incidents/INC-2025-001/index.md"]
    for heading in ("Related reviews", "Similar reviews"):
        body = section(page, heading)
        # One list whose items are not paragraphs: a blank line between Markdown items made each one a
        # paragraph, spaced unlike every other list.
        assert body.count("<ul>") == 1 and items(body), body
        assert not any(item.lstrip().startswith("<p>") for item in items(body)), body


def test_a_why_written_as_a_question_gets_no_second_why_label(tmp_path: Path) -> None:
    data = valid_review()
    data["root_cause"]["five_whys"] = ["Why did playback fail? The certificate had expired.",
                                       "It was renewed by hand.", "  why by hand? The pipeline skipped it."]
    page = pages(tmp_path, data)["incidents/INC-2025-001/index.md"]
    whys = [line for line in section(page, "Root cause").splitlines() if line.startswith("<li>")]
    # "Why? Why did playback fail?": the label only where the answer does not ask the question itself.
    assert [('<span class="kb-why">Why?</span>' in line) for line in whys] == [False, True, False], whys


def test_a_critical_lesson_is_marked_wherever_lessons_are_listed(tmp_path: Path) -> None:
    data = valid_review()
    data["lessons"][0]["critical"] = True
    data["approval"]["executive_briefing"] = "2025-03-11"
    texts = pages(tmp_path, data)
    chip = '<span class="kb-critical">critical</span>'
    for page in ("lessons/index.md", "lessons/tags/cdn/index.md", "root-causes/configuration-change/index.md", "index.md",
                 "incidents/INC-2025-001/index.md"):
        assert chip in texts[page], page


def test_the_error_banner_lists_each_files_errors_under_the_files_name(tmp_path: Path) -> None:
    """kb serve's banner (site.banner_pages): the second file's name ran into the first
    file's last error, one list item, when the banner was a Markdown admonition."""
    import markdown

    from generator.diagnostics import Diagnostic, Severity
    from generator.settings import Settings
    from generator.site import banner_pages

    def error(name: str, line: int, message: str) -> Diagnostic:
        return Diagnostic(tmp_path / "kb" / "reviews" / name, line, 3, Severity.ERROR, message, "schema")

    broken = {tmp_path / "kb" / "reviews" / "INC-2025-001.yaml": [error("INC-2025-001.yaml", 4, "one"),
                                                                   error("INC-2025-001.yaml", 9, "two <b>x</b>")],
              tmp_path / "kb" / "reviews" / "INC-2025-002.yaml": [error("INC-2025-002.yaml", 2, "three")]}
    banner = banner_pages(broken, {}, Settings(kb_dir=tmp_path / "kb", as_of=dt.date(2025, 7, 1)))
    page = banner["index.md"].split("---\n", 2)[2]
    html = markdown.markdown(page, extensions=["tables", "admonition", "toc", "generator.mdx"])
    box = re.search(r'<div class="admonition failure">(.*?)</div>', html, re.S)
    assert box, html
    assert '<p class="admonition-title">2 files with errors: fix them and the preview follows</p>' in box.group(1)
    files = re.findall(r"<p><strong>(.*?)</strong></p>\s*<ul>(.*?)</ul>", box.group(1), re.S)
    assert [(name.endswith("INC-2025-001.yaml"), len(items(errors))) for name, errors in files] == [(True, 2)] + [
        (False, 1)], box.group(1)
    assert "two &lt;b&gt;x&lt;/b&gt; [schema]" in files[0][1] and "<b>" not in html
    assert "INC-2025-002.yaml" in files[1][0] and "line 2, column 3: three [schema]" in files[1][1]
    assert '<h1 id="post-incident-reviews">' in html  # the home page follows the banner
