"""The milestone engine end to end: simulated time, real scheduler tick, signed clicks."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlmodel import select

from handoff.bot.scheduler import tick
from handoff.messages.i18n import catalog, text
from handoff.storage.db import session
from handoff.storage.models import Outbox, Task, Transition
from tests.conftest import DEPARTING, MANAGER, NEW, OTHER
from tests.test_start_e2e import start


def at(y, mo, d, h, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


def travel(handoff, clock, moment):
    clock.set(moment)
    return tick(handoff)


def posted(emu, user=None, kind=None):
    """Successful postMessages (optionally to one user / of one outbox kind)."""
    out = []
    for c in emu.calls_to("chat.postMessage"):
        if c.failed:
            continue
        if user and c.args["channel"] != user:
            continue
        key = ((c.args.get("metadata") or {}).get("event_payload") or {}).get("key", "")
        if kind and not key.endswith(":" + kind):
            continue
        out.append(c)
    return out


def the_transition(handoff):
    with session(handoff.services.engine) as s:
        return s.exec(select(Transition)).one()


def tasks_of(handoff):
    with session(handoff.services.engine) as s:
        return {(k.milestone, k.role): k for k in s.exec(select(Task)).all()}


def test_each_owner_gets_their_milestone_at_nine_local_with_buttons(slack, emu, handoff, clock):
    start(slack)  # Mon 30 Nov; handoff Mon 4 Jan; planning due Mon 7 Dec
    emu.clear_calls()
    assert travel(handoff, clock, at(2026, 12, 7, 7, 59)) == 0
    travel(handoff, clock, at(2026, 12, 7, 8, 0))  # 09:00 Berlin
    # different people's DMs go out side by side: compare as sets
    assert sorted(c.args["channel"] for c in posted(emu)) == sorted([DEPARTING, MANAGER])
    travel(handoff, clock, at(2026, 12, 7, 14, 0))  # 09:00 New York
    assert [c.args["channel"] for c in posted(emu)][2:] == [NEW]
    blocks = json.dumps(posted(emu, NEW)[0].args["blocks"])
    for action in ("task.done", "task.snooze_day", "task.snooze_monday", "plan.open"):
        assert action in blocks
    assert "Block time for onboarding" in blocks
    # a second tick at the same time sends nothing again
    assert travel(handoff, clock, at(2026, 12, 7, 14, 5)) == 0


def test_done_with_a_note_updates_the_message_and_moves_the_state(slack, emu, handoff, clock):
    start(slack)
    travel(handoff, clock, at(2026, 12, 7, 14, 0))
    for user in (DEPARTING, NEW, MANAGER):
        msg = emu.messages(user)[-1]
        assert slack.click_message_button(user, msg, "task.done").status == 200
        view = slack.last_view()
        assert view["callback_id"] == "task.done_view"
        assert slack.submit(user, view, {"note": "done & <dusted>"}).status == 200
        updated = emu.message("D" + user, msg["ts"])
        text = json.dumps(updated["blocks"])
        assert "task.done" not in text and "done &amp; &lt;dusted&gt;" in text
    assert the_transition(handoff).state == "onboarding"
    assert all(k.done_at for (m, _), k in tasks_of(handoff).items() if m == "planning")
    emu.clear_calls()
    travel(handoff, clock, at(2026, 12, 10, 20))  # past every planning reminder
    assert posted(emu, kind="reminder") == []


def test_only_the_assignee_can_mark_a_task_done(slack, emu, handoff, clock):
    start(slack)
    travel(handoff, clock, at(2026, 12, 7, 8, 0))
    msg = emu.messages(DEPARTING)[-1]
    forged = slack.click_message_button(OTHER, msg, "task.done")  # a stranger replays the click
    assert forged.status == 200
    assert not [
        c for c in emu.calls_to("views.open") if c.args["view"]["callback_id"] == "task.done_view"
    ]
    refusals = [c for c in emu.calls_to("response_url")]
    assert refusals and "not part of this handoff" in json.dumps(refusals[-1].args)
    slack.click_message_button(NEW, msg, "task.done")  # in the handoff, but not their task
    assert "belongs to someone else" in json.dumps(emu.calls_to("response_url")[-1].args)
    assert tasks_of(handoff)[("planning", "departing")].done_at is None


def test_an_ignored_task_gets_one_reminder_and_a_ghost_is_escalated(slack, emu, handoff, clock):
    start(slack)
    emu.clear_calls()
    travel(handoff, clock, at(2026, 12, 9, 8))  # Wed: planning reminder (Mon + 2 working days)
    assert len(posted(emu, DEPARTING, "reminder")) == 1
    assert "Reminder" in json.dumps(posted(emu, DEPARTING, "reminder")[0].args["blocks"])
    travel(handoff, clock, at(2026, 12, 16, 8))  # onboarding reminder, Wed 16 Dec
    assert len(posted(emu, DEPARTING, "reminder")) == 2
    assert posted(emu, MANAGER, "escalation") == []
    travel(handoff, clock, at(2026, 12, 17, 8))  # the next working day: escalate
    [escalation] = posted(emu, MANAGER, "escalation")
    text = json.dumps(escalation.args["blocks"])
    assert "<@U0DANA>" in text and "zwei Erinnerungen" in text  # Maya reads German
    travel(handoff, clock, at(2026, 12, 24, 8))
    assert len(posted(emu, MANAGER, "escalation")) == 1  # once


def test_snooze_until_tomorrow_brings_the_task_back(slack, emu, handoff, clock):
    start(slack)
    travel(handoff, clock, at(2026, 12, 7, 8))
    msg = emu.messages(DEPARTING)[-1]
    slack.click_message_button(DEPARTING, msg, "task.snooze_day")
    assert "Snoozed" in json.dumps(emu.message("D" + DEPARTING, msg["ts"])["blocks"])
    emu.clear_calls()
    travel(handoff, clock, at(2026, 12, 8, 7, 59))
    assert posted(emu, DEPARTING) == []
    travel(handoff, clock, at(2026, 12, 8, 8))
    assert len(posted(emu, DEPARTING, "snooze1")) == 1


def test_moving_the_handoff_date_replans_without_repeating(slack, emu, handoff, clock):
    start(slack)
    travel(handoff, clock, at(2026, 12, 7, 14))
    sent_before = len(posted(emu, DEPARTING, "milestone"))
    msg = emu.messages(NEW)[-1]
    slack.click_message_button(NEW, msg, "plan.open")
    plan = emu.calls_to("response_url")[-1].args
    assert "plan.move" in json.dumps(plan) and "plan.cancel" not in json.dumps(plan)
    slack.click(NEW, "plan.move", str(the_transition(handoff).id))
    view = slack.last_view()
    bad = slack.submit(NEW, view, {"handoff_date": "2026-12-01"})
    assert bad.json()["response_action"] == "errors"
    assert slack.submit(NEW, view, {"handoff_date": "2027-01-18"}).status == 200
    t = the_transition(handoff)
    assert t.handoff_date.isoformat() == "2027-01-18"
    assert tasks_of(handoff)[("handoff", "departing")].due_on.isoformat() == "2027-01-18"
    moved = posted(emu, kind=None)
    assert sum("moved" in json.dumps(c.args.get("metadata")) for c in moved) == 3
    emu.clear_calls()
    travel(handoff, clock, at(2026, 12, 21, 20))  # planning (now 21 Dec) was sent: not repeated
    assert [c for c in posted(emu, DEPARTING, "milestone")] == []
    assert sent_before == 1
    travel(handoff, clock, at(2026, 12, 28, 8))  # onboarding is T−21 = Mon 28 Dec now
    [onboarding] = posted(emu, DEPARTING, "milestone")
    assert ":onboarding:" in json.dumps(onboarding.args["metadata"])


def test_the_manager_cancels_and_everything_stops(slack, emu, handoff, clock):
    start(slack)
    tid = the_transition(handoff).id
    slack.click(DEPARTING, "plan.cancel", str(tid))  # not the manager
    assert the_transition(handoff).state == "planning"
    slack.click(MANAGER, "plan.cancel", str(tid))
    assert the_transition(handoff).state == "cancelled"
    notices = [c for c in posted(emu) if "cancelled" in json.dumps(c.args.get("metadata"))]
    assert sorted(c.args["channel"] for c in notices) == sorted([DEPARTING, NEW, MANAGER])
    emu.clear_calls()
    travel(handoff, clock, at(2027, 2, 20, 12))
    assert posted(emu) == []
    status = slack.slash(NEW, "status Acme Corp").json()
    assert "Cancelled" in json.dumps(status)


def test_the_status_of_a_cancelled_handoff_says_so_and_lists_nothing_upcoming(
    slack, emu, handoff, clock
):
    start(slack)
    travel(handoff, clock, at(2026, 12, 7, 14))
    for user in (DEPARTING, NEW, MANAGER):  # planning is done
        slack.click_message_button(user, emu.messages(user)[-1], "task.done")
        slack.submit(user, slack.last_view(), {"note": ""})
    slack.click(MANAGER, "plan.cancel", str(the_transition(handoff).id))
    status = slack.slash(NEW, "status Acme Corp").json()
    first = status["blocks"][0]["text"]["text"]
    assert first.splitlines()[1] == text(catalog("en").status_ended("cancelled"))
    assert "cancelled" in status["text"]
    shown = json.dumps(status, ensure_ascii=False)
    assert "Upcoming" not in shown and ":white_circle:" not in shown
    assert ":white_check_mark: *Mon 7 Dec 2026* · Planning begins" in shown  # done stays
    german = json.dumps(slack.slash(MANAGER, "status Acme Corp").json(), ensure_ascii=False)
    assert "abgebrochen" in german and "Anstehend" not in german


def test_an_old_change_date_button_on_a_cancelled_handoff_says_it_is_cancelled(
    slack, emu, handoff, clock
):
    start(slack)
    travel(handoff, clock, at(2026, 12, 7, 14))
    tid = str(the_transition(handoff).id)
    nudge = emu.messages(NEW)[-1]
    where = {"channel_id": nudge["channel"], "message_ts": nudge["ts"]}
    slack.click(NEW, "plan.move", tid, **where)
    modal = slack.last_view()  # opened while the handoff was still running
    slack.click(MANAGER, "plan.cancel", tid)
    said = text(catalog("en").move_closed(text(catalog("en").state_name("cancelled"))))
    assert "cancelled" in said
    emu.clear_calls()
    assert slack.click(NEW, "plan.move", tid, **where).status == 200
    assert emu.calls_to("views.open") == []
    [answer] = emu.calls_to("response_url")
    assert answer.args["text"] == said
    late = slack.submit(NEW, modal, {"handoff_date": "2027-01-18"}).json()
    assert late == {"response_action": "errors", "errors": {"handoff_date": said}}
    assert the_transition(handoff).handoff_date.isoformat() == "2027-01-04"


def test_a_rate_limited_send_waits_for_retry_after_and_goes_out_once(slack, emu, handoff, clock):
    emu.fail(
        "chat.postMessage",
        error="ratelimited",
        status=429,
        retry_after=90,
        times=1,
        match=lambda a: a.get("channel") == DEPARTING,
    )
    start(slack)
    assert len(posted(emu)) == 2  # Noah and Maya; Dana's DM waits
    with session(handoff.services.engine) as s:
        row = s.exec(select(Outbox).where(Outbox.status == "pending")).one()
    assert row.recipient == DEPARTING and not row.uncertain  # a 429 means Slack did not post
    assert (row.due_at - clock()).total_seconds() >= 90  # Retry-After, not a blind retry
    travel(handoff, clock, row.due_at)
    assert len(posted(emu, DEPARTING)) == 1
    assert not emu.calls_to("conversations.history")  # nothing to look for after a 429


def test_a_server_error_is_retried_later_without_a_duplicate(slack, emu, handoff, clock):
    emu.fail(
        "chat.postMessage",
        error="internal_error",
        status=500,
        times=1,
        match=lambda args: args.get("channel") == DEPARTING,
    )
    start(slack)
    assert len(posted(emu)) == 2  # Dana's DM failed and waits for its backoff
    with session(handoff.services.engine) as s:
        row = s.exec(select(Outbox).where(Outbox.status == "pending")).one()
    assert row.uncertain and row.due_at > clock()
    travel(handoff, clock, row.due_at)
    assert len(posted(emu, DEPARTING)) == 1
    assert emu.calls_to("conversations.history")  # it looked before sending again


def test_a_lost_connection_after_slack_posted_is_not_sent_twice(slack, emu, handoff, clock):
    state = {"n": 0}

    def drop_first_answer(call):  # Dana's only: each person's DMs go on their own thread
        if call.method == "chat.postMessage" and call.args.get("channel") == DEPARTING:
            state["n"] += 1
            if state["n"] == 1:
                raise ConnectionResetError("answer lost")

    emu.on_call = drop_first_answer
    start(slack)
    emu.on_call = None
    with session(handoff.services.engine) as s:
        row = s.exec(select(Outbox).where(Outbox.status == "pending")).one()
    travel(handoff, clock, row.due_at)
    assert len(emu.messages(DEPARTING)) == 1  # Slack had it; the retry found it in history
    with session(handoff.services.engine) as s:
        assert s.get(Outbox, row.id).status == "sent"


def test_a_permanent_error_fails_the_row_and_tells_the_manager(slack, emu, handoff, clock):
    emu.fail(
        "chat.postMessage",
        error="account_inactive",
        times=1,
        match=lambda a: a.get("channel") == NEW,
    )
    start(slack)
    with session(handoff.services.engine) as s:
        failed = s.exec(select(Outbox).where(Outbox.status == "failed")).one()
    assert failed.recipient == NEW and failed.last_error == "account_inactive"
    told = [
        c for c in posted(emu, MANAGER) if ":failed:" in c.args["metadata"]["event_payload"]["key"]
    ]
    assert len(told) == 1 and "<@U0NOAH>" in json.dumps(told[0].args)
    # Noah is gone: nothing more is planned for him, and the manager is told only once
    clock.set(at(2027, 2, 20, 12))
    tick(handoff)
    assert not [
        c for c in emu.calls_to("chat.postMessage") if c.args["channel"] == NEW and not c.failed
    ]
    assert (
        len(
            [
                c
                for c in posted(emu, MANAGER)
                if ":failed:" in c.args["metadata"]["event_payload"]["key"]
            ]
        )
        == 1
    )


def test_done_on_a_reminder_keeps_its_reminder_wording(slack, emu, handoff, clock):
    start(slack)
    travel(handoff, clock, at(2026, 12, 9, 8))  # Dana's planning reminder
    [reminder] = [
        m
        for m in emu.messages(DEPARTING)
        if m["metadata"]["event_payload"]["key"].endswith(":reminder")
    ]
    slack.click_message_button(DEPARTING, reminder, "task.done")
    slack.submit(DEPARTING, slack.last_view(), {"note": ""})
    updated = json.dumps(emu.message("D" + DEPARTING, reminder["ts"])["blocks"])
    assert "Reminder" in updated and "Done by" in updated


def test_the_app_home_is_redrawn_when_a_milestone_comes_due_or_goes_overdue(
    slack, emu, handoff, clock
):
    slack.event({"type": "app_home_opened", "user": NEW, "tab": "home"})
    start(slack)
    drawn = len([c for c in emu.calls_to("views.publish") if c.args["user_id"] == NEW])
    travel(handoff, clock, at(2026, 12, 2, 14))  # nothing comes due: nothing redrawn
    assert len([c for c in emu.calls_to("views.publish") if c.args["user_id"] == NEW]) == drawn
    travel(handoff, clock, at(2026, 12, 7, 14))  # T−28: planning is due, 09:00 in New York
    homes = [c for c in emu.calls_to("views.publish") if c.args["user_id"] == NEW]
    assert len(homes) == drawn + 1
    assert emu.home(DEPARTING) is None  # who never opened the Home gets none
