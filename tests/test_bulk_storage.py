"""Bulk import storage on a real database: the batch insert writes what the single start writes,
and an account opened meanwhile fails alone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from handoff.bot import importer
from handoff.bot.services import Services
from handoff.flows import bulk
from handoff.flows.plans import build_plan
from handoff.flows.start import StartRequest
from handoff.settings import Settings
from handoff.storage import bulk as stored
from handoff.storage import repo
from handoff.storage.db import make_engine, migrate, session
from handoff.storage.models import Outbox, Task, Transition

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
TODAY = NOW.date()
CALENDAR = repo.calendar_for("DE")


@pytest.fixture
def engine(database) -> Iterator:
    url, extra = database
    e = make_engine(url, **extra)
    migrate(e)
    yield e
    e.dispose()


def request(account: str, **kw) -> StartRequest:
    values = {
        "account": account,
        "departing_owner": "U0DANA",
        "new_owner": "U0NOAH",
        "manager": "U0MAYA",
        "kind": "rep_to_rep",
        "planned": True,
        "handoff_date": date(2027, 3, 1),
    }
    return StartRequest(**{**values, **kw})


def plan(req: StartRequest):
    return build_plan(
        planned=req.planned,
        anchor=req.handoff_date,
        today=TODAY,
        strategic=req.strategic,
        calendar=CALENDAR,
    )


def insert(s, team: str, reqs: list[StartRequest]) -> list[stored.Created | None]:
    new = [stored.NewTransition("U0OPS", r, plan(r)) for r in reqs]
    return stored.create_transitions(
        s, team_id=team, new=new, started_on=TODAY, holiday_country="DE", now=NOW
    )


def snapshot(s, team: str) -> list[tuple[dict, list[dict]]]:
    """Every column of a team's transitions and their tasks, without ids and team."""
    out = []
    for t in s.exec(select(Transition).where(Transition.team_id == team).order_by(Transition.id)):
        tasks = s.exec(select(Task).where(Task.transition_id == t.id).order_by(Task.seq, Task.role))
        out.append(
            (
                t.model_dump(exclude={"id", "team_id"}),
                [k.model_dump(exclude={"id", "transition_id"}) for k in tasks],
            )
        )
    return out


REQUESTS = [
    request("Acme  Inc"),
    request("Beta", planned=False, handoff_date=date(2026, 11, 25), kind="team_to_team"),
    request("Gamma", strategic=True, digest_channel="C0DIGEST", reason="reorg", notes="n"),
    request("Delta", handoff_date=date(2026, 12, 14)),  # compressed: less than four weeks ahead
]


def test_the_batch_insert_writes_the_same_rows_as_the_single_start(engine):
    with session(engine) as s:
        for req in REQUESTS:
            repo.create_transition(
                s,
                team_id="T-ONE",
                creator="U0OPS",
                req=req,
                plan=plan(req),
                started_on=TODAY,
                holiday_country="DE",
                now=NOW,
            )
        created = insert(s, "T-BULK", REQUESTS)
        s.commit()
        assert all(c is not None for c in created)
        one, many = snapshot(s, "T-ONE"), snapshot(s, "T-BULK")
    assert len(many) == len(REQUESTS) and all(tasks for _, tasks in many)
    assert many == one


def test_an_account_opened_meanwhile_fails_alone_and_a_closed_one_does_not_count(engine):
    with session(engine) as s:
        insert(s, "T1", [request("Acme"), request("Closed")])
        s.commit()
        closed = s.exec(select(Transition).where(Transition.account == "Closed")).one()
        repo.set_state(s, t=closed, state="closed", now=NOW)
        s.commit()
    with session(engine) as s:
        created = insert(s, "T1", [request("Beta"), request(" acme "), request("Closed")])
        s.commit()
        assert [c is not None for c in created] == [True, False, True]
        accounts = s.exec(select(Transition.account).order_by(Transition.id)).all()
        assert accounts == ["Acme", "Closed", "Beta", "Closed"]
        beta, _, again = created
        tasks = s.exec(select(Task.transition_id)).all()
        assert {beta.id, again.id} <= set(tasks) and len(set(tasks)) == 4


def test_the_importer_reports_a_row_whose_account_was_opened_since_the_check(engine, emu):
    settings = Settings(bot_token="xoxb-test", api_url=emu.url, holiday_country="DE")
    services = Services(settings=settings, engine=engine, clock=lambda: NOW)
    staged = [
        bulk.Staged(line=n, request=req, original_date=req.handoff_date)
        for n, req in enumerate([request("Acme"), request("Beta")], start=2)
    ]
    checked = importer.Checked(preview=bulk.Preview(staged=staged, errors=[], total=2))
    with session(engine) as s:  # someone starts Acme after the preview
        insert(s, "T1", [request("Acme")])
        s.commit()
    out = importer.create(services, checked, team_id="T1", creator=None, today=TODAY, now=NOW)
    assert out.created == 1
    assert out.failures == [bulk.RowError(2, "account", "account_taken")]
    with session(engine) as s:
        welcome = s.exec(select(Outbox.recipient).where(Outbox.kind == "welcome")).all()
    assert sorted(welcome) == ["U0DANA", "U0MAYA", "U0NOAH"]
