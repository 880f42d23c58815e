"""The knowledge document end to end: signed clicks and submissions into the app, views out."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import select

from handoff.flows import knowledge as kn
from handoff.storage import knowledge as store
from handoff.storage.db import session
from handoff.storage.models import Transition
from tests.conftest import DEPARTING, MANAGER, NEW, OTHER
from tests.test_start_e2e import start

FULL_TEXT = "x" * 10


def tid(handoff) -> int:
    with session(handoff.services.engine) as s:
        return s.exec(select(Transition.id)).one()


def doc(handoff) -> kn.Document:
    with session(handoff.services.engine) as s:
        return store.document(s, transition_id=tid(handoff))


def open_overview(slack, user, t):
    assert slack.click(user, "doc.open", str(t)).status == 200
    return slack.last_view()


def open_section(slack, user, t, key, overview=None):
    assert slack.click(user, "doc.section", f"{t}:{key}", view=overview).status == 200
    return slack.last_view()


def blocks_text(view) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


def test_section_saved_reopened_with_values_and_scored(slack, emu, handoff):
    start(slack)
    t = tid(handoff)
    overview = open_overview(slack, DEPARTING, t)
    assert overview["callback_id"] == "doc.overview_view"
    assert "0 %" in blocks_text(overview)
    view = open_section(slack, DEPARTING, t, "profile", overview)
    assert view["callback_id"] == "doc.section_view" and view["notify_on_close"] is True
    ids = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    assert ids == [f.key for f in kn.section("profile").fields]
    assert all(b["optional"] for b in view["blocks"] if b["type"] == "input")
    typed = "Makes <widgets> & more\nsecond line"
    assert slack.submit(DEPARTING, view, {"background": typed, "metrics": "ARR"}).status == 200
    assert doc(handoff).values["profile"] == {"background": typed, "metrics": "ARR"}
    assert kn.score(doc(handoff), "profile") == 40
    # the overview below was refreshed with the new score
    refreshed = emu.view(overview["id"])
    assert "40 %" in blocks_text(refreshed)
    again = open_section(slack, NEW, t, "profile")
    field = next(b for b in again["blocks"] if b.get("block_id") == "background")
    assert field["element"]["initial_value"] == typed


def test_closing_a_half_filled_section_keeps_what_was_typed(slack, handoff):
    start(slack)
    t = tid(handoff)
    view = open_section(slack, MANAGER, t, "risks")
    state = {"health_score": "72", "health_trend": "declining", "concerns": "budget"}
    from handoff.emulator.driver import view_state

    closed = {**view, "state": {"values": view_state(view, state)}}
    assert slack.close(MANAGER, closed).status == 200
    assert doc(handoff).values["risks"] == {
        "health_score": 72,
        "health_trend": "declining",
        "concerns": "budget",
    }


def test_server_side_validation_answers_inline_and_keeps_nothing_wrong(slack, handoff):
    start(slack)
    t = tid(handoff)
    view = open_section(slack, DEPARTING, t, "opportunities")
    # a forged submission: a number out of range, an unknown option, a too-long text
    forged = json.loads(json.dumps(view))
    resp = slack.submit(
        DEPARTING,
        forged,
        {
            "renewal_likelihood": "140",
            "renewal_strategy": "y" * (kn.TEXT_MAX + 1),
            "renewal_date": "2027-03-31",
        },
    )
    body = resp.json()
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"renewal_likelihood", "renewal_strategy"}
    assert "0 to 100" in body["errors"]["renewal_likelihood"]
    assert "3000" in body["errors"]["renewal_strategy"]
    # the valid part is kept, nothing was cut
    assert doc(handoff).values["opportunities"] == {"renewal_date": "2027-03-31"}


def test_outsider_cannot_open_or_submit_and_is_logged(slack, emu, handoff, caplog):
    start(slack)
    t = tid(handoff)
    view = open_section(slack, DEPARTING, t, "profile")
    assert slack.click(OTHER, "doc.open", str(t)).status == 200
    refusal = slack.last_view()
    assert refusal.get("callback_id") != "doc.overview_view"
    assert "Only the departing owner" in blocks_text(refusal)
    resp = slack.submit(OTHER, view, {"background": "hijacked"})
    assert resp.json()["response_action"] == "errors"
    assert "profile" not in doc(handoff).values
    assert any("refused" in r.message and OTHER in r.message for r in caplog.records)


def test_stakeholders_added_edited_removed_in_stacked_modals(slack, emu, handoff):
    start(slack)
    t = tid(handoff)
    overview = open_overview(slack, DEPARTING, t)
    rel = open_section(slack, DEPARTING, t, "relationships", overview)
    assert "No economic sponsor" in blocks_text(rel)
    # typed politics notes survive pushing the stakeholder modal
    assert (
        slack.click(
            DEPARTING, "doc.stakeholder.add", str(t), view=rel, values={"power": "CFO decides"}
        ).status
        == 200
    )
    pushed = slack.last_view()
    assert pushed["callback_id"] == "doc.stakeholder_view"
    assert emu.calls_to("views.push")
    assert doc(handoff).values["relationships"] == {"power": "CFO decides"}
    person = {
        "name": "Ana <Boss>",
        "title": "CFO",
        "role": "economic_sponsor",
        "style": "direct",
        "channel": "email",
        "stance": "advocate",
        "trust": "4",
    }
    missing = slack.submit(DEPARTING, pushed, {**person, "trust": "9"}).json()
    assert missing["response_action"] == "errors" and set(missing["errors"]) == {"trust"}
    assert slack.submit(DEPARTING, pushed, person).status == 200
    people = doc(handoff).stakeholders
    assert len(people) == 1 and people[0]["name"] == "Ana <Boss>" and people[0]["trust"] == 4
    redrawn = emu.view(rel["id"])
    text = blocks_text(redrawn)
    assert "Ana &lt;Boss&gt;" in text and "No economic sponsor" not in text
    assert "No champion" in text
    # edit
    sid = people[0]["id"]
    slack.click(DEPARTING, "doc.stakeholder.menu", f"edit:{t}:{sid}", view=redrawn, overflow=True)
    edit = slack.last_view()
    assert slack.submit(DEPARTING, edit, {**person, "role": "champion"}).status == 200
    assert doc(handoff).stakeholders[0]["role"] == "champion"
    # the map still leads back to the overview after an edit
    assert json.loads(emu.view(rel["id"])["private_metadata"])["root"] == overview["id"]
    # remove: asked first; cancelling keeps them
    slack.click(
        DEPARTING,
        "doc.stakeholder.menu",
        f"remove:{t}:{sid}",
        view=emu.view(rel["id"]),
        overflow=True,
    )
    confirm = slack.last_view()
    assert confirm["callback_id"] == "doc.stakeholder_remove_view"
    assert "Remove *Ana &lt;Boss&gt;*" in blocks_text(confirm)
    assert len(doc(handoff).stakeholders) == 1
    assert slack.submit(DEPARTING, confirm, {}).status == 200
    assert doc(handoff).stakeholders == []
    assert "No economic sponsor" in blocks_text(emu.view(rel["id"]))


def test_only_the_new_owner_reviews_and_a_change_undoes_the_review(slack, emu, handoff, clock):
    start(slack)
    t = tid(handoff)
    overview = open_overview(slack, NEW, t)
    assert "doc.review" in blocks_text(overview)
    assert slack.click(DEPARTING, "doc.review", f"{t}:profile").status == 200
    assert doc(handoff).reviewed == {}
    assert slack.click(NEW, "doc.review", f"{t}:profile", view=overview).status == 200
    assert doc(handoff).is_reviewed("profile")
    clock.set(clock() + timedelta(minutes=1))
    view = open_section(slack, DEPARTING, t, "profile")
    slack.submit(DEPARTING, view, {"background": "new facts"})
    assert not doc(handoff).is_reviewed("profile")


# ---------------------------------------------------------------- readiness gate


def fill_everything(slack, t, writer=DEPARTING, reviewer=NEW):
    """Fill every section and the map through the modals; the new owner reviews all."""
    from tests.test_flows_knowledge import person, sample

    for sec in kn.SECTIONS:
        view = open_section(slack, writer, t, sec.key)
        values = {f.key: sample(f) for f in sec.fields}
        if sec.key == "relationships":
            for i, role in enumerate(("economic_sponsor", "champion")):
                slack.click(writer, "doc.stakeholder.add", str(t), view=view, values=values)
                p = {k: v for k, v in person(role, i).items() if k != "id"}
                assert slack.submit(writer, slack.last_view(), p).status == 200
            view = slack.emulator.view(view["id"])
        assert slack.submit(writer, view, values).status == 200
    for sec in kn.SECTIONS:
        assert slack.click(reviewer, "doc.review", f"{t}:{sec.key}").status == 200


def flags_of(handoff, kind="unprepared"):
    from handoff.storage.models import Flag

    with session(handoff.services.engine) as s:
        rows = s.exec(select(Flag).where(Flag.kind == kind))
        return [(f.kind, f.milestone, f.resolved_at is not None) for f in rows]


def test_customer_milestone_while_unprepared_warns_and_flags_until_ready(
    slack, emu, handoff, clock
):
    from tests.test_engine_e2e import at, posted, travel

    start(slack)  # handoff Mon 4 Jan 2027: customer communication due Mon 21 Dec
    t = tid(handoff)
    emu.clear_calls()
    travel(handoff, clock, at(2026, 12, 21, 14, 0))  # 09:00 New York: everyone's nudge is out
    warned = posted(emu, kind=f"not_ready:{DEPARTING}") + posted(emu, kind=f"not_ready:{NEW}")
    warned += posted(emu, kind=f"not_ready:{MANAGER}")
    assert sorted(c.args["channel"] for c in warned) == sorted([DEPARTING, NEW, MANAGER])
    text = json.dumps(warned[0].args["blocks"], ensure_ascii=False)
    assert "Customer communication" in text and "0 %" in text and "an economic sponsor" in text
    assert "doc.open" in text
    assert flags_of(handoff) == [("unprepared", "customer_comm", False)]
    fill_everything(slack, t)
    assert kn.readiness(doc(handoff)).ready
    with session(handoff.services.engine) as s:
        row = s.get(Transition, t)
        assert (row.completeness, row.doc_ready) == (100, True)  # what digests read
    assert flags_of(handoff) == [("unprepared", "customer_comm", True)]
    emu.clear_calls()
    travel(handoff, clock, at(2026, 12, 28, 14, 0))  # the joint meeting: ready, no warning
    assert [c for c in posted(emu) if "not_ready" in json.dumps(c.args.get("metadata"))] == []


def test_the_home_tab_shows_the_transition_with_progress_and_pages(slack, emu, handoff):
    slack.event({"type": "app_home_opened", "user": DEPARTING, "tab": "home"})
    start(slack)
    t = tid(handoff)
    assert slack.event({"type": "app_home_opened", "user": NEW, "tab": "home"}).status == 200
    view = emu.home(NEW)
    text = blocks_text(view)
    assert "Taking over" in text and "0 %" in text and "home.section" in text
    # the section picker opens the section's modal
    picker = next(b for b in view["blocks"] if b.get("block_id") == f"t:{t}")["accessory"]
    assert [o["value"] for o in picker["options"]][:2] == ["profile", "relationships"]
    slack.click(
        NEW, "home.section", "risks", overflow=True, block_id=f"t:{t}", container={"type": "view"}
    )
    assert slack.last_view()["callback_id"] == "doc.section_view"
    # saving a section refreshes everyone's Home
    slack.submit(NEW, slack.last_view(), {"concerns": "budget"})
    assert "Handing over" in blocks_text(emu.home(DEPARTING))


def test_the_language_choice_in_home_wins(slack, emu, handoff):
    start(slack)
    slack.click(NEW, "home.lang", "de", overflow=True, container={"type": "view"})
    assert "Sie übernehmen" in blocks_text(emu.home(NEW))
    slack.click(NEW, "home.lang", "auto", overflow=True, container={"type": "view"})
    assert "Taking over" in blocks_text(emu.home(NEW))


# ---------------------------------------------------------------- export


def test_doc_sends_the_summary_file_to_the_people_involved_only(slack, emu, handoff):
    start(slack)
    t = tid(handoff)
    view = open_section(slack, DEPARTING, t, "objectives")
    slack.submit(DEPARTING, view, {"goals": "Cut churn <10%\nOpen APAC", "alignment": "partly"})
    emu.clear_calls()
    resp = slack.slash(NEW, "doc acme corp")
    assert resp.status == 200
    answer = resp.json()
    assert answer["response_type"] == "ephemeral" and "on its way" in answer["text"]
    uploads = emu.calls_to("files.completeUploadExternal")
    channels = sorted(c.args["channel_id"] for c in uploads)
    assert channels == sorted("D" + u for u in (DEPARTING, NEW, MANAGER))
    assert not [c for c in emu.calls_to("chat.postMessage") if c.args["channel"] == OTHER]
    by_channel = {c.args["channel_id"]: c for c in uploads}
    content = emu.uploaded_file(by_channel["D" + NEW].args["files"][0]["id"]).decode()
    assert content.startswith("# Account summary: Acme Corp")
    assert "Cut churn <10%\nOpen APAC" in content and "Partly" in content
    assert "## 2. Relationship map" in content and "## Plan" in content
    german = emu.uploaded_file(by_channel["D" + MANAGER].args["files"][0]["id"]).decode()
    assert german.startswith("# Kontoübersicht: Acme Corp") and "Cut churn <10%" in german
    comment = by_channel["D" + NEW].args["initial_comment"]
    assert "Account summary of *Acme Corp*" in comment and f"<@{NEW}>" in comment
    # a second request goes out again (its own keys); nobody outside gets anything
    slack.slash(NEW, "doc acme corp")
    assert len(emu.calls_to("files.completeUploadExternal")) == 6


def test_doc_exports_free_text_as_typed_and_only_choices_by_their_names(slack, emu, handoff):
    from handoff.emulator.driver import view_state
    from handoff.messages.i18n import knowledge

    start(slack)
    t = tid(handoff)
    view = open_section(slack, DEPARTING, t, "communication")
    slack.submit(DEPARTING, view, {"escalation": "none", "business_reviews": "none"})
    view = open_section(slack, DEPARTING, t, "current")
    slack.submit(DEPARTING, view, {"open_issues": "other", "priorities": "yes"})
    rel = open_section(slack, DEPARTING, t, "relationships")
    slack.click(DEPARTING, "doc.stakeholder.add", str(t), view=rel)
    person = {"name": "no", "title": "user", "role": "other", "response_time": "maybe"}
    pushed = slack.last_view()
    slack.close(DEPARTING, {**pushed, "state": {"values": view_state(pushed, person)}})
    emu.clear_calls()
    slack.slash(NEW, "doc acme corp")
    by_channel = {
        c.args["channel_id"]: emu.uploaded_file(c.args["files"][0]["id"]).decode()
        for c in emu.calls_to("files.completeUploadExternal")
    }
    for user, lang in ((NEW, "en"), (MANAGER, "de")):
        content, k = by_channel["D" + user], knowledge(lang)

        def shown(key, value, content=content, k=k):
            return f"**{k.LABEL[key]}**" in content and (
                content.split(f"**{k.LABEL[key]}**", 1)[1].split("\n", 2)[1] == value
            )

        assert shown("communication.escalation", "none")
        assert shown("communication.business_reviews", k.OPTION["none"])
        assert shown("current.open_issues", "other") and shown("current.priorities", "yes")
        assert f"- **no**\n  - {k.LABEL['stakeholder.title']}: user\n" in content
        assert f"  - {k.LABEL['stakeholder.role']}: {k.OPTION['other']}\n" in content
        assert f"  - {k.LABEL['stakeholder.response_time']}: maybe\n" in content


def test_doc_for_an_outsider_reveals_nothing(slack, emu, handoff):
    start(slack)
    emu.clear_calls()
    answer = slack.slash(OTHER, "doc acme corp").json()
    assert "no handoff of *acme corp*" in answer["text"]
    assert emu.calls_to("files.completeUploadExternal") == []
    assert "Usage" in slack.slash(NEW, "doc").json()["text"]


def test_cli_export_prints_markdown_and_json(
    slack, handoff, settings, database, monkeypatch, capsys
):
    from handoff.bot.cli import main

    if database[1]:
        pytest.skip("the CLI reads DATABASE_URL alone; this test's PostgreSQL schema is an option")
    start(slack)
    t = tid(handoff)
    view = open_section(slack, DEPARTING, t, "current")
    slack.submit(DEPARTING, view, {"priorities": "Renewal\nSSO rollout\nQBR"})
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    assert main(["export", "ACME corp"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Account summary: Acme Corp") and "Renewal\nSSO rollout" in out
    assert main(["export", "acme corp", "--format", "json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["sections"]["current"]["values"]["priorities"] == "Renewal\nSSO rollout\nQBR"
    assert body["completeness"] == doc_total(handoff)
    assert main(["export", "nobody"]) == 1
    assert "no transition" in capsys.readouterr().err


def doc_total(handoff) -> int:
    return kn.total(doc(handoff))


def test_doc_of_a_closed_handoff_is_still_sent(slack, emu, handoff):
    start(slack)
    with session(handoff.services.engine) as s:
        t = s.exec(select(Transition)).one()
        t.state = "closed"
        s.add(t)
        s.commit()
    emu.clear_calls()
    slack.slash(MANAGER, "doc Acme Corp")
    assert len(emu.calls_to("files.completeUploadExternal")) == 3


def test_a_refresh_keeps_the_home_page_the_user_turned_to(slack, emu, handoff):
    for i in range(12):
        start(slack, account=f"Account {i:02d}")
    slack.event({"type": "app_home_opened", "user": MANAGER, "tab": "home"})
    assert "Account 00" in blocks_text(emu.home(MANAGER))
    slack.click(
        MANAGER, "home.page_next", "departing=0,new_owner=0,manager=1", container={"type": "view"}
    )
    assert "Account 11" in blocks_text(emu.home(MANAGER))
    t = tid_of(handoff, "Account 11")
    view = open_section(slack, DEPARTING, t, "profile")
    slack.submit(DEPARTING, view, {"background": "x"})  # refreshes Maya's Home too
    text = blocks_text(emu.home(MANAGER))
    assert "Account 11" in text and "Account 00" not in text


def tid_of(handoff, account):
    with session(handoff.services.engine) as s:
        return s.exec(select(Transition.id).where(Transition.account == account)).one()


def test_closing_the_stakeholder_modal_keeps_what_was_typed(slack, emu, handoff):
    from handoff.emulator.driver import view_state

    start(slack)
    t = tid(handoff)
    rel = open_section(slack, DEPARTING, t, "relationships")
    slack.click(DEPARTING, "doc.stakeholder.add", str(t), view=rel)
    pushed = slack.last_view()
    typed = {"name": "Half Done", "role": "champion"}
    slack.close(DEPARTING, {**pushed, "state": {"values": view_state(pushed, typed)}})
    [person] = doc(handoff).stakeholders
    assert (person["name"], person["role"]) == ("Half Done", "champion")
    assert not kn.stakeholder_complete(person)  # kept, and counted as incomplete
    assert "Half Done" in blocks_text(emu.view(rel["id"]))


def test_a_summary_whose_answer_was_lost_is_found_by_its_file_name(slack, emu, handoff, clock):
    from handoff.bot.scheduler import tick
    from handoff.storage.models import Outbox

    start(slack)
    lost = {"done": False}

    def faults(call):
        to_noah = call.args.get("channel_id") == "D" + NEW
        if call.method == "files.completeUploadExternal" and to_noah and not lost["done"]:
            lost["done"] = True
            raise ConnectionResetError("answer lost")

    emu.on_call = faults
    slack.slash(NEW, "doc acme corp")
    emu.on_call = None
    assert lost["done"]
    for _ in range(3):
        with session(handoff.services.engine) as s:
            rows = s.exec(select(Outbox).where(Outbox.kind == "doc", Outbox.status != "sent"))
            pending = rows.all()
        if not pending:
            break
        clock.set(max(r.due_at for r in pending))
        tick(handoff)
    shared = [m for m in emu.messages(NEW) if m.get("files")]
    assert len(shared) == 1 and not pending


def test_closing_or_saving_unchanged_modals_keeps_the_review(slack, emu, handoff, clock):
    from handoff.emulator.driver import view_state

    start(slack)
    t = tid(handoff)
    fill_everything(slack, t)
    assert kn.readiness(doc(handoff)).ready
    clock.set(clock() + timedelta(minutes=1))  # a save now would be after the reviews
    rel = open_section(slack, NEW, t, "relationships")
    sid = doc(handoff).stakeholders[0]["id"]
    slack.click(NEW, "doc.stakeholder.menu", f"edit:{t}:{sid}", view=rel, overflow=True)
    edit = slack.last_view()
    assert edit["callback_id"] == "doc.stakeholder_view"
    untouched = {**edit, "state": {"values": view_state(edit, {})}}
    assert slack.close(NEW, untouched).status == 200
    assert slack.submit(NEW, edit, {}).status == 200  # saved as it was
    assert slack.close(NEW, {**rel, "state": {"values": view_state(rel, {})}}).status == 200
    section = open_section(slack, NEW, t, "risks")
    assert slack.submit(NEW, section, {}).status == 200
    assert kn.readiness(doc(handoff)).ready
    with session(handoff.services.engine) as s:
        row = s.get(Transition, t)
        assert (row.completeness, row.doc_ready) == (100, True)
    # a real change still undoes the review
    slack.close(NEW, {**edit, "state": {"values": view_state(edit, {"title": "CEO"})}})
    assert doc(handoff).stakeholders[0]["title"] == "CEO"
    assert not doc(handoff).is_reviewed("relationships") and doc(handoff).is_reviewed("risks")
    with session(handoff.services.engine) as s:
        assert not s.get(Transition, t).doc_ready
