"""Migrations: each keeps the rows of the one before, and the models match the head."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from handoff.storage.db import alembic_config, make_engine, migrate


def upgrade(engine, revision):
    with engine.begin() as conn:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def test_upgrading_from_the_first_schema_keeps_every_row(database):
    url, options = database
    engine = make_engine(url, **options)
    upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO transition (team_id, account, account_key, departing_owner, "
                "new_owner, manager, creator, kind, planned, handoff_date, started_on, strategic, "
                "reason, notes, holiday_country, state, created_at, updated_at) VALUES ('T1', "
                "'Acme', 'acme', 'U1', 'U2', 'U3', 'U3', 'rep_to_rep', true, '2027-01-04', "
                "'2026-11-30', false, '', '', '', 'planning', '2026-11-30 09:00:00', "
                "'2026-11-30 09:00:00')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO task (transition_id, milestone, seq, role, assignee, due_on, "
                "compressed, note, snoozes) VALUES (1, 'planning', 0, 'departing', 'U1', "
                "'2026-12-07', false, 'typed', 0)"
            )
        )
    migrate(engine)  # to head
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT account FROM transition")).scalar_one() == "Acme"
        assert conn.execute(sa.text("SELECT note FROM task")).scalar_one() == "typed"
        conn.execute(
            sa.text(
                "INSERT INTO knowledge_section (transition_id, section, data) "
                "VALUES (1, 'profile', '{}')"
            )
        )
    engine.dispose()


def test_the_models_and_the_migrations_agree(database):
    url, options = database
    engine = make_engine(url, **options)
    migrate(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []
    engine.dispose()
