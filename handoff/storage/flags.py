"""Mistakes the bot caught: raised once per key, resolved when the cause is gone."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, update

from handoff.storage.models import Flag


def raise_flag(
    session: Session,
    *,
    key: str,
    transition_id: int,
    kind: str,
    now: datetime,
    milestone: str | None = None,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Record a flag unless its key exists (a resolved one is opened again, silently); whether
    it is new."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(Flag)
        .values(
            key=key,
            transition_id=transition_id,
            kind=kind,
            milestone=milestone,
            detail=json.dumps(detail or {}, sort_keys=True),
            raised_at=now,
        )
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(Flag.id)
    )
    if session.exec(stmt).all():  # type: ignore[call-overload]
        return True
    session.exec(
        update(Flag)
        .where(col(Flag.key) == key, col(Flag.resolved_at).is_not(None))
        .values(resolved_at=None)
    )
    return False


def resolve(session: Session, *, transition_id: int, kinds: Iterable[str], now: datetime) -> int:
    """Mark the transition's open flags of these kinds resolved; how many."""
    result = session.exec(
        update(Flag)
        .where(
            col(Flag.transition_id) == transition_id,
            col(Flag.kind).in_(list(kinds)),
            col(Flag.resolved_at).is_(None),
        )
        .values(resolved_at=now)
    )
    return result.rowcount or 0  # type: ignore[attr-defined]
