"""A live session as an iCalendar file (RFC 5545), for the learner's own calendar."""

from __future__ import annotations

from datetime import timedelta

from icalendar import Calendar, Event

from lti_tool.db import utcnow
from lti_tool.training.models import LiveSession

KIND_NAMES = {
    "webinaire": "Webinaire",
    "atelier": "Atelier",
    "co-developpement": "Session de co-développement",
}


def session_ics(live: LiveSession, host: str, module_title: str | None = None) -> bytes:
    """One VEVENT with a stable UID and the session's revision as SEQUENCE, so a calendar that imported an
    earlier version updates it (a new time, a cancellation) instead of adding a second event."""
    calendar = Calendar()
    calendar.add("prodid", "-//Socle//Seances en direct//FR")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if live.cancelled_at else "PUBLISH")
    event = Event()
    event.add("uid", f"live-session-{live.id}@{host}")
    event.add("sequence", live.revision or 0)
    event.add("dtstamp", utcnow())
    event.add("dtstart", live.starts_at)
    event.add("dtend", live.starts_at + timedelta(minutes=live.duration_minutes))
    kind = KIND_NAMES.get(live.kind, live.kind)
    event.add("summary", f"{kind} : {live.title}")
    lines = [module_title] if module_title else []
    if live.description:
        lines.append(live.description)
    if live.join_url:
        lines.append(f"Pour rejoindre : {live.join_url}")
        event.add("url", live.join_url)
    if lines:
        event.add("description", "\n\n".join(lines))
    if live.place or live.join_url:
        event.add("location", live.place or live.join_url)
    event.add("status", "CANCELLED" if live.cancelled_at else "CONFIRMED")
    calendar.add_component(event)
    return bytes(calendar.to_ical())
