"""Small repository functions; keyword-only, one query each where possible."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from functools import lru_cache

import sqlalchemy as sa
from sqlmodel import Session, col, or_, select

from handoff.flows.calendar import WorkCalendar
from handoff.flows.plans import PlannedTask, Role
from handoff.flows.progress import TaskState, replanned, state_after_done
from handoff.flows.schedule import Facts, TaskFacts
from handoff.flows.start import Person as PersonFacts
from handoff.flows.start import StartRequest, account_key
from handoff.flows.states import TERMINAL
from handoff.storage.bulk import task_rows, transition_row
from handoff.storage.models import Person, Task, Transition


def save_people(session: Session, *, people: Iterable[PersonFacts], now: datetime) -> None:
    """Remember what users.info said about these users (keeps each user's own language)."""
    for facts in people:
        if not facts.found:
            continue
        row = session.get(Person, facts.user_id) or Person(user_id=facts.user_id, updated_at=now)
        row.name, row.tz, row.locale = facts.name, facts.tz, facts.locale
        row.is_bot, row.deleted, row.updated_at = facts.is_bot, facts.deleted, now
        session.add(row)


def people(session: Session, *, user_ids: Iterable[str]) -> dict[str, Person]:
    """Known people by id."""
    ids = list(set(user_ids))
    if not ids:
        return {}
    rows = session.exec(select(Person).where(col(Person.user_id).in_(ids))).all()
    return {p.user_id: p for p in rows}


def account_taken(session: Session, *, team_id: str, account: str) -> bool:
    """Whether the account already has an open transition in this workspace."""
    stmt = select(Transition.id).where(
        Transition.team_id == team_id,
        Transition.account_key == account_key(account),
        col(Transition.state).not_in(TERMINAL),
    )
    return session.exec(stmt.limit(1)).first() is not None


def create_transition(
    session: Session,
    *,
    team_id: str,
    creator: str,
    req: StartRequest,
    plan: list[PlannedTask],
    started_on,
    holiday_country: str,
    now: datetime,
) -> Transition:
    """Insert a transition and its tasks (flushes; the caller commits); the same rows as a
    bulk import writes (storage.bulk)."""
    row = transition_row(
        team_id=team_id,
        creator=creator,
        req=req,
        started_on=started_on,
        holiday_country=holiday_country,
        now=now,
    )
    t = Transition(**row)
    session.add(t)
    session.flush()
    session.add_all(Task(**task) for task in task_rows(t.id, row, plan))
    session.flush()
    return t


def involved(user_id: str) -> sa.ColumnElement[bool]:
    """SQL condition: the user is departing owner, new owner, manager or creator."""
    return or_(
        Transition.departing_owner == user_id,
        Transition.new_owner == user_id,
        Transition.manager == user_id,
        Transition.creator == user_id,
    )


def open_transitions_for(session: Session, *, user_id: str, limit: int = 200) -> list[Transition]:
    """The user's open transitions, soonest handoff first."""
    stmt = (
        select(Transition)
        .where(involved(user_id), col(Transition.state).not_in(TERMINAL))
        .order_by(Transition.handoff_date, Transition.id)
        .limit(limit)
    )
    return list(session.exec(stmt).all())


def count_open_transitions_for(session: Session, *, user_id: str) -> int:
    """How many open transitions the user is part of."""
    stmt = (
        select(sa.func.count())
        .select_from(Transition)
        .where(involved(user_id), col(Transition.state).not_in(TERMINAL))
    )
    return int(session.exec(stmt).one())


def transition_for(
    session: Session, *, user_id: str, account: str, team_id: str | None = None
) -> Transition | None:
    """The user's transition for an account: the open one, else the latest; None if not theirs."""
    stmt = select(Transition).where(
        Transition.account_key == account_key(account), involved(user_id)
    )
    if team_id:
        stmt = stmt.where(Transition.team_id == team_id)
    rows = session.exec(stmt.order_by(col(Transition.id).desc())).all()
    open_rows = [t for t in rows if t.state not in TERMINAL]
    return (open_rows or list(rows) or [None])[0]


def accounts_of(session: Session, *, user_id: str, team_id: str | None = None) -> list[str]:
    """The account names of the user's transitions, latest first (at most 500)."""
    stmt = select(Transition.account).where(involved(user_id))
    if team_id:
        stmt = stmt.where(Transition.team_id == team_id)
    return list(session.exec(stmt.order_by(col(Transition.id).desc()).limit(500)).all())


def tasks(session: Session, *, transition_id: int) -> list[Task]:
    """A transition's tasks in plan order."""
    stmt = select(Task).where(Task.transition_id == transition_id).order_by(Task.seq, Task.id)
    return list(session.exec(stmt).all())


def next_milestones(session: Session, *, transition_ids: list[int]) -> dict[int, tuple[str, date]]:
    """The first open milestone (key, due day) of each transition."""
    if not transition_ids:
        return {}
    stmt = (
        select(Task.transition_id, Task.milestone, Task.due_on, Task.seq)
        .where(col(Task.transition_id).in_(transition_ids), col(Task.done_at).is_(None))
        .order_by(Task.transition_id, Task.seq)
    )
    out: dict[int, tuple[str, date]] = {}
    for tid, milestone, due_on, _ in session.exec(stmt).all():
        out.setdefault(tid, (milestone, due_on))
    return out


def due_transitions(
    session: Session, *, now: datetime, limit: int = 500, transition_id: int | None = None
) -> list[Transition]:
    """Transitions the scheduler must look at (next_due_at reached; closed ones too, for the
    new owner's check-ins after the handoff, not cancelled ones); SKIP LOCKED on PostgreSQL so
    replicas share the work."""
    stmt = (
        select(Transition)
        .where(col(Transition.next_due_at) <= now, Transition.state != "cancelled")
        .order_by(Transition.next_due_at, Transition.id)
        .limit(limit)
    )
    if transition_id is not None:
        stmt = stmt.where(Transition.id == transition_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=Transition)
    return list(session.exec(stmt).all())


def facts(session: Session, *, transitions: list[Transition], country: str = "") -> list[Facts]:
    """Scheduler facts for these transitions: three queries whatever their number."""
    ids = [t.id for t in transitions]
    by_t: dict[int, list[TaskFacts]] = {i: [] for i in ids}
    if ids:
        # in plan order (PostgreSQL returns rows in no fixed order without one)
        stmt = (
            select(Task)
            .where(col(Task.transition_id).in_(ids))
            .order_by(Task.transition_id, Task.seq, Task.id)
        )
        for k in session.exec(stmt).all():
            by_t[k.transition_id].append(
                TaskFacts(
                    id=k.id,
                    milestone=k.milestone,
                    seq=k.seq,
                    role=k.role,
                    assignee=k.assignee,
                    due_on=k.due_on,
                    compressed=k.compressed,
                    done=k.done_at is not None,
                    snoozed_until=k.snoozed_until,
                    snoozes=k.snoozes,
                    done_at=k.done_at,
                )
            )
    users = {u for t in transitions for u in (t.departing_owner, t.new_owner, t.manager)}
    known = people(session, user_ids=users).values()
    zones = {p.user_id: p.tz for p in known}
    gone = frozenset(p.user_id for p in known if p.deleted)
    return [
        Facts(
            id=t.id,
            state=t.state,
            created_at=t.created_at,
            manager=t.manager,
            tasks=tuple(by_t[t.id]),
            zones={u: zones.get(u, "") for u in (t.departing_owner, t.new_owner, t.manager)},
            calendar=calendar_for(t.holiday_country or country),
            unreachable=gone,
            planned=t.planned,
            ready=t.doc_ready,  # kept in step with the document by every change of it
            anchor=t.handoff_date,
            new_owner=t.new_owner,
        )
        for t in transitions
    ]


@lru_cache(maxsize=64)
def calendar_for(country: str) -> WorkCalendar:
    """One shared calendar per country."""
    return WorkCalendar(country=country)


def complete_task(
    session: Session, *, task: Task, user_id: str, note: str, now: datetime
) -> tuple[Transition, str]:
    """Mark a task done and move the transition's state (the caller commits).

    Returns the transition and its state before the change.
    """
    t = session.get(Transition, task.transition_id, with_for_update=True)
    before = t.state
    task.done_at, task.done_by, task.note = now, user_id, note
    session.add(task)
    session.flush()
    states = [
        TaskState(k.milestone, k.role, k.done_at is not None)
        for k in tasks(session, transition_id=t.id)
    ]
    t.state = state_after_done(t.state, states, task.milestone)
    t.updated_at = now
    if t.state == "closed":
        t.closed_at = now
    t.next_due_at = now  # the scheduler looks again: reminders for this task are void now
    session.add(t)
    return t, before


def move_handoff_date(
    session: Session, *, t: Transition, new_date: date, today: date, now: datetime
) -> None:
    """Re-plan the open tasks around a new handoff date (the caller commits)."""
    dates = replanned(
        planned=t.planned,
        anchor=new_date,
        today=today,
        strategic=t.strategic,
        calendar=calendar_for(t.holiday_country),
    )
    for k in tasks(session, transition_id=t.id):
        if k.done_at is None and (k.milestone, k.role) in dates:
            k.due_on, k.compressed = dates[(k.milestone, k.role)]
            session.add(k)
    t.handoff_date, t.updated_at, t.next_due_at = new_date, now, now
    session.add(t)


def set_state(session: Session, *, t: Transition, state: str, now: datetime) -> None:
    """Store a state the state machine allowed."""
    t.state, t.updated_at = state, now
    if state in TERMINAL:
        t.closed_at, t.next_due_at = now, None
    session.add(t)


def mark_unreachable(session: Session, *, user_id: str, now: datetime) -> None:
    """Slack says this user is gone (deactivated, unknown): plan nothing more for them."""
    row = session.get(Person, user_id) or Person(user_id=user_id, updated_at=now)
    row.deleted, row.updated_at = True, now
    session.add(row)


def transitions_by_id(session: Session, *, ids: list[int]) -> list[Transition]:
    """Transitions by id."""
    if not ids:
        return []
    return list(session.exec(select(Transition).where(col(Transition.id).in_(ids))).all())


def tasks_of_many(session: Session, *, transition_ids: list[int]) -> dict[int, list[Task]]:
    """The tasks of several transitions, each in plan order."""
    out: dict[int, list[Task]] = {i: [] for i in transition_ids}
    if not transition_ids:
        return out
    stmt = (
        select(Task)
        .where(col(Task.transition_id).in_(transition_ids))
        .order_by(Task.transition_id, Task.seq, Task.id)
    )
    for k in session.exec(stmt).all():
        out[k.transition_id].append(k)
    return out


def tasks_by_id(session: Session, *, ids: list[int]) -> list[Task]:
    """Tasks by id."""
    if not ids:
        return []
    return list(session.exec(select(Task).where(col(Task.id).in_(ids))).all())


def role_condition(user_id: str, role: Role) -> sa.ColumnElement[bool]:
    """SQL condition: the user's role in a transition is `role` (departing wins over new owner,
    both over manager; the creator counts as manager)."""
    if role is Role.DEPARTING:
        return Transition.departing_owner == user_id
    if role is Role.NEW_OWNER:
        return sa.and_(Transition.new_owner == user_id, Transition.departing_owner != user_id)
    return sa.and_(
        or_(Transition.manager == user_id, Transition.creator == user_id),
        Transition.departing_owner != user_id,
        Transition.new_owner != user_id,
    )


def open_counts_by_role(session: Session, *, user_id: str) -> dict[Role, int]:
    """How many open transitions the user has in each role (one query)."""
    role = sa.case(
        (Transition.departing_owner == user_id, Role.DEPARTING.value),
        (Transition.new_owner == user_id, Role.NEW_OWNER.value),
        else_=Role.MANAGER.value,
    )
    stmt = (
        select(role, sa.func.count())
        .where(involved(user_id), col(Transition.state).not_in(TERMINAL))
        .group_by(role)
    )
    counts = {Role(r): int(n) for r, n in session.exec(stmt).all()}
    return {r: counts.get(r, 0) for r in Role}


def open_by_role(
    session: Session,
    *,
    user_id: str,
    role: Role,
    offset: int,
    limit: int,
    count: int | None = None,
) -> tuple[int, list[Transition]]:
    """How many open transitions the user has in a role, and one page of them (soonest first);
    `count`, when the caller knows it, saves the counting."""
    where = sa.and_(role_condition(user_id, role), col(Transition.state).not_in(TERMINAL))
    if count is None:
        count = int(
            session.exec(select(sa.func.count()).select_from(Transition).where(where)).one()
        )
    if count == 0:
        return 0, []
    rows = session.exec(
        select(Transition)
        .where(where)
        .order_by(Transition.handoff_date, Transition.id)
        .offset(offset)
        .limit(limit)
    ).all()
    return count, list(rows)


def set_language(session: Session, *, user_id: str, lang: str, now: datetime) -> None:
    """The user's own language choice ('' follows their Slack locale)."""
    row = session.get(Person, user_id) or Person(user_id=user_id, updated_at=now)
    row.lang = lang
    session.add(row)


def transitions_by_account(session: Session, *, account: str) -> list[Transition]:
    """Every transition of an account (all workspaces), open ones first, newest first."""
    rows = session.exec(
        select(Transition)
        .where(Transition.account_key == account_key(account))
        .order_by(col(Transition.id).desc())
    ).all()
    return sorted(rows, key=lambda t: t.state in TERMINAL)


def taken_accounts(session: Session, *, team_id: str, keys: Iterable[str]) -> set[str]:
    """Which of these account keys already have an open transition in this workspace."""
    wanted, found = sorted(set(keys)), set()
    for first in range(0, len(wanted), 500):
        stmt = select(Transition.account_key).where(
            Transition.team_id == team_id,
            col(Transition.account_key).in_(wanted[first : first + 500]),
            col(Transition.state).not_in(TERMINAL),
        )
        found.update(session.exec(stmt).all())
    return found


def customer_facing_load(
    session: Session, *, user_ids: Iterable[str], milestones: Iterable[str], since: date
) -> dict[tuple[str, int, int], int]:
    """Open milestones of these kinds per new owner and ISO week, from `since` on."""
    ids = sorted(set(user_ids))
    out: dict[tuple[str, int, int], int] = {}
    for first in range(0, len(ids), 500):
        stmt = (
            select(Task.assignee, Task.due_on)
            .join(Transition, col(Transition.id) == col(Task.transition_id))
            .where(
                col(Task.assignee).in_(ids[first : first + 500]),
                Task.role == Role.NEW_OWNER.value,
                col(Task.milestone).in_(list(milestones)),
                col(Task.done_at).is_(None),
                col(Task.due_on) >= since,
                col(Transition.state).not_in(TERMINAL),
            )
        )
        for user, due in session.exec(stmt).all():
            year, week, _ = due.isocalendar()
            out[(user, year, week)] = out.get((user, year, week), 0) + 1
    return out


def home_opened(session: Session, *, user_id: str, now: datetime) -> None:
    """The user has opened the App Home (at least once)."""
    row = session.get(Person, user_id) or Person(user_id=user_id, updated_at=now)
    if row.home_opened_at is None:
        row.home_opened_at = now
        session.add(row)


def home_users(session: Session, *, user_ids: Iterable[str]) -> set[str]:
    """Those of the users who have ever opened the App Home."""
    ids = list(set(user_ids))
    if not ids:
        return set()
    stmt = select(Person.user_id).where(
        col(Person.user_id).in_(ids), col(Person.home_opened_at).is_not(None)
    )
    return set(session.exec(stmt).all())
