"""The documentation keeps up with the tool: every command has help text and is in the README."""

from __future__ import annotations

from pathlib import Path

from generator.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_every_command_has_help_and_appears_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    for name, command in main.commands.items():
        assert command.help, name
        assert f"kb {name}" in readme, name


def test_readme_opens_with_the_build_and_test_commands() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    block = lines[lines.index("```sh") + 1: lines.index("```sh") + 3]
    assert "kb build" in block[0] and "pytest" in block[1]
    assert "python -m pytest" in (ROOT / ".ci" / "run").read_text()
