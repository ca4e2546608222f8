"""What the journeys expect, read straight from a knowledge base's YAML files.

The browser tests compare the site with the records themselves, not with the
generator's model, so a bug in the model cannot hide behind the same bug in the
expectations. Only what the journeys need is here: the published reviews (the internal
audience: all but TLP:RED), their lessons and actions, the catalogs' titles.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import yaml

HIDDEN = "TLP:RED"
"""Reviews the internal site shows as a restricted id only."""


@dataclass(frozen=True)
class Facts:
    reviews: tuple[dict, ...]
    """Published reviews, by id."""
    categories: dict[str, dict]
    controls: dict[str, dict]
    """FRAMEWORK/CONTROL -> the control's entry."""


def load(kb_dir: Path) -> Facts:
    """The facts of the KB in kb_dir, as the internal audience sees it."""
    reviews = [yaml.safe_load(path.read_text(encoding="utf-8"))
               for path in sorted((kb_dir / "reviews").glob("*.y*ml"))]
    taxonomy = yaml.safe_load((kb_dir / "taxonomy.yaml").read_text(encoding="utf-8"))
    catalog = yaml.safe_load((kb_dir / "controls.yaml").read_text(encoding="utf-8"))
    return Facts(
        reviews=tuple(sorted((r for r in reviews if r.get("classification") != HIDDEN), key=lambda r: r["id"])),
        categories={c["id"]: c for c in taxonomy["categories"]},
        controls={f"{fw['id']}/{c['id']}": c for fw in catalog["frameworks"] for c in fw["controls"]},
    )


def instant(value: Any) -> dt.datetime:
    """A record timestamp (YAML may have parsed it already, or kept the quoted text)."""
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def day(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def review_day(review: dict) -> dt.date:
    """The day the review was held, in UTC: what the training page's "new since" counts."""
    return instant(review["review"]["held"]).astimezone(dt.timezone.utc).date()


def control_path(ref: str) -> str:
    """The contract's permalink of a control: controls/<framework>/<control>/, slugged."""
    return "controls/" + "/".join(re.sub(r"[^a-z0-9-]", "-", part.lower()) for part in ref.split("/")) + "/"


def is_open(action: dict) -> bool:
    return action["status"] in ("open", "in-progress")


def overdue_actions(facts: Facts, as_of: dt.date) -> set[str]:
    """'<review id> <action id>' of every open action due before as_of."""
    return {f"{r['id']} {a['id']}" for r in facts.reviews for a in r["actions"]
            if is_open(a) and day(a["due"]) < as_of}


def lessons(facts: Facts, *, kind: str | None = None, since: dt.date | None = None) -> set[str]:
    """'<review id> <lesson id>' of the lessons of one kind, or from reviews held on or after since."""
    return {f"{r['id']} {l['id']}" for r in facts.reviews for l in r["lessons"]
            if (kind is None or l["kind"] == kind) and (since is None or review_day(r) >= since)}


def action_counts(facts: Facts) -> Counter:
    return Counter(a["status"] for r in facts.reviews for a in r["actions"])


def _words(text: str) -> list[str]:
    """The words of a text as typed: runs of letters, lower-cased."""
    return re.findall(r"[a-z]+", text.lower())


def distinctive_phrase(facts: Facts, length: int = 3) -> tuple[dict, dict, str]:
    """(review, lesson, phrase): the lesson phrase an engineer would remember of one review.

    A run of `length` consecutive words of a lesson, each of at least four letters, whose
    rarest-first word is used by the fewest reviews: the words that make a review findable
    rather than ones every review shares ("must", "every").
    """
    reviews_using: Counter = Counter()
    for review in facts.reviews:
        reviews_using.update(set(_words(yaml.safe_dump(review))))
    best: tuple[int, str, str, str] | None = None
    for review in facts.reviews:
        for lesson in review["lessons"]:
            tokens = lesson["text"].split()
            for start in range(len(tokens) - length + 1):
                # Words as written, only the last may end a clause: the phrase stands verbatim in the text.
                window = tokens[start:start + length - 1] + [tokens[start + length - 1].rstrip(".,;:)\"'")]
                if all(w.isalpha() and w.isascii() and len(w) >= 4 for w in window):
                    score = max(reviews_using[w.lower()] for w in window)
                    candidate = (score, review["id"], lesson["id"], " ".join(window))
                    best = candidate if best is None or candidate < best else best
    assert best is not None, "no lesson has three words of four letters or more to search for"
    review = next(r for r in facts.reviews if r["id"] == best[1])
    return review, next(l for l in review["lessons"] if l["id"] == best[2]), best[3]


def control_trail(facts: Facts) -> tuple[dict, str, set[str]]:
    """(review, control ref, ids of the other reviews citing it): a review whose control others cite too."""
    for review in facts.reviews:
        for ref in review.get("controls") or ():
            others = {r["id"] for r in facts.reviews if r is not review and ref in (r.get("controls") or ())}
            if others:
                return review, ref, others
    raise AssertionError("no two published reviews cite the same control: the journey has nowhere to go")


def citing(facts: Facts, ref: str) -> set[str]:
    """Ids of the published reviews citing a control or any control it replaces (through
    every older edition): the reviews its page lists, as evidence or pending."""
    refs, todo = {ref}, [ref]
    while todo:
        newer = todo.pop()
        for older, control in facts.controls.items():
            targets = control.get("replaced_by") or []
            if newer in ([targets] if isinstance(targets, str) else targets) and older not in refs:
                refs.add(older)
                todo.append(older)
    return {r["id"] for r in facts.reviews if refs & set(r.get("controls") or ())}


def fault_tree_review(facts: Facts) -> dict:
    found = [r for r in facts.reviews if r["root_cause"]["method"] == "fault-tree"]
    assert found, "the KB has no published fault-tree review"
    return found[0]


def tree_nodes(node: dict, depth: int = 1) -> Iterator[tuple[int, dict]]:
    """(depth, node) of a fault tree, parents before children, in document order."""
    yield depth, node
    for child in node.get("children") or ():
        yield from tree_nodes(child, depth + 1)
