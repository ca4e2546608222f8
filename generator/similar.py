"""Similar reviews: "this looks like that earlier incident", on each review page and in `kb similar`.

Computed on the audience's view of the KB (audience.view), so a hidden review is never
named. Deterministic and in pure Python (no FTS5 needed: a review's text is compared with
all others at once, which an inverted index does directly):

- Text: each review's lessons (and their tags), root cause (summary and whys), title and
  attack vector are words (lower case, 3+ characters, common English
  words dropped, a plural "s" folded). Each word is weighted tf-idf; a review keeps its
  TOP_TERMS heaviest words, normalised, and the text similarity of two reviews is the dot
  product of those vectors (a cosine over the words that matter most).
- Facets: each shared root-cause category, control and service adds a fixed amount.
- Cost: candidates come from an inverted index of the kept words and of the facets; a word
  or facet shared by more than COMMON_CAP reviews is too common to say anything and is not
  followed (it still counts for the candidates found otherwise). So the work per review is
  bounded by TOP_TERMS * COMMON_CAP, never by the size of the KB: linear, not quadratic.
- A review is listed when its score reaches MIN_SCORE; the best LIMIT are kept, ties by
  newer review, then id. A review never lists itself.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Iterable

from generator.index import KnowledgeBase
from generator.model import Review
from generator.urls import review_url

LIMIT = 5
TOP_TERMS = 40
COMMON_CAP = 200
MIN_SCORE = 0.12
WEIGHTS = {"category": 0.15, "control": 0.05, "service": 0.1}
_WORD = re.compile(r"[a-z][a-z0-9]{2,}")
_STOP = frozenset("""
a about after again all also an and any are as at be been before being both but by can could did do does
done each for from had has have how if in into is it its may more most must need needs no not now of on
once only or other our out over should so some such than that the their them then there these they this
those through to too under until up use used was we were what when where which while who why will with
without would you your new one two via per yet
""".split())


@dataclass(frozen=True)
class Similar:
    """One similar review and why: the shared facets and the words that weighed most."""

    id: str
    title: str
    score: float
    categories: tuple[str, ...]
    controls: tuple[str, ...]
    services: tuple[str, ...]
    words: tuple[str, ...]

    @property
    def url(self) -> str:
        return review_url(self.id)

    @property
    def reason(self) -> str:
        """Why it is listed, in words (shared categories, controls, services, common words)."""
        parts = []
        for label, items in (("categories", self.categories), ("controls", self.controls),
                             ("services", self.services), ("words", self.words)):
            if items:
                parts.append(f"shared {label}: {', '.join(items)}")
        return "; ".join(parts)


def _fold(word: str) -> str | None:
    if word in _STOP:
        return None
    if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def word_counts(text: str) -> Counter[str]:
    """The words of a text as compared here (lower case, 3+ letters and digits starting with a letter,
    no stop words, plural s folded), counted. Counted first, folded per distinct word: fast."""
    counts: Counter[str] = Counter()
    for word, n in Counter(_WORD.findall(text.lower())).items():
        folded = _fold(word)
        if folded:
            counts[folded] += n
    return counts


def review_text(review: Review) -> Iterable[str]:
    """The parts of a review compared: title, root cause, lessons, attack vector. (Fishbone
    causes and fault-tree events are left out: long, and mostly restating the summary.)"""
    rc = review.root_cause
    yield review.title
    yield rc.summary
    yield from rc.five_whys
    for lesson in review.lessons:
        yield lesson.text
        yield " ".join(lesson.tags)
    if review.attack_vector:
        yield review.attack_vector


@dataclass(frozen=True)
class _Profile:
    review: Review
    vector: dict[str, float]  # kept words -> normalised weight
    facets: frozenset[tuple[str, str]]  # (kind, value)


def _profiles(reviews: tuple[Review, ...]) -> list[_Profile]:
    counts = [word_counts("\n".join(review_text(r))) for r in reviews]
    df: Counter[str] = Counter()
    for count in counts:
        df.update(count.keys())
    total = len(reviews)
    idf = {w: math.log((1 + total) / n) for w, n in df.items()}
    tf = [1 + math.log(n) for n in range(1, 64)]  # the usual counts, looked up rather than computed
    profiles = []
    for review, count in zip(reviews, counts):
        weights = {w: (tf[n - 1] if n < 64 else 1 + math.log(n)) * idf[w] for w, n in count.items()}
        kept = sorted(weights.items(), key=lambda item: (-item[1], item[0]))[:TOP_TERMS]
        norm = math.sqrt(sum(v * v for _, v in kept)) or 1.0
        facets = frozenset([("category", c) for c in review.root_cause.categories]
                           + [("control", c) for c in review.controls] + [("service", s) for s in review.services])
        profiles.append(_Profile(review, {w: v / norm for w, v in kept if v > 0}, facets))
    return profiles


def compute(kb: KnowledgeBase, *, limit: int = LIMIT) -> dict[str, tuple[Similar, ...]]:
    """The most similar reviews of every review of this (audience-filtered) KB view, by id."""
    reviews = tuple(sorted(kb.reviews, key=lambda r: r.id))
    profiles = _profiles(reviews)
    by_word: dict[str, list[int]] = defaultdict(list)
    by_facet: dict[tuple[str, str], list[int]] = defaultdict(list)
    for number, profile in enumerate(profiles):
        for word in profile.vector:
            by_word[word].append(number)
        for facet in profile.facets:
            by_facet[facet].append(number)
    result = {}
    cap = COMMON_CAP
    for number, profile in enumerate(profiles):
        text: dict[int, float] = defaultdict(float)
        for word, weight in profile.vector.items():
            holders = by_word[word]
            if len(holders) <= cap:
                for other in holders:
                    text[other] += weight * profiles[other].vector[word]
        candidates = set(text)
        for facet in profile.facets:
            if len(by_facet[facet]) <= cap:
                candidates.update(by_facet[facet])
        candidates.discard(number)
        # Scores first, the Similar (with its reasons) only for the few kept: most candidates
        # pass MIN_SCORE on one shared facet, and building every one's reasons was most of the time.
        ranked = []
        for other in candidates:
            score = _score(profile, profiles[other])[0]
            if score >= MIN_SCORE:
                review = profiles[other].review
                ranked.append((-score, -review.held.timestamp(), review.id, other))
        ranked.sort()
        result[profile.review.id] = tuple(_similar(profile, profiles[other], 0.0) for *_, other in ranked[:limit])
    return result


def _score(one: _Profile, other: _Profile) -> tuple[float, frozenset[tuple[str, str]], list[tuple[float, str]]]:
    """The pair's score (rounded as shown), shared facets and shared words with their products."""
    shared = one.facets & other.facets
    # Text similarity computed in full for the pair (the candidate search may have skipped common words).
    common = [(one.vector[w] * other.vector[w], w) for w in one.vector.keys() & other.vector.keys()]
    text = sum(v for v, _ in common)
    return round(text + sum(WEIGHTS[kind] for kind, _ in shared), 4), shared, common


