"""Mistake detection, the digest's totals and risk, and the check-ins (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from handoff.flows import digest as dg
from handoff.flows.mistakes import detect
from handoff.flows.schedule import surveys
from tests.test_flows_schedule import D, M, N, at, facts


def done(f, *milestones, when=None, role=None):
    tasks = tuple(
        replace(k, done=True, done_at=when or at(2027, 3, 1, 9))
        if k.milestone in milestones and (role is None or k.role == role)
        else k
        for k in f.tasks
    )
    return replace(f, tasks=tasks, anchor=date(2027, 3, 29), new_owner=N)


def kinds(f, now):
    return sorted(m.kind for m in detect(f, now)[0])


def all_but(f, *skip):
    names = {k.milestone for k in f.tasks} - set(skip)
    return done(f, *names)


def test_handoff_date_without_joint_meeting_is_thrown_over_the_wall():
    f = all_but(
        facts(),
        "joint_meeting",
        "handoff",
        "follow_up",
        "fully_responsible",
        "retrospective",
        "step_back",
    )
    before, check = detect(f, at(2027, 3, 29, 6))
    assert before == [] and check == at(2027, 3, 29, 7)  # 09:00 Berlin (summer time)
    found, _ = detect(f, at(2027, 3, 29, 7))
    assert [(m.kind, m.tell) for m in found] == [("throw_over_wall", (D, N, M))]
    met = done(f, "joint_meeting", role="departing")
    assert kinds(met, at(2027, 3, 29, 7)) == []


def test_two_ignored_reminders_make_a_ghost():
    f = facts()
    assert "ghost" not in kinds(f, at(2027, 3, 3, 8))  # one reminder past
    assert "ghost" in kinds(f, at(2027, 3, 10, 8))  # planning and onboarding both past
    assert "ghost" not in kinds(done(f, "planning", "onboarding"), at(2027, 3, 10, 8))


def test_no_step_back_note_by_t_plus_45_makes_roles_unclear():
    f = all_but(facts(), "step_back")
    t45 = datetime(2027, 5, 13, 7, tzinfo=UTC)  # Thu 13 May 2027, 09:00 Berlin
    assert "unclear_roles" not in kinds(f, t45 - timedelta(minutes=1))
    assert detect(f, t45 - timedelta(days=1))[1] == t45
    assert "unclear_roles" in kinds(f, t45)
    assert "unclear_roles" not in kinds(done(f, "step_back"), t45)


def test_departing_owner_still_doing_handover_work_after_t_plus_14_makes_roles_unclear():
    f = all_but(facts(), "handoff", "step_back")
    late = done(f, "handoff", when=at(2027, 4, 20, 9), role="departing")  # after T+14
    found, _ = detect(late, at(2027, 4, 21, 9))
    assert [(m.kind, m.tell, m.milestone) for m in found] == [("unclear_roles", (M,), "handoff")]
    on_time = done(f, "handoff", when=at(2027, 3, 29, 9), role="departing")
    assert kinds(on_time, at(2027, 4, 21, 9)) == []


def test_check_ins_at_the_retrospective_and_30_60_90_days_after_the_handoff():
    f = replace(facts(), anchor=date(2027, 3, 29), new_owner=N)
    due = {m.item: m.due_at for m in surveys(f)}
    assert due["csat"] == at(2027, 4, 26, 13)  # retrospective, 09:00 New York
    assert due["d30"] == at(2027, 4, 28, 13)
    assert due["d90"] == at(2027, 6, 28, 13)
    assert surveys(replace(f, state="closed")) != []
    assert surveys(replace(f, state="cancelled")) == []


# ---------------------------------------------------------------- digest


TODAY = date(2027, 3, 15)
NOW = datetime(2027, 3, 15, 9, tzinfo=UTC)


def row(i, **kw):
    base = dict(
        id=i,
        account=f"A{i}",
        state="onboarding",
        planned=True,
        handoff_date=TODAY + timedelta(days=30),
        departing_owner=D,
        new_owner=N,
        manager=M,
        completeness=100,
        ready=True,
    )
    return dg.Row(**{**base, **kw})


def test_digest_totals_targets_and_risk_order():
    rows = [
        row(1),
        row(2, flags=("ghost",), overdue=(dg.Overdue(D, "planning", 9),)),
        row(3, completeness=40, ready=False, handoff_date=TODAY + timedelta(days=5)),
        row(4, state="closed", csat=5, closed_at=NOW - timedelta(days=2)),
        row(5, state="closed", csat=3, closed_at=NOW - timedelta(days=30)),
        row(6, state="cancelled"),
        row(
            7,
            state="closed",
            csat=4,
            closed_at=NOW - timedelta(days=1),
            health_before=70,
            health_after=65,
            renewal_risk="higher",
            pipeline="grown",
            reference="yes",
        ),
        row(8, state="closed", closed_at=NOW - timedelta(days=60), renewal_risk="same"),
    ]
    d = dg.build(rows, now=NOW, today=TODAY)
    assert d.in_flight == 3 and d.by_state == {"onboarding": 3}
    assert d.overdue_tasks == 1 and d.overdue_by_person == [(D, 1)]
    assert d.avg_completeness == 80 and d.ready == 2
    assert d.flags == {"ghost": 1} and d.completed == 2
    assert d.avg_csat == 4.0 and d.csat_ok is False and d.completeness_ok is False
    assert (d.health_kept, d.health_worse) == (0, 1)
    assert (d.checked_in, d.risk_higher, d.pipeline_grown, d.pipeline_lost) == (2, 1, 1, 0)
    assert d.references == 1
    assert [r.id for r in d.completed_rows] == [7, 4]  # the latest first
    assert [r.id for r, _ in d.at_risk] == [2, 3]  # flag + a week overdue, then unprepared
    assert dg.risk(row(1), TODAY) == 0


def test_digest_of_thousands_shows_the_ten_riskiest_and_counts_the_rest():
    rows = [row(i, flags=("ghost",) * (i % 3)) for i in range(5000)]
    d = dg.build(rows, now=NOW, today=TODAY)
    assert len(d.at_risk) == dg.AT_RISK_SHOWN and d.at_risk_total == 3333
    assert all(score == 10 for _, score in d.at_risk)


def test_the_average_csat_is_written_for_the_readers_locale():
    from handoff.messages import digest as md

    rows = [row(i, state="closed", csat=c, closed_at=NOW) for i, c in enumerate((4, 5, 4, 4))]
    d = dg.build(rows, now=NOW, today=TODAY)
    german = str(md.digest_message(d, "x", "m:U1", "de")["blocks"])
    english = str(md.digest_message(d, "x", "m:U1", "en")["blocks"])
    assert "CSAT 4,25" in german and "CSAT 4.25" in english


def test_completed_handoffs_are_listed_with_their_csat():
    from handoff.messages import digest as md

    rows = [
        row(1, account="Done <A>", state="closed", csat=5, closed_at=NOW),
        row(2, account="Done B", state="closed", closed_at=NOW - timedelta(days=1)),
    ]
    text = str(md.digest_message(dg.build(rows, now=NOW, today=TODAY), "x", "m:U1", "en"))
    assert "*Done &lt;A&gt;*: CSAT 5/5" in text and "*Done B*: CSAT not recorded yet" in text


def test_thrown_over_the_wall_is_judged_in_the_departing_owners_zone_whatever_the_task_order():
    """An unordered SELECT may hand the tasks over in any order: the answer must not change."""
    f = all_but(
        facts(),
        "joint_meeting",
        "handoff",
        "follow_up",
        "fully_responsible",
        "retrospective",
        "step_back",
    )
    backwards = replace(f, tasks=tuple(reversed(f.tasks)))
    for now in (at(2027, 3, 29, 7), at(2027, 3, 29, 9)):  # 09:00 in Berlin is 08:00 UTC
        found, check = detect(f, now)
        again, check_again = detect(backwards, now)
        assert ([m.kind for m in found], check) == ([m.kind for m in again], check_again)
    assert "throw_over_wall" in [m.kind for m in detect(backwards, at(2027, 3, 29, 9))[0]]
