"""Text for terminals and CI logs: record text and file names can never steer either.

Every text output of every command goes through here:

- `one_line` is for a value inside a line of its own kind (a finding's path, message
  and hint): every control character, newline included, is shown as an escape, so a
  file named with a newline cannot forge a second finding line.
- `printable` is for multi-line record text: control characters but newline and tab
  are shown as escapes (a YAML "\\e" gives ESC, which would move the cursor or recolour
  the terminal; bidi controls reorder what is shown).
- `terminal` is the last guard, applied by the CLI to everything it prints: it escapes
  what the two above would, keeping only the colour sequences the CLI itself adds, and
  defuses a line that starts with '::', which GitHub Actions reads as a workflow command
  from any log line (`::error`, `::add-mask::`, `::stop-commands::`).
- `github_data` / `github_property` escape the record-controlled parts of the workflow
  commands `kb validate --format github` prints on purpose.
"""

from __future__ import annotations

import re

# C0 and C1 controls (DEL included), bidi embeddings, overrides and isolates, the
# directional marks, and the Unicode line and paragraph separators.
_CONTROLS = "\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029"
_ANY_CONTROL = re.compile(f"[{_CONTROLS}]")
_CONTROL_BUT_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
_SGR = re.compile(r"\x1b\[[0-9;]*m")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_COMMAND_LINE = re.compile(r"^([ \t]*):(?=:)", re.M)


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    return _NAMED.get(char) or f"\\u{ord(char):04x}"


def one_line(text: str) -> str:
    """A value shown inside one line: every control character (newline too) escaped."""
    return _ANY_CONTROL.sub(_escape, str(text))


def printable(text: str) -> str:
    """Multi-line text for a terminal: control characters but newline and tab escaped."""
    return _CONTROL_BUT_LINES.sub(_escape, str(text))


def no_workflow_commands(text: str) -> str:
    """Lines that start with '::' (after blanks) get their first ':' escaped."""
    return _COMMAND_LINE.sub(lambda m: m.group(1) + "\\u003a", text)


def terminal(text: str, *, workflow_commands: bool = False, colours: bool = False) -> str:
    """What the CLI prints: control characters escaped (with `colours`, except the colour
    sequences the CLI added itself to text it made printable first), and no workflow
    command unless this output is one on purpose (--format github)."""
    if not colours:
        shown = printable(text)
        return shown if workflow_commands else no_workflow_commands(shown)
    parts = []
    last = 0
    for match in _SGR.finditer(text):
        parts.append(printable(text[last:match.start()]))
        parts.append(match.group(0))
        last = match.end()
    parts.append(printable(text[last:]))
    shown = "".join(parts)
    return shown if workflow_commands else no_workflow_commands(shown)


def github_data(text: str) -> str:
    """The message of a GitHub workflow command: %, CR and LF escaped as GitHub requires."""
    return printable(str(text)).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_property(text: str) -> str:
    """A property value of a workflow command (file=, title=): ':' and ',' escaped too."""
    return github_data(text).replace(":", "%3A").replace(",", "%2C")
