"""Pure tests of the milestone planner, the working-day calendar and start validation."""

from datetime import UTC, date, datetime

import pytest
from freezegun import freeze_time

from handoff.flows.calendar import WorkCalendar, local_today
from handoff.flows.plans import PLANNED, UNPLANNED, Role, build_plan, is_compressed
from handoff.flows.start import Person, StartRequest, account_key, validate_start


def by_milestone(tasks):
    out = {}
    for t in tasks:
        out.setdefault(t.milestone, set()).add((t.role, t.due_on, t.compressed))
    return out


def test_planned_plan_has_every_playbook_milestone_at_its_offset():
    plan = build_plan(
        planned=True, anchor=date(2027, 3, 1), today=date(2027, 1, 4), strategic=False
    )
    due = {t.milestone: t.due_on for t in plan}
    assert due == {
        "planning": date(2027, 2, 1),
        "onboarding": date(2027, 2, 8),
        "customer_comm": date(2027, 2, 15),
        "joint_meeting": date(2027, 2, 22),
        "handoff": date(2027, 3, 1),
        "follow_up": date(2027, 3, 8),
        "fully_responsible": date(2027, 3, 15),
        "retrospective": date(2027, 3, 29),
        "step_back": date(2027, 3, 31),
    }
    assert not any(t.compressed for t in plan)
    assert [t.milestone for t in plan] == sorted(
        [t.milestone for t in plan], key=[s.key for s in PLANNED].index
    )


def test_manager_joins_the_joint_meeting_only_for_strategic_accounts():
    def roles(strategic):
        plan = build_plan(
            planned=True, anchor=date(2027, 3, 1), today=date(2027, 1, 4), strategic=strategic
        )
        return {t.role for t in plan if t.milestone == "joint_meeting"}

    assert roles(False) == {Role.DEPARTING, Role.NEW_OWNER}
    assert roles(True) == {Role.DEPARTING, Role.NEW_OWNER, Role.MANAGER}


def test_unplanned_plan_counts_from_the_start_day_across_a_month_end():
    plan = build_plan(
        planned=False, anchor=date(2027, 1, 29), today=date(2027, 1, 29), strategic=False
    )
    due = {t.milestone: t.due_on for t in plan}
    assert due == {
        "assign": date(2027, 1, 29),  # Friday
        "knowledge_transfer": date(2027, 2, 1),  # Saturday → Monday
        "customer_comm": date(2027, 2, 1),  # Sunday → Monday
        "joint_meeting": date(2027, 2, 5),
        "fully_responsible": date(2027, 2, 12),
        "retrospective": date(2027, 2, 26),
    }
    assert [s.key for s in UNPLANNED][0] == "assign"


def test_milestones_on_holidays_move_to_the_next_working_day():
    # T = Fri 1 Jan 2027 (New Year): the handoff itself moves to Monday 4 Jan in Germany
    plan = build_plan(
        planned=True,
        anchor=date(2027, 1, 1),
        today=date(2026, 11, 2),
        strategic=False,
        calendar=WorkCalendar(country="DE"),
    )
    due = {t.milestone: t.due_on for t in plan}
    assert due["handoff"] == date(2027, 1, 4)
    assert due["joint_meeting"] == date(2026, 12, 28)  # Fri 25 Dec → Mon 28 Dec
    assert all(d.weekday() < 5 for d in due.values())


def test_late_start_compresses_past_milestones_to_today_in_order():
    today = date(2027, 2, 20)  # nine days before the handoff
    plan = build_plan(planned=True, anchor=date(2027, 3, 1), today=today, strategic=False)
    m = by_milestone(plan)
    for key in ("planning", "onboarding", "customer_comm"):
        assert all(due == today and compressed for _, due, compressed in m[key]), key
    assert all(not c for _, _, c in m["joint_meeting"])
    assert is_compressed(planned=True, anchor=date(2027, 3, 1), today=today)
    assert not is_compressed(planned=True, anchor=date(2027, 3, 29), today=date(2027, 3, 1))
    seqs = [t.seq for t in plan]
    assert seqs == sorted(seqs)


