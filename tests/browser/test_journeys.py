"""The example KB's site as people use it, in a real Chromium (issue 7, journeys 1-6 and 8).

Every journey also checks, when it ends, that no request left 127.0.0.1, no console or
page error was logged and no dialog opened (the `browse` fixture); journey 6 walks every
kind of page for that alone. What a page must show is read from the KB's YAML
(kbfacts), so the journeys follow the records, not today's wording.
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import quote

import pytest

from . import kbfacts
from .conftest import AS_OF, Browse, is_local, playwright_api

expect = playwright_api().expect

FIRST_RESULTS = 5
"""How far down the search results the review may be and still count as found."""

# The items of each h2 section of the article: [{title, items: [{ref, text}]}].
SECTIONS_JS = """() => {
  const sections = [];
  for (const el of document.querySelector('article').children) {
    if (el.tagName === 'H2') sections.push({title: el.textContent.replace('¶', '').trim(), items: []});
    else if (sections.length) for (const li of el.querySelectorAll('li'))
      sections.at(-1).items.push({ref: li.querySelector('a')?.textContent.trim() ?? '', text: li.textContent});
  }
  return sections;
}"""


def test_search_finds_the_review_holding_a_lesson_phrase(browse: Browse) -> None:
    """Journey 1: a phrase from a lesson finds its review among the first results; the result opens it."""
    review, lesson, phrase = kbfacts.distinctive_phrase(browse.site.facts)
    browse.open()
    items = browse.search(phrase)
    try:  # (a result shows as a placeholder without a link until its excerpt has loaded)
        browse.page.wait_for_function(
            """([id, n]) => [...document.querySelectorAll('li.pagefind-ui__result')].slice(0, n)
                 .some(li => li.querySelector('a')?.pathname.endsWith(`/incidents/${id}/`))""",
            arg=[review["id"], FIRST_RESULTS], timeout=10_000)
    except playwright_api().TimeoutError:
        shown = [items.nth(i).locator("a").first.get_attribute("href") for i in range(min(items.count(), 10))]
        pytest.fail(f"searching {phrase!r} did not list {review['id']} in the first {FIRST_RESULTS} results: {shown}")
    result = items.filter(has=browse.page.locator(f'a[href$="incidents/{review["id"]}/"]')).first
    # The result quotes the lesson: Pagefind marks the phrase's words in its excerpts.
    marked = " ".join(result.locator("mark").all_inner_texts()).lower()
    assert any(word in marked for word in phrase.lower().split()), f"no word of {phrase!r} marked: {marked!r}"
    browse.follow(result.locator("a").first)
    assert browse.path() == f"incidents/{review['id']}/"
    assert browse.heading().startswith(f"{review['id']}: ")
    shown = browse.page.locator(f"article li:has(a#{lesson['id'].lower()})")
    expect(shown).to_be_visible()
    assert phrase.lower() in " ".join(shown.inner_text().lower().split()), f"{phrase!r} is not in {lesson['id']}"


def test_search_page_runs_a_query_from_its_address(browse: Browse) -> None:
    """Journey 1b: search/?q=words (a link, or a search box elsewhere) lists that search's results at once."""
    review, _, phrase = kbfacts.distinctive_phrase(browse.site.facts)
    browse.open(f"search/?q={quote(phrase)}")
    expect(browse.page.locator("input.pagefind-ui__search-input")).to_have_value(phrase)
    expect(browse.page.locator(f'li.pagefind-ui__result a[href$="incidents/{review["id"]}/"]').first).to_be_visible()
    # One result per review, with its best passage: no nested sub-results per heading.
    expect(browse.page.locator("li.pagefind-ui__result .pagefind-ui__result-nested")).to_have_count(0)


