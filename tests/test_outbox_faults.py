"""The outbox under repeated and combined faults: never twice, never stuck, never blocking."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlmodel import select

from handoff.bot.scheduler import tick
from handoff.storage import outbox
from handoff.storage.db import session
from handoff.storage.models import Outbox, Transition
from tests.conftest import DEPARTING, MANAGER, NEW, TOKEN
from tests.test_start_e2e import start


def pending(handoff):
    with session(handoff.services.engine) as s:
        return s.exec(select(Outbox).where(Outbox.status == "pending")).all()


def to_dana(emu):
    return [
        c
        for c in emu.calls_to("chat.postMessage")
        if c.args["channel"] == DEPARTING and not c.failed
    ]


def lose_first_answer_to(user):
    """An emulator hook: Slack posts the first DM to `user`, but its answer is lost."""
    state = {"n": 0}

    def hook(call):
        if call.method == "chat.postMessage" and call.args["channel"] == user:
            state["n"] += 1
            if state["n"] == 1:
                raise ConnectionResetError("answer lost")

    return hook


def test_a_second_lost_answer_is_still_found_in_slack(slack, emu, handoff, clock):
    calls = {"n": 0}

    def faults(call):
        if call.method == "chat.postMessage" and call.args["channel"] == DEPARTING:
            calls["n"] += 1
            if calls["n"] == 2:  # the second try reaches Slack, its answer is lost
                raise ConnectionResetError("answer lost")

    emu.fail(
        "chat.postMessage",
        error="internal_error",
        status=500,
        times=1,
        match=lambda a: a.get("channel") == DEPARTING,
    )  # the first try: a 5xx
    emu.on_call = faults
    start(slack)
    for _ in range(3):
        [row] = pending(handoff)
        clock.set(row.due_at)
        tick(handoff)
        if not pending(handoff):
            break
    emu.on_call = None
    assert len(emu.messages(DEPARTING)) == 1


def test_a_rate_limited_history_check_keeps_looking_before_sending(
    slack, emu, handoff, clock, monkeypatch
):
    import slack_sdk.http_retry.builtin_handlers as handlers

    monkeypatch.setattr(handlers.time, "sleep", lambda s: None)
    emu.on_call = lose_first_answer_to(DEPARTING)
    start(slack)
    emu.on_call = None
    emu.fail("conversations.history", error="ratelimited", status=429, retry_after=1, times=1)
    [row] = pending(handoff)
    clock.set(row.due_at)
    tick(handoff)  # the look-up is rate limited: nothing is sent, the row stays uncertain
    [row] = pending(handoff)
    assert row.uncertain
    clock.set(row.due_at)
    tick(handoff)
    assert len(emu.messages(DEPARTING)) == 1


def test_backoff_is_capped_and_a_row_gives_up_in_the_end(slack, emu, handoff, clock):
    assert outbox.backoff(1) == timedelta(seconds=30)
    assert outbox.backoff(500) == timedelta(hours=1)
    emu.fail(
        "chat.postMessage",
        error="fatal_error",
        times=None,
        match=lambda a: a.get("channel") == DEPARTING,
    )
    start(slack)
    for _ in range(outbox.MAX_ATTEMPTS + 2):
        rows = pending(handoff)
        if not rows:
            break
        clock.set(max(r.due_at for r in rows))
        tick(handoff)
    with session(handoff.services.engine) as s:
        row = s.exec(
            select(Outbox).where(Outbox.recipient == DEPARTING, Outbox.kind == "welcome")
        ).one()
    assert row.status == "failed" and "gave up" in row.last_error


def test_one_broken_transition_does_not_hold_up_the_others(slack, emu, handoff, clock):
    start(slack)
    with session(handoff.services.engine) as s:
        good = s.exec(select(Transition)).one()
        broken = Transition(
            **{
                **good.model_dump(exclude={"id"}),
                "account": "Broken",
                "account_key": "broken",
                "handoff_date": date(9999, 12, 30),
            }
        )
        s.add(broken)
        s.commit()
        broken_id = broken.id
    # a task at the end of time: computing its reminder overflows
    from handoff.storage.models import Task

    with session(handoff.services.engine) as s:
        s.add(
            Task(
                transition_id=broken_id,
                milestone="planning",
                seq=0,
                role="departing",
                assignee=DEPARTING,
                due_on=date(9999, 12, 31),
            )
        )
        s.commit()
    emu.clear_calls()
    clock.set(datetime(2026, 12, 7, 8, tzinfo=UTC))
    tick(handoff)
    assert len(to_dana(emu)) == 1  # the good transition's planning nudge went out
    with session(handoff.services.engine) as s:
        assert s.get(Transition, broken_id).next_due_at > clock()


def test_a_claim_taken_over_by_another_thread_is_not_sent_twice(slack, emu, handoff, clock):
    start(slack)
    with session(handoff.services.engine) as s:
        row = s.exec(select(Outbox).order_by(Outbox.id)).first()
        row.status, row.sent_at = "pending", None
        s.add(row)
        s.commit()
    now = clock()
    with session(handoff.services.engine) as s:
        [first] = outbox.claim(s, now=now, worker="w", limit=1, lease=timedelta(seconds=1))
        s.commit()
    later = now + timedelta(seconds=5)  # the lease ran out; the same worker claims it again
    with session(handoff.services.engine) as s:
        [second] = outbox.claim(s, now=later, worker="w", limit=1)
        s.commit()
        assert not outbox.renew(
            s,
            row_id=first.id,
            worker="w",
            attempts=first.attempts,
            now=later,
            lease=timedelta(minutes=5),
        )
        assert outbox.renew(
            s,
            row_id=second.id,
            worker="w",
            attempts=second.attempts,
            now=later,
            lease=timedelta(minutes=5),
        )


def test_the_history_check_reads_past_the_first_page(slack, emu, handoff, clock):
    from slack_sdk import WebClient

    emu.on_call = lose_first_answer_to(DEPARTING)
    start(slack)
    emu.on_call = None
    chatter = WebClient(token=TOKEN, base_url=emu.url)
    for n in range(230):  # a busy DM: the earlier post is no longer on the newest page
        chatter.chat_postMessage(channel=DEPARTING, text=f"chatter {n}")
    [row] = pending(handoff)
    clock.set(row.due_at)
    tick(handoff)
    keys = [
        ((m.get("metadata") or {}).get("event_payload") or {}).get("key")
        for m in emu.messages(DEPARTING)
    ]
    assert keys.count(row.key) == 1


def test_a_fault_in_one_sender_thread_loses_no_other_marks(slack, emu, handoff, clock, monkeypatch):
    import handoff.bot.dispatch as dispatch

    real = dispatch.outbox.renew

    def flaky(conn, **kw):
        with session(handoff.services.engine) as s:
            recipient = s.get(Outbox, kw["row_id"]).recipient
        if recipient == NEW:
            raise RuntimeError("database hiccup")
        return real(conn, **kw)

    monkeypatch.setattr(dispatch.outbox, "renew", flaky)
    start(slack)
    with session(handoff.services.engine) as s:
        rows = {r.recipient: r for r in s.exec(select(Outbox)).all()}
    assert rows[DEPARTING].status == "sent" and rows[MANAGER].status == "sent"
    assert rows[NEW].status == "pending" and rows[NEW].uncertain


def test_a_nudge_claimed_before_a_cancel_is_not_posted(slack, emu, handoff, clock):
    start(slack)
    clock.set(datetime(2026, 12, 7, 8, tzinfo=UTC))
    from handoff.bot.scheduler import plan

    plan(handoff.services, clock())
    with session(handoff.services.engine) as s:
        rows = outbox.claim(s, now=clock(), worker=handoff.services.worker, limit=10)
        s.commit()
        t = s.exec(select(Transition)).one()
        t.state = "cancelled"  # the manager cancels while the rows are claimed
        s.add(t)
        s.commit()
    emu.clear_calls()
    context = handoff.dispatcher.load(rows)
    for row in rows:
        handoff.dispatcher.send(row, context)
    assert emu.calls_to("chat.postMessage") == []
    with session(handoff.services.engine) as s:
        assert {s.get(Outbox, r.id).status for r in rows} == {"skipped"}


def test_a_history_check_slack_refuses_fails_the_row_and_tells_the_manager(
    slack, emu, handoff, clock
):
    """Slack will never let us look (a scope missing): posting blind could send it twice."""
    emu.on_call = lose_first_answer_to(DEPARTING)
    start(slack)
    emu.on_call = None
    emu.fail("conversations.history", error="missing_scope", times=None)
    [row] = pending(handoff)
    clock.set(row.due_at)
    tick(handoff)
    with session(handoff.services.engine) as s:
        row = s.get(Outbox, row.id)
    assert row.status == "failed" and "missing_scope" in row.last_error
    assert len(emu.messages(DEPARTING)) == 1  # the lost-answer post only: nothing twice
    tick(handoff)
    told = [c for c in emu.calls_to("chat.postMessage") if c.args["channel"] == MANAGER]
    assert any("missing_scope" in str(c.args) for c in told)


def test_a_history_check_that_keeps_failing_gives_up_in_the_end(slack, emu, handoff, clock):
    emu.on_call = lose_first_answer_to(DEPARTING)
    start(slack)
    emu.on_call = None
    emu.fail("conversations.history", error="internal_error", status=500, times=None)
    for _ in range(outbox.MAX_ATTEMPTS + 3):
        rows = pending(handoff)
        if not rows:
            break
        clock.set(max(r.due_at for r in rows))
        tick(handoff)
    assert pending(handoff) == []
    with session(handoff.services.engine) as s:
        row = s.exec(
            select(Outbox).where(Outbox.recipient == DEPARTING, Outbox.kind == "welcome")
        ).one()
    assert row.status == "failed" and "gave up" in row.last_error
    assert len(emu.messages(DEPARTING)) == 1


def test_a_passing_slack_error_in_the_history_check_is_looked_at_again(slack, emu, handoff, clock):
    """Only answers that cannot change (scope, channel) fail the row; internal_error passes."""
    emu.on_call = lose_first_answer_to(DEPARTING)
    start(slack)
    emu.on_call = None
    emu.fail("conversations.history", error="internal_error", times=1)  # HTTP 200, ok: false
    [row] = pending(handoff)
    clock.set(row.due_at)
    tick(handoff)
    [row] = pending(handoff)
    assert row.uncertain and "internal_error" in row.last_error
    clock.set(row.due_at)
    tick(handoff)
    assert pending(handoff) == [] and len(emu.messages(DEPARTING)) == 1
