"""Fixtures of the browser journeys: built sites, a local server, one Chromium, a recorded page.

Once per session the example KB and the injection fixture are built (`kb build`, fixed
--as-of) into the pytest temporary folder and served by a thread on 127.0.0.1 at a free
port. One headless Chromium (Debian's, never a downloaded build) serves every test;
each test gets a fresh context whose page records every request, console error, page
error and dialog. When the test ends its last page is saved as a screenshot beside the
test's tmp_path; a failure's report names it.

Where Chromium or Playwright is missing the tests skip and say why, except under CI
(the CI variable set), where they fail: CI must never pass without having run them.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import shutil
import threading
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator, NoReturn
from urllib.parse import urlsplit

import pytest

from conftest import run_kb

from . import kbfacts

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_KB = REPO / "kb"
INJECTION_KB = REPO / "tests" / "fixtures" / "injection-kb"
AS_OF = dt.date(2026, 11, 28)
"""The day every site is built for: fixed, so "overdue" and "new since" do not move with the calendar."""

CHROMIUM = os.environ.get("KB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
"""Debian's Chromium; KB_CHROMIUM names another build (Playwright never downloads one here)."""
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
    # Nothing but the loopback resolves: a request for another host fails here, never leaves the machine.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
DESKTOP = {"width": 1280, "height": 800}
LOCAL_HOST = "127.0.0.1"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: end-to-end journey in a real Chromium (deselect with -m 'not browser')")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)


def unavailable(reason: str) -> NoReturn:
    """Skip with the reason, or fail under CI, where the browser tests must run."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI is set, and there the browser tests must run, never skip",
                    pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def playwright_api() -> Any:
    """playwright.sync_api; where it is missing, a skip (a failure under CI) that says so."""
    try:
        from playwright import sync_api
    except ImportError:
        unavailable("playwright is not installed (pip install -e '.[test]')")
    return sync_api


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


@dataclass(frozen=True)
class Site:
    """A built site served over HTTP: `url('incidents/')` is that page's address."""

    root: str
    facts: kbfacts.Facts

    def url(self, path: str = "") -> str:
        return self.root + path


@dataclass(frozen=True)
class Sites:
    example: Site
    injection: Site


def _build(kb_dir: Path, site_dir: Path) -> None:
    # From a folder of its own, so the configuration is the one beside the KB (or the built-in one).
    outcome = run_kb(["build", "--kb", str(kb_dir), "--site-dir", str(site_dir), "--as-of", AS_OF.isoformat()],
                     cwd=site_dir.parent)
    assert outcome.exit_code == 0, f"kb build --kb {kb_dir} failed:\n{outcome.stdout}{outcome.stderr}"


