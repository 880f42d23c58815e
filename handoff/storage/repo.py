"""Small repository functions; keyword-only, one query each where possible."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session, col, or_, select

from handoff.flows.plans import PlannedTask, Role
from handoff.flows.start import Person as PersonFacts
from handoff.flows.start import StartRequest, account_key
from handoff.storage.models import Person, Task, Transition

OPEN = ("closed", "cancelled")


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
        col(Transition.state).not_in(OPEN),
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
    """Insert a transition and its tasks (flushes; the caller commits)."""
    t = Transition(
        team_id=team_id,
        account=" ".join(req.account.split()),
        account_key=account_key(req.account),
        departing_owner=req.departing_owner or "",
        new_owner=req.new_owner or "",
        manager=req.manager or "",
        creator=creator,
        kind=req.kind or "",
        planned=req.planned,
        handoff_date=req.handoff_date,
        started_on=started_on,
        strategic=req.strategic,
        reason=req.reason,
        notes=req.notes,
        digest_channel=req.digest_channel,
        holiday_country=holiday_country,
        created_at=now,
        updated_at=now,
        next_due_at=now,
    )
    session.add(t)
    session.flush()
    assignees = {
        Role.DEPARTING: t.departing_owner,
        Role.NEW_OWNER: t.new_owner,
        Role.MANAGER: t.manager,
    }
    for p in plan:
        session.add(
            Task(
                transition_id=t.id,
                milestone=p.milestone,
                seq=p.seq,
                role=p.role.value,
                assignee=assignees[p.role],
                due_on=p.due_on,
                compressed=p.compressed,
            )
        )
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
        .where(involved(user_id), col(Transition.state).not_in(OPEN))
        .order_by(Transition.handoff_date, Transition.id)
        .limit(limit)
    )
    return list(session.exec(stmt).all())


def count_open_transitions_for(session: Session, *, user_id: str) -> int:
    """How many open transitions the user is part of."""
    stmt = (
        select(sa.func.count())
        .select_from(Transition)
        .where(involved(user_id), col(Transition.state).not_in(OPEN))
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
    open_rows = [t for t in rows if t.state not in OPEN]
    return (open_rows or list(rows) or [None])[0]


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
