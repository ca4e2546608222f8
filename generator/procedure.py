"""The review procedure's constants, in one place (RES-PROC-002 and record format v1/v1.1).

Value sets the record format fixes, the deadlines the procedure sets and the id pattern:
the schemas state the same values for editors, and everything in the package that needs
one reads it from here.
"""

from __future__ import annotations

import datetime as dt
import re

TLP_LEVELS = ("TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED")
"""FIRST TLP 2.0 labels, least restrictive first."""
DEFAULT_TLP = "TLP:AMBER"
SEVERITIES = ("P1", "P2", "P3")
REVIEW_STATUSES = ("draft", "in-review", "approved", "closed")
APPROVED_STATUSES = ("approved", "closed")
"""Statuses of a review the CISO has approved: its lessons are evidence and training material."""
ACTION_STATUSES = ("open", "in-progress", "done", "cancelled")
OPEN_ACTION_STATUSES = ("open", "in-progress")
LESSON_KINDS = ("process", "tool", "training")
RCA_METHODS = ("five-whys", "fishbone", "fault-tree")

REVIEW_DEADLINES = {"P1": dt.timedelta(hours=72), "P2": dt.timedelta(hours=72), "P3": dt.timedelta(days=7)}
"""Procedure step 1: the review meeting within 72 hours of closure (P1, P2), a week (P3)."""
REQUIRED_APPROVER_ROLE = "CISO"
"""Procedure step 11: the CISO approves the report and the action plan."""
STALE_AFTER_DAYS = 30
"""An open action nobody has reported on for more than this many days is stale (v1.1 `stale-action`)."""

REVIEW_ID = r"[A-Z][A-Z0-9]+-[0-9]{4}-[0-9]{3,}"
"""A review id: a prefix, the year, a sequence number of at least three digits (INC-2025-014)."""
ID_PATTERN = re.compile(r"^([A-Z][A-Z0-9]+)-([0-9]{4})-([0-9]{3,})$")
"""A whole review id, with its prefix, year and sequence as groups."""
