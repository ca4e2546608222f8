"""feed.xml: an Atom feed (RFC 4287) of the published reviews, for feed readers.

Built from the audience's view of the KB (audience.view), so a TLP:RED review, or for the
public every review above TLP:GREEN, never reaches it. Decisions:

- Entries are the FEED_SIZE reviews with the latest `updated` time, newest first (then by
  id): `updated` is the later of the review meeting (`review.held`) and the CISO's approval
  (`approval.date`, at 00:00 UTC), so an approval brings a review back to the top.
  `published` is the review meeting.
- The feed's own `updated` is its newest entry's (the as-of day at 00:00 UTC for an empty
  feed): never the clock, so two builds with the same --as-of are byte-identical.
- Ids: with `site_url` in mkdocs.yml, the page URLs (`<site_url>incidents/<ID>/`); without
  one, tag: URIs (RFC 4151) `tag:<site-name-slug>,2026:incidents/<ID>/`, stable across builds
  and hosts. Entry links are the review pages, relative to the feed when there is no site_url
  (feed.xml sits at the site root, so `incidents/<ID>/` resolves there).
- Record text is `type="text"` everywhere: a feed reader that renders HTML shows it as text.
  Characters XML 1.0 cannot hold (most C0 controls) are written as visible \\uXXXX escapes.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from generator import urls
from generator.index import KnowledgeBase
from generator.model import Review, slug

ATOM = "http://www.w3.org/2005/Atom"
FEED_SIZE = 50
TAG_DATE = "2026"  # the tag: URI's date: fixed, so ids never change (RFC 4151 allows a year)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class FeedSite:
    """What the feed needs to know of the site: its name and, if configured, its public URL."""

    name: str
    url: str | None = None  # mkdocs.yml site_url, ending in "/"


def _text(value: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", value)


def _stamp(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)


def updated(review: Review) -> dt.datetime:
    """When the review last moved forward: its meeting, or its approval when that is later."""
    held = review.held.astimezone(dt.timezone.utc)
    if review.approval is not None:
        return max(held, _midnight(review.approval.date))
    return held


def entries(kb: KnowledgeBase) -> list[Review]:
    """The reviews the feed holds, newest first (at most FEED_SIZE)."""
    return sorted(kb.reviews, key=lambda r: (-updated(r).timestamp(), r.id))[:FEED_SIZE]


def _id(site: FeedSite, path: str) -> str:
    if site.url:
        return site.url + path
    return f"tag:{slug(site.name).strip('-') or 'kb'},{TAG_DATE}:{path}"


def _add(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    if text is not None:
        element.text = _text(text)
    return element


def _lessons(review: Review) -> str:
    lines = [f"{review.classification} · {review.severity} · {review.status}", "", "Lessons:"]
    lines += [f"- {lesson.id} ({lesson.kind}{', critical' if lesson.critical else ''}): {' '.join(lesson.text.split())}"
              for lesson in review.lessons]
    return "\n".join(lines)


def atom(kb: KnowledgeBase, *, site: FeedSite, as_of: dt.date) -> str:
    """The Atom document for the (audience-filtered) KB view."""
    reviews = entries(kb)
    feed = ET.Element("feed", {"xmlns": ATOM})
    _add(feed, "title", site.name, type="text")
    _add(feed, "subtitle", "Published post-incident reviews and their lessons, newest first", type="text")
    _add(feed, "id", _id(site, urls.FEED))
    _add(feed, "updated", _stamp(updated(reviews[0]) if reviews else _midnight(as_of)))
    _add(feed, "link", rel="self", href=(site.url or "") + urls.FEED, type="application/atom+xml")
    _add(feed, "link", rel="alternate", href=site.url or "./", type="text/html")
    author = _add(feed, "author")
    _add(author, "name", site.name)
    _add(feed, "generator", "kb")
    for review in reviews:
        entry = _add(feed, "entry")
        _add(entry, "title", f"{review.id}: {' '.join(review.title.split())}", type="text")
        _add(entry, "id", _id(site, review.url))
        _add(entry, "link", rel="alternate", href=(site.url or "") + review.url, type="text/html")
        _add(entry, "published", _stamp(review.held))
        _add(entry, "updated", _stamp(updated(review)))
        for category in review.root_cause.categories:
            known = kb.categories.get(category)
            _add(entry, "category", term=category, label=_text(known.title if known else category))
        _add(entry, "summary", review.summary, type="text")
        _add(entry, "content", _lessons(review), type="text")
    ET.indent(feed)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode") + "\n"
