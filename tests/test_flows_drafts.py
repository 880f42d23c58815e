"""Which drafts and guides follow which milestone, and what they are filled with (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

from handoff.flows import drafts as flow
from handoff.flows.calendar import WorkCalendar
from handoff.flows.knowledge import Document
from handoff.flows.plans import PLANNED, UNPLANNED, build_plan
from handoff.flows.schedule import Facts, TaskFacts, plan_messages

D, N, M = "U0DANA", "U0NOAH", "U0MAYA"


def t(**changes):
    base = dict(
        account="Acme",
        kind="rep_to_rep",
        planned=True,
        strategic=False,
        reason="",
        departing_owner=D,
        new_owner=N,
        manager=M,
    )
    return SimpleNamespace(**{**base, **changes})


def test_every_planned_draft_belongs_to_the_playbook_milestone_and_role():
    assert flow.drafts_for(True, "customer_comm", "departing") == ("intro_email",)
    assert flow.drafts_for(True, "joint_meeting", "departing") == ("agenda",)
    assert flow.drafts_for(True, "joint_meeting", "new_owner") == ("agenda",)
    assert flow.drafts_for(True, "handoff", "departing") == ("announcement",)
    assert flow.drafts_for(True, "follow_up", "new_owner") == ("follow_up",)
    assert flow.drafts_for(True, "step_back", "departing") == ("step_back",)
    assert flow.drafts_for(True, "customer_comm", "new_owner") == ()
    assert flow.drafts_for(True, "joint_meeting", "manager") == ()


def test_slots_name_only_milestones_and_roles_the_plans_have():
    for (planned, milestone, role), names in flow.SLOTS.items():
        step = next(s for s in (PLANNED if planned else UNPLANNED) if s.key == milestone)
        assert role in step.roles and set(names) <= set(flow.DRAFT_NAMES)


def test_the_invitation_and_the_ongoing_role_go_to_the_departing_owner():
    kinds = [x.kind for x in flow.extras_for(True, "joint_meeting", "departing")]
    assert kinds == ["draft", "invite"]
    assert [x.kind for x in flow.extras_for(True, "joint_meeting", "new_owner")] == ["draft"]
    [guide] = flow.extras_for(True, "fully_responsible", "departing")
    unplanned = flow.extras_for(False, "fully_responsible", "departing")
    assert unplanned == [flow.Extra("draft", ""), guide]  # the announcement, then the guide
    assert guide.item == flow.ONGOING_ROLE
    assert flow.extras_for(False, "fully_responsible", "new_owner") == []


def test_weekly_checklists_start_at_t_or_at_full_responsibility():
    assert [d.isoformat() for _, d in flow.week_days(True, date(2027, 1, 4))] == [
        "2027-01-04",
        "2027-01-11",
        "2027-01-18",
        "2027-01-25",
    ]
    assert flow.week_days(False, date(2026, 11, 30))[0] == (1, date(2026, 12, 14))


def test_top_priorities_are_the_first_three_non_empty_lines():
    doc = Document(values={"current": {"priorities": "\n- One\n\n• Two\n* Three\nFour"}})
    assert flow.top_priorities(doc) == ("One", "Two", "Three")
    short = flow.top_priorities(Document(values={"current": {"priorities": "Only"}}))
    assert short == ("Only", flow.Missing("priority2"), flow.Missing("priority3"))


def test_an_empty_document_gives_missing_values_never_empty_text():
    fill = flow.fill(t(), Document(), {})
    for name in ("departing", "customer", "reason", "goals", "project", "cadence"):
        assert isinstance(getattr(fill, name), flow.Missing), name


def test_the_champion_is_greeted_before_the_sponsor():
    doc = Document(
        stakeholders=[
            {"name": "Stan", "role": "economic_sponsor"},
            {"name": "  ", "role": "champion"},
            {"name": "Carla", "role": "champion"},
        ]
    )
    fill = flow.fill(t(reason="Performance issues"), doc, {D: "Dana"})
    assert (fill.customer, fill.sponsor, fill.departing) == ("Carla", "Stan", "Dana")
    # the start form's reason is internal: never copied into words for the customer
    assert fill.reason == flow.Missing("reason")


def test_only_the_transitions_people_may_receive_drafts():
    assert all(flow.may_receive(t(), u) for u in (D, N, M))
    assert not flow.may_receive(t(), "U0OTTO") and not flow.may_receive(t(), "")
    assert flow.invite_attendees(t()) == (D, N)
    assert flow.invite_attendees(t(strategic=True)) == (D, N, M)


def facts(state="planning", planned=True):
    anchor = date(2027, 1, 4) if planned else date(2026, 11, 30)
    plan = build_plan(planned=planned, anchor=anchor, today=date(2026, 11, 30), strategic=False)
    who = {"departing": D, "new_owner": N, "manager": M}
    tasks = tuple(
        TaskFacts(i, k.milestone, k.seq, k.role.value, who[k.role.value], k.due_on)
        for i, k in enumerate(plan, 1)
    )
    return Facts(
        id=1,
        state=state,
        created_at=datetime(2026, 11, 30, 8, tzinfo=UTC),
        manager=M,
        tasks=tasks,
        planned=planned,
        anchor=anchor,
        new_owner=N,
    )


def test_the_plan_sends_each_draft_right_after_its_milestone_and_four_checklists():
    out = plan_messages(facts())
    keys = [m.key for m in out]
    i = keys.index("t1:customer_comm:departing:U0DANA:milestone")
    assert keys[i + 1] == "t1:customer_comm:departing:U0DANA:draft"
    assert out[i].due_at == out[i + 1].due_at
    assert "t1:joint_meeting:departing:U0DANA:invite" in keys
    assert "t1:fully_responsible:departing:U0DANA:guide" in keys
    weeks = [m for m in out if m.item.startswith("week")]
    assert [m.recipient for m in weeks] == [N] * 4
    assert [m.due_at.date().isoformat() for m in weeks] == [
        "2027-01-04",
        "2027-01-11",
        "2027-01-18",
        "2027-01-25",
    ]


def test_an_unplanned_plan_has_no_step_back_and_a_closed_one_only_check_ins_and_checklists():
    keys = [m.key for m in plan_messages(facts(planned=False))]
    assert "t1:customer_comm:departing:U0DANA:draft" in keys
    assert "t1:retrospective:new_owner:U0NOAH:draft" in keys
    assert not any("step_back" in k for k in keys)
    closed = plan_messages(facts(state="closed"))
    assert {m.kind for m in closed} == {"survey", "guide"}
    assert [m.item for m in closed if m.kind == "guide"] == ["week1", "week2", "week3", "week4"]
    assert plan_messages(facts(state="cancelled")) == []


def test_an_unplanned_handoff_closed_at_its_retrospective_still_sends_week_four():
    """Unplanned: weeks from S+14; the plan closes at the retrospective (S+28), week 4 is S+35."""
    f = facts(planned=False, state="closed")
    week4 = next(m for m in plan_messages(f) if m.item == "week4")
    retro = next(k for k in f.tasks if k.milestone == "retrospective")
    assert week4.due_at.date() > retro.due_on


def test_the_meeting_is_suggested_inside_everyones_working_day():
    day = date(2026, 12, 28)
    berlin, new_york, tokyo = "Europe/Berlin", "America/New_York", "Asia/Tokyo"
    utc = datetime.fromisoformat
    assert flow.meeting_start(day, berlin, [berlin]) == utc("2026-12-28T09:00+00:00")  # 10:00
    assert flow.meeting_start(day, berlin, [berlin, new_york]) == utc("2026-12-28T14:00+00:00")
    # organised from New York: 10:00 there is 16:00 in Berlin, still inside both days
    assert flow.meeting_start(day, new_york, [new_york, berlin]) == utc("2026-12-28T15:00+00:00")
    assert flow.meeting_start(day, "Europe/London", [berlin]) == utc("2026-12-28T10:00+00:00")
    # Friday afternoon in Los Angeles is Saturday in Sydney: no slot, 10:00 for the organiser
    los_angeles, sydney = "America/Los_Angeles", "Australia/Sydney"
    friday = date(2027, 1, 8)
    assert flow.meeting_start(friday, los_angeles, [los_angeles, sydney]) == utc(
        "2027-01-08T18:00+00:00"
    )
    # Berlin and Tokyo share no working hour: 10:00 for the organiser
    assert flow.meeting_start(day, berlin, [berlin, tokyo]) == utc("2026-12-28T09:00+00:00")


def test_the_invitation_comes_a_working_week_before_the_meeting():
    f = facts()
    [invite] = [m for m in plan_messages(f) if m.kind == "invite"]
    meeting = next(k for k in f.tasks if k.milestone == "joint_meeting" and k.assignee == D)
    assert invite.due_at.date() == f.calendar.add_working_days(meeting.due_on, -flow.INVITE_LEAD)
    assert invite.due_at.date() < meeting.due_on


def test_working_days_count_backwards_over_weekends():
    cal = WorkCalendar()
    assert cal.add_working_days(date(2026, 12, 28), -1) == date(2026, 12, 25)  # Mon → Fri
    assert cal.add_working_days(date(2026, 12, 28), -5) == date(2026, 12, 21)
