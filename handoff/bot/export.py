"""`handoff export ACCOUNT`: the account summary on stdout, from the database alone."""

from __future__ import annotations

from typing import TextIO

from handoff.bot.services import utc_now
from handoff.flows.states import TERMINAL
from handoff.messages import export
from handoff.settings import Settings
from handoff.storage import knowledge as store
from handoff.storage import repo
from handoff.storage.db import make_engine, migrate, session


def run_export(settings: Settings, account: str, fmt: str, *, out: TextIO, err: TextIO) -> int:
    """Print the summary of the account's open transition (else its latest one); 1 if none."""
    engine = make_engine(settings.database_url)
    migrate(engine)
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
