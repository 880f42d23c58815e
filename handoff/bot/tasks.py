"""Buttons on nudges and plans: done (with a note), snooze, open plan, move date, cancel."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from handoff.bot import home
from handoff.bot.dispatch import Dispatcher
from handoff.bot.parse import int_or_none, move_date, note_text
from handoff.bot.reply import answer_privately
from handoff.bot.scheduler import run_now
from handoff.bot.services import Services
from handoff.flows.calendar import local_today
from handoff.flows.progress import move_errors, snooze_until
from handoff.flows.schedule import PLANNED_KINDS
from handoff.flows.start import NOTES_MAX
from handoff.flows.states import TERMINAL, InvalidTransition, fire
from handoff.messages import blocks, nudges
from handoff.messages.i18n import catalog, fmt_date, text
from handoff.storage import outbox, repo
from handoff.storage.db import session
from handoff.storage.models import Task, Transition

log = logging.getLogger(__name__)


def _tell(respond: Respond, client: WebClient, user: str, mrkdwn: str) -> None:
    """A short answer only the clicking user sees."""
    _answer(respond, client, user, blocks.note_message(mrkdwn))


def _answer(respond: Respond, client: WebClient, user: str, answer: dict[str, Any]) -> None:
    """An answer only the clicking user sees."""
    answer_privately(respond, client, user, answer)


def notices(t: Transition, kind: str, by: str, now: Any, tag: str = "") -> list[outbox.Message]:
    """One notice per person in the transition."""
    people = dict.fromkeys((t.departing_owner, t.new_owner, t.manager))
    return [
        outbox.Message(
            key=f"t{t.id}:{kind}{tag}:{u}",
            recipient=u,
            kind=kind,
            due_at=now,
            transition_id=t.id,
            payload={"by": by},
        )
        for u in people
    ]


def register(app: Any, services: Services, dispatcher: Dispatcher) -> None:
    """Register the task and plan buttons and their modals."""

    def load_task(task_id: int | None) -> tuple[Task | None, Transition | None]:
        with session(services.engine) as s:
            task = s.get(Task, task_id) if task_id else None
            t = s.get(Transition, task.transition_id) if task else None
        return task, t

    def task_guard(task: Task | None, t: Transition | None, user: str, lang: str) -> str | None:
        """Why this user may not act on this task, or None."""
        c = catalog(lang)
        if task is None or t is None or user not in (t.departing_owner, t.new_owner, t.manager):
            log.warning(
                "refused task action by %s on task %s: not involved",
                user,
                task.id if task else None,
            )
            return text(c.not_involved())
        if user != task.assignee:
            log.warning("refused task action by %s on task %s of %s", user, task.id, task.assignee)
            return text(c.not_yours())
        if t.state in TERMINAL:
            return text(c.closed_already(text(c.state_name(t.state))))
        if task.done_at is not None:
            return text(c.already_done())
        return None

    @app.action("task.done")
    def done_clicked(
        ack: Ack, body: dict, action: dict, client: WebClient, respond: Respond
    ) -> None:
        ack()
        user = body["user"]["id"]
        lang = services.lang_for(user)
        task, t = load_task(int_or_none(action.get("value")))
        refusal = task_guard(task, t, user, lang)
        if refusal:
            _tell(respond, client, user, refusal)
            return
        ts = (body.get("message") or {}).get("ts")
        with session(services.engine) as s:
            kind = outbox.kind_of_message(s, ts=ts) if ts else None
        meta = json.dumps(
            {
                "task": task.id,
                "channel": (body.get("channel") or {}).get("id"),
                "ts": ts,
                "kind": kind or "milestone",  # a reminder stays a reminder once done
            }
        )
        title = text(catalog(lang).milestone_title(task.milestone, t.planned))
        client.views_open(
            trigger_id=body["trigger_id"],
            view=nudges.done_modal(t.account, title, task.id, meta, lang),
        )

    @app.view("task.done_view")
    def done_submitted(ack: Ack, body: dict, view: dict, client: WebClient) -> None:
        user = body["user"]["id"]
        lang = services.lang_for(user)
        meta = json.loads(view.get("private_metadata") or "{}")
        note = note_text(view)
        if len(note) > NOTES_MAX:
            ack(response_action="errors", errors=blocks.start_errors(lang, {"note": "too_long"}))
            return
        now = services.clock()
        with session(services.engine) as s:
            task = s.get(Task, int_or_none(meta.get("task")))
            t = s.get(Transition, task.transition_id) if task else None
            refusal = task_guard(task, t, user, lang)
            if refusal:
                ack(response_action="errors", errors={"note": refusal})
                return
            t, before = repo.complete_task(s, task=task, user_id=user, note=note, now=now)
            if t.state == "closed" and before != "closed":
                outbox.enqueue(s, messages=notices(t, "closed", user, now))
            s.commit()
        ack()
        log.info(
            "task %s (%s) of transition %s done by %s; state %s → %s",
            task.id,
            task.milestone,
            t.id,
            user,
            before,
            t.state,
        )
        if meta.get("channel") and meta.get("ts"):
            with session(services.engine) as s:
                me = repo.people(s, user_ids=[user]).get(user)
            day = local_today(now, me.tz if me else "")
            line = text(
                catalog(lang).done_line(f"<@{user}>", fmt_date(day, lang), blocks.escape(note))
            )
            kind = (
                meta.get("kind")
                if meta.get("kind") in ("milestone", "reminder", "snooze")
                else "milestone"
            )
            original = nudges.nudge(t, task, task.id, kind, lang)
            client.chat_update(
                channel=meta["channel"], ts=meta["ts"], **nudges.task_settled(original, line)
            )
        run_now(services, dispatcher, transition_id=t.id)
        home.refresh(client, services, [t.departing_owner, t.new_owner, t.manager])

    def snooze(body: dict, action: dict, client: WebClient, respond: Respond, mode: str) -> None:
        user = body["user"]["id"]
        lang = services.lang_for(user)
        now = services.clock()
        with session(services.engine) as s:
            task = s.get(Task, int_or_none(action.get("value")) or 0)
            t = s.get(Transition, task.transition_id) if task else None
            refusal = task_guard(task, t, user, lang)
            if refusal:
                _tell(respond, client, user, refusal)
                return
            me = repo.people(s, user_ids=[user]).get(user)
            tz = me.tz if me else ""
            until = snooze_until(now, tz, repo.calendar_for(t.holiday_country), mode)
            task.snoozed_until, task.snoozes = until, task.snoozes + 1
            t.next_due_at = now
            s.add(task)
            s.add(t)
            s.commit()
        line = text(catalog(lang).snoozed_line(fmt_date(local_today(until, tz), lang)))
        message = body.get("message")
        if message and (body.get("channel") or {}).get("id"):
            client.chat_update(
                channel=body["channel"]["id"],
                ts=message["ts"],
                **nudges.task_settled(message, line),
            )

    @app.action("task.snooze_day")
    def snooze_day(ack: Ack, body: dict, action: dict, client: WebClient, respond: Respond) -> None:
        ack()
        snooze(body, action, client, respond, "day")

    @app.action("task.snooze_monday")
    def snooze_monday(
        ack: Ack, body: dict, action: dict, client: WebClient, respond: Respond
    ) -> None:
        ack()
        snooze(body, action, client, respond, "monday")

    def load_transition(value: Any, user: str) -> Transition | None:
        with session(services.engine) as s:
            t = s.get(Transition, int_or_none(value) or 0)
        if t is None or user not in (t.departing_owner, t.new_owner, t.manager, t.creator):
            log.warning("refused plan action by %s on transition %s", user, value)
            return None
        return t

    @app.action("plan.open")
    def plan_open(ack: Ack, body: dict, action: dict, client: WebClient, respond: Respond) -> None:
        ack()
        user = body["user"]["id"]
        lang = services.lang_for(user)
        t = load_transition(action.get("value"), user)
        if t is None:
            _tell(respond, client, user, text(catalog(lang).not_involved()))
            return
        with session(services.engine) as s:
            tasks = repo.tasks(s, transition_id=t.id)
        _answer(respond, client, user, blocks.status_message(t, tasks, lang, viewer=user))

    @app.action("plan.move")
    def move_clicked(
        ack: Ack, body: dict, action: dict, client: WebClient, respond: Respond
    ) -> None:
        ack()
        user = body["user"]["id"]
        lang = services.lang_for(user)
        t = load_transition(action.get("value"), user)
        if t is None or user not in (t.departing_owner, t.new_owner, t.manager):
            _tell(respond, client, user, text(catalog(lang).not_involved()))
            return
        if t.state in TERMINAL:  # an old button on a cancelled or closed handoff
            _tell(respond, client, user, nudges.move_closed(t.state, lang))
            return
        client.views_open(
            trigger_id=body["trigger_id"],
            view=nudges.move_modal(t.planned, t.handoff_date, json.dumps({"t": t.id}), lang),
        )

    @app.view("plan.move_view")
    def move_submitted(ack: Ack, body: dict, view: dict, client: WebClient) -> None:
        user = body["user"]["id"]
        lang = services.lang_for(user)
        meta = json.loads(view.get("private_metadata") or "{}")
        new_date = move_date(view)
        now = services.clock()
        with session(services.engine) as s:
            t = s.get(Transition, int_or_none(meta.get("t")) or 0, with_for_update=True)
            me = repo.people(s, user_ids=[user]).get(user)
            today = local_today(now, me.tz if me else "")
            if t is None or user not in (t.departing_owner, t.new_owner, t.manager):
                ack(
                    response_action="errors",
                    errors={"handoff_date": text(catalog(lang).not_involved())},
                )
                return
            if t.state in TERMINAL:  # cancelled or closed while the modal was open
                ack(
                    response_action="errors",
                    errors={"handoff_date": nudges.move_closed(t.state, lang)},
                )
                return
            errors = move_errors(planned=t.planned, new_date=new_date, today=today)
            if errors:
                ack(response_action="errors", errors=blocks.start_errors(lang, errors))
                return
            repo.move_handoff_date(s, t=t, new_date=new_date, today=today, now=now)
            outbox.forget_pending(s, transition_id=t.id, kinds=PLANNED_KINDS)
            stamp = f":{new_date.isoformat()}:{int(now.timestamp())}"
            outbox.enqueue(s, messages=notices(t, "moved", user, now, stamp))
            s.commit()
        ack()
        log.info("transition %s moved to %s by %s", t.id, new_date, user)
        run_now(services, dispatcher, transition_id=t.id)
        home.refresh(client, services, [t.departing_owner, t.new_owner, t.manager])

    @app.action("plan.cancel")
    def cancel_clicked(
        ack: Ack, body: dict, action: dict, client: WebClient, respond: Respond
    ) -> None:
        ack()
        user = body["user"]["id"]
        lang = services.lang_for(user)
        now = services.clock()
        with session(services.engine) as s:
            t = s.get(Transition, int_or_none(action.get("value")) or 0, with_for_update=True)
            if t is None or user != t.manager:
                log.warning("refused cancel by %s on transition %s", user, action.get("value"))
                _tell(respond, client, user, text(catalog(lang).manager_only()))
                return
            try:
                state = fire(t.state, "cancel")
            except InvalidTransition:
                _tell(
                    respond,
                    client,
                    user,
                    text(catalog(lang).closed_already(text(catalog(lang).state_name(t.state)))),
                )
                return
            repo.set_state(s, t=t, state=state, now=now)
            dropped = outbox.drop_pending(s, transition_id=t.id)
            outbox.enqueue(s, messages=notices(t, "cancelled", user, now))
            s.commit()
        log.info("transition %s cancelled by %s; %s pending messages dropped", t.id, user, dropped)
        run_now(services, dispatcher, transition_id=t.id)
        home.refresh(client, services, [t.departing_owner, t.new_owner, t.manager])
