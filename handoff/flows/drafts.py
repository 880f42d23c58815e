"""Customer-communication drafts and coaching guides: which belongs to which milestone and role,
and the values they are filled with. Pure: a transition, its knowledge document and names in,
plain values out. A value the document cannot give is a `Missing`, rendered as a clearly marked
placeholder by the templates, never as empty text.

Planned (T = handoff date): introduction email (departing, T−14), joint-meeting agenda (both
owners, T−7; the departing owner gets the .ics invitation a working week ahead, at a time
inside everyone's working day), handoff announcement
(departing, T), follow-up (new owner, T+7), step-back note (departing, T+30), ongoing-role
guidance (departing, T+14), week 1…4 checklists (new owner, T, T+7, T+14, T+21).

Unplanned (S = start): introduction (S+2), agenda and invitation (S+7), announcement and
ongoing-role guidance (departing, S+14, when the new owner takes full responsibility), follow-up
with the retrospective (new owner, S+28), week 1…4 checklists from S+14. No step-back note: the
departing owner of an unplanned transition has usually left by then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from handoff.flows.calendar import zone
from handoff.flows.knowledge import CADENCE, Document
from handoff.flows.plans import Role

DRAFT, INVITE, GUIDE = "draft", "invite", "guide"
CADENCE_KEYS = CADENCE
KINDS = (DRAFT, INVITE, GUIDE)
DRAFT_NAMES = ("intro_email", "agenda", "announcement", "follow_up", "step_back")
EMOTIONS = ("concern", "frustration", "skepticism", "disappointment")
ONGOING_ROLE = "ongoing_role"
WEEKS = 4
TOP = 3
INVITE_MINUTES = 30
INVITE_HOUR = 10  # preferred local time of the departing owner; they move it when they forward it
WORK_DAY = (time(9), time(17))  # when a meeting suits an attendee, in their own zone
INVITE_LEAD = 5  # working days: the invitation comes a week ahead, in time to forward it
UNPLANNED_SOLO_FROM = 14  # days after the start: the new owner is fully responsible

D, N = Role.DEPARTING.value, Role.NEW_OWNER.value

# (planned, milestone, role) → the drafts that role gets with that milestone's nudge
SLOTS: dict[tuple[bool, str, str], tuple[str, ...]] = {
    (True, "customer_comm", D): ("intro_email",),
    (True, "joint_meeting", D): ("agenda",),
    (True, "joint_meeting", N): ("agenda",),
    (True, "handoff", D): ("announcement",),
    (True, "follow_up", N): ("follow_up",),
    (True, "step_back", D): ("step_back",),
    (False, "customer_comm", D): ("intro_email",),
    (False, "joint_meeting", D): ("agenda",),
    (False, "joint_meeting", N): ("agenda",),
    (False, "fully_responsible", D): ("announcement",),
    (False, "retrospective", N): ("follow_up",),
}


@dataclass(frozen=True)
class Extra:
    """A message that goes out right after a milestone nudge: drafts, an invitation, a guide."""

    kind: str  # draft | invite | guide
    item: str  # "" for drafts (all of the slot), "ongoing_role" for the guide


def drafts_for(planned: bool, milestone: str, role: str) -> tuple[str, ...]:
    """The drafts a role gets with a milestone (empty when none)."""
    return SLOTS.get((planned, milestone, str(role)), ())


def extras_for(planned: bool, milestone: str, role: str) -> list[Extra]:
    """Everything that follows a role's milestone nudge, in send order."""
    out: list[Extra] = []
    if drafts_for(planned, milestone, role):
        out.append(Extra(DRAFT, ""))
    if milestone == "joint_meeting" and role == D:
        out.append(Extra(INVITE, ""))
    if milestone == "fully_responsible" and role == D:
        out.append(Extra(GUIDE, ONGOING_ROLE))
    return out


def week_days(planned: bool, anchor: date) -> list[tuple[int, date]]:
    """The day each week's checklist of the new owner's first 30 days solo is due.

    Planned: the first day of each week after the handoff date (T, T+7, T+14, T+21).
    Unplanned: from the day the new owner is fully responsible (S+14, S+21, …).
    """
    start = anchor if planned else anchor + timedelta(days=UNPLANNED_SOLO_FROM)
    return [(n, start + timedelta(days=7 * (n - 1))) for n in range(1, WEEKS + 1)]


def week_item(n: int) -> str:
    """The guide item of week n."""
    return f"week{n}"


def outlives_close(kind: str, item: str) -> bool:
    """Whether a planned message still goes out after its transition closed (not after a
    cancel): the new owner's week checklists, which may run past the retrospective."""
    return kind == GUIDE and item.startswith("week")


# ---------------------------------------------------------------- fill-in values


@dataclass(frozen=True)
class Missing:
    """A value the transition and its document cannot give: the owner fills it in."""

    key: str


Value = str | Missing
Lines = tuple[str, ...] | Missing


class TransitionFacts(Protocol):
    """What the drafts read of a transition."""

    account: str
    kind: str
    planned: bool
    strategic: bool
    reason: str
    departing_owner: str
    new_owner: str
    manager: str


