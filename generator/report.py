"""Print findings as text, JSON or GitHub annotations, chosen by name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from generator.diagnostics import Diagnostic, Severity
from generator.text import github_data, github_property


def summary(diagnostics: list[Diagnostic], files: int) -> str:
    """'2 errors, 1 warning in 14 files'."""
    errors = sum(d.severity is Severity.ERROR for d in diagnostics)
    warnings = len(diagnostics) - errors

    def plural(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    return f"{plural(errors, 'error')}, {plural(warnings, 'warning')} in {plural(files, 'file')}"


def as_text(diagnostics: list[Diagnostic], cwd: Path | None = None) -> str:
    return "".join(d.format(cwd) + "\n" for d in diagnostics)


def as_json(diagnostics: list[Diagnostic], cwd: Path | None = None) -> str:
    items = [
        {"path": d.display_path(cwd), "line": d.line, "column": d.col, "severity": d.severity.value,
         "rule": d.rule, "message": d.message, "hint": d.hint}
        for d in diagnostics
    ]
    return json.dumps(items, indent=2, ensure_ascii=False) + "\n"


def as_github(diagnostics: list[Diagnostic], cwd: Path | None = None) -> str:
    """GitHub Actions workflow commands: each finding becomes a pull-request annotation."""
    lines = []
    for d in diagnostics:
        message = d.message + (f"\n{d.hint}" if d.hint else "")
        lines.append(f"::{d.severity.value} file={github_property(d.display_path(cwd))},line={d.line},col={d.col},"
                     f"title={github_property(d.rule)}::{github_data(message)}\n")
    return "".join(lines)


FORMATS: dict[str, Callable[[list[Diagnostic], Path | None], str]] = {
    "text": as_text,
    "json": as_json,
    "github": as_github,
}
