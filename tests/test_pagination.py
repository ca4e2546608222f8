"""Lists that grow with the KB are split into pages; `kb serve` re-renders only what an edit touched.

The page sizes are made tiny here so a dozen reviews span several pages.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CONTROLS, TAXONOMY, edit_review, make_kb, to_yaml, valid_review
from generator import pages
from generator.settings import Settings
from generator.site import RenderCache, prepare_docs

AS_OF = dt.date(2025, 4, 1)
COUNT = 7


def review(n: int, **fields: object) -> dict:
    data = valid_review(f"INC-2024-{n:03d}", title=f"Review number {n}", **fields)
    data["incident"]["resolved"] = f"2024-03-{n:02d}T10:00:00Z"
    data["incident"]["detected"] = f"2024-03-{n:02d}T08:00:00Z"
    data["review"]["held"] = f"2024-03-{n:02d}T16:00:00Z"
    data["lessons"][0]["text"] = f"Lesson of review {n}."
    return data


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pages, "REVIEWS_PER_PAGE", 3)
    monkeypatch.setattr(pages, "ROWS_PER_PAGE", 2)


def docs(kb: Path, cache: RenderCache | None = None, **options: object) -> dict[str, str]:
    result, tree = prepare_docs(Settings(kb_dir=kb, as_of=options.pop("as_of", AS_OF), **options), cache)
    assert tree is not None, result.diagnostics
    return tree.generated


def series(generated: dict[str, str], first: str) -> list[str]:
    """The docs of a paginated list, page 1 first: incidents/index.md, incidents/page/2/index.md ..."""
    base = first[: -len("index.md")]
    numbered = sorted((int(m.group(1)), doc) for doc in generated
                      if (m := re.fullmatch(re.escape(base) + r"page/(\d+)/index\.md", doc)))
    assert [n for n, _ in numbered] == list(range(2, len(numbered) + 2)), numbered
    return [first] + [doc for _, doc in numbered]


def test_every_review_lesson_and_action_is_on_exactly_one_page_of_each_list(tmp_path: Path, small_pages: None) -> None:
    kb = make_kb(tmp_path, {f"INC-2024-{n:03d}": review(n) for n in range(1, COUNT + 1)})
    generated = docs(kb)
    incidents = series(generated, "incidents/index.md")
    assert len(incidents) == 3  # 7 reviews, 3 a page
    listed = [re.findall(r">(INC-2024-\d{3})</a>", generated[doc]) for doc in incidents]
    assert [len(ids) for ids in listed] == [3, 3, 1]
    assert sum(listed, []) == [f"INC-2024-{n:03d}" for n in range(COUNT, 0, -1)], "newest first, none twice"
    lessons = "".join(generated[doc] for doc in series(generated, "lessons/index.md"))
    assert sorted(re.findall(r"Lesson of review (\d+)\.", lessons), key=int) == [str(n) for n in range(1, COUNT + 1)]
    actions = series(generated, "actions/index.md")
    rows = [re.findall(r">(INC-2024-\d{3} A\d+)</a>", generated[doc]) for doc in actions]
    assert all(len(r) <= 2 for r in rows) and len(sum(rows, [])) == COUNT * len(review(1)["actions"])
    assert len(set(sum(rows, []))) == len(sum(rows, []))
    control = series(generated, "controls/iso27001-2022/a-5-27/index.md")
    assert len(control) == 3
    assert "<strong>Evidence:</strong> 7 approved or closed reviews" in generated[control[1]]
    evidence = [re.findall(r"### <a href=\"[^\"]+\">(INC-2024-\d{3})</a>", generated[doc]) for doc in control]
    assert sum(evidence, []) == [f"INC-2024-{n:03d}" for n in range(COUNT, 0, -1)], "newest first, none twice"


def test_pages_link_to_each_other_and_keep_the_permalink_first(tmp_path: Path, small_pages: None) -> None:
    kb = make_kb(tmp_path, {f"INC-2024-{n:03d}": review(n) for n in range(1, COUNT + 1)})
    generated = docs(kb)
    first, second, third = series(generated, "incidents/index.md")
    assert "Page 1 of 3 (reviews 1–3 of 7)" in generated[first]
    assert '<a href="page/2/">2</a>' in generated[first] and '<a href="page/2/">next »</a>' in generated[first]
    assert "<strong>1</strong>" in generated[first] and "<strong>2</strong>" in generated[second]  # this page
    assert '<a href="../../">« previous</a>' in generated[second] and '<a href="../3/">next »</a>' in generated[second]
    assert "next »" not in generated[third] and "Page 3 of 3 (reviews 7–7 of 7)" in generated[third]
    category = series(generated, "root-causes/configuration-change/index.md")
    assert "## Recurrence" in generated[category[0]] and "## Recurrence" not in generated[category[1]]
    assert '<a href="../../">« previous</a>' in generated[category[1]]


def test_a_list_that_fits_on_one_page_has_no_pager(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, {f"INC-2024-{n:03d}": review(n) for n in range(1, 4)})
    generated = docs(kb)
    assert not [doc for doc in generated if "/page/" in doc]
    assert "Page 1 of" not in generated["incidents/index.md"]


def test_home_page_caps_its_lists_and_says_how_many_more(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pages, "HOME_ITEMS", 2)
    reviews = {}
    for n in range(1, 6):
        data = review(n)
        data["actions"][0]["due"] = "2024-04-01"
        data["actions"][0]["status"] = "open"
        data["actions"][0].pop("completed", None)
        reviews[data["id"]] = data
    generated = docs(make_kb(tmp_path, reviews))
    home = generated["index.md"]
    overdue = home.split("### Overdue actions", 1)[1].split("###", 1)[0]
    assert len(re.findall(r"<tr><td>\d+</td><td>.*?>INC-2024-\d{3} A1</a>", overdue)) == 2
    assert "The 2 longest overdue of 5" in overdue


# --- the render cache of kb serve ------------------------------------------------------


edit = edit_review


def set_lesson(data: dict) -> None:
    data["lessons"][0]["text"] = "An edited lesson."


def set_title(data: dict) -> None:
    data["title"] = "A renamed review"


def set_red(data: dict) -> None:
    data["classification"] = "TLP:RED"


def set_category(data: dict) -> None:
    data["root_cause"]["categories"] = ["credential-compromise"]


def set_control(data: dict) -> None:
    data["controls"] = ["ISO27001-2022/A.5.26"]


def mention(data: dict) -> None:
    data["summary"] = "Same cause as INC-2024-009, which is not written yet."


@pytest.mark.parametrize("change", [set_lesson, set_title, set_red, set_category, set_control, mention])
def test_cached_pages_equal_a_fresh_render_after_an_edit(tmp_path: Path, small_pages: None, change,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from generator import site

    monkeypatch.setattr(site, "PARALLEL_MIN_PAGES", 5)  # the first pass renders all pages through render_all
    reviews = {f"INC-2024-{n:03d}": review(n, related=[f"INC-2024-{n % COUNT + 1:03d}"]) for n in range(1, COUNT + 1)}
    kb = make_kb(tmp_path, reviews)
    cache = RenderCache()
    docs(kb, cache)
    total = len(cache.pages)
    edit(kb, "INC-2024-004", change)
    edit(kb, "INC-2024-006", mention)
    cached = docs(kb, cache)
    assert cached == docs(kb), "a page served from the cache differs from a fresh render"
    assert 0 < cache.rendered < total


def test_cached_pages_follow_catalog_edits_new_and_removed_reviews(tmp_path: Path, small_pages: None) -> None:
    reviews = {f"INC-2024-{n:03d}": review(n, related=[f"INC-2024-{n % COUNT + 1:03d}"]) for n in range(1, COUNT + 1)}
    kb = make_kb(tmp_path, reviews)
    cache = RenderCache()
    docs(kb, cache)
    taxonomy = copy.deepcopy(TAXONOMY)
    taxonomy["categories"][0]["title"] = "A renamed category"
    (kb / "taxonomy.yaml").write_text(to_yaml(taxonomy), encoding="utf-8")
    assert docs(kb, cache) == docs(kb)
    controls = copy.deepcopy(CONTROLS)
    controls["frameworks"][0]["controls"][1]["title"] = "A renamed control"
    (kb / "controls.yaml").write_text(to_yaml(controls), encoding="utf-8")
    assert docs(kb, cache) == docs(kb)
    (kb / "reviews" / "INC-2024-009.yaml").write_text(to_yaml(review(9)), encoding="utf-8")
    assert docs(kb, cache) == docs(kb)
    (kb / "reviews" / "INC-2024-005.yaml").unlink()
    edit(kb, "INC-2024-004", lambda data: data.update(related=[]))
    assert docs(kb, cache) == docs(kb)
    later = AS_OF + dt.timedelta(days=400)
    assert docs(kb, cache, as_of=later) == docs(kb, as_of=later)
    assert docs(kb, cache, audience="public") == docs(kb, audience="public")


FORK_CHECK = """
import datetime as dt, json, sys
from pathlib import Path
from generator import cache, pages, render
from generator.settings import Settings
from generator.site import prepare_docs