def test_send_time_is_nine_local_across_the_dst_change():
    cal = WorkCalendar()
    # Europe/Berlin leaves summer time on Sunday 31 Oct 2027
    before = cal.send_time(date(2027, 10, 29), "Europe/Berlin")
    after = cal.send_time(date(2027, 11, 1), "Europe/Berlin")
    assert before == datetime(2027, 10, 29, 7, 0, tzinfo=UTC)
    assert after == datetime(2027, 11, 1, 8, 0, tzinfo=UTC)
    # New York springs forward on 14 Mar 2027
    assert cal.send_time(date(2027, 3, 15), "America/New_York") == datetime(
        2027, 3, 15, 13, 0, tzinfo=UTC
    )


def test_weekends_and_public_holidays_move_to_the_next_working_day():
    cal = WorkCalendar(country="DE")
    assert cal.next_working_day(date(2027, 1, 2)) == date(2027, 1, 4)  # Saturday → Monday
    assert cal.next_working_day(date(2026, 12, 25)) == date(2026, 12, 28)  # Christmas, Fri
    assert cal.add_working_days(date(2026, 12, 23), 2) == date(2026, 12, 28)  # 24th, then Mon
    assert WorkCalendar().next_working_day(date(2026, 12, 25)) == date(2026, 12, 25)


def test_unknown_zone_falls_back_to_utc():
    assert WorkCalendar().send_time(date(2027, 1, 4), "Mars/Olympus") == datetime(
        2027, 1, 4, 9, tzinfo=UTC
    )


@freeze_time("2027-03-31 23:30:00")
def test_local_today_follows_the_readers_zone_at_a_month_end():
    now = datetime.now(UTC)
    assert local_today(now, "Europe/Berlin") == date(2027, 4, 1)
    assert local_today(now, "America/Los_Angeles") == date(2027, 3, 31)


PEOPLE = {
    "U1": Person("U1"),
    "U2": Person("U2"),
    "U3": Person("U3"),
    "UBOT": Person("UBOT", is_bot=True),
    "UGONE": Person("UGONE", deleted=True),
    "UNOPE": Person("UNOPE", found=False),
}


def request(**kw):
    base = dict(
        account="Acme",
        departing_owner="U1",
        new_owner="U2",
        manager="U3",
        kind="rep_to_rep",
        planned=True,
        handoff_date=date(2027, 3, 1),
    )
    base.update(kw)
    return StartRequest(**base)


def check(req, taken=False):
    return validate_start(req, people=PEOPLE, today=date(2027, 1, 4), account_taken=taken)


def test_a_valid_request_has_no_errors():
    assert check(request()) == {}


@pytest.mark.parametrize(
    ("changes", "taken", "expected"),
    [
        ({"new_owner": "U1"}, False, {"new_owner": "same_owner"}),
        ({"departing_owner": "UBOT"}, False, {"departing_owner": "person_bot"}),
        ({"manager": "UGONE"}, False, {"manager": "person_deactivated"}),
        ({"new_owner": "UNOPE"}, False, {"new_owner": "person_unknown"}),
        ({"handoff_date": date(2027, 1, 3)}, False, {"handoff_date": "date_past"}),
        ({"account": "   "}, False, {"account": "account_empty"}),
        ({"account": "x" * 81}, False, {"account": "account_too_long"}),
        ({}, True, {"account": "account_taken"}),
        ({"kind": "nonsense"}, False, {"kind": "kind_missing"}),
    ],
)
def test_bad_input_is_reported_on_the_block_at_fault(changes, taken, expected):
    assert check(request(**changes), taken) == expected


def test_unplanned_start_may_lie_in_the_recent_past():
    assert check(request(planned=False, handoff_date=date(2027, 1, 1))) == {}


def test_account_names_are_unique_regardless_of_case_and_spacing():
    assert account_key("  ACME   corp ") == account_key("acme Corp")
