"""The joint meeting as an iCalendar (.ics) invitation the departing owner can forward."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from icalendar import Calendar, Event, vCalAddress, vText

from handoff.flows.drafts import INVITE_MINUTES, Fill
from handoff.messages.drafts import draft_text, drafts_catalog
from handoff.messages.i18n import text

PRODID = "-//Handoff//Account transitions//EN"


@dataclass(frozen=True)
class Attendee:
    """Someone the invitation names: a display name, and an email when Slack knows it."""

    name: str
    email: str = ""


def filename(transition_id: int) -> str:
    """The invitation's file name; the dispatcher finds an upload again by it after a crash."""
    return f"handoff-joint-meeting-{transition_id}.ics"


def invitation(
    *,
    transition_id: int,
    fill: Fill,
    begin: datetime,
    attendees: Sequence[Attendee],
    lang: str,
    now: datetime,
) -> bytes:
    """A 30-minute VEVENT from `begin` (flows.drafts.meeting_start), the agenda as its
    description, the owners (and the manager) invited."""
    c = drafts_catalog(lang)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"handoff-{transition_id}-joint-meeting@handoff")
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", begin)
    event.add("dtend", begin + timedelta(minutes=INVITE_MINUTES))
    event.add("summary", text(c.invite_summary(fill.account)))
    event.add("description", draft_text("agenda", fill, lang, esc=str))
    for person in attendees:
        if not person.email:
            continue  # the description names everyone; an attendee needs an address
        address = vCalAddress(f"mailto:{person.email}")
        address.params["cn"] = vText(person.name or person.email)
        address.params["role"] = vText("REQ-PARTICIPANT")
        event.add("attendee", address, encode=0)
    cal.add_component(event)
    return cal.to_ical()
