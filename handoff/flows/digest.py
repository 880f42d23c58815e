"""The manager digest: totals against the playbook's targets, then the most at-risk handoffs.

Pure: it takes one `Row` per transition (built by storage from a few aggregate queries) and a
clock. Risk, used to order the at-risk list, is documented in `risk`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from handoff.flows.states import ORDER, TERMINAL

CSAT_TARGET = 4.5
COMPLETENESS_TARGET = 95
COMPLETED_WINDOW = timedelta(days=7)
# closed handoffs stay in the digest's figures after the handoff (CSAT, the 30/60/90-day
# check-ins) this long: the 90-day check-in of a plan closed at T+30 comes about T+90
AFTER_WINDOW = timedelta(days=100)
AT_RISK_SHOWN = 10
SOON_DAYS = 14
COMPLETED_SHOWN = 5
GRACE_DAYS = 2  # a milestone is delayed once it is this late (its reminder comes then)


@dataclass(frozen=True)
class Overdue:
    """An open task past its due day."""

    assignee: str
    milestone: str
    days: int


@dataclass(frozen=True)
class Row:
    """What the digest needs of one transition."""

    id: int
    account: str
    state: str
    planned: bool
    handoff_date: date
    departing_owner: str
    new_owner: str
    manager: str
    completeness: int
    ready: bool
    closed_at: datetime | None = None
    overdue: tuple[Overdue, ...] = ()
    late_done: int = 0  # tasks completed more than GRACE_DAYS after their due day
    flags: tuple[str, ...] = ()
    csat: int | None = None
    health_before: int | None = None  # the document's health score
    health_after: int | None = None  # the latest check-in's (30/60/90 days)
    renewal_risk: str | None = None  # the latest check-in's: lower | same | higher
    pipeline: str | None = None  # grown | kept | lost
    reference: str | None = None  # yes | maybe | no


@dataclass
class Digest:
    """Totals first, then the most at-risk transitions."""

    in_flight: int
    by_state: dict[str, int]
    overdue_tasks: int
    overdue_by_person: list[tuple[str, int]]
    avg_completeness: int | None
    ready: int
    flags: dict[str, int]
    completed: int
    avg_csat: float | None
    delays: int  # tasks more than GRACE_DAYS overdue or done that late: transition-caused delays
    health_kept: int = 0  # measured after the handoff: maintained or better
    health_worse: int = 0
    checked_in: int = 0  # handoffs with a 30/60/90-day check-in, and of those:
    risk_higher: int = 0  # renewal risk higher since the handoff
    pipeline_grown: int = 0
    pipeline_lost: int = 0
    references: int = 0  # the customer would be a reference
    at_risk: list[tuple[Row, int]] = field(default_factory=list)  # (row, risk), riskiest first
    completed_rows: list[Row] = field(default_factory=list)  # the latest few, with their CSAT
    at_risk_total: int = 0

    @property
    def csat_ok(self) -> bool | None:
        """Average CSAT at or above the target (None without any rating)."""
        return None if self.avg_csat is None else self.avg_csat >= CSAT_TARGET

    @property
    def completeness_ok(self) -> bool | None:
        """Average completeness at or above the target (None with nothing in flight)."""
        return (
            None
            if self.avg_completeness is None
            else self.avg_completeness >= (COMPLETENESS_TARGET)
        )


def risk(row: Row, today: date) -> int:
    """How much a transition puts its renewal at risk: 5 per open mistake flag, 2 per overdue
    task (3 once a week late), and, within two weeks of the handoff date, 1 per 10 points of
    completeness missing from the target. 0 means on track."""
    score = 5 * len(row.flags)
    score += sum(3 if o.days >= 7 else 2 for o in row.overdue)
    if (row.handoff_date - today).days <= SOON_DAYS and row.completeness < COMPLETENESS_TARGET:
        score += (COMPLETENESS_TARGET - row.completeness + 9) // 10
    return score


def build(rows: list[Row], *, now: datetime, today: date, shown: int = AT_RISK_SHOWN) -> Digest:
    """The digest of these transitions at `now` (`today` in the digest's zone)."""
    open_rows = [r for r in rows if r.state not in TERMINAL]
    done = [
        r
        for r in rows
        if r.state == "closed" and r.closed_at is not None and r.closed_at >= now - COMPLETED_WINDOW
    ]
    by_state = Counter(r.state for r in open_rows)
    people = Counter(o.assignee for r in open_rows for o in r.overdue)
    rated = [r.csat for r in rows if r.state == "closed" and r.csat is not None]
    scored = sorted(
        ((r, risk(r, today)) for r in open_rows),
        key=lambda pair: (-pair[1], pair[0].handoff_date, pair[0].id),
    )
    at_risk = [pair for pair in scored if pair[1] > 0]
    measured = [r for r in rows if r.health_before is not None and r.health_after is not None]
    checked = [r for r in rows if r.renewal_risk is not None]
    return Digest(
        in_flight=len(open_rows),
        by_state={s: by_state[s] for s in ORDER if by_state.get(s)},
        overdue_tasks=sum(len(r.overdue) for r in open_rows),
        overdue_by_person=people.most_common(5),
        avg_completeness=(
            sum(r.completeness for r in open_rows) // len(open_rows) if open_rows else None
        ),
        ready=sum(1 for r in open_rows if r.ready),
        flags=dict(Counter(f for r in open_rows for f in r.flags)),
        completed=len(done),
        avg_csat=round(sum(rated) / len(rated), 2) if rated else None,
        delays=sum(
            sum(1 for o in r.overdue if o.days > GRACE_DAYS) + r.late_done for r in open_rows
        ),
        health_kept=sum(1 for r in measured if r.health_after >= r.health_before),
        health_worse=sum(1 for r in measured if r.health_after < r.health_before),
        checked_in=len(checked),
        risk_higher=sum(1 for r in checked if r.renewal_risk == "higher"),
        pipeline_grown=sum(1 for r in checked if r.pipeline == "grown"),
        pipeline_lost=sum(1 for r in checked if r.pipeline == "lost"),
        references=sum(1 for r in checked if r.reference == "yes"),
        at_risk=at_risk[:shown],
        completed_rows=sorted(done, key=lambda r: r.closed_at, reverse=True)[:COMPLETED_SHOWN],
        at_risk_total=len(at_risk),
    )
