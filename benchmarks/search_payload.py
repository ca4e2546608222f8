"""What a reader downloads, and waits, before the first search result: Pagefind vs Material's search.

    python benchmarks/search_payload.py SITE_DIR [--query token] [--pagefind]

Serves a built site on 127.0.0.1, opens it in headless Chromium (Debian's /usr/bin/chromium
through Playwright) and measures, for one query typed by a reader, each search the site has:

- Pagefind (`pagefind/`, written by `kb build`; with --pagefind a site without it is
  indexed first, with the very command kb build runs): the bytes its JS API fetches for
  the query and for the first result's excerpt, and that time;
- Material's built-in search, on a site built with its `search` plugin (kb's own sites
  no longer are): the bytes fetched from the moment the reader types until the first
  result is listed (search_index.json and the search worker), and that time.

Bytes are as served by a plain static server (no compression); the gzip size of each
file is shown beside it, as most static hosts compress JSON and JavaScript. Pagefind's
index chunks are compressed already.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import http.server
import json
import threading
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
TIMEOUT_S = 180
"""How long a reader is assumed to wait for a first result before it counts as none."""


def _serve(site: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class _Traffic:
    """Bytes of every response after `start()`, with their gzip size."""

    def __init__(self, page) -> None:
        self.rows: list[tuple[str, int, int]] = []
        self.recording = False
        page.on("response", self._seen)

    def _seen(self, response) -> None:
        if not self.recording:
            return
        try:
            body = response.body()
        except Exception:  # noqa: BLE001 - no body (a redirect), or one too large for the browser to hand over
            size = int(response.headers.get("content-length", 0) or 0)
            if size:  # gzip size unknown: counted as not compressible
                self.rows.append((response.url, size, size))
            return
        self.rows.append((response.url, len(body), len(gzip.compress(body, 6))))

    def start(self) -> None:
        self.rows, self.recording = [], True

    def total(self) -> tuple[int, int]:
        return sum(r[1] for r in self.rows), sum(r[2] for r in self.rows)


def material(page, base: str, query: str) -> dict:
    """Type the query into Material's search box; time and bytes until the first result shows."""
    traffic = _Traffic(page)
    page.goto(f"{base}/", wait_until="load")
    traffic.start()
    start = time.perf_counter()
    page.fill(".md-search__input", query)
    try:
        page.wait_for_selector(".md-search-result__item", timeout=TIMEOUT_S * 1000)
        seconds: float | None = time.perf_counter() - start
    except Exception:  # noqa: BLE001 - Playwright's TimeoutError: no result at all is a result too
        seconds = None
    raw, zipped = traffic.total()
    return {"engine": "material", "seconds": seconds, "bytes": raw, "gzip_bytes": zipped, "files": traffic.rows}


def pagefind(page, base: str, query: str) -> dict:
    """Query through Pagefind's JS API; time and bytes until the first result's excerpt is loaded."""
    # On a site with both, Material's worker would fetch its whole index on load: not Pagefind's cost.
    page.route("**/search/search_index.json", lambda route: route.abort())
    traffic = _Traffic(page)
    page.goto(f"{base}/", wait_until="load")
    traffic.start()
    start = time.perf_counter()
    excerpt = page.evaluate("""async (query) => {
        const pagefind = await import('/pagefind/pagefind.js');
        await pagefind.init();
        const search = await pagefind.search(query);
        if (!search.results.length) return '';
        const first = await search.results[0].data();
        return first.url;
    }""", query)
    seconds = time.perf_counter() - start
    traffic.rows = [row for row in traffic.rows if "/pagefind/" in row[0]]
    raw, zipped = traffic.total()
    return {"engine": "pagefind", "seconds": seconds, "bytes": raw, "gzip_bytes": zipped, "files": traffic.rows,
            "first_result": excerpt}


def engines(site: Path) -> list:
    """The searches this site has: Pagefind's bundle, Material's index, or both."""
    found = []
    if (site / "pagefind" / "pagefind.js").is_file():
        found.append(pagefind)
    if (site / "search" / "search_index.json").is_file():
        found.append(material)
    return found


def index_with_pagefind(site: Path) -> None:
    """Index a site that has no Pagefind bundle yet, as `kb build` does."""
    import subprocess

    from generator.site import pagefind_command

    subprocess.run(pagefind_command(site), check=True, capture_output=True)


def measure(site: Path, query: str) -> list[dict]:
    from playwright.sync_api import sync_playwright

    server, base = _serve(site)
    results = []
    try:
        with sync_playwright() as play:
            browser = play.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            for engine in engines(site):
                context = browser.new_context()  # a reader with an empty cache
                try:
                    results.append(engine(context.new_page(), base, query))
                except Exception as exc:  # noqa: BLE001 - a crashed page is a finding, not the end of the run
                    results.append({"engine": engine.__name__, "seconds": None, "bytes": 0, "gzip_bytes": 0,
                                    "files": [], "error": str(exc)[:300]})
                context.close()
            browser.close()
    finally:
        server.shutdown()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("--query", default="token")
    parser.add_argument("--pagefind", action="store_true",
                        help="index a site that has no pagefind/ folder first (kb build writes one)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON, files included")
    args = parser.parse_args()
    if args.pagefind and not (args.site / "pagefind").is_dir():
        index_with_pagefind(args.site)
    results = measure(args.site, args.query)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for r in results:
        when = f"after {r['seconds']:.2f} s" if r["seconds"] is not None else f"not within {TIMEOUT_S} s"
        print(f"{r['engine']}: first result {when}, {r['bytes'] / 1e6:.2f} MB fetched "
              f"({r['gzip_bytes'] / 1e6:.2f} MB gzipped) in {len(r['files'])} files")


if __name__ == "__main__":
    main()
