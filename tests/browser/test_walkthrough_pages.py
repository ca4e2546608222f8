"""The example site as a newcomer walks through it (issue 16), in a real Chromium.

Each test names the point of the issue it keeps mended: tables without empty headers,
actions as cards with chips, dates on one line, category titles, a phone that shows the
home page's figures, light and dark palettes, charts whose labels fit and do not collide,
figures with their definitions, and a 404 page.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest

from . import kbfacts
from .conftest import AS_OF, LOCAL_HOST, Browse, Sites, _new_browse, _QuietHandler, playwright_api

expect = playwright_api().expect

PAGES = ["", "incidents/", "incidents/INC-2025-014/", "actions/", "metrics/", "root-causes/configuration-change/",
         "controls/iso27001-2022/a-5-27/", "lessons/", "training/"]


@pytest.fixture
def phone390(browser: Any, sites: Sites, tmp_path: Path) -> Iterator[Browse]:
    """The phone of the issue: 390 px wide."""
    yield from _new_browse(browser, sites, tmp_path, viewport={"width": 390, "height": 844}, is_mobile=True,
                           has_touch=True)


@pytest.fixture
def dark(browser: Any, sites: Sites, tmp_path: Path) -> Iterator[Browse]:
    """A desktop whose system asks for a dark colour scheme."""
    yield from _new_browse(browser, sites, tmp_path, viewport={"width": 1280, "height": 800}, color_scheme="dark")


@pytest.mark.parametrize("path", PAGES)
def test_no_table_has_an_empty_header(browse: Browse, path: str) -> None:
    browse.open(path)
    empty = browse.page.evaluate("""() => [...document.querySelectorAll('article th')]
        .filter(th => !th.textContent.trim()).map(th => th.closest('table').innerText.slice(0, 80))""")
    assert empty == [], f"{path}: tables with an empty header cell: {empty}"


def test_actions_are_cards_with_status_chips_not_a_table_each(browse: Browse) -> None:
    review = next(r for r in browse.site.facts.reviews if r["id"] == "INC-2025-014")
    browse.open("incidents/INC-2025-014/")
    section = browse.page.evaluate("""() => {
        const out = {tables: 0, cards: []};
        let el = document.getElementById('actions');
        for (el = el.nextElementSibling; el && el.tagName !== 'H2'; el = el.nextElementSibling) {
            if (el.querySelector('table') || el.tagName === 'TABLE') out.tables++;
            if (el.tagName === 'H3') out.cards.push({title: el.textContent, chips: []});
            if (el.querySelector('.kb-action-meta')) out.cards.at(-1).chips =
                [...el.querySelectorAll('.kb-status, .kb-overdue, .kb-stale')].map(c => c.textContent);
        }
        return out;
    }""")
    assert section["tables"] == 0
    assert [c["title"].split(":")[0].strip("¶ ") for c in section["cards"]] == [a["id"] for a in review["actions"]]
    for card, action in zip(section["cards"], review["actions"]):
        assert card["chips"][0] == action["status"]
        overdue = action["status"] in ("open", "in-progress") and kbfacts.day(action["due"]) < AS_OF
        assert any(c.startswith("overdue") for c in card["chips"]) == overdue, (action["id"], card)


@pytest.mark.parametrize("path", ["incidents/", "incidents/INC-2025-014/", "actions/", "metrics/"])
def test_dates_never_wrap(browse: Browse, path: str) -> None:
    browse.page.set_viewport_size({"width": 900, "height": 800})
    browse.open(path)
    wrapped = browse.page.evaluate("""() => [...document.querySelectorAll('article .kb-date')]
        .filter(d => d.getClientRects().length > 1 || d.getBoundingClientRect().height > 1.6 *
                 parseFloat(getComputedStyle(d).lineHeight || '20')).map(d => d.textContent)""")
    count = browse.page.locator("article .kb-date").count()
    assert count > 0 and wrapped == []


def test_the_incidents_index_shows_category_titles_linked_to_their_pages(browse: Browse) -> None:
    facts = browse.site.facts
    browse.open("incidents/")
    links = browse.page.evaluate("""() => [...document.querySelectorAll('article td a[href*="root-causes/"]')]
        .map(a => [a.textContent, new URL(a.href).pathname])""")
    assert links
    for text, path in links:
        category = path.rstrip("/").split("/")[-1]
        assert text == facts.categories[category]["title"]


def test_on_a_phone_the_home_page_shows_days_overdue_and_action_completion(phone390: Browse) -> None:
    phone390.open()
    for text in ("Days overdue", "Action completion"):
        box = phone390.page.locator("article th, article .kb-figure").filter(has_text=text).first.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, (text, box)


def test_dark_preference_gives_the_dark_palette_and_the_toggle_switches(dark: Browse) -> None:
    dark.open()
    scheme = lambda: dark.page.evaluate("() => document.body.getAttribute('data-md-color-scheme')")  # noqa: E731
    assert scheme() == "slate"
    dark.page.locator("form[data-md-component=palette] label:visible").first.click()
    assert scheme() == "default"


def test_action_lists_go_by_due_date(browse: Browse) -> None:
    browse.open("actions/")
    rows = browse.page.evaluate("""() => [...document.querySelectorAll('article table')[1].querySelectorAll('tbody tr')]
        .map(tr => [tr.cells[3].querySelector('.kb-date').textContent, tr.cells[3].textContent.includes('overdue'),
                    tr.cells[4].textContent.trim().split(' ')[0]])""")
    open_rows = [due for due, overdue, status in rows if status in ("open", "in-progress")]
    assert open_rows == sorted(open_rows)
    overdue = [i for i, row in enumerate(rows) if row[1]]
    assert overdue == list(range(len(overdue)))  # overdue first


def _quarter(review: dict) -> str:
    resolved = kbfacts.instant(review["incident"]["resolved"]).astimezone(dt.timezone.utc)
    return f"{resolved.year}-Q{(resolved.month - 1) // 3 + 1}"


def _boxes(browse: Browse, chart: str, selector: str) -> list[dict]:
    return browse.page.evaluate("""([title, sel]) => {
        const svg = [...document.querySelectorAll('svg.kb-chart')].find(s => s.getAttribute('aria-label') === title);
        const frame = svg.getBoundingClientRect();
        return [...svg.querySelectorAll(sel)].map(t => { const b = t.getBoundingClientRect();
            return {text: t.textContent, left: b.left - frame.left, right: b.right - frame.left,
                    top: b.top, bottom: b.bottom, width: frame.width}; });
    }""", [chart, selector])


def test_category_labels_fit_inside_the_chart(browse: Browse) -> None:
    browse.open("metrics/")
    labels = _boxes(browse, "Reviews per root-cause category", ".kb-chart-label")
    assert labels and all(b["left"] >= 0 for b in labels), [b for b in labels if b["left"] < 0]


def test_the_quarter_chart_shows_every_quarter_and_no_label_collides(browse: Browse) -> None:
    from generator.stats import quarters_between

    facts = browse.site.facts
    quarters = sorted({_quarter(r) for r in facts.reviews})
    browse.open("metrics/")
    bars = browse.page.evaluate("""() => [...[...document.querySelectorAll('svg.kb-chart')]
        .find(s => s.getAttribute('aria-label') === 'Reviews per quarter').querySelectorAll('rect title')]
        .map(t => t.textContent.split(':')[0])""")
    assert bars == quarters_between(quarters[0], quarters[-1])
    texts = _boxes(browse, "Reviews per quarter", "text:not(.kb-chart-title)")
    for i, a in enumerate(texts):
        for b in texts[i + 1:]:
            apart = a["right"] <= b["left"] or b["right"] <= a["left"] or a["bottom"] <= b["top"] or b["bottom"] <= a["top"]
            assert apart, (a["text"], b["text"])
    # The category-per-quarter table starts with the newest quarter.
    first = browse.page.evaluate("""() => [...document.querySelectorAll('article table')].find(t =>
        t.rows[0].cells[0].textContent === 'Category' && t.rows[0].cells.length > 3).rows[0].cells[1].textContent""")
    assert first == quarters[-1].replace("-", " ")


def test_rates_have_their_definition_at_hand(browse: Browse) -> None:
    for path in ("actions/", "metrics/"):
        browse.open(path)
        definitions = browse.page.locator("article .kb-definitions").inner_text()
        assert "On time: done by the due date ÷ done" in definitions
        assert "Completion: done ÷ all actions but cancelled ones" in definitions


def test_a_missing_page_shows_the_sites_404_page(browser: Any, sites: Sites,
                                                tmp_path_factory: pytest.TempPathFactory) -> None:
    """Served at the root of a host (MkDocs writes 404.html's links from the root, or from
    site_url's path), as a web server configured with an error page serves it."""
    site = next(tmp_path_factory.getbasetemp().glob("sites*/example/site"))
    assert (site / "404.html").is_file()

    class ErrorPage(_QuietHandler):
        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            if code != 404:
                return super().send_error(code, message, explain)
            body = (site / "404.html").read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer((LOCAL_HOST, 0), functools.partial(ErrorPage, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    page = browser.new_page()
    failed: list[str] = []
    page.on("response", lambda r: r.status >= 400 and r.request.resource_type != "document" and failed.append(r.url))
    try:
        response = page.goto(f"http://{LOCAL_HOST}:{server.server_address[1]}/incidents/NO-SUCH-1/")
        assert response is not None and response.status == 404
        assert "404" in page.locator("article h1").inner_text()
        assert page.locator(".md-tabs__link", has_text="Incidents").count() == 1  # the site's frame and navigation
        assert failed == []  # its styles and scripts load from any depth
    finally:
        page.close()
        server.shutdown()
        server.server_close()
