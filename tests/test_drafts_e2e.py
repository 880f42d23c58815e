"""Drafts, the joint meeting invitation, the guides and the coach, end to end in simulated time."""

from __future__ import annotations

import json
from datetime import timedelta

from icalendar import Calendar
from sqlmodel import select

from handoff.bot.scheduler import tick
from handoff.storage import knowledge
from handoff.storage.db import session
from handoff.storage.models import Transition
from tests.conftest import DEPARTING, MANAGER, NEW, OTHER
from tests.test_engine_e2e import at, posted, travel
from tests.test_start_e2e import start

GOALS = "Cut onboarding time by 30 %\nExpand to the US team"
PRIORITIES = "Renewal in March\nSSO rollout\nUsage report for the CFO\nFourth, never shown"


def the_transition(handoff):
    with session(handoff.services.engine) as s:
        return s.exec(select(Transition)).one()


def fill_document(handoff, clock):
    tid = the_transition(handoff).id
    with session(handoff.services.engine) as s:
        for section, values in {
            "objectives": {"goals": GOALS, "success_criteria": "Weekly active users above 80 %"},
            "current": {"initiatives": "SSO rollout\nData migration", "priorities": PRIORITIES},
            "communication": {"cadence": "biweekly"},
        }.items():
            knowledge.save_section(
                s, transition_id=tid, section=section, values=values, by=DEPARTING, now=clock()
            )
        knowledge.save_stakeholder(
            s,
            transition_id=tid,
            stakeholder_id=None,
            values={"name": "Carla <Champion>", "role": "champion"},
            by=DEPARTING,
            now=clock(),
        )
        s.commit()


def sent(emu, user, kind, milestone):
    """The messages of one kind that followed one milestone's nudge to one user."""
    return [
        c
        for c in posted(emu, user, kind)
        if f":{milestone}:" in c.args["metadata"]["event_payload"]["key"]
    ]


def mrkdwn_of(call) -> str:
    """Every mrkdwn text of a message: fallback, sections and context elements."""
    parts = [call.args.get("text", "")]
    for b in call.args["blocks"]:
        if b["type"] == "section":
            parts.append(b["text"]["text"])
        elif b["type"] == "context":
            parts += [e.get("text", "") for e in b["elements"]]
    return "\n".join(parts)


def blocks_text(call) -> str:
    return json.dumps(call.args["blocks"], ensure_ascii=False)


def draft_keys_go_only_to_the_transition(emu):
    """Every draft, invite and guide went to the departing owner, the new owner or the manager."""
    for c in emu.calls_to("chat.postMessage"):
        key = ((c.args.get("metadata") or {}).get("event_payload") or {}).get("key", "")
        if key.endswith((":draft", ":guide", ":invite")):
            assert c.args["channel"] in (DEPARTING, NEW, MANAGER)
    for c in emu.calls_to("files.completeUploadExternal"):
        assert c.args["channel_id"] in ("D" + DEPARTING,)
    assert not [c for c in emu.calls if "email" in c.method or c.method.startswith("mail")]


def test_t_minus_14_brings_the_departing_owner_the_intro_email(slack, emu, handoff, clock):
    start(slack)  # handoff Mon 4 Jan 2027; customer communication T−14 = Mon 21 Dec
    fill_document(handoff, clock)
    travel(handoff, clock, at(2026, 12, 21, 8))
    [draft] = posted(emu, DEPARTING, "draft")
    text = blocks_text(draft)
    assert "Introduction email" in text and "Noah N" in text and "Carla &lt;Champion&gt;" in text
    assert "```" in text and "[fill in: your company]" in text
    milestone = posted(emu, DEPARTING, "milestone")[-1]
    assert ":customer_comm:" in json.dumps(milestone.args["metadata"])
    assert emu.calls.index(milestone) < emu.calls.index(draft)  # right after its nudge
    assert posted(emu, NEW, "draft") == []
    draft_keys_go_only_to_the_transition(emu)


