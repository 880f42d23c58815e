"""Starting a transition: the modal, its validation, and what happens at once."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import IntegrityError

from handoff.bot import home, parse
from handoff.bot.dispatch import Dispatcher
from handoff.bot.ids import Ids
from handoff.bot.scheduler import run_now
from handoff.bot.services import Services
from handoff.flows.calendar import local_today
from handoff.flows.plans import Role, build_plan
from handoff.flows.start import validate_start
from handoff.messages import blocks
from handoff.storage import outbox, repo
from handoff.storage.db import session

log = logging.getLogger(__name__)


def open_start_modal(
    client: WebClient, services: Services, *, trigger_id: str, user_id: str
) -> None:
    """Open the start modal at once (a trigger_id lives about 3 s); the opener is the manager."""
    lang = services.lang_for(user_id)
    with session(services.engine) as s:
        tz = repo.people(s, user_ids=[user_id]).get(user_id) or None
    today = local_today(services.clock(), tz.tz if tz else "")
    client.views_open(
        trigger_id=trigger_id, view=blocks.start_modal(lang, today=today, manager=user_id)
    )


def welcome_messages(t: Any, now: Any) -> list[outbox.Message]:
    """One welcome DM per person involved, in role order, due now."""
    seen: dict[str, str] = {}
    for role, user in (
        (Role.DEPARTING, t.departing_owner),
        (Role.NEW_OWNER, t.new_owner),
        (Role.MANAGER, t.manager),
    ):
        seen.setdefault(user, role.value)
    return [
        outbox.Message(
            key=f"t{t.id}:welcome:{user}",
            recipient=user,
            kind="welcome",
            due_at=now,
            transition_id=t.id,
            payload={"role": role},
        )
        for user, role in seen.items()
    ]


def register(app: Any, services: Services, dispatcher: Dispatcher) -> None:
    """Register the start modal, its openers and its submission."""

    @app.shortcut(Ids.START_SHORTCUT.value)
    def start_shortcut(ack: Ack, body: dict, client: WebClient) -> None:
        ack()
        open_start_modal(
            client, services, trigger_id=body["trigger_id"], user_id=body["user"]["id"]
        )

    @app.action(Ids.START_OPEN.value)
    def start_button(ack: Ack, body: dict, client: WebClient) -> None:
        ack()
        open_start_modal(
            client, services, trigger_id=body["trigger_id"], user_id=body["user"]["id"]
        )

    @app.view(Ids.START_VIEW.value)
    def start_submitted(ack: Ack, body: dict, view: dict, client: WebClient) -> None:
        user = body["user"]["id"]
        team = (body.get("team") or {}).get("id") or body["user"].get("team_id", "")
        req = parse.start_request(view)
        now = services.clock()
        try:
            people = services.lookup_people(
                client, [req.departing_owner, req.new_owner, req.manager, user]
            )
        except (SlackApiError, OSError) as exc:
            log.warning("start by %s: users.info failed: %s", user, exc)
            errors = blocks.start_errors(
                services.lang_for(user), {"departing_owner": "lookup_failed"}
            )
            ack(response_action="errors", errors=errors)
            return
        me = people.get(user)
        lang = services.lang_for(user, me.locale if me else "")
        today = local_today(now, me.tz if me else "")
        with session(services.engine) as s:
            taken = repo.account_taken(s, team_id=team, account=req.account)
            errors = validate_start(req, people=people, today=today, account_taken=taken)
            if errors:
                log.info("start rejected for %s: %s", user, errors)
                ack(response_action="errors", errors=blocks.start_errors(lang, errors))
                return
            repo.save_people(s, people=people.values(), now=now)
            planned_tasks = build_plan(
                planned=req.planned,
                anchor=req.handoff_date,
                today=today,
                strategic=req.strategic,
                calendar=repo.calendar_for(services.settings.holiday_country),
            )
            try:
                t = repo.create_transition(
                    s,
                    team_id=team,
                    creator=user,
                    req=req,
                    plan=planned_tasks,
                    started_on=today,
                    holiday_country=services.settings.holiday_country,
                    now=now,
                )
                outbox.enqueue(s, messages=welcome_messages(t, now))
                s.commit()
            except IntegrityError:
                s.rollback()
                log.info("start of %r lost a race with another start", req.account)
                ack(
                    response_action="errors",
                    errors=blocks.start_errors(lang, {"account": "account_taken"}),
                )
                return
        ack()
        log.info("transition %s started by %s for account %r", t.id, user, t.account)
        run_now(services, dispatcher, transition_id=t.id)
        home.refresh(client, services, [t.departing_owner, t.new_owner, t.manager, user])
