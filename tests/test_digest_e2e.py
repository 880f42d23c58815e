"""Digests and mistake flags end to end: the real scheduler, signed requests, the emulator."""

from __future__ import annotations

import json

from sqlmodel import select

from handoff.bot.scheduler import digests
from handoff.storage.db import session
from handoff.storage.models import Flag, Outbox
from tests.conftest import DEPARTING, MANAGER, NEW, OTHER
from tests.test_engine_e2e import at, posted, travel
from tests.test_start_e2e import start


def flags(handoff):
    with session(handoff.services.engine) as s:
        return {(f.kind, f.resolved_at is None) for f in s.exec(select(Flag))}


def flag_dms(emu, kind):
    return [c for c in posted(emu) if f":flag:{kind}:" in json.dumps(c.args.get("metadata"))]


def click_done(slack, emu, user, milestone_words):
    for msg in reversed(emu.messages(user)):
        text = json.dumps(msg.get("blocks"))
        if milestone_words in text and "task.done" in text:
            slack.click_message_button(user, msg, "task.done")
            slack.submit(user, slack.last_view(), {"note": ""})
            return
    raise AssertionError(f"no open nudge {milestone_words!r} for {user}")


def test_handoff_date_without_a_joint_meeting_is_flagged_once_and_resolved(
    slack, emu, handoff, clock
):
    start(slack)  # handoff Mon 4 Jan 2027
    travel(handoff, clock, at(2027, 1, 4, 8, 0))  # 09:00 Berlin on the handoff date
    dms = flag_dms(emu, "throw_over_wall")
    assert sorted(c.args["channel"] for c in dms) == sorted([DEPARTING, NEW, MANAGER])
    text = json.dumps([c.args["blocks"] for c in dms if c.args["channel"] == NEW])
    assert "no joint meeting is recorded" in text and "What to do" in text
    assert ("throw_over_wall", True) in flags(handoff)
    travel(handoff, clock, at(2027, 1, 4, 14, 0))
    assert len(flag_dms(emu, "throw_over_wall")) == 3  # told once
    click_done(slack, emu, DEPARTING, "Joint meeting")
    travel(handoff, clock, at(2027, 1, 4, 15, 0))
    assert ("throw_over_wall", False) in flags(handoff)


def test_digest_in_the_channel_lists_totals_and_the_most_at_risk(slack, emu, handoff, clock):
    start(slack)
    start(slack, account="Globex <Inc>", digest_channel="C0DIGEST")
    travel(handoff, clock, at(2026, 12, 22, 20, 0))  # everything up to T-14 left undone
    emu.clear_calls()
    assert slack.slash(MANAGER, "digest", channel_id="C0DIGEST").status == 200
    [post] = [c for c in emu.calls_to("chat.postMessage") if c.args["channel"] == "C0DIGEST"]
    text = json.dumps(post.args["blocks"], ensure_ascii=False)
    assert "2 in flight" in text and "Overdue milestones" in text
    assert "Globex &lt;Inc&gt;" in text and "Ghost departing owner" in text
    assert "Unprepared new owner" in text and "digest.full" in text
    assert "CSAT ≥ 4.5" in text


def test_digest_where_the_bot_is_not_or_nothing_reports_answers_ephemerally(slack, emu, handoff):
    start(slack)
    emu.clear_calls()
    slack.slash(NEW, "digest", channel_id="C0GENERAL")
    [reply] = emu.calls_to("response_url")
    assert "Nothing to report in" in json.dumps(reply.args)
    assert not emu.calls_to("chat.postMessage")


def test_digest_in_a_dm_shows_the_managers_own_handoffs_to_them_only(slack, emu, handoff):
    start(slack)
    emu.clear_calls()
    slack.slash(MANAGER, "digest", channel_id="D" + MANAGER)
    [reply] = emu.calls_to("response_url")
    assert reply.args["response_type"] == "ephemeral"
    assert "1 laufend" in json.dumps(reply.args, ensure_ascii=False)  # Maya reads German
    slack.slash(OTHER, "digest", channel_id="D" + OTHER)
    said = emu.calls_to("response_url")[-1].args["text"]
    assert said == "You manage no handoff that is in flight or was completed in the last 100 days."


