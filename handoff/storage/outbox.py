"""The persisted outbox: enqueue with an idempotency key, claim due rows, mark the outcome."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from handoff.flows.states import TERMINAL
from handoff.storage.models import Outbox, Transition, UTCDateTime

LEASE = timedelta(minutes=5)
MAX_BACKOFF = timedelta(hours=1)
FIRST_BACKOFF = timedelta(seconds=30)
MAX_ATTEMPTS = 15  # about eight hours of transient faults, then the row fails for good


@dataclass(frozen=True)
class Message:
    """A message to enqueue: who gets what, when, under which idempotency key."""

    key: str
    recipient: str
    kind: str
    due_at: datetime
    transition_id: int | None = None
    milestone: str | None = None
    payload: dict = field(default_factory=dict)


def enqueue(session: Session, *, messages: Iterable[Message]) -> int:
    """Insert messages whose key is new; an existing key is left as it is. Returns rows added."""
    rows = [
        {
            "key": m.key,
            "recipient": m.recipient,
            "kind": m.kind,
            "due_at": m.due_at,
            "transition_id": m.transition_id,
            "milestone": m.milestone,
            "payload": json.dumps(m.payload, sort_keys=True),
            "status": "pending",
            "attempts": 0,
            "uncertain": False,
        }
        for m in messages
    ]
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = (
        insert(Outbox)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(Outbox.id)  # rowcount of INSERT … ON CONFLICT is -1 on psycopg
    )
    return len(session.exec(stmt).all())  # type: ignore[call-overload]


def claim(
    session: Session,
    *,
    now: datetime,
    worker: str,
    limit: int = 25,
    transition_id: int | None = None,
    lease: timedelta = LEASE,
) -> list[Outbox]:
    """Claim due rows for this worker (SKIP LOCKED on PostgreSQL); the caller commits at once.

    A row is due when it is pending and its time has come, or when an earlier claim's lease
    ran out (its worker died mid-send). Such a row becomes `uncertain` (SET sees the old
    status) and comes back with status 'recovering', so that the sender first looks in Slack.
    """
    due = sa.or_(
        sa.and_(Outbox.status == "pending", col(Outbox.due_at) <= now),
        sa.and_(Outbox.status == "sending", col(Outbox.lease_until) < now),
    )
    pick = select(Outbox.id).where(due)
    if transition_id is not None:
        pick = pick.where(Outbox.transition_id == transition_id)
    pick = pick.order_by(Outbox.due_at, Outbox.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    # two statements: as a subquery, PostgreSQL may run the SKIP LOCKED pick once per row
    ids = list(session.exec(pick).all())
    if not ids:
        return []
    stmt = (
        sa.update(Outbox)
        .where(col(Outbox.id).in_(ids), due)
        .values(
            uncertain=sa.or_(Outbox.uncertain, Outbox.status == "sending"),
            status="sending",
            claimed_by=worker,
            lease_until=now + lease,
            attempts=Outbox.attempts + 1,
            first_try_at=sa.func.coalesce(Outbox.first_try_at, sa.literal(now, UTCDateTime())),
        )
        .returning(Outbox)
        .execution_options(synchronize_session=False)
    )
    rows = sorted(session.execute(stmt).scalars().all(), key=lambda r: (r.due_at, r.id))
    for row in rows:
        session.expunge(row)  # detached: the marker below must never be written back
        if row.uncertain:
            row.status = "recovering"  # tells the sender to look in Slack first
    return rows


_MARK_SENT = (
    sa.update(Outbox)
    .where(Outbox.id == sa.bindparam("row_id"))
    .values(
        status="sent",
        sent_at=sa.bindparam("sent_at", type_=UTCDateTime()),
        channel=sa.bindparam("channel"),
        ts=sa.bindparam("ts"),
        lease_until=None,
        last_error=None,
        uncertain=False,
    )
)


def mark_sent_many(conn: Session | Connection, marks: list[dict[str, Any]]) -> None:
    """Several messages reached Slack: dicts of row_id, sent_at, channel, ts (executemany)."""
    conn.execute(_MARK_SENT, marks)


def mark_sent(
    session: Session | Connection,
    *,
    row_id: int,
    now: datetime,
    channel: str | None,
    ts: str | None,
) -> None:
    """The message reached Slack (built once: this runs for every message sent)."""
    session.execute(_MARK_SENT, {"row_id": row_id, "sent_at": now, "channel": channel, "ts": ts})


def _open_transition(required: bool) -> list[sa.ColumnElement[bool]]:
    """Condition: the row's transition is neither closed nor cancelled."""
    if not required:
        return []
    closed = (
        sa.select(Transition.id)
        .where(Transition.id == Outbox.transition_id, col(Transition.state).in_(TERMINAL))
        .exists()
    )
    return [~closed]


