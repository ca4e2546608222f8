"""Findings about the knowledge base, and the Result that carries them beside the data."""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, Iterable, TypeVar

from generator.text import one_line

T = TypeVar("T")


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One finding, pointing at a file and a 1-based line and column."""

    path: Path
    line: int
    col: int
    severity: Severity
    message: str
    rule: str
    hint: str = ""

    def display_path(self, cwd: Path | None = None) -> str:
        """The path relative to the current directory, as the contract prints it."""
        try:
            return os.path.relpath(self.path, cwd or Path.cwd())
        except ValueError:  # another drive on Windows
            return str(self.path)

    def format(self, cwd: Path | None = None) -> str:
        # One line per finding, hint included, so editors and scripts can parse every line.
        # Paths and messages can quote record text and file names: nothing in them may
        # start another line (a forged finding) or reach the terminal as a control.
        message = f"{self.message}; {self.hint}" if self.hint else self.message
        message = one_line(" ".join(message.split("\n")))
        return f"{one_line(self.display_path(cwd))}:{self.line}:{self.col}: {self.severity.value}: {message} [{one_line(self.rule)}]"


def error(path: Path, line: int, col: int, rule: str, message: str, hint: str = "") -> Diagnostic:
    return Diagnostic(path, line, col, Severity.ERROR, message, rule, hint)


def warning(path: Path, line: int, col: int, rule: str, message: str, hint: str = "") -> Diagnostic:
    return Diagnostic(path, line, col, Severity.WARNING, message, rule, hint)


def sort_key(d: Diagnostic) -> tuple:
    return (str(d.path), d.line, d.col, d.severity != Severity.ERROR, d.rule, d.message)


@dataclass
class Result(Generic[T]):
    """A value and the findings gathered while making it."""

    value: T
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.WARNING]

    def failed(self, *, strict: bool = False) -> bool:
        """True when the run must exit non-zero: any error, or with strict any warning."""
        return bool(self.errors) or (strict and bool(self.warnings))


def sorted_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Findings sorted by file, line and column, each reported once."""
    return sorted(set(diagnostics), key=sort_key)
