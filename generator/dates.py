"""Dates and timestamps as the record format writes them.

Records keep dates and timestamps as the text the reviewer wrote (the loader never lets
YAML turn them into objects), so that a bad value can be reported as written. These
helpers decide what is a date, what is a timestamp with a zone, and compare instants.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
# ISO 8601 / RFC 3339: date, 'T' (or a space, as YAML allows), time, then a zone.
_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r"\s*(?:(?P<utc>[Zz])|(?P<sign>[+-])(?P<oh>\d{2})(?::?(?P<om>\d{2}))?)?$"
)


def parse_date(text: object) -> dt.date | None:
    """The date written as YYYY-MM-DD, or None when the text is not a real date."""
    if not isinstance(text, str):
        return None
    m = _DATE.match(text)
    if not m:
        return None
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def parse_timestamp(text: object) -> dt.datetime | None:
    """The instant of a timestamp with a zone, or None when it is not one."""
    if not isinstance(text, str):
        return None
    m = _TIMESTAMP.match(text)
    if not m or not (m["utc"] or m["sign"]):
        return None
    try:
        fraction = (m[7] or "0")[:6].ljust(6, "0")
        offset = dt.timedelta(0)
        if m["sign"]:
            hours, minutes = int(m["oh"]), int(m["om"] or 0)
            if hours > 23 or minutes > 59:
                return None
            offset = dt.timedelta(hours=hours, minutes=minutes)
            if m["sign"] == "-":
                offset = -offset
        return dt.datetime(
            int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]), int(m[6] or 0), int(fraction),
            tzinfo=dt.timezone(offset),
        )
    except ValueError:
        return None


def local_date(value: dt.datetime) -> dt.date:
    """The day of a timestamp as written, in its own zone (2025-03-02T23:30:00-05:00 is
    2 March, although it is 3 March in UTC). Rules that compare a date with a timestamp use
    this day, so a reviewer's "same day" is never reported as "before"."""
    return value.date()


def _missing_day(year: str, month: str, day: str) -> str | None:
    """Why year-month-day names no day ("November has 30 days"), or None when it does."""
    y, m, d = int(year), int(month), int(day)
    if not 1 <= m <= 12:
        return f"there is no month {m} (months run from 01 to 12)"
    length = calendar.monthrange(y, m)[1] if y >= 1 else 31
    if d == 0:
        return "days of the month start at 01"
    if d > length:
        name = calendar.month_name[m]
        when = f"{name} {y}" if m == 2 else name
        return f"{when} has {length} days"
    return None


def impossible_date(text: str) -> str | None:
    """'2026-11-31' is not a date: November has 30 days (None when the text names a real day
    or is not shaped as a date or timestamp at all)."""
    m = _DATE.match(text) or _TIMESTAMP.match(text)
    if not m:
        return None
    missing = _missing_day(m[1], m[2], m[3])
    return f"{text!r} is not a date: {missing}" if missing else None


def timestamp_problem(text: str) -> str:
    """Why a text is not a timestamp with a zone, in words a reviewer can act on."""
    if (missing := impossible_date(text)) is not None:
        return missing
    if parse_date(text) is not None or _DATE.match(text):
        return f"{text!r} is a date; a timestamp with a time and a zone is expected (e.g. {text}T14:05:00Z)"
    m = _TIMESTAMP.match(text)
    if m and not (m["utc"] or m["sign"]):
        return f"{text!r} has no time zone; add one (Z for UTC, or an offset such as +02:00)"
    return f"{text!r} is not a timestamp with a zone (ISO 8601, e.g. 2025-03-02T14:05:00Z)"


def date_problem(text: str) -> str:
    """Why a text is not a date, in words a reviewer can act on."""
    if (missing := impossible_date(text)) is not None:
        return missing
    if _TIMESTAMP.match(text):
        return f"{text!r} is a timestamp; a date (YYYY-MM-DD) is expected here"
    return f"{text!r} is not a date (YYYY-MM-DD)"


def parse_day(text: str) -> dt.date:
    """Parse a --as-of style date, raising ValueError with a readable message."""
    value = parse_date(text)
    if value is None:
        raise ValueError(impossible_date(text) or f"{text!r} is not a date (YYYY-MM-DD)")
    return value


def source_date_epoch(day: dt.date) -> str:
    """SOURCE_DATE_EPOCH for a build judged on `day` (midnight UTC): the date the site
    engines print (sitemap, footer) follows --as-of, so two builds are byte-identical."""
    return str(int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp()))
