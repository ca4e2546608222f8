"""kb serve: the preview shows the KB and refreshes a page when its record changes."""

from __future__ import annotations

import socket
import subprocess
import sys
import re
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


def start(kb: Path, cwd: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "generator", "serve", "--kb", str(kb), "--as-of", "2025-04-01",
                               "--dev-addr", f"127.0.0.1:{port}"], cwd=cwd,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return server, f"http://127.0.0.1:{port}/"


def stop(server: subprocess.Popen) -> str:
    server.terminate()
    return server.communicate(timeout=20)[0]


def test_editing_a_record_refreshes_every_page_that_quotes_it(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, {"INC-2025-001": valid_review(title="Before the edit")})
    server, base = start(kb, tmp_path)
    url = base + "incidents/INC-2025-001/"
    try:
        assert wait_for(url, "Before the edit"), "the preview never showed the review"
        record = kb / "reviews" / "INC-2025-001.yaml"
        record.write_text(record.read_text().replace("Before the edit", "After the edit"))
        for page in ("incidents/INC-2025-001/", "incidents/", "root-causes/configuration-change/", "controls/iso27001-2022/a-5-27/"):
            assert wait_for(base + page, "After the edit"), f"{page} kept the old title"
        (kb / "reviews" / "INC-2025-002.yaml").write_text(to_yaml(valid_review("INC-2025-002", title="A new record")))
        assert wait_for(base + "incidents/INC-2025-002/", "A new record"), "a new record got no page"
        assert wait_for(base + "incidents/", "A new record"), "the incidents list missed a new record"
    finally:
        output = stop(server)
    assert "Traceback" not in output
    assert "Error building page" not in output and "error happened during the rebuild" not in output
    assert "A 'dirty' build is being performed" not in output


def test_a_broken_record_shows_a_banner_and_a_deleted_one_disappears(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, {"INC-2025-001": valid_review(title="Good title"),
                            "INC-2025-002": valid_review("INC-2025-002", title="Soon gone")})
    server, base = start(kb, tmp_path)
    url = base + "incidents/INC-2025-001/"
    try:
        assert wait_for(url, "Good title")
        record = kb / "reviews" / "INC-2025-001.yaml"
        text = record.read_text()
        line = text.splitlines().index("severity: P2") + 1
        record.write_text(text.replace("severity: P2", "severity: P9"))
        assert wait_for(url, "with errors"), "the broken record's page shows no banner"
        page = fetch(url) or ""
        assert f"line {line}, column 11" in page and "reviews/INC-2025-001.yaml" in page
        assert "Good title" not in page, "the last good page was kept instead of the banner"
        assert wait_for(base, "INC-2025-001.yaml"), "the home page does not list the broken file"
        record.write_text(text)
        assert wait_for(url, "Good title"), "the mended record did not come back"
        (kb / "reviews" / "INC-2025-002.yaml").unlink()
        deadline = time.monotonic() + 40
        while fetch(base + "incidents/INC-2025-002/") is not None and time.monotonic() < deadline:
            time.sleep(0.3)
        assert fetch(base + "incidents/INC-2025-002/") is None, "a deleted record's page is still served"
        assert wait_for(base + "incidents/", "Good title")
        assert "Soon gone" not in (fetch(base + "incidents/") or "")
    finally:
        output = stop(server)
    assert output.count("[schema]") == 1, "the finding is printed once per change"
    assert "Traceback" not in output


def test_the_preview_uses_no_private_mkdocs_attribute() -> None:
    package = Path(__file__).resolve().parent.parent / "generator"
    private = re.compile(r"\b(?:server|config|builder|mkdocs\w*)\._[a-z]\w*")
    found = [f"{path.name}: {m.group(0)}" for path in package.rglob("*.py") for m in private.finditer(path.read_text())]
    assert found == []
