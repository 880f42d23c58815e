"""Bulk import storage: a batch of transitions and their tasks in two INSERT statements. The
rows are built here, for repo.create_transition too, so both write the same columns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from handoff.flows.plans import PlannedTask, Role
from handoff.flows.start import StartRequest, account_key
from handoff.storage.models import OPEN_STATES_SQL, Task, Transition


@dataclass(frozen=True)
class NewTransition:
    """One transition to create: who starts it, what was asked for, and its plan."""

    creator: str
    req: StartRequest
    plan: Sequence[PlannedTask]


@dataclass(frozen=True)
class Created:
    """A transition that was inserted (what the welcome messages need)."""

    id: int
    departing_owner: str
    new_owner: str
    manager: str


def transition_row(
    *,
    team_id: str,
    creator: str,
    req: StartRequest,
    started_on: date,
    holiday_country: str,
    now: datetime,
) -> dict[str, Any]:
    """The transition's column values; the rest (state, completeness …) are column defaults."""
    return {
        "team_id": team_id,
        "account": " ".join(req.account.split()),
        "account_key": account_key(req.account),
        "departing_owner": req.departing_owner or "",
        "new_owner": req.new_owner or "",
        "manager": req.manager or "",
        "creator": creator,
        "kind": req.kind or "",
        "planned": req.planned,
        "handoff_date": req.handoff_date,
        "started_on": started_on,
        "strategic": req.strategic,
        "reason": req.reason,
        "notes": req.notes,
        "digest_channel": req.digest_channel,
        "holiday_country": holiday_country,
        "created_at": now,
        "updated_at": now,
        "next_due_at": now,
    }


def task_rows(transition_id: int, row: dict[str, Any], plan: Sequence[PlannedTask]) -> list[dict]:
    """The tasks' column values for a transition row."""
    assignees = {
        Role.DEPARTING: row["departing_owner"],
        Role.NEW_OWNER: row["new_owner"],
        Role.MANAGER: row["manager"],
    }
    return [
        {
            "transition_id": transition_id,
            "milestone": p.milestone,
            "seq": p.seq,
            "role": p.role.value,
            "assignee": assignees[p.role],
            "due_on": p.due_on,
            "compressed": p.compressed,
        }
        for p in plan
    ]


def create_transitions(
    session: Session,
    *,
    team_id: str,
    new: Sequence[NewTransition],
    started_on: date,
    holiday_country: str,
    now: datetime,
) -> list[Created | None]:
    """Insert transitions and their tasks (the caller commits); per item the created transition,
    or None when its account has an open transition already (also one committed meanwhile by
    someone else: ON CONFLICT DO NOTHING on the open-account unique index, so that row alone
    fails and the batch goes on)."""
    if not new:
        return []
    rows = [
        transition_row(
            team_id=team_id,
            creator=n.creator,
            req=n.req,
            started_on=started_on,
            holiday_country=holiday_country,
            now=now,
        )
        for n in new
    ]
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = Transition.__table__
    stmt = (
        insert(table)
        .on_conflict_do_nothing(
            index_elements=["team_id", "account_key"], index_where=sa.text(OPEN_STATES_SQL)
        )
        .returning(table.c.id, table.c.account_key)
    )
    ids = {key: tid for tid, key in session.connection().execute(stmt, rows)}
    out: list[Created | None] = []
    tasks: list[dict[str, Any]] = []
    for n, row in zip(new, rows, strict=True):
        tid = ids.pop(row["account_key"], None)  # a key twice in one batch: the first one wins
        if tid is None:
            out.append(None)
            continue
        tasks += task_rows(tid, row, n.plan)
        out.append(Created(tid, row["departing_owner"], row["new_owner"], row["manager"]))
    if tasks:
        session.connection().execute(sa.insert(Task.__table__), tasks)
    return out