def test_t_minus_7_agenda_with_goals_qa_and_an_ics_for_the_departing_owner(
    slack, emu, handoff, clock
):
    emu.add_user(DEPARTING, "dana", real_name="Dana D", tz="Europe/Berlin", email="dana@x.test")
    emu.add_user(NEW, "noah", real_name="Noah N", tz="America/New_York", email="noah@x.test")
    start(slack, strategic=["strategic"])
    fill_document(handoff, clock)
    travel(handoff, clock, at(2026, 12, 21, 8))  # a working week before, 09:00 in Berlin
    assert len(emu.calls_to("files.completeUploadExternal")) == 1
    assert sent(emu, DEPARTING, "draft", "joint_meeting") == []  # the agenda waits for T−7
    travel(handoff, clock, at(2026, 12, 28, 14))  # T−7 = Mon 28 Dec, 09:00 in New York
    for user in (DEPARTING, NEW):
        [agenda] = sent(emu, user, "draft", "joint_meeting")
        text = blocks_text(agenda)
        assert "Cut onboarding time by 30 %" in text and "Expand to the US team" in text
        assert "Weekly active users above 80 %" in text and "every two weeks" in text
        assert "Will we get the same level of support?" in text
    [upload] = emu.calls_to("files.completeUploadExternal")
    assert upload.args["channel_id"] == "D" + DEPARTING
    # a working week ahead, in time to forward: Mon 21 Dec, 09:00 in Berlin
    assert upload.at == at(2026, 12, 21, 8)
    assert "15:00" in upload.args["initial_comment"]
    file_id = upload.args["files"][0]["id"] if isinstance(upload.args["files"], list) else None
    if file_id is None:
        file_id = json.loads(upload.args["files"])[0]["id"]
    cal = Calendar.from_ical(emu.uploaded_file(file_id))
    [event] = cal.walk("VEVENT")
    begin, end = event.decoded("dtstart"), event.decoded("dtend")
    assert end - begin == timedelta(minutes=30)
    # the first half hour from 10:00 Berlin inside 09:00–17:00 in Berlin and New York too
    assert begin == at(2026, 12, 28, 14)  # 15:00 in Berlin, 09:00 in New York
    attendees = [str(a) for a in event.get("attendee")]
    assert attendees == ["mailto:dana@x.test", "mailto:noah@x.test"]  # the manager has no email
    assert "Cut onboarding time by 30 %" in str(event.get("description"))
    # exactly once: later ticks upload nothing more
    travel(handoff, clock, at(2026, 12, 30, 14))
    assert len(emu.calls_to("files.completeUploadExternal")) == 1
    draft_keys_go_only_to_the_transition(emu)


def test_follow_up_lists_the_top_three_priorities(slack, emu, handoff, clock):
    start(slack)
    fill_document(handoff, clock)
    travel(handoff, clock, at(2027, 1, 11, 14))  # T+7 = Mon 11 Jan
    [draft] = sent(emu, NEW, "draft", "follow_up")
    text = blocks_text(draft)
    assert "- Renewal in March\\n- SSO rollout\\n- Usage report for the CFO" in text
    assert "Fourth, never shown" not in text


def test_an_empty_document_marks_every_placeholder(slack, emu, handoff, clock):
    start(slack)
    travel(handoff, clock, at(2027, 1, 11, 14))
    [follow_up] = sent(emu, NEW, "draft", "follow_up")
    text = blocks_text(follow_up)
    for n in (1, 2, 3):
        assert f"[fill in: priority {n}]" in text
    assert "[fill in: customer contact's name]" in text
    for call in posted(emu):
        assert "None" not in blocks_text(call) and "{{" not in blocks_text(call)


def test_weekly_checklists_arrive_one_a_week_and_the_ongoing_role_at_t_plus_14(
    slack, emu, handoff, clock
):
    start(slack)
    weeks = []
    for day in (4, 11, 18, 25):
        travel(handoff, clock, at(2027, 1, day, 14))
        weeks.append(len(posted(emu, NEW, "guide")))
    assert weeks == [1, 2, 3, 4]
    texts = [blocks_text(c) for c in posted(emu, NEW, "guide")]
    assert "week 1" in texts[0] and "introduction email to all stakeholders" in texts[0]
    assert "week 4" in texts[3] and "Plan the next 90 days" in texts[3]
    [role] = posted(emu, DEPARTING, "guide")  # T+14 = Mon 18 Jan
    assert "Appropriate involvement" in blocks_text(role)
    assert "Bypassing the new owner" in blocks_text(role)
    draft_keys_go_only_to_the_transition(emu)


