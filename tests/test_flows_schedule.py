"""Pure tests of what the scheduler decides, and of the state machine table."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from freezegun import freeze_time

from handoff.flows.calendar import WorkCalendar
from handoff.flows.plans import build_plan
from handoff.flows.progress import TaskState, move_errors, snooze_until, state_after_done
from handoff.flows.schedule import Facts, TaskFacts, decide, plan_messages
from handoff.flows.states import TABLE, InvalidTransition, after_completion, fire

D, N, M = "UD", "UN", "UM"
ZONES = {D: "Europe/Berlin", N: "America/New_York", M: "Europe/Berlin"}


def facts(
    anchor=date(2027, 3, 29),
    today=date(2027, 3, 1),
    created=None,
    done=(),
    planned=True,
    strategic=False,
    cal=None,
):
    cal = cal or WorkCalendar()
    people = {"departing": D, "new_owner": N, "manager": M}
    tasks = tuple(
        TaskFacts(
            id=i,
            milestone=p.milestone,
            seq=p.seq,
            role=p.role.value,
            assignee=people[p.role.value],
            due_on=p.due_on,
            compressed=p.compressed,
            done=(p.milestone, p.role.value) in done,
        )
        for i, p in enumerate(
            build_plan(
                planned=planned, anchor=anchor, today=today, strategic=strategic, calendar=cal
            ),
            start=1,
        )
    )
    created = created or datetime(2027, 3, 1, 8, tzinfo=UTC)
    return Facts(
        id=7,
        state="planning",
        created_at=created,
        manager=M,
        tasks=tasks,
        zones=ZONES,
        calendar=cal,
        planned=planned,
    )


def at(y, mo, d, h, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


def test_nudges_come_at_nine_in_each_readers_zone():
    f = facts()
    due, _ = decide(f, now=at(2027, 3, 1, 8), known=set())
    assert [(m.recipient, m.milestone, m.kind) for m in due] == [
        (D, "planning", "milestone"),
        (M, "planning", "milestone"),
    ]
    due, next_at = decide(f, now=at(2027, 3, 1, 13, 59), known={m.key for m in due})
    assert due == [] and next_at == at(2027, 3, 1, 14)  # 09:00 in New York
    due, _ = decide(f, now=next_at, known=set())
    assert (N, "planning") in {(m.recipient, m.milestone) for m in due}


def test_nothing_is_decided_twice():
    f = facts()
    now = at(2027, 3, 1, 14)
    first, _ = decide(f, now=now, known=set())
    again, _ = decide(f, now=now, known={m.key for m in first})
    assert first and again == []
    assert len({m.key for m in first}) == len(first)


@freeze_time("2027-03-26 12:00:00")
def test_dst_week_keeps_nine_local():
    # Berlin moves to summer time on Sunday 28 March 2027
    f = facts(anchor=date(2027, 4, 26), today=date(2027, 3, 22))
    sends = {
        (m.recipient, m.milestone): m.due_at for m in plan_messages(f) if m.kind == "milestone"
    }
    assert sends[(D, "planning")] == at(2027, 3, 29, 7)  # 09:00 CEST
    assert sends[(M, "planning")] == at(2027, 3, 29, 7)


def test_weekend_and_holiday_milestones_move_to_the_next_working_day():
    cal = WorkCalendar(country="DE")
    f = facts(
        anchor=date(2027, 1, 1), today=date(2026, 11, 30), cal=cal, created=at(2026, 11, 30, 8)
    )
    sends = {
        (m.recipient, m.milestone): m.due_at for m in plan_messages(f) if m.kind == "milestone"
    }
    assert sends[(D, "handoff")] == at(2027, 1, 4, 8)  # New Year → Monday, 09:00 CET
    for moment in sends.values():
        assert moment.astimezone(UTC).weekday() < 5


def test_a_compressed_plan_sends_everything_past_at_once_in_order():
    created = at(2027, 3, 20, 15, 30)  # a Saturday afternoon, nine days before the handoff
    f = facts(anchor=date(2027, 3, 29), today=date(2027, 3, 20), created=created)
    due, _ = decide(f, now=created, known=set())
    milestones = [m.milestone for m in due if m.kind == "milestone"]
    assert milestones[:2] == ["planning", "planning"]
    assert milestones.index("onboarding") < milestones.index("customer_comm")
    assert all(m.due_at == created for m in due)
    assert "joint_meeting" not in milestones


def test_one_reminder_two_working_days_after_due_unless_done():
    f = facts()
    reminders = {
        (m.recipient, m.milestone): m.due_at for m in plan_messages(f) if m.kind == "reminder"
    }
    # planning is due Mon 1 Mar; reminder Wed 3 Mar at 09:00 local
    assert reminders[(D, "planning")] == at(2027, 3, 3, 8)
    assert reminders[(N, "planning")] == at(2027, 3, 3, 14)
    done = facts(done={("planning", "departing")})
    assert (D, "planning") not in {(m.recipient, m.milestone) for m in plan_messages(done)}
    assert (
        sum(
            1
            for m in plan_messages(f)
            if m.kind == "reminder" and (m.recipient, m.milestone) == (D, "planning")
        )
        == 1
    )


def test_a_ghost_departing_owner_is_escalated_to_the_manager_once():
    f = facts()
    escalations = [m for m in plan_messages(f) if m.kind == "escalation"]
    assert len(escalations) == 1 and escalations[0].recipient == M
    # second departing reminder: onboarding (Mon 8 Mar) reminded Wed 10 Mar; escalation Thu 11 Mar
    assert escalations[0].due_at == at(2027, 3, 11, 8)
    diligent = facts(
        done={
            (k, "departing")
            for k in (
                "planning",
                "onboarding",
                "customer_comm",
                "joint_meeting",
                "handoff",
                "fully_responsible",
                "step_back",
            )
        }
    )
    assert not [m for m in plan_messages(diligent) if m.kind == "escalation"]


def test_snooze_brings_the_task_back_and_moves_its_reminder():
    f = facts()
    task = next(k for k in f.tasks if k.assignee == D and k.milestone == "planning")
    until = at(2027, 3, 2, 8)
    snoozed = replace(
        f,
        tasks=tuple(
            replace(k, snoozed_until=until, snoozes=1) if k is task else k for k in f.tasks
        ),
    )
    mine = {m.kind: m.due_at for m in plan_messages(snoozed) if m.task_id == task.id}
    assert mine["snooze"] == until
    assert mine["reminder"] == at(2027, 3, 4, 8)  # two working days after Tue 2 Mar


def test_closed_and_cancelled_transitions_want_nothing():
    for state in ("closed", "cancelled"):
        assert plan_messages(replace(facts(), state=state)) == []


def test_snooze_until_monday_and_until_tomorrow():
    cal = WorkCalendar()
    friday = at(2027, 3, 5, 10)
    assert snooze_until(friday, "Europe/Berlin", cal, "day") == at(2027, 3, 8, 8)  # weekend skipped
    assert snooze_until(friday, "Europe/Berlin", cal, "monday") == at(2027, 3, 8, 8)
    monday = at(2027, 3, 8, 10)
    assert snooze_until(monday, "Europe/Berlin", cal, "monday") == at(2027, 3, 15, 8)


def test_state_machine_follows_the_plan_and_rejects_what_it_does_not_list():
    assert fire("planning", "complete:planning") == "onboarding"
    assert fire("onboarding", "complete:customer_comm") == "customer_informed"
    assert fire("customer_informed", "cancel") == "cancelled"
    with pytest.raises(InvalidTransition):
        fire("cancelled", "cancel")
    with pytest.raises(InvalidTransition):
        fire("handed_off", "complete:joint_meeting")  # never backwards
    assert after_completion("handed_off", "joint_meeting", plan_done=False) == "handed_off"
    assert after_completion("retrospective", "step_back", plan_done=True) == "closed"
    triggers = [t for t, _, _ in TABLE]
    assert len(triggers) == len(set(triggers))


def test_a_milestone_moves_the_state_only_when_all_its_tasks_are_done():
    tasks = [
        TaskState("joint_meeting", "departing", True),
        TaskState("joint_meeting", "new_owner", False),
    ]
    assert state_after_done("customer_informed", tasks, "joint_meeting") == "customer_informed"
    tasks[1] = TaskState("joint_meeting", "new_owner", True)
    assert (
        state_after_done(
            "customer_informed", tasks + [TaskState("handoff", "departing", False)], "joint_meeting"
        )
        == "joint_meeting"
    )


def test_what_is_due_at_the_start_goes_out_at_once_in_plan_order():
    # started on Monday 15 Mar at 10:00 UTC: planning (today, 09:00 Berlin) is already due,
    # and so is nothing else; it comes at the start instant, not before it
    created = at(2027, 3, 15, 10)
    f = facts(anchor=date(2027, 4, 12), today=date(2027, 3, 15), created=created)
    due, _ = decide(f, now=created, known=set())
    assert {m.milestone for m in due} == {"planning"}
    assert all(m.due_at == created for m in due)


def test_nothing_is_planned_for_a_person_slack_says_is_gone():
    f = replace(facts(), unreachable=frozenset({D}))
    messages = plan_messages(f)
    assert not [m for m in messages if m.recipient == D]
    assert not [m for m in messages if m.kind == "escalation"]


def test_a_departing_owner_who_is_their_own_manager_is_not_escalated_to_themselves():
    f = facts()
    own = replace(f, manager=D)
    assert [m for m in plan_messages(f) if m.kind == "escalation"]
    assert not [m for m in plan_messages(own) if m.kind == "escalation"]


# ---------------------------------------------------------------- readiness gate


def warnings(due):
    return [(m.recipient, m.milestone) for m in due if m.kind == "not_ready"]


def test_customer_milestones_due_while_not_ready_warn_both_owners_and_the_manager():
    f = replace(facts(), ready=False)
    # T-14 = Mon 15 Mar 2027: 09:00 in Berlin for the departing owner and the manager
    due, next_at = decide(f, now=at(2027, 3, 15, 8), known=set())
    assert warnings(due) == [(D, "customer_comm"), (M, "customer_comm")]
    assert {m.key for m in due if m.kind == "not_ready"} == {
        f"t7:customer_comm:not_ready:{u}" for u in (D, M)
    }
    # the new owner in New York at 09:00 their time, not at 03:00
    assert next_at == at(2027, 3, 15, 13)
    sent = {m.key for m in due}
    ny, _ = decide(f, now=at(2027, 3, 15, 13), known=sent)
    assert warnings(ny) == [(N, "customer_comm")]
    # before that, nothing: the milestone's first nudge sets the earliest time
    early, next_at = decide(f, now=at(2027, 3, 15, 7, 59), known=set())
    assert warnings(early) == [] and next_at == at(2027, 3, 15, 8)
    # once sent, never again; the joint meeting warns again at its own time
    sent |= {m.key for m in ny}
    later, _ = decide(f, now=at(2027, 3, 22, 14), known=sent)
    assert sorted(warnings(later)) == sorted(
        [(D, "joint_meeting"), (N, "joint_meeting"), (M, "joint_meeting")]
    )


def test_a_ready_document_warns_nobody():
    due, _ = decide(facts(), now=at(2027, 4, 30, 8), known=set())
    assert warnings(due) == []


def test_unplanned_customer_contact_is_gated_too_and_the_unreachable_are_skipped():
    f = replace(
        facts(planned=False, anchor=date(2027, 3, 1)), ready=False, unreachable=frozenset({D})
    )
    due, _ = decide(f, now=at(2027, 3, 12, 20), known=set())
    assert sorted(warnings(due), key=lambda w: w[1]) == [
        (N, "customer_comm"),
        (M, "customer_comm"),
        (N, "joint_meeting"),
        (M, "joint_meeting"),
    ]


def test_a_compressed_plan_warns_each_person_once_for_the_customer_milestones_due_at_once():
    # started five days before the handoff date: customer communication and the joint meeting
    # are both due at once, and one warning already says everything that is missing
    f = replace(facts(today=date(2027, 3, 24)), ready=False)
    due, _ = decide(f, now=at(2027, 3, 1, 8), known=set())
    assert sorted(warnings(due)) == sorted(
        [(D, "customer_comm"), (N, "customer_comm"), (M, "customer_comm")]
    )


def test_a_start_date_cannot_be_moved_further_back_than_the_start_form_allows():
    today = date(2027, 3, 1)
    assert move_errors(planned=False, new_date=today - timedelta(days=30), today=today) == {}
    assert move_errors(planned=False, new_date=date(2020, 1, 1), today=today) == {
        "handoff_date": "start_too_old"
    }
    assert move_errors(planned=True, new_date=today - timedelta(days=1), today=today) == {
        "handoff_date": "date_past"
    }


def test_a_compressed_plan_does_not_repeat_its_warning_once_the_first_milestone_is_done():
    f = replace(facts(today=date(2027, 3, 24)), ready=False)
    due, _ = decide(f, now=at(2027, 3, 1, 8), known=set())
    known = {d.key for d in due}
    done = replace(f, tasks=tuple(replace(k, done=k.milestone == "customer_comm") for k in f.tasks))
    again, _ = decide(done, now=at(2027, 3, 1, 9), known=known)
    assert warnings(again) == []
