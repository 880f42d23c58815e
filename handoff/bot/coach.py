"""`/handoff coach`: the emotions coach, a modal that answers for the chosen handoff."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from handoff.bot.dispatch import Dispatcher
from handoff.bot.ids import Ids
from handoff.bot.services import Services
from handoff.flows import drafts as flow
from handoff.flows.drafts import EMOTIONS
from handoff.messages import blocks
from handoff.messages.coach import coach_catalog, coach_view
from handoff.messages.drafts import values
from handoff.messages.i18n import text
from handoff.storage import knowledge, repo
from handoff.storage.db import session
from handoff.storage.models import Transition

log = logging.getLogger(__name__)


def choices(services: Services, user_id: str) -> list[Transition]:
    """The user's open transitions, most recently started first."""
    with session(services.engine) as s:
        ts = repo.open_transitions_for(s, user_id=user_id)
    return sorted(ts, key=lambda t: (t.created_at, t.id or 0), reverse=True)


def open_coach(
    ack: Ack, client: WebClient, services: Services, *, trigger_id: str, user: str
) -> None:
    """Answer the slash command: the modal, or an ephemeral note when there is nothing to coach."""
    lang = services.lang_for(user)
    mine = choices(services, user)
    if not mine:
        note = text(coach_catalog(lang).no_handoffs())
        ack(response_type="ephemeral", **blocks.note_message(note))
        return
    ack()
    client.views_open(
        trigger_id=trigger_id, view=coach_view([(t.id or 0, t.account) for t in mine], lang)
    )


def picked(body: dict[str, Any]) -> tuple[int | None, str | None]:
    """The handoff and emotion chosen in the modal (the action just taken wins)."""
    state = ((body.get("view") or {}).get("state") or {}).get("values") or {}
    chosen: dict[str, str | None] = {}
    for block in (Ids.COACH_TRANSITION, Ids.COACH_EMOTION):
        option = (state.get(block, {}).get(block) or {}).get("selected_option") or {}
        chosen[block] = option.get("value")
    for action in body.get("actions") or []:
        if action.get("action_id") in chosen:
            chosen[action["action_id"]] = (action.get("selected_option") or {}).get("value")
    raw = chosen[Ids.COACH_TRANSITION]
    emotion = chosen[Ids.COACH_EMOTION]
    return (
        int(raw) if raw and raw.isdigit() else None,
        emotion if emotion in EMOTIONS else None,
    )


def answer(services: Services, user: str, transition_id: int | None, emotion: str | None) -> dict:
    """The modal for a pick: only the user's own open handoffs are ever shown."""
    lang = services.lang_for(user)
    mine = choices(services, user)
    listed = [(t.id or 0, t.account) for t in mine]
    t = next((x for x in mine if x.id == transition_id), mine[0] if mine else None)
    if t is None or emotion is None:
        return coach_view(listed, lang, selected=t.id if t else None, emotion=emotion)
    with session(services.engine) as s:
        doc = knowledge.document(s, transition_id=t.id or 0)
        people = repo.people(s, user_ids=[t.departing_owner, t.new_owner, t.manager])
    names = {u: p.name for u, p in people.items() if p.name}
    v = values(flow.fill(t, doc, names), lang)
    return coach_view(listed, lang, selected=t.id, emotion=emotion, v=v)


def register(app: Any, services: Services, dispatcher: Dispatcher) -> None:
    """Register the coach's select listeners."""

    @app.action(Ids.COACH_TRANSITION.value)
    @app.action(Ids.COACH_EMOTION.value)
    def coach_pick(ack: Ack, body: dict, client: WebClient) -> None:
        ack()
        view = body.get("view") or {}
        transition_id, emotion = picked(body)
        client.views_update(
            view_id=view.get("id"),
            hash=view.get("hash"),
            view=answer(services, body["user"]["id"], transition_id, emotion),
        )
