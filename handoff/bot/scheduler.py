"""The scheduler job: every HANDOFF_TICK_SECONDS, plan what is due and send it."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlmodel import Session, col, update

from handoff.bot import home
from handoff.bot.dispatch import Dispatcher
from handoff.bot.services import Services
from handoff.flows.mistakes import DETECTED, detect
from handoff.flows.schedule import Due, Facts, decide
from handoff.storage import flags, outbox, repo
from handoff.storage.db import session
from handoff.storage.models import Transition

if TYPE_CHECKING:
    from handoff.bot.app import Handoff

log = logging.getLogger(__name__)
BATCH = 500
HOME_KINDS = frozenset({"milestone", "reminder"})  # due now / overdue: the App Home changes
RETRY_PLAN = timedelta(hours=1)


def plan(
    services: Services,
    now: datetime,
    *,
    transition_id: int | None = None,
    touched: set[str] | None = None,
) -> int:
    """Turn due decisions into outbox rows (idempotency keys make this safe to repeat).

    One transition that fails to plan is logged and looked at again later; it never holds up
    the others. `touched` collects the people of transitions where a milestone came due or
    went overdue (a nudge or reminder was planned): what their App Home shows has changed.
    """
    added = 0
    while True:
        with session(services.engine) as s:
            transitions = repo.due_transitions(s, now=now, limit=BATCH, transition_id=transition_id)
            if not transitions:
                return added
            facts = repo.facts(
                s, transitions=transitions, country=services.settings.holiday_country
            )
            known = outbox.keys(s, transition_ids=[t.id for t in transitions])
            for t, f in zip(transitions, facts, strict=True):
                try:
                    with s.begin_nested():
                        due, next_at = decide(f, now=now, known=known[t.id])
                        added += outbox.enqueue(s, messages=[_message(t.id, d) for d in due])
                        if touched is not None and any(d.kind in HOME_KINDS for d in due):
                            touched.update((t.departing_owner, t.new_owner, t.manager, t.creator))
                        record_flags(s, t.id, due, now)
                        check_at = watch_mistakes(s, f, now)
                        if check_at is not None and (next_at is None or check_at < next_at):
                            next_at = check_at
                except Exception:
                    log.exception("planning transition %s failed; retrying in an hour", t.id)
                    next_at = now + RETRY_PLAN
                # only if nobody changed it meanwhile (a click sets it to now: keep that)
                s.exec(
                    update(Transition)
                    .where(col(Transition.id) == t.id, col(Transition.next_due_at) == t.next_due_at)
                    .values(next_due_at=next_at)
                )
            s.commit()
        if len(transitions) < BATCH:
            return added


def record_flags(s: Session, transition_id: int, due: list[Due], now: datetime) -> None:
    """A readiness warning going out is an 'unprepared new owner' for the digest."""
    for milestone in dict.fromkeys(d.milestone for d in due if d.kind == "not_ready"):
        if flags.raise_flag(
            s,
            key=f"t{transition_id}:unprepared:{milestone}",
            transition_id=transition_id,
            kind="unprepared",
            milestone=milestone,
            now=now,
        ):
            log.info("transition %s: unprepared new owner at %s", transition_id, milestone)


def watch_mistakes(s: Session, f: Facts, now: datetime) -> datetime | None:
    """Raise the mistakes that hold now (each told once), resolve those that no longer hold;
    returns when to look again."""
    found, check_at = detect(f, now)
    for m in found:
        if not flags.raise_flag(
            s,
            key=f"t{f.id}:{m.kind}",
            transition_id=f.id,
            kind=m.kind,
            milestone=m.milestone,
            now=now,
        ):
            continue
        log.info("transition %s: mistake %s", f.id, m.kind)
        outbox.enqueue(
            s,
            messages=[
                outbox.Message(
                    key=f"t{f.id}:flag:{m.kind}:{user}",
                    recipient=user,
                    kind="flag",
                    due_at=now,
                    transition_id=f.id,
                    milestone=m.milestone,
                    payload={"flag": m.kind},
                )
                for user in m.tell
                if user not in f.unreachable
            ],
        )
    held = {m.kind for m in found}
    gone = [k for k in DETECTED if k not in held]
    if flags.resolve(s, transition_id=f.id, kinds=gone, now=now):
        log.info("transition %s: resolved mistakes among %s", f.id, gone)
    return check_at


def _message(transition_id: int, d: Due) -> outbox.Message:
    return outbox.Message(
        key=d.key,
        recipient=d.recipient,
        kind=d.kind,
        due_at=d.due_at,
        transition_id=transition_id,
        milestone=d.milestone,
        payload={
            **({"task": d.task_id} if d.task_id else {}),
            **({"item": d.item} if d.item else {}),
        },
    )


def run_now(services: Services, dispatcher: Dispatcher, *, transition_id: int) -> int:
    """Plan and send what one transition has due right now (after it started or changed)."""
    plan(services, services.clock(), transition_id=transition_id)
    return dispatcher.tick(transition_id=transition_id)


def tick(handoff: Handoff) -> int:
    """One scheduler tick: plan what is due, then send every due row; returns rows sent. The
    App Homes that time changed (a milestone due or overdue) are redrawn in the background."""
    touched: set[str] = set()
    try:
        plan(handoff.services, handoff.services.clock(), touched=touched)
    except Exception:  # a database hiccup must not kill the job; the next tick tries again
        log.exception("scheduler tick: planning failed")
    if touched:
        home.refresh(handoff.dispatcher.client, handoff.services, sorted(touched))
    try:
        return handoff.dispatcher.tick()
    except Exception:
        log.exception("scheduler tick: sending failed")
        return 0


def digests(handoff: Handoff) -> int:
    """The digest job: one digest per channel for this firing (keyed, so replicas agree)."""
    from handoff.bot.digest import enqueue_digests

    now = handoff.services.clock().replace(second=0, microsecond=0)
    try:
        added = enqueue_digests(handoff.services, now)
        handoff.dispatcher.tick()
    except Exception:
        log.exception("digest job failed")
        return 0
    return added


def start_scheduler(handoff: Handoff) -> BackgroundScheduler:
    """Start the background scheduler; it keeps no state of its own (the database is the truth)."""
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(
        tick,
        "interval",
        args=[handoff],
        seconds=handoff.services.settings.tick_seconds,
        id="tick",
        max_instances=1,
        coalesce=True,
        next_run_time=handoff.services.clock(),
    )
    scheduler.add_job(
        digests,
        CronTrigger.from_crontab(handoff.services.settings.digest_cron, timezone="UTC"),
        args=[handoff],
        id="digest",
        max_instances=1,
        coalesce=True,
    )
    scheduler.start()
    return scheduler