@dataclass(frozen=True)
class Fill:
    """Every value a draft, the coach or a guide may use (raw, not yet escaped)."""

    account: str
    kind: str
    planned: bool
    strategic: bool
    departing: Value
    new_owner: Value
    manager: Value
    customer: Value  # the contact the email greets: champion, else economic sponsor
    sponsor: Value
    reason: Value
    goals: Lines
    initiatives: Lines
    success_criteria: Lines
    priorities: Lines
    top: tuple[Value, ...]  # exactly TOP values
    open_issues: Lines
    project: Value  # the first ongoing initiative (the coach's "we are in the middle of …")
    cadence: Value  # a communication.cadence option key
    meeting_day: date | None = None
    company: Value = Missing("company")
    expertise: Value = Missing("expertise")
    benefit: Value = Missing("benefit")
    background: Value = Missing("background")
    proposed_times: Value = Missing("proposed_times")
    contact: Value = Missing("contact")
    support: Value = Missing("support")
    next_meeting: Value = Missing("next_meeting")


def lines(text: Any) -> tuple[str, ...]:
    """The non-empty lines of a text field, list bullets and white space removed."""
    if not isinstance(text, str):
        return ()
    out = []
    for raw in text.splitlines():
        line = raw.strip().lstrip("•*-–·").strip()
        if line:
            out.append(line)
    return tuple(out)


def _lines_or_missing(doc: Document, section: str, key: str) -> Lines:
    found = lines(doc.get(section, key))
    return found if found else Missing(f"{section}.{key}")


def _value(text: str | None, key: str) -> Value:
    text = (text or "").strip()
    return text if text else Missing(key)


def stakeholder_name(doc: Document, role: str) -> str:
    """The name of the first stakeholder with this role in the relationship map, or ''."""
    for person in doc.stakeholders:
        if person.get("role") == role and str(person.get("name") or "").strip():
            return str(person["name"]).strip()
    return ""


def top_priorities(doc: Document, n: int = TOP) -> tuple[Value, ...]:
    """The first n non-empty lines of current.priorities, the rest marked missing."""
    found = lines(doc.get("current", "priorities"))[:n]
    return tuple(found) + tuple(Missing(f"priority{i + 1}") for i in range(len(found), n))


def fill(
    t: TransitionFacts,
    doc: Document,
    names: dict[str, str],
    *,
    meeting_day: date | None = None,
) -> Fill:
    """The values of one transition's drafts from its knowledge document and people's names."""
    champion = stakeholder_name(doc, "champion")
    sponsor = stakeholder_name(doc, "economic_sponsor")
    initiatives = lines(doc.get("current", "initiatives"))
    return Fill(
        account=t.account,
        kind=t.kind,
        planned=t.planned,
        strategic=t.strategic,
        departing=_value(names.get(t.departing_owner), "departing"),
        new_owner=_value(names.get(t.new_owner), "new_owner"),
        manager=_value(names.get(t.manager), "manager"),
        customer=_value(champion or sponsor, "customer"),
        sponsor=_value(sponsor, "sponsor"),
        # the start form's reason is internal ("performance", "reorg"): the owner words it for
        # the customer themselves
        reason=Missing("reason"),
        goals=_lines_or_missing(doc, "objectives", "goals"),
        initiatives=initiatives or Missing("current.initiatives"),
        success_criteria=_lines_or_missing(doc, "objectives", "success_criteria"),
        priorities=_lines_or_missing(doc, "current", "priorities"),
        top=top_priorities(doc),
        open_issues=_lines_or_missing(doc, "current", "open_issues"),
        project=initiatives[0] if initiatives else Missing("project"),
        cadence=_value(str(doc.get("communication", "cadence") or ""), "cadence"),
        meeting_day=meeting_day,
    )


def may_receive(t: TransitionFacts, user_id: str) -> bool:
    """Drafts and guides only ever go to the transition's own people."""
    return bool(user_id) and user_id in (t.departing_owner, t.new_owner, t.manager)


def meeting_start(day: date, organiser_tz: str | None, zones: Sequence[str | None]) -> datetime:
    """The suggested start of the joint meeting, as UTC: the first half hour from INVITE_HOUR
    (then from 09:00) in the organiser's zone at which the 30 minutes lie within 09:00–17:00
    of a weekday for every attendee in their own zone; INVITE_HOUR when their working days do
    not meet."""
    org = zone(organiser_tz)
    first = INVITE_HOUR * 60
    slots = [*range(first, 17 * 60, 30), *range(9 * 60, first, 30)]
    for minutes in slots:
        begin = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=org)
        end = begin + timedelta(minutes=INVITE_MINUTES)
        if all(_in_work_day(begin, end, z) for z in zones if z):  # an unknown zone: no limit
            return begin.astimezone(UTC)
    return datetime.combine(day, time(INVITE_HOUR), tzinfo=org).astimezone(UTC)


def _in_work_day(begin: datetime, end: datetime, tz: str | None) -> bool:
    b, e = begin.astimezone(zone(tz)), end.astimezone(zone(tz))
    return (
        b.date() == e.date()
        and b.weekday() < 5  # Monday to Friday where the attendee is
        and WORK_DAY[0] <= b.time()
        and e.time() <= WORK_DAY[1]
    )


def invite_attendees(t: TransitionFacts) -> tuple[str, ...]:
    """Who the joint meeting invitation names: both owners, the manager for strategic accounts."""
    people = [t.departing_owner, t.new_owner]
    if t.strategic and t.manager not in people:
        people.append(t.manager)
    return tuple(people)
