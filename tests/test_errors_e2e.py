"""A failure on our side: the user is told in words, never a traceback, never a silent close."""

from __future__ import annotations

import json

from sqlalchemy.exc import OperationalError

from handoff.messages.i18n import catalog, text
from handoff.storage import outbox, repo
from tests.conftest import DEPARTING, NEW
from tests.test_engine_e2e import at, posted, tasks_of, travel
from tests.test_start_e2e import start, transitions


def database_down(*args, **kwargs):
    raise OperationalError("INSERT INTO ...", {}, Exception("server closed the connection"))


def test_a_failed_start_keeps_the_modal_open_with_the_error_on_its_first_input(
    slack, emu, handoff, monkeypatch
):
    monkeypatch.setattr(repo, "create_transition", database_down)
    resp = start(slack, user=NEW)
    assert resp.status == 200
    answer = resp.json()
    assert answer["response_action"] == "errors"
    assert answer["errors"] == {"account": text(catalog("en").error_generic())}
    assert "Traceback" not in resp.body and "OperationalError" not in resp.body
    assert transitions(handoff) == []
    assert posted(emu) == []  # nobody was welcomed to a handoff that does not exist


def test_a_failed_done_button_answers_200_and_says_so_ephemerally(
    slack, emu, handoff, clock, monkeypatch
):
    start(slack)
    travel(handoff, clock, at(2026, 12, 7, 14))
    nudge = emu.messages(NEW)[-1]
    monkeypatch.setattr(outbox, "kind_of_message", database_down)  # after the button's ack
    emu.clear_calls()
    resp = slack.click_message_button(NEW, nudge, "task.done")
    assert resp.status == 200, resp.body  # not Bolt's 404 "unhandled request" after 3 s
    [notice] = emu.calls_to("response_url")
    assert notice.args["response_type"] == "ephemeral"
    assert notice.args.get("replace_original") is False
    assert notice.args["text"] == text(catalog("en").error_action())
    assert "Traceback" not in json.dumps(notice.args)
    assert emu.calls_to("views.open") == []
    assert tasks_of(handoff)[("planning", "new_owner")].done_at is None


def test_a_failed_button_without_a_response_url_tells_the_user_by_dm(
    slack, emu, handoff, clock, monkeypatch
):
    start(slack)
    travel(handoff, clock, at(2026, 12, 7, 14))
    task = tasks_of(handoff)[("planning", "new_owner")]
    monkeypatch.setattr(repo, "people", database_down)  # the user's language cannot be read
    emu.clear_calls()
    # the same button, clicked where Slack gives no response_url (a message it no longer has)
    assert slack.click(NEW, "task.done", str(task.id), container={"type": "view"}).status == 200
    assert emu.calls_to("response_url") == []
    [dm] = [c for c in emu.calls_to("chat.postMessage") if c.args["channel"] == NEW]
    assert dm.args["text"] == text(catalog("en").error_action())


def test_a_failure_after_a_modal_closed_is_told_by_dm(slack, emu, handoff, clock):
    start(slack)
    travel(handoff, clock, at(2026, 12, 7, 14))
    slack.click_message_button(DEPARTING, emu.messages(DEPARTING)[-1], "task.done")
    emu.fail("chat.update", error="internal_error", status=500, times=None)
    emu.clear_calls()
    resp = slack.submit(DEPARTING, slack.last_view(), {"note": ""})
    assert resp.status == 200 and resp.json() is None  # acked: the modal has closed
    [dm] = [c for c in emu.calls_to("chat.postMessage") if c.args["channel"] == DEPARTING]
    assert dm.args["text"] == text(catalog("en").error_action())
