"""`handoff export ACCOUNT`: the account summary on stdout, from the database alone."""

from __future__ import annotations

from typing import TextIO

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from handoff.bot.services import utc_now
from handoff.flows.states import TERMINAL
from handoff.messages import export
from handoff.settings import ConfigError, Settings
from handoff.storage import knowledge as store
from handoff.storage import repo
from handoff.storage.db import read_only_engine, schema_revisions, session


def open_database(database_url: str) -> Engine:
    """The database as it is, read-only: never created, never migrated. ConfigError, in one
    line naming DATABASE_URL (password hidden), when it is not there or not at the schema head;
    a wrong DATABASE_URL must not look like a missing account."""
    try:
        shown = "DATABASE_URL=" + sa.engine.make_url(database_url).render_as_string(
            hide_password=True
        )
        engine = read_only_engine(database_url)
    except sa.exc.ArgumentError:
        raise ConfigError(f"DATABASE_URL is not an SQLAlchemy URL: {database_url!r}") from None
    except FileNotFoundError as exc:
        raise ConfigError(
            f"no database at {shown}: {exc} does not exist "
            "(set DATABASE_URL to the database handoff serve uses)"
        ) from None
    try:
        current, head = schema_revisions(engine)
    except sa.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise ConfigError(
            f"cannot read the database at {shown}: {reason[0] if reason else exc}"
        ) from None
    if current is None:
        raise ConfigError(f"no Handoff schema in the database at {shown} (the wrong database?)")
    if current != head:
        raise ConfigError(
            f"the database at {shown} has schema revision {current}, this handoff needs {head} "
            "(handoff migrate brings it up to date)"
        )
    return engine


def run_export(settings: Settings, account: str, fmt: str, *, out: TextIO, err: TextIO) -> int:
    """Print the summary of the account's open transition (else its latest one); 1 if none."""
    engine = open_database(settings.database_url)
    with session(engine) as s:
        found = repo.transitions_by_account(s, account=account)
        if not found:
            print(f"handoff: no transition for account {account!r}", file=err)
            return 1
        t = found[0]
        open_teams = {x.team_id for x in found if x.state not in TERMINAL}
        if len(open_teams) > 1:
            print(
                f"handoff: {account!r} has open transitions in {len(open_teams)} workspaces; "
                f"showing transition {t.id} (workspace {t.team_id})",
                file=err,
            )
        elif t.state in TERMINAL:
            print(f"handoff: no open transition for {account!r}; showing the latest", file=err)
        tasks = repo.tasks(s, transition_id=t.id)
        doc = store.document(s, transition_id=t.id)
        recorded = store.metrics(s, transition_id=t.id)
        known = repo.people(s, user_ids=[t.departing_owner, t.new_owner, t.manager])
    if fmt == "json":
        out.write(export.as_json(t, doc, tasks, metrics=recorded) + "\n")
        return 0
    names = {u: p.name for u, p in known.items() if p.name}
    summary = export.prepare(t, doc, tasks, names, settings.lang, now=utc_now(), metrics=recorded)
    out.write(export.markdown(summary, settings.lang))
    return 0
