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
_VERBS = re.compile(r"(?i)(?<![\w'’-])(?:" + "|".join(re.escape(v).replace(r"\ ", r"\s+") for v in BLAME_VERBS)
                    + r")(?![\w'’-])")
_TOKEN = re.compile(r"[\w'’-]+")
_WORD_HINTS = ("error", "careless", "neglig")
_VERB_HINTS = ("should", "failed", "forgot", "neglected", "did")
_LOOK_BACK = 2000
"""Characters before a verb searched for a name: five words and a name, however long the words."""


@dataclass(frozen=True)
class Blame:
    """One finding in a text: where it starts and the words that make it blame."""

    start: int
    phrase: str


@dataclass(frozen=True)
class People:
    """The names of a review's people, as the words they are made of."""

    full: tuple[tuple[str, ...], ...]  # each full name's words, case-folded
    parts: frozenset[str]  # one word of a name alone, with its capital letter


def people(names: Iterable[str]) -> People | None:
    """The people of a review (None without any), ready for find()."""
    full: set[tuple[str, ...]] = set()
    parts: set[str] = set()
    for name in names:
        words = _TOKEN.findall(name)
        if not words:
            continue
        full.add(tuple(w.casefold() for w in words))
        if len(words) > 1:
            parts.update(w for w in words if len(w) > 1 and w[0].isupper())
    return People(tuple(sorted(full, key=len, reverse=True)), frozenset(parts)) if full else None


def _named_before(text: str, verb_start: int, who: People) -> int | None:
    """Where a name starts that ends at most WORDS_BEFORE words before verb_start, else None."""
    window_start = max(0, verb_start - _LOOK_BACK)
    tokens = list(_TOKEN.finditer(text, window_start, verb_start))
    longest = max(len(n) for n in who.full)
    tokens = tokens[-(WORDS_BEFORE + longest):]
    words = [t.group(0) for t in tokens]
    folded = [w.casefold() for w in words]
    best: int | None = None
    for end in range(len(words) - 1, max(-1, len(words) - 2 - WORDS_BEFORE), -1):  # the name's last word
        for name in who.full:
            begin = end - len(name) + 1
            if begin >= 0 and tuple(folded[begin:end + 1]) == name:
                best = tokens[begin].start()
                break
        else:
            if words[end] in who.parts:
                best = tokens[end].start()
        if best is not None:
            return best
    return None


def find(text: str, who: People | None) -> list[Blame]:
    """Every blame phrase in the text, in order of where it starts. Linear in the text: the
    verbs are found first (they are rare) and only the words just before each are read."""
    folded = text.lower()  # plain substring tests first: most texts hold none of the words
    found = ([Blame(m.start(), " ".join(m.group(0).split())) for m in _WORDS.finditer(text)]
             if any(hint in folded for hint in _WORD_HINTS) else [])
    if who is not None and any(hint in folded for hint in _VERB_HINTS):
        for verb in _VERBS.finditer(text):
            start = _named_before(text, verb.start(), who)
            if start is not None:
                found.append(Blame(start, " ".join(text[start:verb.end()].split())))
    return sorted(found, key=lambda b: b.start)
