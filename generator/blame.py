"""Blame language in free text: words that name a person as the cause of an incident.

The procedure asks for learning, not blame. This module only finds the phrases (the
`blame-language` rule in rules.py decides where to report them):

- "human error", "operator error", "user error", "careless", "negligent", "negligence":
  whole words, any case ("carelessly" is not one of them);
- a person of the review (a participant or the facilitator) named at most five words
  before "should have", "failed to", "forgot", "neglected", "did not" or "didn't".
  A person is named by the full name (any case) or by one part of it alone, such as the
  first name "Dana" or the surname "Ortiz" (written with its capital letter, so that a name
  that is also a word, like "Will" or "Bill", is not matched in "will" or "bill"). A tool
  or a process that "failed to" is not blame: only the names of the review's people count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

BLAME_WORDS = ("human error", "operator error", "user error", "careless", "negligent", "negligence")
BLAME_VERBS = ("should have", "failed to", "forgot", "neglected", "did not", "didn't", "didn’t")
WORDS_BEFORE = 5
"""At most this many words between the person's name and the verb."""

_WORDS = re.compile(r"(?i)\b(?:" + "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in BLAME_WORDS) + r")\b")
_TOKEN = re.compile(r"[\w'’-]+")
_ONE_WORD_VERBS = frozenset(v for v in BLAME_VERBS if " " not in v)
_TWO_WORD_VERBS = frozenset(tuple(v.split()) for v in BLAME_VERBS if " " in v)
# The words after a name are read token by token (not by one regular expression with
# optional repeats, which backtracks badly on hostile text): linear in the text's length.


@dataclass(frozen=True)
class Blame:
    """One finding in a text: where it starts and the words that make it blame."""

    start: int
    phrase: str


def _name_patterns(names: Iterable[str]) -> list[str]:
    full: set[str] = set()
    parts: set[str] = set()
    for name in names:
        words = name.split()
        if not words:
            continue
        full.add(r"(?i:" + r"\s+".join(re.escape(w) for w in words) + r")")
        if len(words) > 1:
            # One part of a name alone: with its capital letter, at least two letters long.
            parts.update(re.escape(w) for w in words if len(w) > 1 and w[0].isupper())
    # The full names first, so "Dana Ortiz" is reported as the name, not "Dana".
    return sorted(full, key=len, reverse=True) + sorted(parts, key=len, reverse=True)


def name_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    """The regular expression matching a name of these people (None without people)."""
    alternatives = _name_patterns(names)
    if not alternatives:
        return None
    return re.compile(r"(?<![\w])(?:" + "|".join(alternatives) + r")(?![\w])")


def _verb_after(text: str, start: int) -> int | None:
    """Where the blame verb ends when one follows `start` within WORDS_BEFORE words, else None."""
    tokens = []
    for match in _TOKEN.finditer(text, start):
        tokens.append(match)
        if len(tokens) > WORDS_BEFORE + 2:
            break
    words = [t.group(0).lower() for t in tokens]
    for index in range(min(len(words), WORDS_BEFORE + 1)):
        if words[index] in _ONE_WORD_VERBS:
            return tokens[index].end()
        if index + 1 < len(words) and (words[index], words[index + 1]) in _TWO_WORD_VERBS:
            return tokens[index + 1].end()
    return None


def find(text: str, people: re.Pattern[str] | None) -> list[Blame]:
    """Every blame phrase in the text, in order of where it starts."""
    found = [Blame(m.start(), " ".join(m.group(0).split())) for m in _WORDS.finditer(text)]
    if people is not None:
        for m in people.finditer(text):
            end = _verb_after(text, m.end())
            if end is not None:
                found.append(Blame(m.start(), " ".join(text[m.start():end].split())))
    return sorted(found, key=lambda b: b.start)