def _similar(one: _Profile, other: _Profile, text: float) -> Similar:
    score, shared, common = _score(one, other)

    def of(kind: str) -> tuple[str, ...]:
        return tuple(sorted(value for k, value in shared if k == kind))

    top = tuple(w for _, w in sorted(common, key=lambda item: (-item[0], item[1]))[:5])
    return Similar(other.review.id, other.review.title, score, of("category"), of("control"),
                   of("service"), top)


def for_text(kb: KnowledgeBase, text: str, *, limit: int = LIMIT) -> tuple[Similar, ...]:
    """The reviews most similar to some words (kb new --similar): text similarity only."""
    reviews = tuple(sorted(kb.reviews, key=lambda r: r.id))
    profiles = _profiles(reviews)
    df: Counter[str] = Counter()
    for profile in profiles:
        df.update(profile.vector.keys())
    query = word_counts(text)
    weights = {w: (1 + math.log(n)) * math.log((1 + len(reviews)) / (df[w] or 1)) for w, n in query.items()}
    norm = math.sqrt(sum(v * v for v in weights.values())) or 1.0
    probe = _Profile(reviews[0] if reviews else None, {w: v / norm for w, v in weights.items() if v > 0},  # type: ignore[arg-type]
                     frozenset())
    found = [_similar(probe, p, 0.0) for p in profiles if probe.vector.keys() & p.vector.keys()]
    found = [s for s in found if s.score > 0]
    held = {p.review.id: p.review.held for p in profiles}
    found.sort(key=lambda s: (-s.score, -held[s.id].timestamp(), s.id))
    return tuple(found[:limit])


def as_rows(found: Iterable[Similar]) -> list[dict]:
    """The JSON form: {review, title, score, url, categories, controls, services, words}."""
    return [{"review": s.id, "title": s.title, "score": s.score, "url": s.url, "categories": list(s.categories),
             "controls": list(s.controls), "services": list(s.services), "words": list(s.words)} for s in found]


def as_text(found: Iterable[Similar]) -> str:
    """For people: the id and title, then why, then the page's URL (made safe for a terminal)."""
    from generator.show import printable

    lines = []
    for s in found:
        lines += [printable(f"{s.id}  {' '.join(s.title.split())}  (score {s.score})"),
                  printable(f"  {s.reason}"), f"  {s.url}"]
    return "\n".join(lines) + ("\n" if lines else "")
