"""Requests Slack did not sign are refused; retries never act twice; people see only their own."""

from __future__ import annotations

import json
import time

from sqlmodel import select

from handoff.storage.db import session
from handoff.storage.models import Transition
from tests.conftest import DEPARTING, MANAGER, NEW, OTHER
from tests.test_start_e2e import start

FORM = "application/x-www-form-urlencoded"
BODY = "command=%2Fhandoff&text=list&user_id=U0MAYA&team_id=T0001&trigger_id=t1&channel_id=C1"


def test_a_wrong_signature_gets_401_and_changes_nothing(slack, emu):
    assert slack.post(BODY, FORM, secret="not-the-secret").status == 401
    assert emu.calls == []


def test_a_missing_signature_gets_401(slack, emu):
    import urllib.error
    import urllib.request

    req = urllib.request.Request(
        slack.target, data=BODY.encode(), method="POST", headers={"Content-Type": FORM}
    )
    try:
        status = urllib.request.urlopen(req, timeout=10).status
    except urllib.error.HTTPError as exc:
        status = exc.code
    assert status == 401


def test_a_replayed_request_older_than_five_minutes_gets_401(slack, emu, handoff):
    old = int(time.time()) - 6 * 60
    resp = slack.post(BODY.replace("text=list", "text=start"), FORM, timestamp=old)
    assert resp.status == 401
    assert emu.calls_to("views.open") == []


def test_an_events_api_retry_is_acknowledged_but_not_redone(slack, emu):
    event = {"type": "app_home_opened", "user": NEW, "channel": "D0NOAH", "tab": "home"}
    assert slack.event(event, event_id="Ev001").status == 200
    assert slack.event(event, event_id="Ev001", retry_num=1).status == 200
    assert slack.event(event, event_id="Ev001", retry_num=2).status == 200
    assert len(emu.calls_to("views.publish")) == 1
    assert slack.event(event, event_id="Ev002").status == 200
    assert len(emu.calls_to("views.publish")) == 2


def test_app_home_groups_transitions_by_role(slack, emu, handoff):
    start(slack)
    slack.event({"type": "app_home_opened", "user": NEW, "tab": "home"}, event_id="Ev9")
    home = emu.home(NEW)
    text = json.dumps(home)
    assert home["type"] == "home" and "Acme Corp" in text and "Taking over" in text
    assert len(home["blocks"]) <= 100


def test_list_shows_only_the_callers_transitions(slack, emu, handoff):
    start(slack)
    start(slack, account="Globex", departing_owner=OTHER, new_owner=NEW)
    dana = json.dumps(slack.slash(DEPARTING, "list").json())
    assert "Acme Corp" in dana and "Globex" not in dana
    noah = json.dumps(slack.slash(NEW, "list").json())
    assert "Acme Corp" in noah and "Globex" in noah
    otto = slack.slash(OTHER, "list").json()
    assert "Globex" in json.dumps(otto) and "Acme" not in json.dumps(otto)
    assert otto.get("response_type") == "ephemeral"


def test_status_reveals_nothing_to_outsiders(slack, emu, handoff):
    start(slack)
    outsider = slack.slash(OTHER, "status acme corp").json()
    nobody = slack.slash(OTHER, "status No Such Account").json()
    strip = lambda d: json.dumps(d).replace("acme corp", "X").replace("No Such Account", "X")  # noqa: E731
    assert strip(outsider) == strip(nobody)  # the same answer as for an unknown account
    assert "U0DANA" not in json.dumps(outsider)
    insider = json.dumps(slack.slash(MANAGER, "status ACME CORP").json(), ensure_ascii=False)
    assert "<@U0DANA>" in insider and "Planung" in insider  # Maya reads German


def test_help_and_unknown_subcommands_explain_everything(slack):
    for text in ("help", "", "frobnicate"):
        body = slack.slash(NEW, text).json()
        assert body["response_type"] == "ephemeral"
        dumped = json.dumps(body)
        for sub in ("start", "list", "status", "doc", "coach", "digest", "help"):
            assert f"/handoff {sub}" in dumped
    assert "frobnicate" in json.dumps(slack.slash(NEW, "frobnicate").json())


def test_the_creator_who_is_not_involved_can_follow_the_transition(slack, emu, handoff):
    start(slack, user=OTHER)
    with session(handoff.services.engine) as s:
        t = s.exec(select(Transition)).one()
    assert t.creator == OTHER
    assert "Acme Corp" in json.dumps(slack.slash(OTHER, "status Acme Corp").json())
    listing = json.dumps(slack.slash(OTHER, "list").json())
    assert "started by you" in listing and "manager" not in listing.lower().replace("<@u0maya>", "")


def test_a_first_time_user_is_answered_in_their_slack_language_from_the_first_request(
    slack, emu, handoff
):
    """Maya's Slack locale is de-DE and the app has never seen her: help, the start modal and
    her App Home are German at once; Slack is asked about her once."""
    body = json.dumps(slack.slash(MANAGER, "help").json(), ensure_ascii=False)
    assert "begleitet einen Kontowechsel" in body
    slack.slash(MANAGER, "start")
    assert "Übergabe" in json.dumps(slack.last_view(), ensure_ascii=False)
    slack.event({"type": "app_home_opened", "user": MANAGER, "tab": "home"})
    assert "Übergabe" in json.dumps(emu.home(MANAGER), ensure_ascii=False)
    looked_up = [c for c in emu.calls_to("users.info") if c.args.get("user") == MANAGER]
    assert len(looked_up) == 1


def test_a_name_not_quite_right_gets_suggestions_from_the_users_own_handoffs_only(slack, emu):
    start(slack)
    start(slack, account="Globex Industries")
    answer = json.dumps(slack.slash(MANAGER, "status acme").json(), ensure_ascii=False)
    assert "Meinten Sie *Acme Corp*?" in answer  # Maya reads German
    answer = json.dumps(slack.slash(NEW, "status Globex Industrys").json())
    assert "Did you mean *Globex Industries*?" in answer
    outsider = json.dumps(slack.slash(OTHER, "status acme").json())
    assert "Acme" not in outsider.replace("acme", "")  # nothing leaks to someone outside


def test_a_failing_first_contact_lookup_is_tried_once_and_never_blocks_the_answer(slack, emu):
    """Before the ack there is no time for Slack's retries: one quick try, remembered."""
    emu.fail("users.info", error="ratelimited", status=429, retry_after=2, times=None)
    for _ in range(3):
        body = slack.slash(MANAGER, "help").json()
        assert "/handoff start" in json.dumps(body)  # answered, in HANDOFF_LANG meanwhile
    looked_up = [c for c in emu.calls_to("users.info") if c.args.get("user") == MANAGER]
    assert len(looked_up) == 1
