"""The playbook's four mistakes, as signals the bot can see (pure).

* ``throw_over_wall``: the handoff date is reached (the handoff milestone is due) with no joint
  meeting recorded (no joint-meeting task done). Planned transitions only: an unplanned one
  holds the joint meeting only if the departing owner is still available.
* ``ghost``: the departing owner left at least two of their tasks past their reminder.
* ``unprepared``: a customer-facing milestone came due while the knowledge document was not
  ready (raised by the readiness gate in flows.schedule, resolved by a ready document).
* ``unclear_roles``: no step-back note by T+45, or the departing owner still completing their
  handover tasks after the new owner became fully responsible (T+14 / S+14).

`detect` says which of the first, second and fourth hold now; a flag that no longer holds is
resolved. Each new flag is told to the manager once (throw over the wall: both owners too).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from handoff.flows.plans import Role
from handoff.flows.schedule import GHOST_REMINDERS, Facts, reminder_day

KINDS = ("throw_over_wall", "ghost", "unprepared", "unclear_roles")
DETECTED = ("throw_over_wall", "ghost", "unclear_roles")  # the ones `detect` decides
STEP_BACK_BY_DAYS = 45  # after the handoff date


@dataclass(frozen=True)
class Mistake:
    """A mistake that holds now, and who is told when it is first seen."""

    kind: str
    tell: tuple[str, ...]
    milestone: str | None = None


def _first(f: Facts, milestone: str, role: Role | None = None):
    return next(
        (k for k in f.tasks if k.milestone == milestone and (role is None or k.role == role)),
        None,
    )


def detect(f: Facts, now: datetime) -> tuple[list[Mistake], datetime | None]:
    """The mistakes that hold at `now`, and when to look again (a future deadline)."""
    found: list[Mistake] = []
    checks: list[datetime] = []
    departing = next((k.assignee for k in f.tasks if k.role == Role.DEPARTING), "")
    new_owner = next((k.assignee for k in f.tasks if k.role == Role.NEW_OWNER), "")
    everyone = tuple(u for u in dict.fromkeys((departing, new_owner, f.manager)) if u)
    manager = (f.manager,) if f.manager else ()

    handoff = _first(f, "handoff", Role.DEPARTING)  # 09:00 in the departing owner's zone
    if f.planned and handoff is not None:
        due = f.calendar.send_time(handoff.due_on, f.zones.get(handoff.assignee))
        met = any(k.done for k in f.tasks if k.milestone == "joint_meeting")
        if now >= due and not met:
            found.append(Mistake("throw_over_wall", everyone, "handoff"))
        elif now < due:
            checks.append(due)

    ignored = [
        k
        for k in f.tasks
        if k.role == Role.DEPARTING
        and not k.done
        and f.calendar.send_time(reminder_day(f, k), f.zones.get(k.assignee)) <= now
    ]
    if len(ignored) >= GHOST_REMINDERS and departing not in f.unreachable:
        found.append(Mistake("ghost", ()))  # the escalation DM tells the manager

    responsible = _first(f, "fully_responsible")
    if responsible is not None:
        since = f.calendar.send_time(responsible.due_on, f.zones.get(departing))
        late_work = [
            k
            for k in f.tasks
            if k.role == Role.DEPARTING
            and k.done
            and k.done_at is not None
            and k.done_at > since
            and k.milestone not in ("step_back", "fully_responsible")
        ]
        if late_work:
            found.append(Mistake("unclear_roles", manager, late_work[0].milestone))
    step_back = _first(f, "step_back", Role.DEPARTING)
    if step_back is not None and handoff is not None and not step_back.done:
        deadline = f.calendar.send_time(
            handoff.due_on + timedelta(days=STEP_BACK_BY_DAYS), f.zones.get(f.manager)
        )
        if now >= deadline:
            if not any(m.kind == "unclear_roles" for m in found):
                found.append(Mistake("unclear_roles", manager, "step_back"))
        else:
            checks.append(deadline)
    return found, min(checks, default=None)
