"""kb serve: the preview shows the KB and refreshes a page when its record changes."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from conftest import make_kb, to_yaml, valid_review


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read().decode("utf-8")
    except OSError:
        return None


def wait_for(url: str, text: str, seconds: float = 40) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        page = fetch(url)
        if page is not None and text in page:
            return True
        time.sleep(0.3)
    return False


def test_editing_a_record_refreshes_its_page(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, {"INC-2025-001": valid_review(title="Before the edit")})
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "generator", "serve", "--kb", str(kb), "--as-of", "2025-04-01",
                               "--dev-addr", f"127.0.0.1:{port}"], cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/incidents/INC-2025-001/"
    try:
        assert wait_for(url, "Before the edit"), "the preview never showed the review"
        record = kb / "reviews" / "INC-2025-001.yaml"
        record.write_text(record.read_text().replace("Before the edit", "After the edit"))
        assert wait_for(url, "After the edit"), "the page did not refresh after the record changed"
        # The review page goes out first; the lists quoting the record follow.
        assert wait_for(f"http://127.0.0.1:{port}/incidents/", "After the edit"), "the incidents list kept the old title"
        (kb / "reviews" / "INC-2025-002.yaml").write_text(to_yaml(valid_review("INC-2025-002", title="A new record")))
        assert wait_for(f"http://127.0.0.1:{port}/incidents/INC-2025-002/", "A new record"), "a new record got no page"
        assert wait_for(f"http://127.0.0.1:{port}/incidents/", "A new record"), "the incidents list missed a new record"
        # A broken edit keeps the last good page and reports the finding.
        record.write_text(record.read_text().replace("severity: P2", "severity: P9"))
        time.sleep(2)
        assert "After the edit" in (fetch(url) or "")
    finally:
        server.terminate()
        output = server.communicate(timeout=20)[0]
    assert "[schema]" in output and "Traceback" not in output
    assert "Error building page" not in output and "error happened during the rebuild" not in output


def test_a_write_waits_for_the_rebuild_it_asked_for_not_an_older_one() -> None:
    """MkDocs breaks on a page written during its dirty build: the preview writes only
    when the rebuild it last asked for has ended."""
    from generator.preview import _Rebuilds

    rebuilds = _Rebuilds()
    assert rebuilds._idle.is_set(), "nothing asked for yet: writing may go ahead"
    rebuilds.started()  # a build already running ...
    time.sleep(0.01)
    rebuilds.wanted()  # ... when the preview asks for another
    rebuilds.ended()
    assert not rebuilds._idle.is_set(), "the older build ended, the one asked for has not begun"
    rebuilds.started()
    rebuilds.ended()
    assert rebuilds._idle.is_set()


def test_mkdocs_keeps_polling_when_its_server_cannot_be_woken() -> None:
    from generator import preview

    class Server:  # a future MkDocs without the attributes the preview uses
        pass

    try:
        assert preview.attach(Server()) is False
    finally:
        preview._live.clear()
