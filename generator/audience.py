"""Who may read what: the FIRST TLP 2.0 labels decide which reviews a site or export holds.

Every later stage (pages, search index, exports) works on the view made here, so an
aggregate can only count what is published and a hidden review cannot leak by accident.
"""

from __future__ import annotations

import dataclasses

from generator.index import KnowledgeBase
from generator.model import Review

PUBLIC_LEVELS = frozenset({"TLP:CLEAR", "TLP:GREEN"})
RESTRICTED_LEVELS = frozenset({"TLP:RED"})
RESTRICTED_NOTE = "restricted: ask the incident response manager"


def is_published(review: Review, audience: str) -> bool:
    """Whether the review's content may reach this audience."""
    if audience == "public":
        return review.classification in PUBLIC_LEVELS
    return review.classification not in RESTRICTED_LEVELS


def view(kb: KnowledgeBase, audience: str) -> KnowledgeBase:
    """The KB as this audience may see it.

    internal: every review except TLP:RED ones, whose ids stay listed as restricted.
    public: TLP:CLEAR and TLP:GREEN reviews only; nothing of the others, not even the id.
    References to reviews that are not published are dropped from the published ones,
    except (internally) to restricted ids, which pages show as restricted.
    """
    published = tuple(r for r in kb.reviews if is_published(r, audience))
    restricted = () if audience == "public" else tuple(
        sorted(r.id for r in kb.reviews if r.classification in RESTRICTED_LEVELS))
    visible = {r.id for r in published} | set(restricted)
    trimmed = tuple(
        r if set(r.related) <= visible else dataclasses.replace(r, related=tuple(i for i in r.related if i in visible))
        for r in published
    )
    return dataclasses.replace(kb, reviews=trimmed, restricted=restricted)
