"""Progress of a plan: completing tasks, snoozing, moving the handoff date. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from handoff.flows.calendar import WorkCalendar, local_today
from handoff.flows.plans import build_plan
from handoff.flows.start import MAX_FUTURE_DAYS, UNPLANNED_MAX_PAST_DAYS
from handoff.flows.states import after_completion


@dataclass(frozen=True)
class TaskState:
    """A task as far as progress is concerned."""

    milestone: str
    role: str
    done: bool


def state_after_done(state: str, tasks: Sequence[TaskState], milestone: str) -> str:
    """The transition's state once a task of `milestone` is done (tasks already updated)."""
    if not all(k.done for k in tasks if k.milestone == milestone):
        return state
    return after_completion(state, milestone, plan_done=all(k.done for k in tasks))


def snooze_until(now: datetime, tz: str | None, cal: WorkCalendar, mode: str) -> datetime:
    """09:00 on the next working day ('day') or on the next Monday ('monday'), in zone tz."""
    today = local_today(now, tz)
    if mode == "monday":
        day = today + timedelta(days=7 - today.weekday())
    else:
        day = today + timedelta(days=1)
    return cal.send_time(day, tz)


def move_errors(*, planned: bool, new_date: date | None, today: date) -> dict[str, str]:
    """Error codes for a new handoff date."""
    if new_date is None:
        return {"handoff_date": "date_missing"}
    if new_date > today + timedelta(days=MAX_FUTURE_DAYS):
        return {"handoff_date": "date_too_far"}
    if planned and new_date < today:
        return {"handoff_date": "date_past"}
    if not planned and new_date < today - timedelta(days=UNPLANNED_MAX_PAST_DAYS):
        return {"handoff_date": "start_too_old"}  # as the start form: at most 30 days back
    return {}


def replanned(
    *, planned: bool, anchor: date, today: date, strategic: bool, calendar: WorkCalendar
) -> dict[tuple[str, str], tuple[date, bool]]:
    """New (due day, compressed) per (milestone, role) after the handoff date moved."""
    plan = build_plan(
        planned=planned, anchor=anchor, today=today, strategic=strategic, calendar=calendar
    )
    return {(p.milestone, p.role.value): (p.due_on, p.compressed) for p in plan}
