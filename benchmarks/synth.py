"""Write a seeded synthetic knowledge base of N reviews, for benchmarks.

    python benchmarks/synth.py 1000 /tmp/kb-1000 [--seed 0]

The records look like the ones a security team writes: about 6.5 KB each, twelve
timeline entries, the root cause by every method (five whys, fishbone, fault tree),
four lessons, five actions, every severity, status and TLP label, several categories
and controls (some superseded), and links between reviews. The same seed and size
always give the same files, and the result passes `kb validate` without errors (a few
warnings are left in on purpose: overdue actions, superseded controls, late reviews,
as a real KB has them).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import shutil
from pathlib import Path

AS_OF = dt.date(2026, 1, 15)
"""The day benchmarks judge "overdue" on (pass it as --as-of)."""

FIRST_YEAR = 2016

CATEGORIES = [
    ("configuration-change", "Unsafe configuration change"),
    ("credential-compromise", "Compromised or reused credentials"),
    ("missing-input-validation", "Missing or incomplete input validation"),
    ("third-party-dependency", "Third-party or supply-chain dependency"),
    ("insufficient-monitoring", "Insufficient monitoring and alerting"),
    ("access-control-gap", "Access control gap"),
    ("unpatched-software", "Unpatched software"),
    ("secrets-exposure", "Secrets exposed in code or logs"),
    ("social-engineering", "Social engineering"),
    ("insider-error", "Human error by an insider"),
    ("capacity-exhaustion", "Capacity exhaustion used by an attacker"),
    ("weak-cryptography", "Weak or misused cryptography"),
]

FRAMEWORKS = [
    ("ISO27001-2022", "ISO/IEC 27001:2022 Annex A",
     [("A.5.24", "Incident management planning"), ("A.5.25", "Assessment of security events"),
      ("A.5.26", "Response to incidents"), ("A.5.27", "Learning from incidents"),
      ("A.5.28", "Collection of evidence"), ("A.8.8", "Management of technical vulnerabilities"),
      ("A.8.9", "Configuration management"), ("A.8.16", "Monitoring activities"),
      ("A.5.15", "Access control"), ("A.8.24", "Use of cryptography")]),
    ("ISO27001-2013", "ISO/IEC 27001:2013 Annex A",
     [("A.16.1.5", "Response to incidents", "ISO27001-2022/A.5.26"),
      ("A.16.1.6", "Learning from incidents", "ISO27001-2022/A.5.27"),
      ("A.16.1.7", "Collection of evidence", "ISO27001-2022/A.5.28")]),
    ("NIST-CSF-1.1", "NIST Cybersecurity Framework 1.1",
     [("RS.IM-1", "Response plans incorporate lessons learned"), ("RS.IM-2", "Response strategies are updated"),
      ("DE.CM-1", "The network is monitored"), ("PR.AC-1", "Identities and credentials are managed"),
      ("PR.IP-12", "A vulnerability management plan is implemented")]),
    ("SOC2", "SOC 2 Trust Services Criteria",
     [("CC7.3", "Security events are evaluated"), ("CC7.4", "Incidents are responded to"),
      ("CC7.5", "Recovery from incidents"), ("CC6.1", "Logical access security")]),
]

SERVICES = ["cdn-edge", "playback-api", "token-service", "auth-service", "billing", "search", "recommendations",
            "upload-pipeline", "transcoder", "admin-console", "mobile-api", "partner-gateway", "data-lake",
            "ci-runners", "dns", "email-relay", "support-portal", "license-server"]
PEOPLE = ["Dana Ortiz", "Priya Nair", "Lee Park", "Tomas Ferreira", "Marco Bianchi", "Jonas Weber", "Sam Reyes",
          "Hannah Schultz", "Aiko Tanaka", "Ravi Menon", "Chloe Martin", "Omar Haddad", "Eva Novak", "Luis Romero"]
ROLES = ["Incident Response Manager", "Documentation Lead", "Root Cause Analyst", "Technical Teams", "CISO"]
TEAMS = ["Platform SRE", "CDN Engineering", "Identity", "Payments", "Security Engineering", "Data Platform",
         "Mobile", "Developer Productivity", "Knowledge Management", "Vendor Management"]
VECTORS = ["credential stuffing", "phishing of workforce accounts", "malformed tokens", "exposed storage bucket",
           "vulnerable dependency", "leaked API key", "misrouted traffic", "scraping at scale", "insider mistake"]
TAGS = ["cdn", "tokens", "configuration", "monitoring", "identity", "mfa", "secrets", "patching", "vendors",
        "logging", "access", "crypto", "load-testing", "runbooks", "on-call", "lessons-learned"]
SUBJECTS = ["the edge", "the token service", "an engineer", "the on-call", "the vendor SDK", "a deploy job",
            "the alerting pipeline", "an attacker", "the support team", "the gateway", "the build system",
            "a feature flag", "the firewall rule set", "the identity provider", "a batch job"]
VERBS = ["accepted", "rejected", "logged", "missed", "exposed", "rotated", "restarted", "changed", "reviewed",
         "blocked", "scaled", "reverted", "escalated", "patched", "traced", "revoked"]
OBJECTS = ["unsigned requests", "the session tokens", "a stale certificate", "the access keys", "customer records",
           "the rate limits", "an unreviewed change", "the audit logs", "the alert thresholds", "the service account",
           "a public bucket", "the signing keys", "the release branch", "traffic from one region", "the runbook"]
TAILS = ["during the evening peak", "after the maintenance window", "without a review", "for about two hours",
         "in the staging profile", "across three regions", "before anyone noticed", "while the team was paged",
         "as the runbook describes", "within minutes", "on the second attempt", "for every new session"]

STATUS_WEIGHTS = [("draft", 3), ("in-review", 5), ("approved", 30), ("closed", 62)]
TLP_WEIGHTS = [("TLP:CLEAR", 10), ("TLP:GREEN", 25), ("TLP:AMBER", 45), ("TLP:AMBER+STRICT", 15), ("TLP:RED", 5)]
SEVERITY_WEIGHTS = [("P1", 20), ("P2", 45), ("P3", 35)]
REASONS = ["novel-attack-vector", "significant-user-impact", "regulatory-implications"]
METHODS = ["five-whys", "fishbone", "fault-tree"]


def _pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([w[0] for w in weighted], [w[1] for w in weighted])[0]


def _sentence(rng: random.Random) -> str:
    text = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(TAILS)}"
    return text[0].upper() + text[1:] + "."


def _prose(rng: random.Random, sentences: int) -> str:
    return " ".join(_sentence(rng) for _ in range(sentences))


_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9 .,'-]*")


def _q(text: str) -> str:
    """A YAML scalar: plain where that reads back as the same string, else JSON-quoted."""
    return text if _PLAIN.fullmatch(text) else json.dumps(text)


def _block(text: str, indent: int, width: int = 88) -> str:
    """A literal block scalar (|) of wrapped lines, as reviewers write long text."""
    pad = " " * indent
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + len(word) + 1 > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "|\n" + "\n".join(pad + l for l in lines)


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:00Z")


def taxonomy_text() -> str:
    out = ["categories:"]
    for cid, title in CATEGORIES:
        out += [f"  - id: {cid}", f"    title: {title}",
                f"    description: Incidents where the root cause was {title[0].lower() + title[1:]}."]
    return "\n".join(out) + "\n"


def controls_text() -> str:
    out = ["frameworks:"]
    for fid, title, controls in FRAMEWORKS:
        out += [f"  - id: {fid}", f"    title: {_q(title)}", "    controls:"]
        for control in controls:
            out += [f"      - id: {control[0]}", f"        title: {control[1]}"]
            if len(control) > 2:
                out.append(f"        replaced_by: {control[2]}")
    return "\n".join(out) + "\n"


CONTROL_REFS = [f"{fid}/{c[0]}" for fid, _, controls in FRAMEWORKS for c in controls]
CURRENT_REFS = [f"{fid}/{c[0]}" for fid, _, controls in FRAMEWORKS for c in controls if len(c) == 2]


def _root_cause(rng: random.Random, method: str, categories: list[str]) -> list[str]:
    out = ["root_cause:", f"  method: {method}", f"  categories: [{', '.join(categories)}]",
           "  summary: " + _block(_prose(rng, 4), 4)]
    if method == "five-whys":
        out.append("  five_whys:")
        out += [f"    - {_q(_prose(rng, 2))}" for _ in range(5)]
    elif method == "fishbone":
        out.append("  fishbone:")
        for group in ("people", "process", "technology", "environment"):
            out.append(f"    {group}:")
            out += [f"      - {_q(_sentence(rng))}" for _ in range(rng.randint(1, 3))]
    else:
        out += ["  fault_tree:", f"    event: {_q(_sentence(rng))}", "    gate: and", "    children:"]
        for _ in range(3):
            out += [f"      - event: {_q(_sentence(rng))}", "        gate: or", "        children:"]
            out += [f"          - event: {_q(_sentence(rng))}" for _ in range(2)]
    return out


def _actions(rng: random.Random, status: str, held: dt.datetime, lessons: int) -> list[str]:
    out = ["actions:"]
    for number in range(1, 6):
        due = held.date() + dt.timedelta(days=rng.randint(20, 200))
        if status == "closed":
            state = rng.choice(["done", "done", "done", "cancelled"])
        elif due < AS_OF:
            # Old open work is done; a few stay open and show as overdue (a warning), as in a real KB.
            state = rng.choices(["done", "cancelled", "in-progress"], [90, 8, 2])[0]
        else:
            state = rng.choice(["open", "in-progress", "done"])
        out += [f"  - id: A{number}", f"    title: {_q(_sentence(rng)[:-1])}",
                f"    owner: {rng.choice(PEOPLE)} ({rng.choice(TEAMS)})", f"    due: {due.isoformat()}",
                f"    success_criteria: {_q(_sentence(rng))}", f"    status: {state}"]
        if state == "done":
            completed = min(due - dt.timedelta(days=rng.randint(-10, 15)), AS_OF)
            out.append(f"    completed: {max(completed, held.date()).isoformat()}")
        out.append(f"    lessons: [L{rng.randint(1, lessons)}]")
        if rng.random() < 0.4:
            out += ["    progress:", f"      - {{date: {(held.date() + dt.timedelta(days=10)).isoformat()}, "
                                        f"note: {_q(_sentence(rng))}}}"]
        if state == "done" and rng.random() < 0.3:
            out += ["    effectiveness:", "      validated: true",
                    f"      date: {min(due + dt.timedelta(days=30), AS_OF).isoformat()}", f"      note: {_q(_sentence(rng))}"]
    return out


def review_text(rng: random.Random, rid: str, year: int, earlier: list[str]) -> str:
    """One review record as a reviewer would write it."""
    severity = _pick(rng, SEVERITY_WEIGHTS)
    status = _pick(rng, STATUS_WEIGHTS)
    detected = dt.datetime(year, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(minutes=rng.randint(0, 364 * 24 * 60))
    resolved = detected + dt.timedelta(minutes=rng.randint(60, 60 * 72))
    late = rng.random() < 0.03
    limit_hours = 72 if severity != "P3" else 7 * 24
    held = resolved + dt.timedelta(hours=rng.randint(4, limit_hours - 1) + (limit_hours if late else 0))
    method = rng.choice(METHODS)
    categories = rng.sample([c[0] for c in CATEGORIES], rng.randint(1, 3))
    controls = rng.sample(CONTROL_REFS if rng.random() < 0.05 else CURRENT_REFS, rng.randint(1, 4))
    reasons = rng.sample(REASONS, rng.randint(1, 2)) if severity == "P3" else []
    lines = [
        f"id: {rid}", f"title: {_q(_sentence(rng)[:-1])}", f"severity: {severity}",
        f"review_reasons: [{', '.join(reasons)}]", f"status: {status}",
        f"classification: {_pick(rng, TLP_WEIGHTS)}",
        "incident:", f"  detected: {_stamp(detected)}", f"  resolved: {_stamp(resolved)}",
        f"  services: [{', '.join(rng.sample(SERVICES, rng.randint(1, 4)))}]",
        f"  attack_vector: {rng.choice(VECTORS)}",
        "review:", f"  held: {_stamp(held)}", f"  facilitator: {rng.choice(PEOPLE)}", "  participants:",
    ]
    lines += [f"    - {{name: {name}, role: {rng.choice(ROLES)}}}" for name in rng.sample(PEOPLE, rng.randint(3, 6))]
    lines += ["summary: " + _block(_prose(rng, 6), 2), "impact:", "  description: " + _block(_prose(rng, 3), 4),
              f"  users_affected: {rng.randint(0, 250_000)}", f"  data_exposed: {str(rng.random() < 0.2).lower()}",
              f"  regulatory: {str(rng.random() < 0.1).lower()}", "timeline:"]
    span = (resolved - detected) / 12
    for index in range(12):
        lines += [f"  - at: {_stamp(detected + span * index)}", f"    event: {_q(_prose(rng, 1 + (index % 3 == 0)))}"]
        if index in (3, 7):
            lines.append("    decision: true")
    lines += ["went_well:"] + [f"  - {_q(_sentence(rng))}" for _ in range(2)]
    lines += ["to_improve:"] + [f"  - {_q(_sentence(rng))}" for _ in range(2)]
    lines += _root_cause(rng, method, categories)
    lines.append("lessons:")
    for number in range(1, 5):
        lines += [f"  - id: L{number}", f"    text: {_q(_prose(rng, 2))}",
                  f"    kind: {rng.choice(['process', 'tool', 'training'])}",
                  f"    tags: [{', '.join(rng.sample(TAGS, 2))}]"]
    lines += _actions(rng, status, held, 4)
    if rng.random() < 0.5:
        lines += ["security_improvements:",
                  f"  - {{description: {_q(_sentence(rng))}, type: emergency-patch, status: done}}"]
    lines.append(f"controls: [{', '.join(controls)}]")
    if status in ("approved", "closed"):
        role = "CISO" if rng.random() < 0.97 else "Deputy CISO"
        approved = held.date() + dt.timedelta(days=rng.randint(1, 20))
        lines += ["approval:", "  approver: Sam Reyes", f"  role: {role}", f"  date: {approved.isoformat()}"]
    if earlier and rng.random() < 0.3:
        lines.append(f"related: [{', '.join(sorted(set(rng.sample(earlier[-200:], min(2, len(earlier[-200:]))))))}]")
    return "\n".join(lines) + "\n"


def generate(target: Path, size: int, *, seed: int = 0) -> list[Path]:
    """Write a KB of `size` reviews into target (replacing what was there); returns the review files."""
    rng = random.Random(seed)
    if target.exists():
        shutil.rmtree(target)
    (target / "reviews").mkdir(parents=True)
    (target / "taxonomy.yaml").write_text(taxonomy_text(), encoding="utf-8")
    (target / "controls.yaml").write_text(controls_text(), encoding="utf-8")
    years = AS_OF.year - FIRST_YEAR
    per_year = -(-size // years)
    ids: list[str] = []
    paths = []
    for index in range(size):
        year = FIRST_YEAR + index // per_year
        rid = f"INC-{year}-{index % per_year + 1:03d}"
        path = target / "reviews" / f"{rid}.yaml"
        path.write_text(review_text(rng, rid, year, ids), encoding="utf-8")
        ids.append(rid)
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("size", type=int, help="number of reviews")
    parser.add_argument("target", type=Path, help="KB folder to write (replaced if it exists)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    paths = generate(args.target, args.size, seed=args.seed)
    total = sum(p.stat().st_size for p in paths)
    print(f"wrote {len(paths)} reviews ({total / len(paths) / 1024:.1f} KB each) to {args.target}")


if __name__ == "__main__":
    main()