def test_search_page_without_an_index_points_to_kb_search(browse: Browse) -> None:
    """Journey 1c: where the site has no Pagefind index (a kb serve preview) the page says so plainly."""
    browse.page.route("**/pagefind/**", lambda route: route.fulfill(status=404, body="File not found"))
    browse.open("search/")
    status = browse.page.locator("#kb-search .kb-search-status")
    expect(status).to_contain_text("This site has no search index")
    expect(status.locator("code")).to_have_text("kb search WORDS")
    assert browse.errors and all("404" in error for error in browse.errors), browse.errors
    browse.errors.clear()  # the missing index's 404 is this journey's point, not a fault


def _row_link(browse: Browse, row: str, name: str):
    """The link called `name` in the row of the review's fact table whose first cell is `row`."""
    return browse.page.locator("article table tr", has=browse.page.locator("td", has_text=row)).get_by_role(
        "link", name=name, exact=True)


def test_review_to_category_to_control_to_another_review(browse: Browse) -> None:
    """Journey 2: review -> root-cause category -> (back) control -> another review citing it."""
    facts = browse.site.facts
    review, ref, others = kbfacts.control_trail(facts)
    category = facts.categories[review["root_cause"]["categories"][0]]
    control = facts.controls[ref]

    browse.open(f"incidents/{review['id']}/")
    browse.follow(_row_link(browse, "Root-cause categories", category["title"]))
    assert browse.path() == f"root-causes/{category['id']}/"
    assert browse.heading() == category["title"]

    back = browse.page.go_back()
    assert back is None or back.status == 200
    assert browse.heading().startswith(f"{review['id']}: ")
    browse.follow(_row_link(browse, "Controls", ref))
    assert browse.path() == kbfacts.control_path(ref)
    assert browse.heading() == f"{ref}: {control['title']}"

    # Evidence: a heading per review; pending: a list; both link each review by its id.
    listed = browse.page.locator("xpath=//article//h3/a[1] | "
                                 "//h2[@id='pending-not-yet-evidence']/following-sibling::ul[1]/li/a[1]")
    ids = listed.all_inner_texts()
    assert others | {review["id"]} <= set(ids)
    assert sorted(ids) == sorted(kbfacts.citing(facts, ref)), \
        "the control page must list exactly the reviews citing it or a control it replaces, each once"
    other = next(i for i in ids if i != review["id"])
    browse.follow(listed.filter(has_text=re.compile(f"^{other}$")))
    assert browse.path() == f"incidents/{other}/"
    assert browse.heading().startswith(f"{other}: ")
    expect(_row_link(browse, "Controls", ref)).to_be_visible()


def test_action_dashboard_lists_overdue_first_and_links_to_the_action(browse: Browse) -> None:
    """Journey 3: overdue actions (as of the fixed build date) come first, marked; the link opens the action."""
    facts = browse.site.facts
    expected = kbfacts.overdue_actions(facts, AS_OF)
    assert expected, f"the example KB has no overdue action on {AS_OF}: the journey has nothing to show"
    browse.open("actions/")
    rows = browse.page.locator("xpath=//table[.//th[normalize-space()='Action']]//tbody/tr")
    listed = rows.evaluate_all(
        "rows => rows.map(r => [r.querySelector('td a').textContent.trim(), !!r.querySelector('.kb-overdue')])")
    assert len(listed) == sum(len(r["actions"]) for r in facts.reviews)
    marked = [ref for ref, overdue in listed if overdue]
    assert set(marked) == expected
    assert [overdue for _, overdue in listed] == [True] * len(marked) + [False] * (len(listed) - len(marked)), \
        f"overdue actions must come first: {listed}"

    review_id, action_id = marked[0].split()
    browse.follow(rows.first.locator("td a").first)
    assert browse.path() == f"incidents/{review_id}/"
    assert browse.page.url.endswith(f"#{action_id.lower()}")
    heading = browse.page.locator(f"article h3:has(a#{action_id.lower()})")
    expect(heading).to_be_in_viewport()
    assert heading.inner_text().startswith(f"{action_id}: ")
    section = heading.evaluate("h => { let e = h; while (e && e.tagName !== 'H2') e = e.previousElementSibling; "
                               "return e && e.textContent.replace('¶', '').trim(); }")
    assert section == "Actions"
    # The action is a card: its chips follow the heading (issue 16: no table per action).
    expect(heading.locator("xpath=following-sibling::p[1]").locator(".kb-action-meta .kb-overdue")).to_be_visible()


