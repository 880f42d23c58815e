"""/handoff start end to end: signed HTTP in, Web API calls out, a real database."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from handoff.storage.db import session
from handoff.storage.models import Outbox, Task, Transition
from tests.conftest import BOT, DEPARTING, GONE, MANAGER, NEW, OTHER

BLOCK_IDS = [
    "account",
    "departing_owner",
    "new_owner",
    "manager",
    "kind",
    "planned",
    "handoff_date",
    "digest_channel",
]


def valid(**changes):
    values = {
        "account": "Acme Corp",
        "departing_owner": DEPARTING,
        "new_owner": NEW,
        "manager": MANAGER,
        "kind": "rep_to_rep",
        "planned": "planned",
        "handoff_date": "2027-01-04",
        "digest_channel": "C0DIGEST",
    }
    values.update(changes)
    return values


def start(slack, user=MANAGER, **changes):
    assert slack.slash(user, "start").status == 200
    return slack.submit(user, slack.last_view(), valid(**changes))


def dms(emu):
    return [c for c in emu.calls_to("chat.postMessage") if not c.failed]


def transitions(handoff):
    with session(handoff.services.engine) as s:
        return list(s.exec(select(Transition)).all())


def test_start_opens_the_modal_of_the_contract(slack, emu):
    resp = slack.slash(MANAGER, "start")
    assert resp.status == 200
    view = emu.calls_to("views.open")[-1].args["view"]
    assert view["callback_id"] == "handoff_start"
    ids = [b.get("block_id") for b in view["blocks"] if b["type"] == "input"]
    assert ids[: len(BLOCK_IDS)] == BLOCK_IDS
    assert {"strategic", "reason", "notes"} <= set(ids)
    kind = next(b for b in view["blocks"] if b.get("block_id") == "kind")["element"]
    assert [o["value"] for o in kind["options"]] == [
        "sales_to_cs",
        "sales_to_am",
        "rep_to_rep",
        "team_to_team",
    ]
    assert all(o["description"]["text"] for o in kind["options"])
    manager = next(b for b in view["blocks"] if b.get("block_id") == "manager")["element"]
    assert manager["initial_user"] == MANAGER
    assert len(view["blocks"]) <= 100


def test_valid_start_creates_the_plan_and_dms_everyone(slack, emu, handoff):
    resp = start(slack)
    assert resp.status == 200
    assert resp.json() in (None, {})
    [t] = transitions(handoff)
    assert (t.account, t.departing_owner, t.new_owner, t.manager) == (
        "Acme Corp",
        DEPARTING,
        NEW,
        MANAGER,
    )
    assert t.digest_channel == "C0DIGEST" and t.state == "planning"
    with session(handoff.services.engine) as s:
        tasks = s.exec(select(Task).where(Task.transition_id == t.id)).all()
    assert {k.milestone for k in tasks} == {
        "planning",
        "onboarding",
        "customer_comm",
        "joint_meeting",
        "handoff",
        "follow_up",
        "fully_responsible",
        "retrospective",
        "step_back",
    }
    sent = dms(emu)
    assert sorted(c.args["channel"] for c in sent) == sorted([DEPARTING, NEW, MANAGER])
    for call in sent:
        body = json.dumps(call.args["blocks"], ensure_ascii=False)
        assert "Acme Corp" in body
        assert "Mon 7 Dec 2026" in body or "Mo., 7. Dez. 2026" in body  # the plan, with dates
    by_user = {c.args["channel"]: c for c in sent}
    departing, new, manager = (
        json.dumps(by_user[u].args["blocks"], ensure_ascii=False) for u in (DEPARTING, NEW, MANAGER)
    )
    assert "knowledge-transfer document" in departing
    assert "What makes this scenario hard" in departing and "What makes it succeed" in new
    # the manager's Slack locale is de-DE: the DM is in German and mentions the digests
    assert "Übergabe" in manager and "<#C0DIGEST>" in manager
    assert "Mo., 7. Dez. 2026" in manager
    # the App Home is refreshed only for who uses it; nobody has opened it yet
    assert emu.home(MANAGER) is None


def test_a_start_refreshes_the_home_of_those_who_use_it(slack, emu):
    slack.event({"type": "app_home_opened", "user": NEW, "tab": "home"})
    start(slack)
    assert "Acme Corp" in json.dumps(emu.home(NEW)) and emu.home(DEPARTING) is None


@pytest.mark.parametrize(
    ("changes", "block"),
    [
        ({"new_owner": DEPARTING}, "new_owner"),
        ({"departing_owner": BOT}, "departing_owner"),
        ({"new_owner": GONE}, "new_owner"),
        ({"manager": BOT}, "manager"),
        ({"handoff_date": "2026-11-29"}, "handoff_date"),
        ({"account": ""}, "account"),
        ({"account": "A" * 81}, "account"),
    ],
)
def test_bad_input_is_answered_inline_on_the_block_at_fault(slack, emu, handoff, changes, block):
    resp = start(slack, **changes)
    body = resp.json()
    assert body["response_action"] == "errors"
    assert list(body["errors"]) == [block]
    assert body["errors"][block]
    assert transitions(handoff) == []
    assert dms(emu) == []


def test_an_account_with_an_open_transition_cannot_start_again(slack, emu, handoff):
    start(slack)
    emu.clear_calls()
    resp = start(slack, account="  acme   CORP ", departing_owner=OTHER)
    assert resp.json()["response_action"] == "errors"
    assert "account" in resp.json()["errors"]
    assert len(transitions(handoff)) == 1
    assert dms(emu) == []


def test_slack_not_answering_keeps_the_modal_open(slack, emu, handoff):
    emu.fail("users.info", error="internal_error", status=500, times=None)
    resp = start(slack)
    body = resp.json()
    assert body["response_action"] == "errors"
    assert transitions(handoff) == []


def mrkdwn_strings(obj):
    """Every string Slack parses as mrkdwn: top-level text and mrkdwn text objects.

    plain_text objects (headers, labels) are shown as typed and never ping anyone."""
    if isinstance(obj, dict):
        if obj.get("type") == "plain_text":
            return
        for key, value in obj.items():
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from mrkdwn_strings(value)
    elif isinstance(obj, list):
        for item in obj:
            yield from mrkdwn_strings(item)


def test_user_text_is_escaped_so_nobody_is_pinged(slack, emu, handoff):
    evil = "<!channel> Evil & Co <@U999>"
    resp = start(slack, account=evil, reason="<!here> now & <https://x.test|click>")
    assert resp.status == 200 and resp.json() in (None, {})
    assert len(dms(emu)) == 3
    status = slack.slash(NEW, "status " + evil).json()
    listing = slack.slash(NEW, "list").json()
    texts = [t for c in dms(emu) for t in mrkdwn_strings(c.args)]
    texts += list(mrkdwn_strings(status)) + list(mrkdwn_strings(listing))
    joined = "\n".join(texts)
    for raw in ("<!channel>", "<@U999>", "<!here>", "<https://x.test|click>"):
        assert raw not in joined
    assert "&lt;!channel&gt; Evil &amp; Co &lt;@U999&gt;" in joined
    assert "&lt;!here&gt; now &amp; &lt;https://x.test|click&gt;" in joined


def test_a_compressed_plan_says_so_and_sends_past_milestones_at_once(slack, emu, handoff):
    start(slack, handoff_date="2026-12-09")  # nine days to go, whatever the hour
    # each recipient's messages go out on their own thread: find Dana's, not the first DM
    dana = [c for c in dms(emu) if c.args["channel"] == DEPARTING]
    assert "compressed" in json.dumps(dana[0].args["blocks"])
    to_dana = [c.args["metadata"]["event_payload"]["key"] for c in dana]
    assert to_dana[0].endswith(":welcome:U0DANA")
    milestones = [k.split(":")[1] for k in to_dana[1:] if k.endswith(":milestone")]
    assert milestones == ["planning", "onboarding", "customer_comm"]
    # after the nudge: its intro email draft, and the readiness gate (the document is empty)
    assert sorted(k.split(":", 1)[1] for k in to_dana[-2:]) == [
        "customer_comm:departing:U0DANA:draft",
        "customer_comm:not_ready:U0DANA",
    ]
    with session(handoff.services.engine) as s:
        tasks = s.exec(select(Task)).all()
    past = [k for k in tasks if k.milestone in ("planning", "onboarding", "customer_comm")]
    assert past and all(k.compressed for k in past)


def test_start_from_the_global_shortcut_opens_the_same_modal(slack, emu):
    resp = slack.post(
        "payload="
        + __import__("urllib.parse").parse.quote(
            json.dumps(
                {
                    "type": "shortcut",
                    "callback_id": "start.shortcut",
                    "trigger_id": "trig-x",
                    "user": {"id": MANAGER, "team_id": "T0001"},
                    "team": {"id": "T0001"},
                    "token": "x",
                    "action_ts": "1",
                }
            )
        ),
        "application/x-www-form-urlencoded",
    )
    assert resp.status == 200
    assert emu.calls_to("views.open")[-1].args["view"]["callback_id"] == "handoff_start"


def test_welcome_dms_go_through_the_outbox_exactly_once(slack, emu, handoff):
    start(slack)
    handoff.dispatcher.tick()  # a later scheduler tick finds nothing more to send
    assert len(dms(emu)) == 3
    with session(handoff.services.engine) as s:
        rows = s.exec(select(Outbox)).all()
    assert {r.status for r in rows} == {"sent"}
    assert all(r.ts for r in rows)


def test_an_account_with_ampersand_and_angle_brackets_is_found_by_name(slack, emu, handoff):
    """Slack sends `&`, `<`, `>` of a command's text as entities; the name typed still matches."""
    start(slack, account="AT&T <EMEA>")
    answer = json.dumps(slack.slash(NEW, "status AT&T <EMEA>").json())
    assert "no handoff" not in answer.lower()
    assert "AT&amp;T &lt;EMEA&gt;" in answer and "&amp;amp;" not in answer