def _still_mine(attempts: int | None) -> list[sa.ColumnElement[bool]]:
    """Conditions under which an outcome may be written: the claim that sent is still the
    row's current one (a late answer never overwrites what a newer claim recorded)."""
    if attempts is None:
        return []
    return [Outbox.status == "sending", Outbox.attempts == attempts]


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … at most an hour."""
    return min(FIRST_BACKOFF * (2 ** min(max(attempts - 1, 0), 16)), MAX_BACKOFF)


def mark_retry(
    session: Session,
    *,
    row_id: int,
    attempts: int,
    now: datetime,
    error: str,
    uncertain: bool,
    at_least: timedelta | None = None,
) -> datetime:
    """A transient fault: try again later with exponential backoff. Returns the next try.

    `uncertain`: Slack may have got the message (connection lost, 5xx); the next try looks
    before sending. Once set it stays set until the message is known to be sent.
    """
    at = now + max(backoff(attempts), at_least or timedelta(0))
    session.exec(
        sa.update(Outbox)
        .where(Outbox.id == row_id, *_still_mine(attempts))
        .values(
            status="pending",
            due_at=at,
            lease_until=None,
            last_error=error[:500],
            uncertain=sa.or_(Outbox.uncertain, sa.literal(uncertain)),
        )
    )  # type: ignore[call-overload]
    return at


def mark_failed(session: Session, *, row_id: int, error: str, attempts: int | None = None) -> bool:
    """A permanent fault: never retried."""
    result = session.exec(
        sa.update(Outbox)
        .where(Outbox.id == row_id, *_still_mine(attempts))
        .values(status="failed", lease_until=None, last_error=error[:500])
    )  # type: ignore[call-overload]
    return (result.rowcount or 0) == 1


def drop_pending(session: Session, *, transition_id: int) -> int:
    """Drop a transition's unsent messages (it was cancelled). Returns rows dropped."""
    stmt = sa.update(Outbox).where(
        Outbox.transition_id == transition_id, Outbox.status == "pending"
    )
    return session.exec(stmt.values(status="dropped")).rowcount or 0  # type: ignore[call-overload]


def keys(session: Session, *, transition_ids: Sequence[int]) -> dict[int, set[str]]:
    """Idempotency keys already enqueued, per transition."""
    out: dict[int, set[str]] = {t: set() for t in transition_ids}
    if not transition_ids:
        return out
    stmt = select(Outbox.transition_id, Outbox.key).where(
        col(Outbox.transition_id).in_(list(transition_ids))
    )
    for tid, key in session.exec(stmt).all():
        out[tid].add(key)
    return out


def mark_skipped(
    session: Session, *, row_id: int, reason: str, attempts: int | None = None
) -> None:
    """No longer needed (task done, transition cancelled): never sent."""
    session.exec(
        sa.update(Outbox)
        .where(Outbox.id == row_id, *_still_mine(attempts))
        .values(status="skipped", lease_until=None, last_error=reason[:500])
    )  # type: ignore[call-overload]


def forget_pending(session: Session, *, transition_id: int, kinds: Sequence[str]) -> int:
    """Delete unsent rows of these kinds so the scheduler plans them anew (after a re-plan).

    Rows already sent stay, and with them their keys: a nudge that went out is never repeated.
    """
    stmt = sa.delete(Outbox).where(
        Outbox.transition_id == transition_id,
        Outbox.status == "pending",
        Outbox.attempts == 0,  # a row tried before may have reached Slack: it stays
        col(Outbox.kind).in_(list(kinds)),
    )
    return session.exec(stmt).rowcount or 0  # type: ignore[call-overload]


def renew(
    session: Session | Connection,
    *,
    require_open: bool = False,
    row_id: int,
    worker: str,
    attempts: int,
    now: datetime,
    lease: timedelta,
) -> bool:
    """Extend this claim on a row just before sending it.

    False when the claim was lost (the lease ran out and another replica, or another thread of
    this one, took the row over: `attempts` then differs): the caller must not send.
    """
    stmt = (
        sa.update(Outbox)
        .where(
            Outbox.id == row_id,
            Outbox.claimed_by == worker,
            Outbox.attempts == attempts,
            Outbox.status == "sending",
            *_open_transition(require_open),
        )
        .values(lease_until=now + lease)
    )
    return (session.execute(stmt).rowcount or 0) == 1


def kind_of_message(session: Session, *, ts: str) -> str | None:
    """The outbox kind of a message Slack knows by its ts (milestone, reminder, snooze…)."""
    return session.exec(select(Outbox.kind).where(Outbox.ts == ts).limit(1)).first()