def test_training_page_lists_each_lesson_once_and_filters_by_its_since_box(browse: Browse) -> None:
    """Journey 4: a trainer finds every lesson once; the since box in the page hides older ones."""
    facts = browse.site.facts
    browse.open("training/")
    rows = browse.page.locator("table[data-kb-all] tr[data-held]")
    refs = [a.strip() for a in rows.locator("td:nth-child(2) a").all_inner_texts()]
    assert len(refs) == len(set(refs)) and set(refs) == kbfacts.lessons(facts), "each lesson once"
    backlog = browse.page.locator("h2:has-text('Backlog') + p + table tr[data-held] td:nth-child(2) a")
    assert set(backlog.all_inner_texts()) <= kbfacts.lessons(facts, kind="training") | set(refs)
    since = AS_OF - dt.timedelta(days=90)
    box = browse.page.locator("#kb-since input[type=date]")
    expect(box).to_be_visible()  # shown by its script; without JavaScript every row shows
    box.fill(since.isoformat())
    box.dispatch_event("change")
    shown = [r for r in browse.page.locator("table[data-kb-all] tr[data-held]:not([hidden])").all()]
    expected = kbfacts.lessons(facts, since=since)
    assert {r.locator("td:nth-child(2) a").inner_text().strip() for r in shown} == expected
    expect(browse.page.locator("#kb-since output")).to_have_text(f"{len(expected)} of {len(refs)} lessons on this page")
    browse.page.locator("[data-kb-since-clear]").click()
    assert browse.page.locator("table[data-kb-all] tr[data-held]:not([hidden])").count() == len(refs)


def test_header_search_of_a_review_page_finds_a_review_as_you_type(browse: Browse) -> None:
    """Journey 1d: the search box in every page's header lists the review holding a phrase, one
    result per page, and opens it."""
    review, _, phrase = kbfacts.distinctive_phrase(browse.site.facts)
    other = next(r for r in browse.site.facts.reviews if r["id"] != review["id"]
                 and r.get("classification") != "TLP:RED")
    browse.open(f"incidents/{other['id']}/")
    box = browse.page.locator("header [data-kb-header-search] input")
    box.click()
    box.press_sequentially(phrase)
    results = browse.page.locator("header .kb-header-results li a")
    target = results.filter(has=browse.page.locator(".kb-header-title", has_text=review["id"])).first
    expect(target).to_be_visible()
    hrefs = [a.get_attribute("href") for a in results.all()]
    assert len(hrefs) == len(set(hrefs)), f"one result per page: {hrefs}"
    assert target.locator("mark").count() >= 1  # the best passage, its words marked
    kinds = ["guide" if "/guide/" in h else "review" for h in hrefs]
    assert kinds == sorted(kinds, key=lambda k: k == "guide"), f"guides after reviews: {hrefs}"
    browse.follow(target)
    assert browse.path() == f"incidents/{review['id']}/"


def test_header_search_without_javascript_index_opens_the_search_page(browse: Browse) -> None:
    """Journey 1e: without a Pagefind index (kb serve), Enter in the header box opens search/?q=."""
    browse.page.route("**/pagefind/pagefind.js", lambda route: route.fulfill(status=404, body="File not found"))
    browse.open("training/")
    box = browse.page.locator("header [data-kb-header-search] input")
    with browse.page.expect_response("**/pagefind/pagefind.js"):
        box.fill("token")  # focusing the box asks for the index, which is missing here
    browse.page.wait_for_timeout(200)  # the failed import is reported to the console
    browse.page.unroute("**/pagefind/pagefind.js")  # the Search page itself has its index
    browse.errors.clear()  # the missing index's 404 is this journey's point, not a fault
    expect(browse.page.locator("header .kb-header-results")).to_be_hidden()
    with browse.page.expect_navigation():
        box.press("Enter")
    assert browse.path() == "search/" and browse.page.url.endswith("?q=token")
    expect(browse.page.locator("input.pagefind-ui__search-input")).to_have_value("token")


