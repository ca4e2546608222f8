"""The bad-input corpus: every case in tests/corpus/manifest.yaml, run in-process through the CLI.

For each case: the exact findings (rule, file, line, column) and exit code, no traceback,
bounded time, and for bombs and deep nesting bounded memory.
"""

from __future__ import annotations

import json
import resource
import shutil
import time
import tracemalloc
from pathlib import Path
from typing import Callable

import pytest
import yaml

from conftest import Outcome, make_kb, run_validate, to_yaml, valid_review

CORPUS = Path(__file__).parent / "corpus"
MANIFEST = yaml.safe_load((CORPUS / "manifest.yaml").read_text(encoding="utf-8"))["cases"]
CASE_ID = "INC-2025-101"
CASE_FILE = f"reviews/{CASE_ID}.yaml"

SECONDS_PER_CASE = 5
SECONDS_FOR_ALL = 30
MAX_MEMORY = 200 * 1024 * 1024


# -- inputs too big, too deep or too odd to commit ------------------------------------------------

def _write(kb: Path, relative: str, text: str) -> None:
    (kb / relative).write_text(text, encoding="utf-8")


def _nested(kb: Path, body: str) -> None:
    _write(kb, CASE_FILE, f"id: {CASE_ID}\nnested:{body}\n")


def _symlink_escape(kb: Path) -> None:
    outside = kb.parent / "outside.yaml"
    _write(kb.parent, "outside.yaml", to_yaml(valid_review(CASE_ID)))
    (kb / CASE_FILE).symlink_to(outside)


def _symlink_loop(kb: Path) -> None:
    (kb / CASE_FILE).symlink_to(kb / "reviews" / "INC-2025-102.yaml")
    (kb / "reviews" / "INC-2025-102.yaml").symlink_to(kb / CASE_FILE)


GENERATORS: dict[str, Callable[[Path], None]] = {
    "oversized": lambda kb: _write(kb, CASE_FILE, to_yaml(valid_review(CASE_ID)) + "# " + "x" * (1024 * 1024) + "\n"),
    "symlink-escape": _symlink_escape,
    "symlink-loop": _symlink_loop,
    "deep-flow-sequences": lambda kb: _nested(kb, " " + "[" * 10_000 + "]" * 10_000),
    "deep-flow-mappings": lambda kb: _nested(kb, " " + "{a: " * 10_000 + "1" + "}" * 10_000),
    "deep-block-sequences": lambda kb: _nested(kb, "\n  " + "- " * 10_000 + "leaf"),
    "deep-block-mappings": lambda kb: _nested(kb, "".join("\n" + " " * level + "a:" for level in range(1, 501)) + " leaf"),
    "long-title": lambda kb: _write(kb, CASE_FILE, to_yaml(valid_review(CASE_ID, title="x" * 10_000))),
    "long-free-text": lambda kb: _write(kb, CASE_FILE, to_yaml(valid_review(CASE_ID, summary="word " * 1_999 + "end."))),
    "stray-file": lambda kb: _write(kb, "reviews/notes.txt", "Notes about INC-2025-101\n"),
}


def build_case(case: dict, tmp_path: Path) -> Path:
    """The KB of one case: its folder over the base KB (or alone), or a generated input."""
    folder = CORPUS / case["name"]
    if case.get("whole_kb"):
        kb = tmp_path / "kb"
        shutil.copytree(folder, kb)
        (kb / "reviews").mkdir(exist_ok=True)
    else:
        kb = make_kb(tmp_path)
        if folder.is_dir():
            shutil.copytree(folder, kb, dirs_exist_ok=True)
    if "generate" in case:
        GENERATORS[case["generate"]](kb)
    if case.get("transform") == "crlf":
        for path in folder.rglob("*.yaml"):
            target = kb / path.relative_to(folder)
            target.write_bytes(target.read_bytes().replace(b"\n", b"\r\n"))
    return kb


def run_case(case: dict, tmp_path: Path, *extra: str) -> tuple[Outcome, float]:
    kb = build_case(case, tmp_path)
    start = time.perf_counter()
    outcome = run_validate(kb, *case.get("args", []), *extra)
    return outcome, time.perf_counter() - start


def expected_findings(case: dict) -> list[tuple[str, str, int, int]]:
    return [(f"kb/{item.get('file', case['file'])}", item["rule"], item["line"], item["col"]) for item in case["expect"]]


# -- the manifest itself -------------------------------------------------------------------------------

def test_manifest_lists_every_case_folder_once():
    names = [case["name"] for case in MANIFEST]
    assert len(names) == len(set(names))
    folders = {p.name for p in CORPUS.iterdir() if p.is_dir()}
    generated = {case["name"] for case in MANIFEST if "generate" in case}
    assert folders == set(names) - generated
    assert {case["generate"] for case in MANIFEST if "generate" in case} <= set(GENERATORS)
    assert len(MANIFEST) >= 45


def test_every_case_says_what_it_expects():
    for case in MANIFEST:
        assert {"name", "file", "expect", "exit"} <= set(case), case["name"]
        assert case["exit"] in (0, 1)
        for item in case["expect"]:
            assert {"rule", "line", "col"} <= set(item) <= {"rule", "line", "col", "file"}, case["name"]


# -- the cases -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", MANIFEST, ids=[case["name"] for case in MANIFEST])
def test_case(case, tmp_path):
    outcome, seconds = run_case(case, tmp_path)
    outcome.assert_no_crash()
    assert [(f.path, f.rule, f.line, f.col) for f in outcome.findings] == expected_findings(case)
    assert outcome.exit_code == case["exit"]
    assert seconds < SECONDS_PER_CASE


@pytest.mark.parametrize("case", MANIFEST, ids=[case["name"] for case in MANIFEST])
def test_case_as_json(case, tmp_path):
    outcome, _ = run_case(case, tmp_path, "--format", "json")
    outcome.assert_no_crash()
    items = json.loads(outcome.stdout)
    assert [(i["path"], i["rule"], i["line"], i["column"]) for i in items] == expected_findings(case)
    assert outcome.exit_code == case["exit"]


MEMORY_CASES = [case for case in MANIFEST if case.get("memory")]


@pytest.mark.parametrize("case", MEMORY_CASES, ids=[case["name"] for case in MEMORY_CASES])
def test_bombs_and_deep_nesting_stay_in_bounded_memory(case, tmp_path):
    kb = build_case(case, tmp_path)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux
    tracemalloc.start()
    try:
        outcome = run_validate(kb)
        _, traced_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    assert outcome.exit_code == case["exit"]
    assert traced_peak < MAX_MEMORY          # Python objects
    assert peak_after - peak_before < MAX_MEMORY  # and everything else (libyaml allocates in C)


def test_the_whole_corpus_runs_well_under_a_minute(tmp_path):
    start = time.perf_counter()
    for index, case in enumerate(MANIFEST):
        run_case(case, tmp_path / str(index))
    assert time.perf_counter() - start < SECONDS_FOR_ALL
