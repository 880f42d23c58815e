"""What the scheduler must send, and when: pure functions of a transition, its tasks and a clock.

Every message has an idempotency key (transition, milestone, role, recipient, kind): the tick
enqueues a key once, whatever happens, so nothing is sent twice and re-planning never repeats a
nudge that already went out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from handoff.flows import drafts
from handoff.flows.calendar import WorkCalendar, local_today
from handoff.flows.plans import Role, steps
from handoff.flows.states import TERMINAL

NUDGE_KINDS = ("milestone", "reminder", "snooze")  # a task's own messages
PLANNED_KINDS = (*NUDGE_KINDS, "escalation", "not_ready", *drafts.KINDS)  # all planned
REMINDER_AFTER_WORKING_DAYS = 2
GHOST_REMINDERS = 2
AFTER_MILESTONES = 1000  # send order of messages that belong to no milestone


@dataclass(frozen=True)
class TaskFacts:
    """What the scheduler needs of one task."""

    id: int
    milestone: str
    seq: int
    role: str
    assignee: str
    due_on: date
    compressed: bool = False
    done: bool = False
    snoozed_until: datetime | None = None
    snoozes: int = 0
    done_at: datetime | None = None


@dataclass(frozen=True)
class Facts:
    """What the scheduler needs of one transition."""

    id: int
    state: str
    created_at: datetime
    manager: str
    tasks: tuple[TaskFacts, ...]
    zones: dict[str, str] = field(default_factory=dict)  # user id → IANA zone
    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    unreachable: frozenset[str] = frozenset()  # deactivated or unknown in Slack
    planned: bool = True
    ready: bool = True  # the knowledge document is ready for the customer (flows.knowledge)
    anchor: date | None = None  # handoff date (planned) or start date (unplanned)
    new_owner: str = ""


@dataclass(frozen=True)
class Due:
    """One message the plan wants sent at `due_at`."""

    key: str
    recipient: str
    kind: str  # milestone | reminder | snooze | escalation | not_ready | draft | invite | guide
    due_at: datetime
    task_id: int | None = None
    milestone: str | None = None
    seq: int = 0
    item: str = ""  # which guide (drafts.ONGOING_ROLE, week1 …)


def task_key(transition_id: int, task: TaskFacts, kind: str) -> str:
    """The idempotency key of a task's message."""
    return f"t{transition_id}:{task.milestone}:{task.role}:{task.assignee}:{kind}"


def reminder_day(f: Facts, task: TaskFacts) -> date:
    """The working day a task's single reminder is due: two working days after it was due
    (or after the day it was snoozed to)."""
    start = task.due_on
    if task.snoozed_until is not None:
        start = max(start, local_today(task.snoozed_until, f.zones.get(task.assignee)))
    return f.calendar.add_working_days(start, REMINDER_AFTER_WORKING_DAYS)


SURVEY_DAYS = (30, 60, 90)  # health, renewal risk, pipeline and advocacy after the handoff


def surveys(f: Facts) -> list[Due]:
    """The new owner's metric check-ins: the customer's handoff CSAT at the retrospective, and
    the account's health at 30, 60 and 90 days after the handoff date (start, if unplanned).
    They go on after the transition closed (not after a cancel)."""
    if f.state == "cancelled" or not f.new_owner or f.new_owner in f.unreachable:
        return []
    tz = f.zones.get(f.new_owner)
    out: list[Due] = []
    retro = next(
        (k for k in f.tasks if k.milestone == "retrospective" and k.role == Role.NEW_OWNER), None
    )
    if retro is not None:
        at = max(f.calendar.send_time(retro.due_on, tz), f.created_at)
        out.append(
            Due(
                f"t{f.id}:survey:csat:{f.new_owner}",
                f.new_owner,
                "survey",
                at,
                milestone="retrospective",
                seq=retro.seq,
                item="csat",
            )
        )
    if f.anchor is not None:
        for days in SURVEY_DAYS:
            at = max(f.calendar.send_time(f.anchor + timedelta(days=days), tz), f.created_at)
            out.append(
                Due(
                    f"t{f.id}:survey:d{days}:{f.new_owner}",
                    f.new_owner,
                    "survey",
                    at,
                    seq=AFTER_MILESTONES,
                    item=f"d{days}",
                )
            )
    return out


def plan_messages(f: Facts) -> list[Due]:
    """Every message the transition's plan wants, given which tasks are done (in send order)."""
    if f.state in TERMINAL:  # the new owner's checklists and check-ins outlive the plan
        return weekly_guides(f) + surveys(f)
    cal = f.calendar
    out: list[Due] = []
    ghost: list[datetime] = []
    for task in sorted(f.tasks, key=lambda k: (k.seq, k.id)):
        if task.done or task.assignee in f.unreachable:
            continue
        tz = f.zones.get(task.assignee)
        # what was already due when the transition started goes out at once, in plan order
        first = first_nudge(f, task)
        out.append(
            Due(
                task_key(f.id, task, "milestone"),
                task.assignee,
                "milestone",
                first,
                task.id,
                task.milestone,
                task.seq,
            )
        )
        out += [
            Due(
                task_key(f.id, task, x.kind),
                task.assignee,
                x.kind,
                first if x.kind != drafts.INVITE else invite_time(f, task, first),
                task.id,
                task.milestone,
                task.seq,
                x.item,
            )
            for x in drafts.extras_for(f.planned, task.milestone, task.role)
        ]
        if task.snoozes:
            out.append(
                Due(
                    task_key(f.id, task, f"snooze{task.snoozes}"),
                    task.assignee,
                    "snooze",
                    task.snoozed_until or first,
                    task.id,
                    task.milestone,
                    task.seq,
                )
            )
        reminder_at = max(cal.send_time(reminder_day(f, task), tz), first)
        out.append(
            Due(
                task_key(f.id, task, "reminder"),
                task.assignee,
                "reminder",
                reminder_at,
                task.id,
                task.milestone,
                task.seq,
            )
        )
        if task.role == Role.DEPARTING:
            ghost.append(reminder_at)
    out += readiness_warnings(f, out)
    if len(ghost) >= GHOST_REMINDERS and f.manager not in f.unreachable and not _manages_self(f):
        # the departing owner ignored two reminders: tell the manager the next working day
        second = sorted(ghost)[GHOST_REMINDERS - 1]
        tz = f.zones.get(f.manager)
        day = cal.add_working_days(local_today(second, tz), 1)
        out.append(
            Due(
                f"t{f.id}:ghost:{f.manager}:escalation",
                f.manager,
                "escalation",
                max(cal.send_time(day, tz), second),
            )
        )
    return out + weekly_guides(f) + surveys(f)


