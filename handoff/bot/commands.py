"""/handoff and its subcommands. Answers are ephemeral (the ack body)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from handoff.bot import parse, views
from handoff.bot.coach import open_coach
from handoff.bot.dispatch import Dispatcher
from handoff.bot.services import Services
from handoff.bot.start import open_start_modal
from handoff.messages import blocks
from handoff.messages.i18n import catalog, text

log = logging.getLogger(__name__)
LATER = ("doc", "digest")


def register(app: Any, services: Services, dispatcher: Dispatcher) -> None:
    """Register the slash command."""

    @app.command("/handoff")
    def handoff_command(ack: Ack, command: dict, client: WebClient) -> None:
        user = command["user_id"]
        sub, arg = parse.subcommand(command.get("text", ""))
        lang = services.lang_for(user)
        if sub == "start":
            ack()
            open_start_modal(client, services, trigger_id=command["trigger_id"], user_id=user)
        elif sub == "list":
            ack(response_type="ephemeral", **views.list_for(services, user, lang))
        elif sub == "status":
            answer = views.status_for(services, user, arg, lang, command.get("team_id"))
            ack(response_type="ephemeral", **answer)
        elif sub == "coach":
            open_coach(ack, client, services, trigger_id=command["trigger_id"], user=user)
        elif sub in LATER:
            ack(response_type="ephemeral", **blocks.note_message(text(catalog(lang).not_yet(sub))))
        elif sub in ("", "help"):
            ack(response_type="ephemeral", **blocks.help_message(lang))
        else:
            ack(response_type="ephemeral", **blocks.help_message(lang, unknown=sub))
