"""What a digest reads: one row per transition, from four queries whatever their number."""

from __future__ import annotations

import json
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session, col, or_, select

from handoff.flows.digest import AFTER_WINDOW, GRACE_DAYS, Overdue, Row
from handoff.flows.states import TERMINAL
from handoff.storage.models import Flag, KnowledgeSection, Metric, Task, Transition


def _scope(*, channel: str | None, manager: str | None, now: datetime) -> sa.ColumnElement:
    """Open transitions of a digest channel (or of a manager), plus those closed lately (for
    their CSAT and check-ins: AFTER_WINDOW)."""
    who = Transition.digest_channel == channel if channel else Transition.manager == manager
    recent = sa.and_(Transition.state == "closed", col(Transition.closed_at) >= now - AFTER_WINDOW)
    return sa.and_(who, or_(col(Transition.state).not_in(TERMINAL), recent))


def _done_late(session: Session) -> sa.ColumnElement[bool]:
    """SQL: a task done more than the grace days after its due day (what the reminder allows)."""
    if session.get_bind().dialect.name == "postgresql":
        return sa.cast(Task.done_at, sa.Date) > Task.due_on + GRACE_DAYS
    return sa.func.date(Task.done_at) > sa.func.date(Task.due_on, f"+{GRACE_DAYS} days")


def rows(
    session: Session,
    *,
    now: datetime,
    today: date,
    channel: str | None = None,
    manager: str | None = None,
) -> list[Row]:
    """The digest rows of a channel's (or a manager's) transitions."""
    where = _scope(channel=channel, manager=manager, now=now)
    columns = (
        Transition.id,
        Transition.account,
        Transition.state,
        Transition.planned,
        Transition.handoff_date,
        Transition.departing_owner,
        Transition.new_owner,
        Transition.manager,
        Transition.completeness,
        Transition.doc_ready,
        Transition.closed_at,
    )
    # plain tuples, not ORM objects: ten thousand rows stay well under a second
    ts = session.connection().execute(sa.select(*columns).where(where).order_by(Transition.id))
    ts = ts.all()
    if not ts:
        return []
    ids = select(Transition.id).where(where)
    overdue: dict[int, list[Overdue]] = {}
    for tid, assignee, milestone, due_on in session.exec(
        select(Task.transition_id, Task.assignee, Task.milestone, Task.due_on)
        .where(col(Task.transition_id).in_(ids), col(Task.done_at).is_(None), Task.due_on < today)
        .order_by(Task.transition_id, Task.seq, Task.id)
    ):
        overdue.setdefault(tid, []).append(Overdue(assignee, milestone, (today - due_on).days))
    late = dict(
        session.exec(
            select(Task.transition_id, sa.func.count())
            .where(
                col(Task.transition_id).in_(ids),
                col(Task.done_at).is_not(None),
                _done_late(session),
            )
            .group_by(Task.transition_id)
        ).all()
    )
    flags: dict[int, list[str]] = {}
    for tid, kind in session.exec(
        select(Flag.transition_id, Flag.kind).where(
            col(Flag.transition_id).in_(ids), col(Flag.resolved_at).is_(None)
        )
    ):
        flags.setdefault(tid, []).append(kind)
    csat: dict[int, int] = {}
    after: dict[int, tuple[str, dict]] = {}
    for tid, name, value in session.exec(
        select(Metric.transition_id, Metric.name, Metric.value).where(
            col(Metric.transition_id).in_(ids)
        )
    ):
        data = json.loads(value or "{}")
        if name == "csat" and isinstance(data.get("score"), int):
            csat[tid] = data["score"]
        elif name != "csat" and name > after.get(tid, ("", {}))[0]:
            after[tid] = (name, data)  # d30 < d60 < d90: the latest check-in wins
    before: dict[int, int] = {}
    for tid, data in session.exec(
        select(KnowledgeSection.transition_id, KnowledgeSection.data).where(
            col(KnowledgeSection.transition_id).in_(ids), KnowledgeSection.section == "risks"
        )
    ):
        score = json.loads(data or "{}").get("health_score")
        if isinstance(score, int):
            before[tid] = score
    return [
        Row(
            *t,
            overdue=tuple(overdue.get(t[0], ())),
            late_done=int(late.get(t[0], 0)),
            flags=tuple(sorted(set(flags.get(t[0], ())))),
            csat=csat.get(t[0]),
            health_before=before.get(t[0]),
            health_after=_int(checkin.get("health")),
            renewal_risk=checkin.get("renewal_risk"),
            pipeline=checkin.get("pipeline"),
            reference=checkin.get("reference"),
        )
        for t in ts
        for checkin in [after.get(t[0], ("", {}))[1]]
    ]


def _int(value: object) -> int | None:
    return value if isinstance(value, int) else None


def channel_managers(session: Session, *, channel: str) -> list[str]:
    """The managers of the open transitions whose digest goes to `channel`."""
    stmt = (
        select(Transition.manager)
        .where(Transition.digest_channel == channel, col(Transition.state).not_in(TERMINAL))
        .distinct()
        .order_by(Transition.manager)
    )
    return list(session.exec(stmt).all())


def channels(session: Session) -> list[str]:
    """Every digest channel with an open transition."""
    return list(
        session.exec(
            select(Transition.digest_channel)
            .where(
                col(Transition.digest_channel).is_not(None),
                col(Transition.state).not_in(TERMINAL),
            )
            .distinct()
        ).all()
    )
