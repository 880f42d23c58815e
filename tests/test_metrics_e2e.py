"""The new owner's check-ins end to end: the DM at the right time, the modal, the status."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from handoff.storage import knowledge as store
from handoff.storage.db import session
from handoff.storage.models import Transition
from tests.conftest import DEPARTING, MANAGER, NEW, OTHER
from tests.test_engine_e2e import at, posted, travel
from tests.test_start_e2e import start


def survey_dms(emu, item):
    return [c for c in posted(emu) if f":survey:{item}:" in json.dumps(c.args.get("metadata"))]


def tid(handoff):
    with session(handoff.services.engine) as s:
        return s.exec(select(Transition.id)).one()


def test_csat_is_asked_at_the_retrospective_and_recorded_with_checks(slack, emu, handoff, clock):
    start(slack)  # handoff Mon 4 Jan 2027: retrospective Mon 1 Feb
    travel(handoff, clock, at(2027, 1, 29, 20, 0))
    assert survey_dms(emu, "csat") == []
    travel(handoff, clock, at(2027, 2, 1, 14, 0))  # 09:00 New York
    [dm] = survey_dms(emu, "csat")
    assert dm.args["channel"] == NEW and "How smooth was the account transition" in json.dumps(
        dm.args["blocks"]
    )
    msg = emu.messages(NEW)[-1]
    t = tid(handoff)
    # someone outside cannot record
    slack.click(OTHER, "survey.open", f"{t}:csat")
    assert slack.last_view().get("callback_id") != "survey.view"
    slack.click_message_button(NEW, msg, "survey.open")
    view = slack.last_view()
    assert view["callback_id"] == "survey.view"
    bad = slack.submit(NEW, view, {"comment": "fine"}).json()
    assert bad["response_action"] == "errors" and set(bad["errors"]) == {"score"}
    assert slack.submit(NEW, view, {"score": "4", "comment": "Smooth & <quick>"}).status == 200
    with session(handoff.services.engine) as s:
        assert store.metrics(s, transition_id=t)["csat"] == {
            "score": 4,
            "comment": "Smooth & <quick>",
        }
    updated = emu.message("D" + NEW, msg["ts"])
    assert "survey.open" not in json.dumps(updated["blocks"]) and "Recorded by" in json.dumps(
        updated["blocks"]
    )
    status = json.dumps(slack.slash(NEW, "status acme corp").json(), ensure_ascii=False)
    assert "Handoff CSAT: *4/5*" in status


def test_health_check_ins_go_on_after_the_handoff_closed(slack, emu, handoff, clock):
    start(slack)
    t = tid(handoff)
    with session(handoff.services.engine) as s:
        row = s.get(Transition, t)
        row.state, row.next_due_at = "closed", at(2027, 2, 1, 0, 0)
        s.add(row)
        s.commit()
    travel(handoff, clock, at(2027, 2, 3, 14, 0))  # T+30 is Wed 3 Feb
    [d30] = survey_dms(emu, "d30")
    assert d30.args["channel"] == NEW
    msg = emu.messages(NEW)[-1]
    slack.click_message_button(NEW, msg, "survey.open")
    view = slack.last_view()
    forged = slack.submit(OTHER, view, {"health": "50"}).json()
    assert forged["response_action"] == "errors" and set(forged["errors"]) == {"health"}
    out = slack.submit(
        NEW, view, {"health": "140", "renewal_risk": "same", "pipeline": "kept", "reference": "yes"}
    ).json()
    assert set(out["errors"]) == {"health"}
    slack.submit(
        NEW,
        view,
        {"health": "74", "renewal_risk": "lower", "pipeline": "grown", "reference": "yes"},
    )
    status = json.dumps(slack.slash(NEW, "status acme corp").json(), ensure_ascii=False)
    assert "74 (30 d)" in status and "renewal risk Lower" in status
    travel(handoff, clock, at(2027, 3, 5, 14, 0))
    assert len(survey_dms(emu, "d60")) == 1 and len(survey_dms(emu, "d30")) == 1
    assert DEPARTING not in {c.args["channel"] for c in survey_dms(emu, "d60")}


def test_the_digest_shows_check_ins_of_handoffs_closed_weeks_ago(slack, emu, handoff, clock):
    start(slack, digest_channel="C0DIGEST")
    t = tid(handoff)
    with session(handoff.services.engine) as s:
        row = s.get(Transition, t)
        row.state, row.closed_at = "closed", at(2027, 2, 1, 12, 0)
        s.add(row)
        s.commit()
    travel(handoff, clock, at(2027, 3, 5, 14, 0))  # T+60: five weeks after it closed
    assert len(survey_dms(emu, "d60")) == 1
    [msg] = [m for m in emu.messages(NEW) if "d60" in json.dumps(m.get("blocks"))]
    slack.click_message_button(NEW, msg, "survey.open")
    slack.submit(
        NEW,
        slack.last_view(),
        {"health": "60", "renewal_risk": "higher", "pipeline": "lost", "reference": "no"},
    )
    emu.clear_calls()
    slack.slash(MANAGER, "digest", channel_id="C0DIGEST")
    [post] = [c for c in emu.calls_to("chat.postMessage") if c.args["channel"] == "C0DIGEST"]
    said = json.dumps(post.args["blocks"], ensure_ascii=False)
    assert "30/60/90-day check-ins of 1 handoff" in said
    assert "renewal risk higher for 1" in said and "lost for 1" in said
    assert "0 would be a reference" in said


def record(slack, user, t, item, values):
    """Open a check-in's modal from its button and save it."""
    slack.click(user, "survey.open", f"{t}:{item}")
    view = slack.last_view()
    assert view["callback_id"] == "survey.view"
    assert slack.submit(user, view, values).status == 200


