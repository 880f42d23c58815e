"""The scheduler job: every HANDOFF_TICK_SECONDS, plan what is due and send it."""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler

from handoff.bot.app import Handoff

log = logging.getLogger(__name__)


def tick(handoff: Handoff) -> int:
    """One scheduler tick: turn due decisions into outbox rows, then send due rows."""
    try:
        return handoff.dispatcher.tick()
    except Exception:  # a database hiccup must not kill the job; the next tick tries again
        log.exception("scheduler tick failed")
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