def invite_time(f: Facts, task: TaskFacts, first: datetime) -> datetime:
    """The joint meeting's invitation comes INVITE_LEAD working days before the meeting day, in
    time to forward it to the customer (at once when the plan starts later than that)."""
    if task.compressed:
        return first
    day = f.calendar.add_working_days(task.due_on, -drafts.INVITE_LEAD)
    return min(first, max(f.calendar.send_time(day, f.zones.get(task.assignee)), f.created_at))


def weekly_guides(f: Facts) -> list[Due]:
    """The new owner's week 1…4 checklists of their first 30 days solo, one a week. They go on
    after the transition closed (an unplanned one closes at its retrospective, S+28, before
    week 4), not after a cancel."""
    if f.state == "cancelled" or f.anchor is None or not f.new_owner:
        return []
    if f.new_owner in f.unreachable:
        return []
    tz = f.zones.get(f.new_owner)
    out = []
    for n, day in drafts.week_days(f.planned, f.anchor):
        item = drafts.week_item(n)
        at = max(f.calendar.send_time(f.calendar.next_working_day(day), tz), f.created_at)
        key = f"t{f.id}:{item}:{f.new_owner}:guide"
        # after any milestone nudge of the same hour
        out.append(Due(key, f.new_owner, "guide", at, seq=AFTER_MILESTONES, item=item))
    return out


def customer_facing(f: Facts) -> set[str]:
    """The milestones of the transition's plan in which the customer is met or written to."""
    return {s.key for s in steps(f.planned) if s.customer_facing}


def readiness_warnings(f: Facts, planned: list[Due]) -> list[Due]:
    """The readiness gate: when a customer-facing milestone comes due while the knowledge
    document is not ready, both owners and the manager are told (once per milestone)."""
    if f.ready:
        return []
    open_now = {d.milestone for d in planned if d.kind == "milestone"}
    first: dict[str, tuple[datetime, TaskFacts]] = {}  # milestone → its first nudge, done or not
    facing = customer_facing(f)
    for task in f.tasks:
        if task.milestone not in facing or task.assignee in f.unreachable:
            continue
        at = first_nudge(f, task)
        if task.milestone not in first or at < first[task.milestone][0]:
            first[task.milestone] = (at, task)
    people = [k.assignee for k in sorted(f.tasks, key=lambda k: k.seq) if k.role != Role.MANAGER]
    recipients = [u for u in dict.fromkeys([*people, f.manager]) if u and u not in f.unreachable]
    out = []
    told: set[tuple[str, datetime]] = set()
    for key, (nudged, task) in sorted(first.items(), key=lambda kv: kv[1][1].seq):
        for user in recipients:
            # at 09:00 in each reader's zone, not before the milestone's first nudge
            at = (
                nudged
                if task.compressed
                else max(nudged, f.calendar.send_time(task.due_on, f.zones.get(user)))
            )
            # a compressed plan: one warning says what is missing, even once the milestone
            # that gave it is done (its time is still taken)
            if (user, at) in told:
                continue
            told.add((user, at))
            if key in open_now:
                out.append(
                    Due(
                        f"t{f.id}:{key}:not_ready:{user}",
                        user,
                        "not_ready",
                        at,
                        None,
                        key,
                        task.seq,
                    )
                )
    return out


def first_nudge(f: Facts, task: TaskFacts) -> datetime:
    """When a task's milestone nudge goes out: at once if the plan started late, else 09:00 on
    its day in the assignee's zone (never before the transition began)."""
    if task.compressed:
        return f.created_at
    return max(f.calendar.send_time(task.due_on, f.zones.get(task.assignee)), f.created_at)


def _manages_self(f: Facts) -> bool:
    """The departing owner is their own manager: escalating would only remind them again."""
    return any(k.role == Role.DEPARTING and k.assignee == f.manager for k in f.tasks)


def decide(f: Facts, *, now: datetime, known: set[str]) -> tuple[list[Due], datetime | None]:
    """The messages due by `now` that are not enqueued yet, and when to look again."""
    due, later = [], []
    for m in plan_messages(f):
        if m.key in known:
            continue
        (due if m.due_at <= now else later).append(m)
    due.sort(key=lambda m: (m.due_at, m.seq, m.kind != "milestone"))
    return due, min((m.due_at for m in later), default=None)