# Every chart's title, box, bars (area and tooltip) and labels, as drawn.
CHARTS_JS = """charts => charts.map(svg => ({
  title: svg.querySelector('title')?.textContent ?? '',
  box: [svg.getBoundingClientRect().width, svg.getBoundingClientRect().height],
  bars: [...svg.querySelectorAll('rect.kb-chart-bar')].map(r => ({
    area: r.getBBox().width * r.getBBox().height, tip: r.querySelector('title')?.textContent ?? ''})),
  labels: [...svg.querySelectorAll('text.kb-chart-label')].map(t => [t.textContent, t.getBBox().width]),
}))"""


def test_metrics_charts_are_drawn_with_their_labels(browse: Browse) -> None:
    """Journey 5a: the metrics page's inline SVG charts are visible, with bars, labels and the KB's figures."""
    browse.open("metrics/")
    charts = browse.page.locator("article svg.kb-chart")
    assert charts.count() >= 3, "the metrics page draws deadline, action and per-quarter charts"
    for index in range(charts.count()):
        charts.nth(index).scroll_into_view_if_needed()
        expect(charts.nth(index)).to_be_visible()
    drawn = charts.evaluate_all(CHARTS_JS)
    for chart in drawn:
        assert chart["title"].strip() and min(chart["box"]) > 0, chart
        assert any(bar["area"] > 0 for bar in chart["bars"]) or not any(
            re.search(r": [1-9]", bar["tip"]) for bar in chart["bars"]), f"a chart with figures draws no bar: {chart}"
        assert chart["labels"] and all(text.strip() and width > 0 for text, width in chart["labels"]), chart
    counts = {status: n for status, n in kbfacts.action_counts(browse.site.facts).items() if n}
    by_status = [c for c in drawn if {label for label, _ in c["labels"]} >= set(counts)]
    assert by_status, f"no chart of actions by status ({counts}) among {[c['title'] for c in drawn]}"
    tips = {bar["tip"] for bar in by_status[0]["bars"]}
    assert {f"{status}: {n}" for status, n in counts.items()} <= tips, tips


def test_fault_tree_review_draws_its_tree_with_gates(browse: Browse) -> None:
    """Journey 5b: a fault-tree review shows every event, nested as in the record, with AND/OR gate labels."""
    review = kbfacts.fault_tree_review(browse.site.facts)
    browse.open(f"incidents/{review['id']}/")
    tree = browse.page.locator("article div.kb-fault-tree")
    tree.scroll_into_view_if_needed()
    expect(tree).to_be_visible()
    drawn = tree.locator(".kb-ft-event").evaluate_all("""events => events.map(e => {
        const li = e.closest('li'); let depth = 0;
        for (let p = li; p && !p.classList.contains('kb-fault-tree'); p = p.parentElement) depth += p.tagName === 'LI';
        const gate = [...li.children].find(c => c.classList.contains('kb-ft-gate'));
        const box = e.getBoundingClientRect();
        return [depth, e.textContent, gate ? gate.textContent : null, box.width * box.height > 0,
                gate ? gate.getBoundingClientRect().width > 0 : null];
    })""")
    expected = [[depth, " ".join(node["event"].split()), node["gate"].upper() if node.get("gate") else None, True,
                 True if node.get("gate") else None]
                for depth, node in kbfacts.tree_nodes(review["root_cause"]["fault_tree"])]
    assert drawn == expected


