"""Milestone plans of the playbook: planned (T-28 … T+45) and unplanned (S … S+28)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from handoff.flows.calendar import WorkCalendar


class Kind(StrEnum):
    """The four transition scenarios."""

    SALES_TO_CS = "sales_to_cs"
    SALES_TO_AM = "sales_to_am"
    REP_TO_REP = "rep_to_rep"
    TEAM_TO_TEAM = "team_to_team"


class Role(StrEnum):
    """Who a task belongs to."""

    DEPARTING = "departing"
    NEW_OWNER = "new_owner"
    MANAGER = "manager"


D, N, M = Role.DEPARTING, Role.NEW_OWNER, Role.MANAGER


@dataclass(frozen=True)
class Step:
    """One milestone of a plan: offset in days from the anchor date and who has tasks in it."""

    key: str
    offset: int
    roles: tuple[Role, ...]
    strategic_roles: tuple[Role, ...] = ()
    window: int = 0  # days after the offset that still count as on time (step-back: T+30…45)
    customer_facing: bool = False

    def roles_for(self, strategic: bool) -> tuple[Role, ...]:
        """The roles with tasks in this milestone, managers added for strategic accounts."""
        extra = tuple(r for r in self.strategic_roles if strategic and r not in self.roles)
        return self.roles + extra


PLANNED: tuple[Step, ...] = (
    Step("planning", -28, (D, N, M)),
    Step("onboarding", -21, (D, N)),
    Step("customer_comm", -14, (D, N), customer_facing=True),
    Step("joint_meeting", -7, (D, N), strategic_roles=(M,), customer_facing=True),
    Step("handoff", 0, (D, N)),
    Step("follow_up", 7, (N,)),
    Step("fully_responsible", 14, (D, N)),
    Step("retrospective", 28, (N, M)),
    Step("step_back", 30, (D,), window=15),
)

UNPLANNED: tuple[Step, ...] = (
    Step("assign", 0, (N, M)),
    Step("knowledge_transfer", 1, (D, N, M)),
    Step("customer_comm", 2, (D, N), window=1, customer_facing=True),
    Step("joint_meeting", 7, (D, N), strategic_roles=(M,), customer_facing=True),
    Step("fully_responsible", 14, (D, N)),
    Step("retrospective", 28, (N, M)),
)

FULL_LEAD_DAYS = 28


def steps(planned: bool) -> tuple[Step, ...]:
    """The milestone table of a planned or an unplanned transition."""
    return PLANNED if planned else UNPLANNED


def step(planned: bool, key: str) -> Step:
    """One milestone of a plan by key; KeyError if the plan has no such milestone."""
    for s in steps(planned):
        if s.key == key:
            return s
    raise KeyError(key)


@dataclass(frozen=True)
class PlannedTask:
    """A role's task in one milestone, with the day it is due."""

    milestone: str
    seq: int
    role: Role
    due_on: date
    compressed: bool


def build_plan(
    *,
    planned: bool,
    anchor: date,
    today: date,
    strategic: bool,
    calendar: WorkCalendar | None = None,
) -> list[PlannedTask]:
    """Every task of the plan, in order; milestones already past are compressed to today.

    A milestone that falls on a weekend or public holiday moves to the next working day.
    """
    cal = calendar or WorkCalendar()
    tasks: list[PlannedTask] = []
    for seq, s in enumerate(steps(planned)):
        due = anchor + timedelta(days=s.offset)
        compressed = due < today
        due = cal.next_working_day(due)
        for role in s.roles_for(strategic):
            tasks.append(PlannedTask(s.key, seq, role, today if compressed else due, compressed))
    return tasks


def is_compressed(*, planned: bool, anchor: date, today: date) -> bool:
    """A planned transition started with less than four weeks to go."""
    return planned and (anchor - today).days < FULL_LEAD_DAYS
