"""/handoff and its subcommands. Answers are ephemeral (the ack body)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from handoff.bot import parse, views
from handoff.bot.bulk import open_bulk_modal
from handoff.bot.coach import open_coach
from handoff.bot.digest import on_demand
from handoff.bot.dispatch import Dispatcher
from handoff.bot.services import Services
from handoff.bot.start import open_start_modal
from handoff.messages import blocks
from handoff.messages.i18n import knowledge, text
from handoff.messages.text import escape, user_ref
from handoff.storage import outbox, repo
from handoff.storage.db import session

log = logging.getLogger(__name__)


def queue_doc(
    services: Services, user: str, account: str, lang: str, command: dict
) -> tuple[dict[str, Any], int | None]:
    """/handoff doc: the account summary as a file to the transition's people, and only them.
    Returns the answer and the transition whose files are queued."""
    k = knowledge(lang)
    if not account:
        return blocks.note_message(text(k.doc_usage())), None
    now = services.clock()
    with session(services.engine) as s:
        t = repo.transition_for(s, user_id=user, account=account, team_id=command.get("team_id"))
        if t is None:
            log.info("/handoff doc %r by %s: no transition of theirs", account[:80], user)
            return views.no_such(services, user, account, lang, command.get("team_id")), None
        people = list(dict.fromkeys((t.departing_owner, t.new_owner, t.manager, t.creator)))
        request = command.get("trigger_id") or now.isoformat()
        outbox.enqueue(
            s,
            messages=[
                outbox.Message(
                    key=f"t{t.id}:doc:{request}:{u}"[:200],
                    recipient=u,
                    kind="doc",
                    due_at=now,
                    transition_id=t.id,
                    payload={"by": user},
                )
                for u in people
            ],
        )
        s.commit()
        tid, name = t.id, t.account
    log.info("/handoff doc: transition %s exported by %s to %s", tid, user, people)
    sent = text(k.doc_sent(escape(name), ", ".join(user_ref(u) for u in people)))
    return blocks.note_message(sent), tid


def register(app: Any, services: Services, dispatcher: Dispatcher) -> None:
    """Register the slash command."""

    @app.command("/handoff")
    def handoff_command(ack: Ack, command: dict, client: WebClient, respond: Respond) -> None:
        user = command["user_id"]
        sub, arg = parse.subcommand(command.get("text", ""))
        lang = services.lang_for(user)
        if sub == "start":
            ack()
            open_start_modal(client, services, trigger_id=command["trigger_id"], user_id=user)
        elif sub == "bulk":
            ack()
            open_bulk_modal(client, services, trigger_id=command["trigger_id"], user=user)
        elif sub == "list":
            ack(response_type="ephemeral", **views.list_for(services, user, lang))
        elif sub == "status":
            answer = views.status_for(services, user, arg, lang, command.get("team_id"))
            ack(response_type="ephemeral", **answer)
        elif sub == "doc":
            answer, tid = queue_doc(services, user, arg, lang, command)
            ack(response_type="ephemeral", **answer)
            if tid is not None:  # after the ack: Slack has its answer, the files follow
                dispatcher.tick(transition_id=tid)
        elif sub == "digest":
            ack()
            on_demand(services, client, respond, command, lang)
        elif sub == "coach":
            open_coach(ack, client, services, trigger_id=command["trigger_id"], user=user)
        elif sub in ("", "help"):
            ack(response_type="ephemeral", **blocks.help_message(lang))
        else:
            ack(response_type="ephemeral", **blocks.help_message(lang, unknown=sub))