@pytest.fixture(scope="session")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sites]:
    """The example KB's and the injection fixture's sites, served on 127.0.0.1 at a free port."""
    root = tmp_path_factory.mktemp("sites")
    for name, kb_dir in (("example", EXAMPLE_KB), ("injection", INJECTION_KB)):
        (root / name).mkdir()
        _build(kb_dir, root / name / "site")
    server = ThreadingHTTPServer((LOCAL_HOST, 0), functools.partial(_QuietHandler, directory=str(root)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    base = f"http://{LOCAL_HOST}:{server.server_address[1]}/"
    try:
        yield Sites(example=Site(base + "example/site/", kbfacts.load(EXAMPLE_KB)),
                    injection=Site(base + "injection/site/", kbfacts.load(INJECTION_KB)))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Debian Chromium for the whole session."""
    api = playwright_api()
    if not Path(CHROMIUM).is_file():
        unavailable(f"Chromium is not installed ({CHROMIUM}; apt-get install chromium)")
    with api.sync_playwright() as playwright:
        try:
            # launch() (not a persistent context) starts from a fresh temporary profile: nothing
            # of an earlier run or of a person's browser leaks in.
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        except api.Error as exc:
            unavailable(f"Chromium at {CHROMIUM} did not start: {exc.message.splitlines()[0]}")
        yield chromium
        chromium.close()


def is_local(url: str) -> bool:
    """Whether a request stays on this machine's loopback address (data: URLs never leave)."""
    if url.startswith(("data:", "about:")):
        return True
    return urlsplit(url.removeprefix("blob:")).hostname == LOCAL_HOST


@dataclass
class Browse:
    """A page with everything it did recorded: requests, console errors, page errors, dialogs."""

    page: Any
    site: Site
    """The site being browsed (the example's unless a test switches)."""
    shots: Path
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def record(self) -> None:
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("console", lambda message: message.type == "error" and self.errors.append(
            f"console: {message.text} ({message.location.get('url', '')})"))
        self.page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        self.page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message} on {self.page.url}")
        dialog.dismiss()

    def open(self, path: str = "") -> Any:
        """Go to a page of the site; it must answer 200."""
        url = self.site.url(path)
        response = self.page.goto(url)
        assert response is not None and response.status == 200, f"{url}: {response and response.status}"
        return response

    def follow(self, link: Any) -> Any:
        """Click a link as a person would; the page it opens must answer 200."""
        with self.page.expect_navigation() as navigation:
            link.click()
        response = navigation.value
        assert response is not None and response.status == 200, f"{self.page.url}: {response and response.status}"
        return response

    def heading(self) -> str:
        """The page's h1 as shown, without the permalink mark."""
        return self.page.locator("article h1").first.inner_text().rstrip("¶").strip()

    def path(self) -> str:
        """The page's path relative to the site root, e.g. incidents/INC-2025-014/."""
        url = self.page.url.split("#")[0].split("?")[0]
        assert url.startswith(self.site.root), f"{url} is outside the site {self.site.root}"
        return url[len(self.site.root):]

    def search(self, query: str) -> Any:
        """Go to the Search page as a reader would (its tab), type a query into Pagefind's box
        key by key; returns the result items (each one's first link opens its page)."""
        if not self.page.url.startswith(self.site.root):
            self.open()
        self.follow(self.page.locator("nav.md-tabs").get_by_role("link", name="Search", exact=True))
        assert self.path() == "search/"
        box = self.page.locator("input.pagefind-ui__search-input")
        box.click()
        box.press_sequentially(query)
        return self.page.locator("li.pagefind-ui__result")

    def screenshot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def assert_local_and_quiet(self) -> None:
        """No request left 127.0.0.1, nothing logged an error, no dialog opened."""
        assert self.requests, "no request was recorded: the recorder is broken"
        outside = sorted({url for url in self.requests if not is_local(url)})
        assert not outside, f"requests left {LOCAL_HOST}: {outside}"
        assert not self.errors, f"errors in the browser: {self.errors}"
        assert not self.dialogs, f"dialogs opened: {self.dialogs}"


def _new_browse(browser: Any, sites: Sites, tmp_path: Path, **context_options: Any) -> Iterator[Browse]:
    context = browser.new_context(service_workers="block", **context_options)
    context.set_default_timeout(10_000)
    # Belt and braces with --host-resolver-rules: a request for another host is recorded, then refused.
    context.route(lambda url: not is_local(url), lambda route: route.abort("blockedbyclient"))
    browse = Browse(page=context.new_page(), site=sites.example, shots=tmp_path)
    browse.record()
    try:
        yield browse
        browse.assert_local_and_quiet()
    finally:
        context.close()


@pytest.fixture
def browse(browser: Any, sites: Sites, tmp_path: Path) -> Iterator[Browse]:
    """A fresh desktop-sized page on the example site."""
    yield from _new_browse(browser, sites, tmp_path, viewport=DESKTOP)


@pytest.fixture
def phone(browser: Any, sites: Sites, tmp_path: Path) -> Iterator[Browse]:
    """A fresh page on a phone-sized touch screen (375 x 667, as an iPhone SE)."""
    yield from _new_browse(browser, sites, tmp_path, viewport={"width": 375, "height": 667}, is_mobile=True,
                           has_touch=True, device_scale_factor=2)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """Save each journey's last page; on failure attach the screenshot to the report."""
    browse = next((item.funcargs.get(name) for name in ("browse", "phone") if name in getattr(item, "funcargs", {})),
                  None)
    shot = None
    if call.when == "call" and browse is not None:
        try:
            shot = browse.screenshot(item.name.replace("/", "-"))
        except Exception as exc:  # a crashed page must not hide the test's own failure
            shot = f"(no screenshot: {exc})"
    outcome = yield
    report = outcome.get_result()
    if shot is not None and report.failed:
        report.sections.append(("screenshot", f"last page: {shot}"))
        item.user_properties.append(("screenshot", str(shot)))
