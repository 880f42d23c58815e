"""The new owner's check-ins: CSAT at the retrospective, health at 30/60/90 days."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handoff.bot.dispatch import Dispatcher
from handoff.bot.ids import Ids
from handoff.bot.knowledge import Doc, _first_block_error
from handoff.bot.parse import view_meta
from handoff.bot.services import Services
from handoff.flows import metrics as fm
from handoff.messages import knowledge as kb
from handoff.messages import metrics as mm
from handoff.messages.i18n import text
from handoff.messages.nudges import task_settled
from handoff.messages.text import user_ref
from handoff.storage import knowledge as store
from handoff.storage.db import session
from handoff.storage.models import Transition

log = logging.getLogger(__name__)


def may_record(t: Transition | None, user: str) -> bool:
    """The new owner and the manager record the metrics."""
    return t is not None and user in (t.new_owner, t.manager)


def register(app: Any, services: Services, dispatcher: Dispatcher) -> None:
    """Register the check-in button and modal."""
    d = Doc(services)

    @app.action(Ids.SURVEY_OPEN.value)
    def survey_open(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        user = body["user"]["id"]
        lang = services.lang_for(user)
        tid, _, item = str(action.get("value") or "").partition(":")
        with session(services.engine) as s:
            t = s.get(Transition, int(tid)) if tid.isdigit() else None
        if not may_record(t, user) or item not in fm.ITEMS:
            log.warning("refused survey.open %r by %s", action.get("value"), user)
            d.refuse(client, body, lang, text(mm.texts(lang).not_allowed()))
            return
        container = body.get("container") or {}
        meta = json.dumps(
            {
                "t": t.id,
                "item": item,
                "channel": container.get("channel_id"),
                "ts": container.get("message_ts"),
            }
        )
        view = mm.survey_modal(t, item, lang, callback_id=Ids.SURVEY_VIEW.value, meta=meta)
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.view(Ids.SURVEY_VIEW.value)
    def survey_submitted(ack: Ack, body: dict, view: dict, client: WebClient) -> None:
        user = body["user"]["id"]
        lang = services.lang_for(user)
        meta = view_meta(view)
        item = meta.get("item")
        with session(services.engine) as s:
            t = s.get(Transition, meta.get("t")) if isinstance(meta.get("t"), int) else None
        if not may_record(t, user) or item not in fm.ITEMS:
            log.warning("refused survey submission %r by %s", meta, user)
            ack(
                response_action="errors",
                errors=_first_block_error(view, mm.texts(lang).not_allowed()),
            )
            return
        values, errors = fm.clean(item, kb.raw_values(view))
        if errors:
            ack(response_action="errors", errors=mm.errors_for(errors, lang))
            return
        with session(services.engine) as s:
            store.save_metric(
                s, transition_id=t.id, name=item, value=values, by=user, now=services.clock()
            )
            s.commit()
        ack()
        log.info("transition %s: %s recorded %s %s", t.id, user, item, values)
        if meta.get("channel") and meta.get("ts"):
            original = mm.survey_message(t, item, lang)  # the DM as it was sent
            settled = task_settled(original, text(mm.texts(lang).recorded(user_ref(user))))
            try:
                client.chat_update(channel=meta["channel"], ts=meta["ts"], **settled)
            except SlackApiError as exc:
                log.info("check-in DM not updated: %s", exc)
