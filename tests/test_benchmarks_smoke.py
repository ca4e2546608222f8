"""The benchmark works: its synthetic KB is valid and its script runs to the end at 100 reviews.

No figure is asserted here (timings belong in docs/benchmarks.md, not in tests); this only
keeps `python benchmarks/run.py` from rotting between the runs that regenerate that page.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from generator.cli import main

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import run as bench  # noqa: E402
import synth  # noqa: E402


def test_synthetic_kb_is_valid_and_seeded(tmp_path: Path) -> None:
    paths = synth.generate(tmp_path / "kb", 100, seed=7)
    assert len(paths) == 100
    result = CliRunner().invoke(main, ["validate", "--kb", str(tmp_path / "kb"), "--as-of", synth.AS_OF.isoformat()])
    assert result.exit_code == 0, result.output
    assert ": error:" not in result.output
    again = synth.generate(tmp_path / "again", 100, seed=7)
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in paths]


def test_synthetic_kb_has_variety(tmp_path: Path) -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in synth.generate(tmp_path / "kb", 100))
    for value in ("five-whys", "fishbone", "fault-tree", "draft", "in-review", "approved", "closed",
                  "P1", "P2", "P3", "TLP:CLEAR", "TLP:RED", "ISO27001-2022/", "NIST-CSF-1.1/", "related:"):
        assert value in text, value


def test_run_prints_its_table_and_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    out.write_text("# Benchmarks\n\nFindings written by hand.\n", encoding="utf-8")
    done = subprocess.run([sys.executable, str(BENCHMARKS / "run.py"), "--sizes", "100", "--no-serve",
                          "--work", str(tmp_path / "work"), "--out", str(out)],
                         capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| step | 100 reviews |" in done.stdout
    for row in ("Floor: read + parse", "`kb validate`, cold", "`kb validate`, warm", "`kb build`", "plain MkDocs build",
                "search payload", "peak memory", "`mkdocs build --dirty` after one record edit",
                "`kb build` after one record edit (build cache)", "Zensical building the same docs tree"):
        assert row in done.stdout, row
    edit_row = next(line for line in done.stdout.splitlines() if line.startswith("| `kb build` after one record edit"))
    assert " s (" in edit_row, edit_row  # measured, with its ratio to MkDocs' dirty build
    report = out.read_text(encoding="utf-8")
    assert "Findings written by hand." in report
    assert "| step | 100 reviews |" in report and "Machine:" in report
    # Regenerating replaces the generated block and keeps the rest.
    bench.write_report(out, f"{bench.BEGIN}\nnew figures\n{bench.END}")
    again = out.read_text(encoding="utf-8")
    assert "| step | 100 reviews |" not in again and "new figures" in again and "Findings written by hand." in again
