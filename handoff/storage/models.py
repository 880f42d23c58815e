"""SQLModel tables. Every datetime is stored as UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

OPEN_STATES_SQL = "state NOT IN ('closed', 'cancelled')"


class UTCDateTime(TypeDecorator):
    """Aware datetimes in and out; naive UTC in the column (SQLite keeps no zones)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utc_column(*, nullable: bool = True, index: bool = False) -> sa.Column:
    """A UTC datetime column."""
    return sa.Column(UTCDateTime(), nullable=nullable, index=index)


class Transition(SQLModel, table=True):
    """One account changing owner."""

    __table_args__ = (
        sa.Index(
            "uq_transition_open_account",
            "team_id",
            "account_key",
            unique=True,
            sqlite_where=sa.text(OPEN_STATES_SQL),
            postgresql_where=sa.text(OPEN_STATES_SQL),
        ),
        sa.Index("ix_transition_departing", "departing_owner"),
        sa.Index("ix_transition_new_owner", "new_owner"),
        sa.Index("ix_transition_manager", "manager"),
        sa.Index("ix_transition_creator", "creator"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    account: str = Field(max_length=200)
    account_key: str = Field(max_length=200)
    departing_owner: str = Field(max_length=32)
    new_owner: str = Field(max_length=32)
    manager: str = Field(max_length=32)
    creator: str = Field(max_length=32)
    kind: str = Field(max_length=32)
    planned: bool = True
    handoff_date: date
    started_on: date
    strategic: bool = False
    reason: str = Field(default="", sa_type=sa.Text)
    notes: str = Field(default="", sa_type=sa.Text)
    digest_channel: str | None = Field(default=None, max_length=32)
    holiday_country: str = Field(default="", max_length=8)
    state: str = Field(default="planning", max_length=32)
    created_at: datetime = Field(sa_column=utc_column(nullable=False))
    updated_at: datetime = Field(sa_column=utc_column(nullable=False))
    closed_at: datetime | None = Field(default=None, sa_column=utc_column())
    # the knowledge document's completeness and readiness, kept in step by every change of it
    # (digests over thousands of transitions read these instead of every document)
    completeness: int = 0
    doc_ready: bool = False
    # earliest instant at which the scheduler must look at this transition again (indexed)
    next_due_at: datetime | None = Field(default=None, sa_column=utc_column(index=True))


class Task(SQLModel, table=True):
    """One role's task in one milestone of a transition's plan."""

    __table_args__ = (sa.UniqueConstraint("transition_id", "milestone", "role"),)

    id: int | None = Field(default=None, primary_key=True)
    transition_id: int = Field(foreign_key="transition.id", index=True)
    milestone: str = Field(max_length=32)
    seq: int
    role: str = Field(max_length=16)
    assignee: str = Field(max_length=32)
    due_on: date
    compressed: bool = False
    done_at: datetime | None = Field(default=None, sa_column=utc_column())
    done_by: str | None = Field(default=None, max_length=32)
    note: str = Field(default="", sa_type=sa.Text)
    snoozed_until: datetime | None = Field(default=None, sa_column=utc_column())
    snoozes: int = 0


class Person(SQLModel, table=True):
    """What we last learnt about a Slack user (users.info), plus their own settings."""

    user_id: str = Field(primary_key=True, max_length=32)
    name: str = Field(default="", max_length=200)
    tz: str = Field(default="", max_length=64)
    locale: str = Field(default="", max_length=16)
    lang: str = Field(default="", max_length=8)  # the user's own choice; wins over locale
    is_bot: bool = False
    deleted: bool = False
    updated_at: datetime = Field(sa_column=utc_column(nullable=False))
    # first time the user opened the App Home: only their Home is worth refreshing on changes
    home_opened_at: datetime | None = Field(default=None, sa_column=utc_column())


class Outbox(SQLModel, table=True):
    """A message to send, exactly once: claimed, sent, and marked, or retried."""

    __table_args__ = (
        sa.Index("ix_outbox_status_due", "status", "due_at"),
        sa.Index("ix_outbox_ts", "ts"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)  # idempotency key
    transition_id: int | None = Field(default=None, foreign_key="transition.id", index=True)
    recipient: str = Field(max_length=32)
    kind: str = Field(max_length=32)
    milestone: str | None = Field(default=None, max_length=32)
    payload: str = Field(default="{}", sa_type=sa.Text)
    due_at: datetime = Field(sa_column=utc_column(nullable=False))
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    # the last try may have reached Slack (connection lost, 5xx): look before sending again
    uncertain: bool = False
    # when the first try began: after a crash or lost answer, Slack is searched from here
    first_try_at: datetime | None = Field(default=None, sa_column=utc_column())
    lease_until: datetime | None = Field(default=None, sa_column=utc_column())
    claimed_by: str | None = Field(default=None, max_length=64)
    last_error: str | None = Field(default=None, max_length=500)
    sent_at: datetime | None = Field(default=None, sa_column=utc_column())
    channel: str | None = Field(default=None, max_length=32)
    ts: str | None = Field(default=None, max_length=32)


class SeenEvent(SQLModel, table=True):
    """Events API ids already handled, so a retry never acts twice."""

    event_id: str = Field(primary_key=True, max_length=64)
    seen_at: datetime = Field(sa_column=utc_column(nullable=False))


class KnowledgeSection(SQLModel, table=True):
    """One section of a transition's knowledge document (values as JSON, kept as typed)."""

    __tablename__ = "knowledge_section"
    __table_args__ = (sa.UniqueConstraint("transition_id", "section"),)

    id: int | None = Field(default=None, primary_key=True)
    transition_id: int = Field(foreign_key="transition.id", index=True)
    section: str = Field(max_length=32)
    data: str = Field(default="{}", sa_type=sa.Text)
    updated_at: datetime | None = Field(default=None, sa_column=utc_column())
    updated_by: str | None = Field(default=None, max_length=32)
    reviewed_at: datetime | None = Field(default=None, sa_column=utc_column())
    reviewed_by: str | None = Field(default=None, max_length=32)


class Stakeholder(SQLModel, table=True):
    """One person of the customer in the relationship map (fields as JSON)."""

    id: int | None = Field(default=None, primary_key=True)
    transition_id: int = Field(foreign_key="transition.id", index=True)
    data: str = Field(default="{}", sa_type=sa.Text)
    created_at: datetime = Field(sa_column=utc_column(nullable=False))
    updated_at: datetime = Field(sa_column=utc_column(nullable=False))
    updated_by: str = Field(default="", max_length=32)


class Flag(SQLModel, table=True):
    """A mistake the bot caught (throw over the wall, ghost, unprepared, unclear roles)."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    transition_id: int = Field(foreign_key="transition.id", index=True)
    kind: str = Field(max_length=32)
    milestone: str | None = Field(default=None, max_length=32)
    detail: str = Field(default="{}", sa_type=sa.Text)
    raised_at: datetime = Field(sa_column=utc_column(nullable=False))
    resolved_at: datetime | None = Field(default=None, sa_column=utc_column())


class Metric(SQLModel, table=True):
    """A recorded measure of a transition: CSAT, health at 30/60/90 days, …"""

    __table_args__ = (sa.UniqueConstraint("transition_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    transition_id: int = Field(foreign_key="transition.id", index=True)
    name: str = Field(max_length=32)
    value: str = Field(default="{}", sa_type=sa.Text)
    recorded_by: str = Field(default="", max_length=32)
    recorded_at: datetime = Field(sa_column=utc_column(nullable=False))
