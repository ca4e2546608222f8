"""The CLI as people use it (issue 16): pipes, `kb show`, unknown filter values, CSV files."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import AS_OF, make_kb, run_kb, valid_review

REPO = Path(__file__).resolve().parents[1]


def _closed_pipe(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run kb with its standard output a pipe whose reader has gone (as `| head -1` leaves it)."""
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run([sys.executable, "-m", "generator", *args], cwd=cwd, stdout=write,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write)
    return done


@pytest.mark.parametrize("args", [
    ["search", "token", "--kb", str(REPO / "kb")],
    ["show", "INC-2025-014", "--kb", str(REPO / "kb"), "--as-of", "2026-12-01"],
    ["new", "--kb", "kbnew", "--as-of", AS_OF],
])
def test_a_closed_pipe_stops_quietly(tmp_path: Path, args: list[str]) -> None:
    done = _closed_pipe(args, tmp_path)
    assert done.returncode in (0, 141)
    assert "Broken pipe" not in done.stderr and "BrokenPipeError" not in done.stderr, done.stderr
    assert "Exception ignored" not in done.stderr


def _with_actions(tmp_path: Path) -> Path:
    review = valid_review()
    review["approval"]["date"] = "2025-03-10"
    review["actions"] = [
        {**review["actions"][0], "id": "A1", "status": "open", "due": "2025-03-20", "progress": []},
        {**review["actions"][0], "id": "A2", "status": "in-progress", "due": "2025-12-31",
         "progress": [{"date": "2025-03-25", "note": "started"}]},
    ]
    for action in review["actions"]:
        action.pop("completed", None)
        action.pop("effectiveness", None)
        if not action["progress"]:
            action.pop("progress")
    return make_kb(tmp_path, reviews={"INC-2025-001": review})


def test_show_takes_any_case_and_marks_overdue_and_stale_actions(tmp_path: Path) -> None:
    _with_actions(tmp_path)
    shown = run_kb(["show", "inc-2025-001", "--as-of", "2025-04-15"], cwd=tmp_path)
    assert shown.exit_code == 0, shown.stderr
    a1 = next(line for line in shown.stdout.splitlines() if line.startswith("  A1 "))
    a2 = next(line for line in shown.stdout.splitlines() if line.startswith("  A2 "))
    assert "overdue 26 d" in a1 and "stale" in a1  # no progress since the approval on 2025-03-10
    assert "overdue" not in a2 and "stale" not in a2  # progress on 2025-03-25: 21 days ago
    later = run_kb(["show", "INC-2025-001", "--as-of", "2025-05-01"], cwd=tmp_path)
    assert "stale" in next(line for line in later.stdout.splitlines() if line.startswith("  A2 "))


def test_show_says_restricted_once(tmp_path: Path) -> None:
    make_kb(tmp_path, reviews={"INC-2025-001": valid_review(classification="TLP:RED")})
    shown = run_kb(["show", "INC-2025-001", "--as-of", AS_OF], cwd=tmp_path)
    assert shown.exit_code == 0
    assert shown.stdout.lower().count("restricted") == 1, shown.stdout


@pytest.mark.parametrize("args, option", [
    (["search", "token", "--category", "configuration-chang"], "--category"),
    (["search", "token", "--control", "ISO27001-2022/A.5.99"], "--control"),
    (["actions", "--owner", "Nobody Here", "--as-of", AS_OF], "--owner"),
])
def test_an_unknown_filter_value_is_a_usage_error(tmp_path: Path, args: list[str], option: str) -> None:
    make_kb(tmp_path)
    outcome = run_kb(args, cwd=tmp_path)
    assert outcome.exit_code == 2, outcome.stderr
    assert option in outcome.stderr
    if option == "--category":
        assert "did you mean 'configuration-change'" in outcome.stderr


def test_actions_are_listed_by_due_date_not_owner(tmp_path: Path) -> None:
    review = valid_review()
    template = {k: v for k, v in review["actions"][0].items() if k not in ("completed", "effectiveness", "progress")}
    review["actions"] = [
        {**template, "id": "A1", "owner": "Alice", "status": "open", "due": "2025-09-01"},
        {**template, "id": "A2", "owner": "Zoe", "status": "open", "due": "2025-05-01"},
        {**template, "id": "A3", "owner": "Bob", "status": "in-progress", "due": "2025-06-01"},
        {**template, "id": "A4", "owner": "Ann", "status": "open", "due": "2025-03-01"},
    ]
    make_kb(tmp_path, reviews={"INC-2025-001": review})
    listed = run_kb(["actions", "--format", "csv", "--as-of", AS_OF], cwd=tmp_path)
    order = [row["action"] for row in csv.DictReader(listed.stdout.splitlines())]
    assert order == ["A4", "A2", "A3", "A1"]


def test_csv_export_has_the_usual_file_mode_and_the_texts_own_line_breaks(tmp_path: Path) -> None:
    review = valid_review(summary="A paragraph wrapped\nto fit the YAML file.\n\nA second paragraph.\n- a list item\n")
    make_kb(tmp_path, reviews={"INC-2025-001": review})
    old = os.umask(0o022)
    try:
        outcome = run_kb(["export", "--format", "csv", "--output", "out", "--as-of", AS_OF], cwd=tmp_path)
    finally:
        os.umask(old)
    assert outcome.exit_code == 0, outcome.stderr
    for name in ("reviews.csv", "lessons.csv", "actions.csv"):
        assert (tmp_path / "out" / name).stat().st_mode & 0o777 == 0o644
    with open(tmp_path / "out" / "reviews.csv", newline="", encoding="utf-8") as handle:
        [row] = list(csv.DictReader(handle))
    assert row["summary"] == "A paragraph wrapped to fit the YAML file.\n\nA second paragraph.\n- a list item"


def test_build_names_its_stages_and_says_a_failed_build_kept_the_old_site(tmp_path: Path) -> None:
    make_kb(tmp_path)
    built = run_kb(["build", "--kb", "kb", "--as-of", AS_OF, "--site-dir", "site"], cwd=tmp_path)
    assert built.exit_code == 0, built.stderr
    stages = [line for line in built.stderr.splitlines() if line.startswith("kb: ")]
    assert [line.split()[1] for line in stages] == ["validating", "rendering", "running", "indexing", "publishing"]
    assert stages[0] == "kb: validating 1 record" and stages[1].endswith(" pages")
    index = (tmp_path / "site" / "index.html").read_bytes()
    (tmp_path / "kb" / "reviews" / "INC-2025-001.yaml").write_text("id: [broken\n", encoding="utf-8")
    failed = run_kb(["build", "--kb", "kb", "--as-of", AS_OF, "--site-dir", "site"], cwd=tmp_path)
    assert failed.exit_code == 1
    assert failed.stderr.splitlines()[-1] == "kb: the site was not written; the previous site in site/ is kept"
    assert (tmp_path / "site" / "index.html").read_bytes() == index


def test_kb_serve_shows_the_sites_404_page(tmp_path: Path) -> None:
    import urllib.error
    import urllib.request

    from test_serve import free_port, wait_for

    make_kb(tmp_path)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "generator", "serve", "--kb", "kb", "--as-of", AS_OF,
                               "--dev-addr", f"127.0.0.1:{port}"], cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(f"http://127.0.0.1:{port}/", "Post-incident reviews"), "the preview never started"
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/incidents/NO-SUCH-1/", timeout=5)
        assert missing.value.code == 404
        page = missing.value.read().decode("utf-8")
        assert "<h1>404 - Not found</h1>" in page and 'href="/assets/kb.css"' in page
    finally:
        server.terminate()
        server.wait(timeout=20)