def _example_pages(facts: kbfacts.Facts) -> list[str]:
    """One page of every kind: home, the index pages, a review per method, a category, a control."""
    pages = ["", "incidents/", "root-causes/", "controls/", "lessons/", "actions/", "training/", "metrics/", "search/"]
    for method in ("five-whys", "fishbone", "fault-tree"):
        pages += [f"incidents/{r['id']}/" for r in facts.reviews if r["root_cause"]["method"] == method][:1]
    review, ref, _ = kbfacts.control_trail(facts)
    return pages + [f"root-causes/{review['root_cause']['categories'][0]}/", kbfacts.control_path(ref)]


def test_browsing_stays_on_this_machine_without_console_errors(browse: Browse) -> None:
    """Journey 6: every kind of page, and a search through Pagefind, request nothing but 127.0.0.1 and log no error."""
    for path in _example_pages(browse.site.facts):
        browse.open(path)
        browse.page.wait_for_load_state("load")
    expect(browse.search("incident").locator("a").first).to_be_visible()  # a result with its excerpt loaded
    requested = {url.split("?")[0].rsplit("/", 1)[-1] for url in browse.requests}
    assert {"kb.css", "kb-search.js", "pagefind-ui.js", "pagefind-entry.json"} <= requested, \
        f"the recorder saw neither the styles nor the search: {sorted(requested)}"
    assert any(name.endswith(".pf_index") for name in requested), "no Pagefind index chunk was fetched"
    assert any(name.endswith(".pf_fragment") for name in requested), "no result excerpt was fetched"
    assert "search_index.json" not in requested, "Material's whole-site index must be gone"
    browse.assert_local_and_quiet()


@pytest.mark.parametrize("url, local", [
    ("http://127.0.0.1:8123/incidents/", True),
    ("data:image/svg+xml;base64,AAAA", True),
    ("blob:http://127.0.0.1:8123/0f6c", True),
    ("https://fonts.googleapis.com/css?family=Roboto", False),
    ("http://localhost:8123/", False),
    ("http://127.0.0.1.example.com/", False),
    ("http://10.0.0.1/", False),
])
def test_is_local_keeps_only_the_loopback_address(url: str, local: bool) -> None:
    """What journey 6 counts as leaving the machine (no browser needed)."""
    assert is_local(url) is local


def test_narrow_phone_screen_has_a_drawer_and_scrolling_tables(phone: Browse) -> None:
    """Journey 8: on a phone the navigation drawer opens and a wide table scrolls inside the page."""
    review, _, _ = kbfacts.control_trail(phone.site.facts)
    phone.open(f"incidents/{review['id']}/")
    drawer = phone.page.locator("nav.md-nav--primary")
    actions = drawer.get_by_role("link", name="Actions", exact=True)
    expect(actions).not_to_be_in_viewport()
    phone.page.locator('label.md-header__button[for="__drawer"]').click()
    expect(actions).to_be_in_viewport()
    phone.follow(actions)
    assert (phone.path(), phone.heading()) == ("actions/", "Actions")

    widest = phone.page.locator("article table").evaluate_all("""tables => {
        const t = tables.reduce((a, b) => (b.scrollWidth > a.scrollWidth ? b : a));
        t.setAttribute('data-widest', '');
        let s = t;
        while (s && !(/(auto|scroll)/.test(getComputedStyle(s).overflowX) && s.scrollWidth > s.clientWidth))
            s = s.parentElement;
        if (s) s.setAttribute('data-scroller', '');
        return {table: t.scrollWidth, scroller: s && s.tagName, inArticle: !!(s && s.closest('article')),
                page: document.documentElement.scrollWidth, viewport: window.innerWidth};
    }""")
    assert widest["table"] > widest["viewport"], f"no table wider than the phone to test with: {widest}"
    assert widest["scroller"] and widest["inArticle"], f"the wide table has no scroll box of its own: {widest}"
    assert widest["page"] <= widest["viewport"], f"the page itself overflows sideways: {widest}"
    scroller = phone.page.locator("[data-scroller]")
    scroller.scroll_into_view_if_needed()
    scroller.hover()
    phone.page.mouse.wheel(300, 0)
    phone.page.wait_for_function("() => document.querySelector('[data-scroller]').scrollLeft > 0")
