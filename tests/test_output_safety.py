"""Terminal and CI output: file names and record text never forge a line, reach the terminal
as a control character, or start a GitHub Actions workflow command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import AS_OF, FINDING, SUMMARY, REVIEW_ID, make_kb, run_kb, run_validate, to_yaml, valid_review
from generator.text import github_data, github_property, no_workflow_commands, one_line, printable, terminal

HOSTILE = "Gecko \x1b[2J\n::error file=x.yaml,line=1::forged\r\n\u202egnp.exe \x9b31m ::set-output name=x::y"


def assert_inert(text: str, *, commands_allowed: bool = False) -> None:
    assert "\x1b" not in text and "\u202e" not in text and "\x9b" not in text and "\r" not in text
    for line in text.splitlines():
        if not commands_allowed:
            assert not line.lstrip().startswith("::"), line


def test_one_line_escapes_every_control_and_newline() -> None:
    assert one_line("a\nb\r\x1b\u202e\x00\t") == "a\\nb\\r\\u001b\\u202e\\u0000\\t"
    assert printable("a\nb\tc\x1b") == "a\nb\tc\\u001b"


def test_terminal_defuses_workflow_commands_on_any_line() -> None:
    assert terminal("ok\n::error::x\n  ::add-mask::y\n") == "ok\n\\u003a:error::x\n  \\u003a:add-mask::y\n"
    assert terminal("::error file=a::b", workflow_commands=True) == "::error file=a::b"
    assert no_workflow_commands("a :: b") == "a :: b"
    # Only the CLI's own colour sequences survive, and only when it asks.
    assert terminal("\x1b[1mINC\x1b[0m \x1b[2J", colours=True) == "\x1b[1mINC\x1b[0m \\u001b[2J"
    assert terminal("\x1b[1mINC\x1b[0m") == "\\u001b[1mINC\\u001b[0m"


def test_github_escaping_follows_githubs_rules() -> None:
    assert github_data("50%\r\nnext") == "50%25\\r%0Anext"
    assert github_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_a_file_name_with_a_newline_cannot_forge_a_finding(tmp_path: Path) -> None:
    forged = "x.txt\nINC-2025-001.yaml:1:1: error: forged [schema]\n::error file=a::b"
    kb = make_kb(tmp_path, files={f"reviews/{forged}": "hello\n"})
    outcome = run_validate(kb)
    lines = outcome.stdout.splitlines()
    assert len(lines) == 1 and FINDING.match(lines[0]), lines
    assert lines[0].startswith("kb/reviews/x.txt\\nINC-2025-001.yaml:1:1: error: forged [schema]\\n") and lines[0].endswith("[stray-file]")
    assert_inert(outcome.stdout)
    github = run_validate(kb, "--format", "github")
    commands = github.stdout.splitlines()
    assert len(commands) == 1 and commands[0].startswith("::warning file=kb/reviews/x.txt%0AINC-2025-001.yaml%3A1%3A1%3A error%3A forged [schema]%0A")
    assert "%0A%3A%3Aerror file=a%3A%3Ab," in commands[0]
    assert_inert(github.stdout, commands_allowed=True)


def test_record_text_in_findings_is_escaped(tmp_path: Path) -> None:
    review = valid_review(title=HOSTILE.replace("\n", " ").replace("\r", " "))
    review["impact"]["users_affected"] = HOSTILE  # a schema error that quotes the value
    kb = make_kb(tmp_path, {REVIEW_ID: review})
    for fmt in ("text", "github"):
        outcome = run_validate(kb, "--format", fmt)
        assert outcome.exit_code == 1
        assert_inert(outcome.stdout, commands_allowed=fmt == "github")
        if fmt == "github":
            assert all(line.startswith(("::error file=", "::warning file=")) for line in outcome.stdout.splitlines())
        else:
            assert all(FINDING.match(line) for line in outcome.stdout.splitlines())


@pytest.fixture
def hostile_kb(tmp_path: Path) -> Path:
    review = valid_review(title=" ".join(HOSTILE.split()), summary=HOSTILE)
    review["lessons"][0]["text"] = HOSTILE
    review["actions"][0]["title"] = " ".join(HOSTILE.split())
    review["actions"][0]["owner"] = "::error::owner \x1b[2J"
    return make_kb(tmp_path, {REVIEW_ID: review})


@pytest.mark.parametrize("args", [
    ["show", REVIEW_ID],
    ["search", "Gecko"],
    ["search", "Gecko", "--format", "json"],
    ["actions"],
    ["actions", "--format", "csv"],
    ["actions", "--format", "json"],
    ["training", "--since", "2024-01-01"],
    ["training", "--since", "2024-01-01", "--format", "json"],
    ["export"],
])
def test_every_command_prints_record_text_inert(hostile_kb: Path, args: list[str]) -> None:
    outcome = run_kb([*args, "--kb", str(hostile_kb)], cwd=hostile_kb.parent)
    assert outcome.exit_code in (0, 1), (outcome.stdout, outcome.stderr, outcome.exception)
    assert_inert(outcome.stdout)
    assert_inert(outcome.stderr)


def test_messages_naming_paths_are_escaped(tmp_path: Path) -> None:
    kb = make_kb(tmp_path)
    target = tmp_path / "out\n::error::x"
    outcome = run_kb(["export", "--kb", str(kb), "--as-of", AS_OF, "--output", str(target)], cwd=tmp_path)
    assert_inert(outcome.stdout)
    assert_inert(outcome.stderr)


def test_a_finding_line_never_starts_a_workflow_command(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, files={"reviews/::error file=x::forged.txt": "x\n"})
    outcome = run_validate(kb, cwd=kb / "reviews")  # paths relative to reviews/: the line would start with '::'
    assert outcome.stdout.startswith("\\u003a:error file=x::forged.txt:1:1: warning: not a record")
    assert_inert(outcome.stdout)
    github = run_validate(kb, "--format", "github", cwd=kb / "reviews")
    assert github.stdout.startswith("::warning file=%3A%3Aerror file=x%3A%3Aforged.txt,line=1,col=1,title=stray-file::")
