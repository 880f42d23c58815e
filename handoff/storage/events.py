"""Events API ids already handled."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from handoff.storage.models import SeenEvent


def first_time(engine: Engine, *, event_id: str, now: datetime) -> bool:
    """Record an event id; True only for the first delivery of that id."""
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(SeenEvent)
        .values(event_id=event_id, seen_at=now)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(SeenEvent.event_id)  # rowcount of INSERT … ON CONFLICT is -1 on psycopg
    )
    with engine.begin() as conn:
        return conn.execute(stmt).first() is not None