def record_all(slack, t):
    from tests.test_knowledge_e2e import open_section

    risks = open_section(slack, DEPARTING, t, "risks")
    assert slack.submit(DEPARTING, risks, {"health_score": "61"}).status == 200
    record(slack, NEW, t, "csat", {"score": "4", "comment": "Smooth & <quick>\nthanks *all*"})
    check_in = {"health": "74", "renewal_risk": "lower", "pipeline": "grown", "reference": "yes"}
    record(slack, NEW, t, "d30", {**check_in, "note": "CFO <left> & budget froze"})


def test_status_shows_the_csat_comment_and_the_check_in_note_escaped(slack, emu, handoff):
    start(slack)
    record_all(slack, tid(handoff))
    status = json.dumps(slack.slash(NEW, "status acme corp").json(), ensure_ascii=False)
    assert "What the customer said: “Smooth &amp; &lt;quick&gt;\\nthanks *all*”" in status
    assert "Health: 61 before → 74 (30 d)" in status
    assert "Note: “CFO &lt;left&gt; &amp; budget froze”" in status


def test_doc_summary_has_the_metrics_against_the_health_before(slack, emu, handoff):
    start(slack)
    record_all(slack, tid(handoff))
    emu.clear_calls()
    slack.slash(NEW, "doc acme corp")
    files = {
        c.args["channel_id"]: emu.uploaded_file(c.args["files"][0]["id"]).decode()
        for c in emu.calls_to("files.completeUploadExternal")
    }
    english = files["D" + NEW].split("\n## Metrics\n", 1)[1]
    assert "- Handoff CSAT: **4/5**" in english
    assert "- What the customer said: “Smooth & <quick>\nthanks *all*”" in english
    assert "- Health: 61 before → 74 (30 d)" in english
    assert "- 30 days after the handoff: renewal risk Lower, pipeline Grown" in english
    german = files["D" + MANAGER].split("\n## Kennzahlen\n", 1)[1]
    assert "Übergabe-CSAT: **4/5**" in german and "Health: 61 vorher → 74 (30 T)" in german
    assert "Was der Kunde gesagt hat: „Smooth & <quick>" in german


def test_cli_export_has_the_metrics_in_markdown_and_json(
    slack, handoff, settings, database, monkeypatch, capsys
):
    from handoff.bot.cli import main

    if database[1]:
        pytest.skip("the CLI reads DATABASE_URL alone; this test's PostgreSQL schema is an option")
    start(slack)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    assert main(["export", "acme corp"]) == 0
    assert "## Metrics\n\n- _none recorded yet_" in capsys.readouterr().out
    record_all(slack, tid(handoff))
    assert main(["export", "acme corp"]) == 0
    out = capsys.readouterr().out
    assert "- Handoff CSAT: **4/5**" in out and "- Health: 61 before → 74 (30 d)" in out
    assert "“Smooth & <quick>\nthanks *all*”" in out
    assert main(["export", "acme corp", "--format", "json"]) == 0
    metrics = json.loads(capsys.readouterr().out)["metrics"]
    assert metrics["before"] == {"health": 61}
    assert metrics["csat"] == {"score": 4, "comment": "Smooth & <quick>\nthanks *all*"}
    assert metrics["d30"]["health"] == 74 and metrics["d30"]["renewal_risk"] == "lower"