def test_scheduled_digest_goes_once_per_channel_and_firing(slack, emu, handoff, clock):
    start(slack)
    emu.clear_calls()
    clock.set(at(2026, 12, 7, 9, 0))
    assert digests(handoff) == 1
    assert digests(handoff) == 0  # a second replica firing at the same minute adds nothing
    posts = [c for c in emu.calls_to("chat.postMessage") if c.args["channel"] == "C0DIGEST"]
    assert len(posts) == 1
    meta = posts[0].args["metadata"]["event_payload"]["key"]
    assert meta == "digest:C0DIGEST:20261207T0900"


def test_full_list_goes_to_the_clickers_dm_as_a_file(slack, emu, handoff):
    start(slack)
    slack.click(MANAGER, "digest.full", f"m:{MANAGER}")
    [upload] = emu.calls_to("files.completeUploadExternal")
    assert upload.args["channel_id"] == "D" + MANAGER
    content = emu.uploaded_file(upload.args["files"][0]["id"]).decode()
    assert "| Acme Corp |" in content
    slack.click(OTHER, "digest.full", f"m:{MANAGER}")  # someone else's list: refused
    assert len(emu.calls_to("files.completeUploadExternal")) == 1


def test_digest_in_a_channel_the_bot_is_not_in_says_how_to_invite_it(slack, emu, handoff):
    start(slack, digest_channel="C0SECRET")  # a channel the emulator does not let us post to
    emu.clear_calls()
    slack.slash(NEW, "digest", channel_id="C0SECRET")
    [reply] = emu.calls_to("response_url")
    assert "/invite @Handoff" in json.dumps(reply.args)


def test_a_scheduled_digest_the_channel_refuses_is_told_to_its_managers_once(
    slack, emu, handoff, clock
):
    start(slack, digest_channel="C0SECRET")  # Slack answers channel_not_found there
    emu.clear_calls()
    for hour in (9, 10):  # two firings: the manager hears of it once
        clock.set(at(2026, 12, 7, hour, 0))
        digests(handoff)
    travel(handoff, clock, at(2026, 12, 7, 10, 1))  # the next tick sends what is due
    told = [c for c in posted(emu, MANAGER) if ":failed:" in json.dumps(c.args["metadata"])]
    assert len(told) == 1
    said = json.dumps(told[0].args, ensure_ascii=False)
    assert "<#C0SECRET>" in said and "channel_not_found" in said and "/invite @Handoff" in said
    assert "Übergabe-Übersicht" in said  # the manager's Slack locale is de-DE
    others = [c for u in (NEW, DEPARTING) for c in posted(emu, u)]
    assert not any(":failed:" in json.dumps(c.args["metadata"]) for c in others)


def test_a_task_done_within_the_grace_days_is_no_delay(slack, handoff):
    from datetime import UTC, date, datetime, timedelta

    from handoff.storage import digest as store
    from handoff.storage.models import Task

    start(slack)
    with session(handoff.services.engine) as s:
        tasks = s.exec(select(Task).order_by(Task.seq, Task.role)).all()
        for task, late in ((tasks[0], 1), (tasks[1], 3)):
            done_day = task.due_on + timedelta(days=late)
            task.done_at = datetime.combine(done_day, datetime.min.time(), tzinfo=UTC)
            s.add(task)
        s.commit()
        [row] = store.rows(
            s, now=datetime(2026, 12, 1, tzinfo=UTC), today=date(2026, 12, 1), channel="C0DIGEST"
        )
    assert row.late_done == 1


def test_a_digest_that_fails_for_another_reason_tells_no_manager(slack, emu, handoff, clock):
    """Slack down for hours or a scope missing is the operator's to fix, not the manager's."""
    start(slack)
    emu.fail(
        "chat.postMessage",
        error="internal_error",
        status=500,
        times=None,
        match=lambda a: a.get("channel") == "C0DIGEST",
    )
    emu.fail("conversations.history", error="missing_scope", times=None)
    clock.set(at(2026, 12, 7, 9, 0))
    digests(handoff)  # the post fails with a 5xx: Slack may have it
    travel(handoff, clock, at(2026, 12, 7, 10, 0))  # the look before a retry is refused
    with session(handoff.services.engine) as s:
        [row] = s.exec(select(Outbox).where(Outbox.kind == "digest")).all()
        told = s.exec(select(Outbox).where(Outbox.kind == "digest_failed")).all()
    assert row.status == "failed" and "missing_scope" in row.last_error
    assert told == []
