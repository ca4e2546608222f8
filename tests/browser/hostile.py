"""A knowledge base in which every string field of every kind carries payloads.

Each payload, if it ever became markup, would open a dialog (alert) or leave an on*
attribute, a javascript:/data: URL or a <script> on the page. Free-text fields get every
structural trick Markdown has (reference links with the URL on the next line, indented
definitions in lists, code spans across blank lines, unclosed fences, fences after a label
or inside list items, the marker lines of the pages' HTML blocks); one-line fields get the
inline ones. Ids get what their patterns allow (quotes, angle brackets without spaces).
"""

from __future__ import annotations

import copy
import itertools
from pathlib import Path

import yaml

from conftest import CONTROLS, TAXONOMY, valid_review

INLINE = [
    "<script>alert('i1')</script>",
    "<img src=x onerror=alert('i2')>",
    "</title><svg onload=alert('i3')>",
    "[x](javascript:alert('i4'))",
    "<javascript:alert('i5')>",
    "&lt;script&gt;alert('i6')&lt;/script&gt;",
    "[y](&#106;avascript:alert('i7'))",
    "{: onclick=alert('i8')}",
    "{{ 7*7 }} {% if x %}",
    "<a href=javascript:alert('i9')>a</a>",
    "&#60;img src=x onerror=alert('i10')&#62;",
    "\" onmouseover=alert('i11') x=\"",
    "[z](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<https://ok.example/?q=<svg/onload=alert('i12')>>",
    "*em* _u_ `code <b onclick=alert('i13')>` | pipe | # not a heading",
    # The lines that open and close a page's HTML block (generator/mdx.py): shown as text, never obeyed.
    "<!-- /kb:html --><svg onload=alert('i14')><!-- kb:html -->",
]
BLOCKS = [
    "[r]:\n  javascript:alert('b1')\n\n[click][r]",
    "- item\n\n  [q]: javascript:alert('b2')\n\n  [q] here",
    "a `code\n\nspan` <img src=x onerror=alert('b3')>",
    "Label: ```\n<svg onload=alert('b4')>\n```",
    "- list\n\n  ```\n  <img src=x onerror=alert('b5')>\n  ```",
    "![i](javascript:alert('b6')) ![j](x.png)",
    "---\ntitle: hacked\n---",
    "# Heading?\n\nSetext\n===",
    "<details open ontoggle=alert('b7')>x</details>",
    "> quote <iframe src=javascript:alert('b8')>",
    "1. one\n2. <script>alert('b9')</script>",
    "<!-- /kb:html -->\n<img src=x onerror=alert('b11')>\n<!-- kb:html -->",
    "<!-- kb:html -->\n\n<script>alert('b12')</script>\n\n<!-- /kb:html -->",
    "```\n<script>alert('b10')</script>",  # a fence never closed: last on purpose
]
ALL_INLINE = " ".join(INLINE)
cycle = itertools.cycle(INLINE)


def line(prefix: str) -> str:
    """A one-line value of at most 200 characters, with the next payloads."""
    text = prefix
    while True:
        nxt = next(cycle)
        if len(text) + 1 + len(nxt) > 200:
            return text
        text += " " + nxt


def free(prefix: str) -> str:
    return prefix + " " + ALL_INLINE + "\n\n" + "\n\n".join(BLOCKS) + "\n"


def review(review_id: str, method: str, classification: str) -> dict:
    r = valid_review(review_id)
    r["classification"] = classification
    r["title"] = line("Hostile")
    r["summary"] = free("Summary")
    r["incident"]["services"] = [line("svc"), line("svc2")]
    r["incident"]["attack_vector"] = line("vector")
    r["review"]["facilitator"] = line("Facilitator")
    r["review"]["participants"] = [{"name": line("Name"), "role": line("Role")}]
    r["impact"]["description"] = free("Impact")
    for entry in r["timeline"]:
        entry["event"] = free("Event")
    r["went_well"] = [free("Well"), line("Well2")]
    r["to_improve"] = [free("Improve")]
    r["root_cause"]["summary"] = free("Root")
    r["root_cause"]["method"] = method
    r["root_cause"].pop("five_whys", None)
    if method == "five-whys":
        r["root_cause"]["five_whys"] = [free("Why1"), line("Why2"), free("Why3")]
    elif method == "fishbone":
        r["root_cause"]["fishbone"] = {"people": [free("Cause")], "process": [line("Cause2")]}
    else:
        r["root_cause"]["fault_tree"] = {"event": line("Top"), "gate": "or", "children": [
            {"event": line("Leaf")}, {"event": line("Leaf2"), "gate": "and", "children": [{"event": line("Leaf3")}]}]}
    r["lessons"] = [{"id": "L1", "text": free("Lesson"), "kind": "process", "tags": [line("tag"), "<b>t</b>"]},
                    {"id": "L2", "text": line("Lesson2"), "kind": "tool"}]
    for action in r["actions"]:
        action["title"] = line("Action")
        action["owner"] = line("Owner")
        action["success_criteria"] = free("Criteria")
        for p in action.get("progress", []):
            p["note"] = free("Progress")
        if "effectiveness" in action:
            action["effectiveness"]["note"] = free("Effect")
    r["actions"][0]["status"] = "open"
    r["actions"][0]["due"] = "2025-03-01"  # overdue: on the home page and the tracker too
    r["security_improvements"] = [{"description": free("Improvement"), "type": "emergency-patch", "status": "done"}]
    r["approval"]["approver"] = line("Approver")
    r["controls"] = ["ISO27001-2022/A.5.27", "F'onclick='alert(1)/x\"onmouseover=\"alert('c1')"]
    return r


def write(root: Path) -> Path:
    """Write the hostile KB at root/kb: three reviews (one per analysis method), all TLP:CLEAR,
    so both audiences publish them; catalogs with hostile titles and descriptions."""
    kb = root / "kb"
    (kb / "reviews").mkdir(parents=True)
    taxonomy = copy.deepcopy(TAXONOMY)
    for category in taxonomy["categories"]:
        category["title"] = line("Category")
        category["description"] = free("Description")
    controls = copy.deepcopy(CONTROLS)
    for framework in controls["frameworks"]:
        framework["title"] = line("Framework")
        for control in framework["controls"]:
            control["title"] = line("Control")
    controls["frameworks"].append({"id": "F'onclick='alert(1)", "title": line("Framework2"), "controls": [
        {"id": "x\"onmouseover=\"alert('c1')", "title": line("Control2")}]})
    reviews = [review("INC-2025-001", "five-whys", "TLP:CLEAR"), review("INC-2025-002", "fishbone", "TLP:GREEN"),
               review("INC-2025-003", "fault-tree", "TLP:CLEAR")]
    reviews[1]["related"] = ["INC-2025-001"]
    reviews[2]["summary"] += "\nSee INC-2025-001 and `INC-2025-002`.\n"
    dump = lambda data: yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10_000)  # noqa: E731
    (kb / "taxonomy.yaml").write_text(dump(taxonomy), encoding="utf-8")
    (kb / "controls.yaml").write_text(dump(controls), encoding="utf-8")
    for r in reviews:
        (kb / "reviews" / f"{r['id']}.yaml").write_text(dump(r), encoding="utf-8")
    return kb
