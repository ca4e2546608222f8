"""The render cache is right by construction: a page's key changes whenever its text would.

Every leaf of a review record is edited in turn (and catalog entries, and the set of
reviews); after each edit every page is rendered afresh and keyed again. A page whose
text changed must have a new key (else `kb serve` would show it stale), and the edit of
one review must not re-key the pages that do not show it (else the cache would be pointless).
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any, Iterator

import pytest

from conftest import CONTROLS, TAXONOMY, make_kb, to_yaml, valid_review
from generator import audience, pages
from generator.fingerprint import Fingerprints, templates_digest
from generator.index import validate
from generator.render import TEMPLATES, Renderer
from generator.settings import Settings
from generator.site import PAGE_HELPERS

AS_OF = dt.date(2025, 6, 1)
EDITED = "INC-2025-002"
UNRELATED = {f"incidents/INC-2025-{n:03d}/index.md" for n in range(10, 16)} | {"controls/iso27001-2022/a-5-26/index.md"}
"""Pages that show nothing of the edited review: its edits must leave their keys alone."""


def records() -> dict[str, dict]:
    one = valid_review("INC-2025-001", title="First review", related=["INC-2025-002"])
    two = valid_review("INC-2025-002", title="Second review", related=[])
    two["summary"] = "Came back after INC-2025-001 and before INC-2025-009 was written."
    two["root_cause"]["categories"] = ["configuration-change", "credential-compromise"]
    two["lessons"].append({"id": "L2", "text": "Tag every edge profile.", "kind": "tool", "tags": ["cdn"]})
    three = valid_review("INC-2025-003", title="Third review", related=[])
    three["root_cause"]["categories"] = ["credential-compromise"]
    others = {}
    for n in range(10, 16):  # reviews that have nothing to do with the edited one
        other = valid_review(f"INC-2025-{n:03d}", title=f"Unrelated review {n}", related=[])
        other["root_cause"]["categories"] = ["credential-compromise"]
        other["controls"] = ["ISO27001-2022/A.5.26"]
        others[other["id"]] = other
    return {"INC-2025-001": one, "INC-2025-002": two, "INC-2025-003": three, **others}


def site(kb: Path) -> dict[str, tuple[str, str]] | None:
    """Every page's (key, freshly rendered text); None when the KB has errors."""
    result = validate(kb, as_of=AS_OF)
    if result.errors:
        return None
    view = audience.view(result.value, "internal")
    planned, problems = pages.plan(view, Settings(kb_dir=kb, as_of=AS_OF))
    assert problems == []
    reviews = {**{r: "published" for r in view.by_id}, **{r: "restricted" for r in view.restricted}}
    keys = Fingerprints(templates=templates_digest([TEMPLATES]), reviews=reviews)
    renderer = RENDERER
    renderer.reviews = reviews
    return {p.doc: (keys.page(p.template, p.doc, p.context), renderer.render(p.template, p.context, here=p.doc))
            for p in planned}


RENDERER = Renderer(globals_=PAGE_HELPERS)  # templates compiled once


def leaves(value: Any, path: tuple = ()) -> Iterator[tuple]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, path + (index,))
    else:
        yield path


def edited(value: Any) -> Any:
    """A different value of the same kind that usually stays valid."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str) and value[:4].isdigit() and "-" in value:  # a date or a timestamp
        return value.replace(value[:4], str(int(value[:4]) + 1), 1) if "T" not in value else value.replace(":00", ":01", 1)
    if isinstance(value, str):
        return value + " edited INC-2025-003"
    return value


def assign(data: Any, path: tuple, value: Any) -> None:
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


def lookup(data: Any, path: tuple) -> Any:
    for key in path:
        data = data[key]
    return data


Site = dict[str, tuple[str, str]]


def compare(before: Site, after: Site, what: str) -> set[str]:
    """The pages re-keyed by an edit; fails on any page whose text changed under the same key."""
    stale = [doc for doc in before.keys() & after.keys()
             if before[doc][0] == after[doc][0] and before[doc][1] != after[doc][1]]
    assert stale == [], f"after editing {what}, these pages kept their key but not their text: {stale}"
    return {doc for doc in before.keys() & after.keys() if before[doc][0] != after[doc][0]}


def test_every_edit_of_a_review_changes_the_key_of_every_page_that_shows_it(tmp_path: Path) -> None:
    data = records()
    kb = make_kb(tmp_path, data)
    before = site(kb)
    assert before is not None
    tried = 0
    for path in leaves(data[EDITED]):
        if path[:1] == ("id",):
            continue
        changed = copy.deepcopy(data[EDITED])
        assign(changed, path, edited(lookup(changed, path)))
        (kb / "reviews" / f"{EDITED}.yaml").write_text(to_yaml(changed), encoding="utf-8")
        after = site(kb)
        if after is None:  # an edit that breaks the record is another test's business
            continue
        tried += 1
        rekeyed = compare(before, after, ".".join(map(str, path)))
        assert not rekeyed & UNRELATED, f"editing {path} re-keyed pages that do not show the review: {rekeyed & UNRELATED}"
    (kb / "reviews" / f"{EDITED}.yaml").write_text(to_yaml(data[EDITED]), encoding="utf-8")
    assert tried >= 40, f"only {tried} edits kept the record valid: the test would prove little"


@pytest.mark.parametrize("what", ["category title", "control title", "new review", "removed review", "red review"])
def test_catalog_edits_and_the_set_of_reviews_re_key_what_they_change(tmp_path: Path, what: str) -> None:
    data = records()
    kb = make_kb(tmp_path, data)
    before = site(kb)
    assert before is not None
    if what == "category title":
        taxonomy = copy.deepcopy(TAXONOMY)
        taxonomy["categories"][0]["title"] = "A renamed category"
        (kb / "taxonomy.yaml").write_text(to_yaml(taxonomy), encoding="utf-8")
    elif what == "control title":
        controls = copy.deepcopy(CONTROLS)
        controls["frameworks"][0]["controls"][1]["title"] = "A renamed control"
        (kb / "controls.yaml").write_text(to_yaml(controls), encoding="utf-8")
    elif what == "new review":  # INC-2025-009 is mentioned in a summary: that mention becomes a link
        (kb / "reviews" / "INC-2025-009.yaml").write_text(to_yaml(valid_review("INC-2025-009")), encoding="utf-8")
    elif what == "removed review":
        (kb / "reviews" / "INC-2025-003.yaml").unlink()
    else:
        changed = copy.deepcopy(data["INC-2025-003"])
        changed["classification"] = "TLP:RED"
        (kb / "reviews" / "INC-2025-003.yaml").write_text(to_yaml(changed), encoding="utf-8")
    after = site(kb)
    assert after is not None
    compare(before, after, what)
