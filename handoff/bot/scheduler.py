"""The scheduler job: every HANDOFF_TICK_SECONDS, plan what is due and send it."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler
from sqlmodel import col, update

from handoff.bot.dispatch import Dispatcher
from handoff.bot.services import Services
from handoff.flows.schedule import Due, decide
from handoff.storage import outbox, repo
from handoff.storage.db import session
from handoff.storage.models import Transition

if TYPE_CHECKING:
    from handoff.bot.app import Handoff

log = logging.getLogger(__name__)
BATCH = 500
RETRY_PLAN = timedelta(hours=1)


def plan(services: Services, now: datetime, *, transition_id: int | None = None) -> int:
    """Turn due decisions into outbox rows (idempotency keys make this safe to repeat).

    One transition that fails to plan is logged and looked at again later; it never holds up
    the others.
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
    """One scheduler tick: plan what is due, then send every due row; returns rows sent."""
    try:
        plan(handoff.services, handoff.services.clock())
    except Exception:  # a database hiccup must not kill the job; the next tick tries again
        log.exception("scheduler tick: planning failed")
    try:
        return handoff.dispatcher.tick()
    except Exception:
        log.exception("scheduler tick: sending failed")
        return 0


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
    scheduler.start()
    return scheduler
