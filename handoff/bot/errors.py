"""The one error handler: a line in the log, a friendly word to the user, never a traceback."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, BoltResponse
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient

from handoff.bot.reply import answer_privately
from handoff.bot.services import Services
from handoff.messages import blocks
from handoff.messages.i18n import catalog, text

log = logging.getLogger(__name__)
JSON = {"content-type": "application/json"}


class KeptAck(Ack):
    """An Ack whose answer, once given, stays given.

    When a listener fails after ack(), Bolt's thread runner hands the error handler no
    response and then sets ack.response back to None; its dispatcher, if it has not seen the
    answer yet (always so with an inline executor), waits out the 3 s ack timeout and answers
    404 "unhandled request". Keeping the first answer lets the 200 already decided go out.
    """

    _response: BoltResponse | None = None

    @property
    def response(self) -> BoltResponse | None:
        return self._response

    @response.setter
    def response(self, value: BoltResponse | None) -> None:
        if value is not None or self._response is None:
            self._response = value


def first_input(view: dict[str, Any]) -> str | None:
    """The block_id of a view's first input block, where Slack can show an error."""
    for block in view.get("blocks") or []:
        if block.get("type") == "input" and block.get("block_id"):
            return str(block["block_id"])
    return None


def register(app: Any, services: Services) -> None:
    """Install the per-request KeptAck and the app's error handler."""

    @app.middleware
    def keep_the_ack(context: Any, next: Any) -> None:  # noqa: A002
        context["ack"] = KeptAck()
        next()

    def lang_of(user: str | None) -> str:
        try:
            return services.lang_for(user) if user else services.settings.lang
        except Exception:  # the database may be what failed
            return services.settings.lang

    def tell(client: WebClient, respond: Respond | None, user: str | None, mrkdwn: str) -> None:
        """Ephemeral through the response_url when there is one, else a DM; never raises."""
        try:
            answer_privately(respond, client, user, blocks.note_message(mrkdwn))
        except Exception as exc:  # Slack itself may be what failed
            log.warning("could not tell %s about the failure: %s", user, exc)

    @app.error
    def on_error(
        error: Exception,
        body: dict,
        response: BoltResponse | None,
        client: WebClient,
        respond: Respond | None,
        logger: logging.Logger,
    ) -> BoltResponse | None:
        """One line with context in the log; a friendly word to the user, never a traceback.

        `response` is None when the listener had acked before it failed: Slack has its answer
        (or soon will), so the user is told through the response_url or a DM instead.
        """
        user = (body.get("user") or {}).get("id") or body.get("user_id")
        kind = body.get("type") or ("command" if body.get("command") else None)
        logger.exception("listener failed for user %s (%s): %s", user, kind, error)
        acked = response is None
        if kind == "view_submission":
            block_id = first_input(body.get("view") or {})
            if acked or block_id is None:
                tell(client, None, user, text(catalog(lang_of(user)).error_action()))
                return None if acked else BoltResponse(status=200, body="")
            errors = {block_id: text(catalog(lang_of(user)).error_generic())}
            payload = {"response_action": "errors", "errors": errors}
            return BoltResponse(status=200, body=json.dumps(payload), headers=JSON)
        if kind == "command":
            if acked:
                tell(client, respond, user, text(catalog(lang_of(user)).error_action()))
                return None
            mrkdwn = text(catalog(lang_of(user)).error_generic())
            return BoltResponse(status=200, body=blocks.json_ephemeral(mrkdwn), headers=JSON)
        if kind in ("block_actions", "shortcut", "message_action"):
            tell(client, respond, user, text(catalog(lang_of(user)).error_action()))
            return None if acked else BoltResponse(status=200, body="")
        return None