pages.REVIEWS_PER_PAGE, pages.ROWS_PER_PAGE, render.PARALLEL_MIN_PAGES = 3, 2, 1
settings = Settings(kb_dir=Path(sys.argv[1]), as_of=dt.date(2025, 4, 1))
cache.available_cores = lambda: 1
serial = prepare_docs(settings)[1].generated
pools = []
real_pool = render.ProcessPoolExecutor
render.ProcessPoolExecutor = lambda **kw: pools.append(kw) or real_pool(**kw)
cache.available_cores = lambda: 2
forked = prepare_docs(settings)[1].generated
print(json.dumps({"pools": len(pools), "same": forked == serial, "pages": len(serial)}))
"""


def test_pages_rendered_by_forked_workers_equal_a_serial_render(tmp_path: Path) -> None:
    """In a fresh process: the test process may run threads, where render_all rightly never forks."""
    kb = make_kb(tmp_path, {f"INC-2024-{n:03d}": review(n, related=[f"INC-2024-{n % COUNT + 1:03d}"])
                            for n in range(1, COUNT + 1)})
    done = subprocess.run([sys.executable, "-c", FORK_CHECK, str(kb)], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["pools"] == 1, "the pages were not rendered by workers"
    assert outcome["same"] and outcome["pages"] > 20


def test_render_all_stays_serial_beside_other_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """kb serve renders in a watcher thread beside MkDocs' server: forking there is unsafe."""
    import threading

    from generator import cache, render

    monkeypatch.setattr(cache, "available_cores", lambda: 2)
    monkeypatch.setattr(render, "PARALLEL_MIN_PAGES", 1)
    monkeypatch.setattr(render, "ProcessPoolExecutor", lambda **kw: pytest.fail("forked beside another thread"))
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert render.render_all([("restricted.md.j2", {"rid": "INC-1", "restricted_note": "n"}, "x.md")] * 2) != []
    finally:
        stop.set()
        other.join()


def test_training_page_lists_each_lesson_once_with_its_categories(tmp_path: Path) -> None:
    """A review with two categories puts its lessons on the training page once, categories as links,
    each row with the day its review was held (what the page's "since" box filters on)."""
    reviews = {}
    for n in range(1, 5):
        data = review(n)
        data["root_cause"]["categories"] = [["credential-compromise"], ["configuration-change", "credential-compromise"],
                                            ["insufficient-monitoring"], ["configuration-change"]][n - 1]
        data["lessons"].append({"id": "L9", "text": f"A tool lesson of review {n}.", "kind": "tool"})
        reviews[data["id"]] = data
    kb = make_kb(tmp_path, reviews)
    page = docs(kb)["training/index.md"]
    table = page.split("## All lessons", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r'<tr class="kb-training-row" data-held="([0-9-]+)">.*?>(INC-\S+ L\d)</a>', table)
    assert rows == [(f"2024-03-{n:02d}", f"INC-2024-{n:03d} {l}") for n in range(4, 0, -1) for l in ("L1", "L9")]
    second = [line for line in table.splitlines() if "INC-2024-002 L9" in line]
    assert len(second) == 1 and second[0].count('href="../root-causes/') == 2
