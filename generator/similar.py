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
  Each pair is scored once (the score is symmetric) from the postings, and each review
  keeps only its LIMIT best in a small heap; the sums run in a fixed order (fsum where a
  set's order would decide), so two builds rank alike whatever Python's hash seed.
- A review is listed when its score reaches MIN_SCORE; the best LIMIT are kept, ties by
  newer review, then id. A review never lists itself.
"""

from __future__ import annotations

import hashlib
import heapq
import marshal
from bisect import bisect_right
from operator import mul
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Iterable, NamedTuple

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


class Source(NamedTuple):
    """All that ranking reads of one review: compute works from these alone, so their digest
    (digest) says whether an earlier ranking still holds."""

    id: str
    title: str
    held: float  # timestamp: ties go to the newer review
    text: str  # review_text, joined
    categories: tuple[str, ...]
    controls: tuple[str, ...]
    services: tuple[str, ...]


def sources(kb: KnowledgeBase) -> tuple[Source, ...]:
    """What ranking reads of each review of this (audience-filtered) view, in id order."""
    return tuple(Source(r.id, r.title, r.held.timestamp(), "\n".join(review_text(r)), tuple(r.root_cause.categories),
                        tuple(r.controls), tuple(r.services)) for r in sorted(kb.reviews, key=lambda r: r.id))


def digest(found: tuple[Source, ...], *, limit: int = LIMIT) -> str:
    """A digest of everything rank reads: equal digests, equal rankings."""
    return hashlib.sha256(marshal.dumps((limit, tuple(tuple(s) for s in found)))).hexdigest()


@dataclass(frozen=True)
class _Profile:
    source: Source
    vector: dict[str, float]  # kept words -> normalised weight
    facets: frozenset[tuple[str, str]]  # (kind, value)


def _profiles(found: tuple[Source, ...]) -> list[_Profile]:
    counts = [word_counts(s.text) for s in found]
    df: Counter[str] = Counter()
    for count in counts:
        df.update(count.keys())
    total = len(found)
    idf = {w: math.log((1 + total) / n) for w, n in df.items()}
    tf = [1 + math.log(n) for n in range(1, 64)]  # the usual counts, looked up rather than computed
    profiles = []
    for source, count in zip(found, counts):
        weights = {w: (tf[n - 1] if n < 64 else 1 + math.log(n)) * idf[w] for w, n in count.items()}
        kept = sorted(weights.items(), key=lambda item: (-item[1], item[0]))[:TOP_TERMS]
        norm = math.sqrt(sum(v * v for _, v in kept)) or 1.0
        facets = frozenset([("category", c) for c in source.categories]
                           + [("control", c) for c in source.controls] + [("service", s) for s in source.services])
        profiles.append(_Profile(source, {w: v / norm for w, v in kept if v > 0}, facets))
    return profiles


def compute(kb: KnowledgeBase, *, limit: int = LIMIT) -> dict[str, tuple[Similar, ...]]:
    """The most similar reviews of every review of this (audience-filtered) KB view, by id."""
    return rank(sources(kb), limit=limit)


def rank(found: tuple[Source, ...], *, limit: int = LIMIT) -> dict[str, tuple[Similar, ...]]:
    """The most similar reviews of every review, from what sources() read of them."""
    profiles = _profiles(found)
    by_word: dict[str, list[int]] = defaultdict(list)
    by_facet: dict[tuple[str, str], list[int]] = defaultdict(list)
    for number, profile in enumerate(profiles):
        for word in profile.vector:
            by_word[word].append(number)
        for facet in profile.facets:
            by_facet[facet].append(number)
    if limit <= 0:
        return {source.id: () for source in found}
    vectors = [profile.vector for profile in profiles]
    facets = [profile.facets for profile in profiles]
    # Ties go to the newer review, then the smaller id: one number per review says how it ranks.
    order = sorted(range(len(profiles)), key=lambda n: (-profiles[n].source.held, profiles[n].source.id))
    tie = [0] * len(profiles)
    for rank, number in enumerate(order):
        tie[number] = rank
    best: list[list[tuple[float, int, int]]] = [[] for _ in profiles]  # the `limit` best so far, worst first
    cap = COMMON_CAP
    for number, profile in enumerate(profiles):
        # A pair is scored once, from its first review (the lower number), and counts for
        # both: the score is symmetric. It is summed word by word and facet by facet in one
        # fixed order, never in hash order, so a warm build ranks exactly as a cold one.
        text: dict[int, float] = defaultdict(float)
        common_words = {}
        for word, weight in profile.vector.items():
            holders = by_word[word]
            if len(holders) <= cap:
                for other in holders[bisect_right(holders, number):]:  # holders are in order
                    text[other] += weight * vectors[other][word]
            else:
                common_words[word] = weight
        shared: dict[int, float] = defaultdict(float)
        common_facets = []
        for facet in sorted(profile.facets):
            holders = by_facet[facet]
            if len(holders) <= cap:
                weight = WEIGHTS[facet[0]]
                for other in holders[bisect_right(holders, number):]:
                    shared[other] += weight
            else:
                common_facets.append(facet)
        mine = best[number]
        for other in text.keys() | shared.keys():
            # A common word or facet was not followed, but counts for a review found otherwise.
            words = text.get(other, 0.0)
            if common_words:
                vector = vectors[other]
                both = common_words.keys() & vector.keys()
                # fsum is exact, so the set's (hash) order cannot change the sum.
                words += math.fsum(map(mul, map(common_words.__getitem__, both), map(vector.__getitem__, both)))
            fixed = shared.get(other, 0.0)
            for facet in common_facets:
                if facet in facets[other]:
                    fixed += WEIGHTS[facet[0]]
            score = round(words + fixed, 4)
            if score >= MIN_SCORE:
                entry = (score, -tie[other], other)
                if len(mine) < limit or entry > mine[0]:  # most pairs are no better than what is kept
                    _keep(mine, entry, limit)
                theirs = best[other]
                entry = (score, -tie[number], number)
                if len(theirs) < limit or entry > theirs[0]:
                    _keep(theirs, entry, limit)
    result = {}
    for number, profile in enumerate(profiles):
        kept = sorted(best[number], reverse=True)  # best first: higher score, then the better tie
        result[profile.source.id] = tuple(_similar(profile, profiles[other], score) for score, _, other in kept)
    return result


def _keep(heap: list[tuple[float, int, int]], entry: tuple[float, int, int], limit: int) -> None:
    """Keep the `limit` best entries (score, -tie rank, review number) in a heap, worst on top."""
    if limit <= 0:
        return
    if len(heap) < limit:
        heapq.heappush(heap, entry)
    elif entry > heap[0]:
        heapq.heapreplace(heap, entry)


def _score(one: _Profile, other: _Profile) -> tuple[float, frozenset[tuple[str, str]], list[tuple[float, str]]]:
    """The pair's score (rounded as shown), shared facets and shared words with their products.

    Summed in compute's order (the first review's words by weight, then its facets sorted)."""
    shared = one.facets & other.facets
    common = [(weight * other.vector[w], w) for w, weight in one.vector.items() if w in other.vector]
    text = 0.0
    for value, _ in common:
        text += value
    fixed = 0.0
    for kind, _ in sorted(shared):
        fixed += WEIGHTS[kind]
    return round(text + fixed, 4), shared, common


def _similar(one: _Profile, other: _Profile, score: float | None = None) -> Similar:
    """The Similar for a pair, with its reasons; `score` as compute ranked it, when it did."""
    found, shared, common = _score(one, other)
    score = found if score is None else score

    def of(kind: str) -> tuple[str, ...]:
        return tuple(sorted(value for k, value in shared if k == kind))

    top = tuple(w for _, w in sorted(common, key=lambda item: (-item[0], item[1]))[:5])
    return Similar(other.source.id, other.source.title, score, of("category"), of("control"),
                   of("service"), top)


def for_text(kb: KnowledgeBase, text: str, *, limit: int = LIMIT) -> tuple[Similar, ...]:
    """The reviews most similar to some words (kb new --similar): text similarity only."""
    every = sources(kb)
    profiles = _profiles(every)
    df: Counter[str] = Counter()
    for profile in profiles:
        df.update(profile.vector.keys())
    query = word_counts(text)
    weights = {w: (1 + math.log(n)) * math.log((1 + len(every)) / (df[w] or 1)) for w, n in query.items()}
    norm = math.sqrt(sum(v * v for v in weights.values())) or 1.0
    probe = _Profile(Source("", "", 0.0, text, (), (), ()), {w: v / norm for w, v in weights.items() if v > 0},
                     frozenset())
    found = [_similar(probe, p) for p in profiles if probe.vector.keys() & p.vector.keys()]
    found = [s for s in found if s.score > 0]
    held = {p.source.id: p.source.held for p in profiles}
    found.sort(key=lambda s: (-s.score, -held[s.id], s.id))
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