def test_account_names_are_escaped_in_drafts(slack, emu, handoff, clock):
    start(slack, account="<!channel> Evil & Co")
    travel(handoff, clock, at(2026, 12, 21, 8))
    [draft] = posted(emu, DEPARTING, "draft")
    mrkdwn = mrkdwn_of(draft)
    assert "<!channel>" not in mrkdwn and "Evil & Co" not in mrkdwn
    assert "&lt;!channel&gt; Evil &amp; Co" in mrkdwn


def test_the_manager_gets_german_and_no_drafts(slack, emu, handoff, clock):
    start(slack)
    for day in (21, 28):
        travel(handoff, clock, at(2026, 12, day, 14))
    assert posted(emu, MANAGER, "draft") == [] and posted(emu, OTHER) == []


def select_in_view(slack, user, view, block, value):
    """Pick an option of a section's static_select in a modal (block_actions)."""
    element = next(b for b in view["blocks"] if b.get("block_id") == block)["accessory"]
    option = next(o for o in element["options"] if o["value"] == value)
    state = view.get("state", {"values": {}})
    state["values"][block] = {block: {"type": "static_select", "selected_option": option}}
    action = {
        "type": "static_select",
        "action_id": block,
        "block_id": block,
        "selected_option": option,
    }
    payload = slack._interaction(
        "block_actions",
        user,
        trigger_id=slack._trigger(),
        actions=[action],
        container={"type": "view", "view_id": view["id"]},
        view={**view, "state": state},
    )
    return slack._post_payload(payload)


def test_coach_answers_for_the_chosen_handoff(slack, emu, handoff, clock):
    assert "not part of any open handoff" in json.dumps(slack.slash(NEW, "coach").json())
    start(slack)
    fill_document(handoff, clock)
    assert slack.slash(NEW, "coach").status == 200
    view = slack.last_view()
    assert view["callback_id"] == "coach.view"
    assert select_in_view(slack, NEW, view, "coach.emotion", "frustration").status == 200
    updated = emu.calls_to("views.update")[-1].args["view"]
    text = json.dumps(updated, ensure_ascii=False)
    assert "We are in the middle of SSO rollout" in text
    assert "Acknowledge" in text and "Ask what would help" in text
    assert "Acme Corp" in text


def test_coach_speaks_german_to_a_german_user(slack, emu, handoff, clock):
    start(slack)
    slack.slash(MANAGER, "coach")
    view = slack.last_view()
    select_in_view(slack, MANAGER, view, "coach.emotion", "concern")
    text = json.dumps(emu.calls_to("views.update")[-1].args["view"], ensure_ascii=False)
    assert "Müssen wir wieder von vorne anfangen?" in text and "Dana D" in text


def test_a_due_unplanned_draft_still_goes_out_with_its_milestone(slack, emu, handoff, clock):
    start(slack, planned="unplanned", handoff_date="2026-11-30")
    travel(handoff, clock, at(2026, 12, 2, 14))  # S+2: customer communication
    [draft] = posted(emu, DEPARTING, "draft")
    assert "Introduction email" in blocks_text(draft)
    tick(handoff)
    assert len(posted(emu, DEPARTING, "draft")) == 1


def test_week_checklists_go_on_after_the_transition_closed(slack, emu, handoff, clock):
    """Sent, not only planned: the render and the send fence let them through after a close."""
    start(slack)
    travel(handoff, clock, at(2027, 1, 4, 14))  # T: week 1, 09:00 in New York
    assert len(posted(emu, NEW, "guide")) == 1
    with session(handoff.services.engine) as s:
        t = s.exec(select(Transition)).one()
        t.state, t.closed_at = "closed", clock()
        s.add(t)
        s.commit()
    for day in (11, 18, 25):
        travel(handoff, clock, at(2027, 1, day, 14))
    assert len(posted(emu, NEW, "guide")) == 4
