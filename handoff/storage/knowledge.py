"""Reading and writing knowledge documents, stakeholders, flags and metrics."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from handoff.flows.knowledge import Document
from handoff.storage.models import KnowledgeSection, Metric, Stakeholder


def documents(session: Session, *, transition_ids: Iterable[int]) -> dict[int, Document]:
    """The knowledge documents of these transitions (an empty one where nothing was written)."""
    ids = sorted(set(transition_ids))
    docs = {i: Document() for i in ids}
    if not ids:
        return docs
    for row in session.exec(
        select(KnowledgeSection).where(col(KnowledgeSection.transition_id).in_(ids))
    ):
        doc = docs[row.transition_id]
        doc.values[row.section] = json.loads(row.data or "{}")
        if row.updated_at is not None:
            doc.changed[row.section] = row.updated_at
        if row.reviewed_at is not None:
            doc.reviewed[row.section] = row.reviewed_at
    for person in session.exec(
        select(Stakeholder).where(col(Stakeholder.transition_id).in_(ids)).order_by(Stakeholder.id)
    ):
        docs[person.transition_id].stakeholders.append(
            {**json.loads(person.data or "{}"), "id": person.id}
        )
    return docs


def document(session: Session, *, transition_id: int) -> Document:
    """One transition's knowledge document."""
    return documents(session, transition_ids=[transition_id])[transition_id]


def _section_row(session: Session, transition_id: int, section: str) -> KnowledgeSection:
    row = session.exec(
        select(KnowledgeSection).where(
            KnowledgeSection.transition_id == transition_id, KnowledgeSection.section == section
        )
    ).first()
    return row or KnowledgeSection(transition_id=transition_id, section=section)


def save_section(
    session: Session,
    *,
    transition_id: int,
    section: str,
    values: dict[str, Any],
    by: str,
    now: datetime,
) -> bool:
    """Store a section's values (as typed); returns whether anything changed."""
    row = _section_row(session, transition_id, section)
    data = json.dumps(values, ensure_ascii=False, sort_keys=True)
    if row.id is not None and json.loads(row.data or "{}") == values:
        return False
    row.data, row.updated_at, row.updated_by = data, now, by
    session.add(row)
    return True


def touch_section(session: Session, *, transition_id: int, section: str, by: str, now: datetime):
    """Record a change of a section made elsewhere (the stakeholders of the relationship map)."""
    row = _section_row(session, transition_id, section)
    row.updated_at, row.updated_by = now, by
    session.add(row)


def mark_reviewed(
    session: Session, *, transition_id: int, section: str, by: str, now: datetime
) -> None:
    """The new owner has read the section as it is now."""
    row = _section_row(session, transition_id, section)
    row.reviewed_at, row.reviewed_by = now, by
    session.add(row)


def save_stakeholder(
    session: Session,
    *,
    transition_id: int,
    stakeholder_id: int | None,
    values: dict[str, Any],
    by: str,
    now: datetime,
) -> Stakeholder | None:
    """Add a stakeholder, or replace one's fields; None when the one to edit is gone.

    Replacing with the same values changes nothing: the map stays reviewed."""
    if stakeholder_id is None:
        row = Stakeholder(transition_id=transition_id, created_at=now, updated_at=now)
    else:
        row = session.get(Stakeholder, stakeholder_id)
        if row is None or row.transition_id != transition_id:
            return None
        if json.loads(row.data or "{}") == values:
            return row
    row.data = json.dumps(values, ensure_ascii=False, sort_keys=True)
    row.updated_at, row.updated_by = now, by
    session.add(row)
    touch_section(session, transition_id=transition_id, section="relationships", by=by, now=now)
    session.flush()
    return row


def delete_stakeholder(
    session: Session, *, transition_id: int, stakeholder_id: int, by: str, now: datetime
) -> bool:
    """Remove a stakeholder of this transition; whether one was removed."""
    row = session.get(Stakeholder, stakeholder_id)
    if row is None or row.transition_id != transition_id:
        return False
    session.delete(row)
    touch_section(session, transition_id=transition_id, section="relationships", by=by, now=now)
    return True


def save_metric(
    session: Session,
    *,
    transition_id: int,
    name: str,
    value: dict[str, Any],
    by: str,
    now: datetime,
) -> None:
    """Record (or re-record) one metric of a transition."""
    row = session.exec(
        select(Metric).where(Metric.transition_id == transition_id, Metric.name == name)
    ).first() or Metric(transition_id=transition_id, name=name, recorded_at=now)
    row.value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    row.recorded_by, row.recorded_at = by, now
    session.add(row)


def metrics(session: Session, *, transition_id: int) -> dict[str, dict[str, Any]]:
    """A transition's recorded metrics by name."""
    rows = session.exec(select(Metric).where(Metric.transition_id == transition_id))
    return {m.name: json.loads(m.value or "{}") for m in rows}
