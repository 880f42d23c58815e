"""Answering one user privately, wherever the request came from."""

from __future__ import annotations

from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient


def answer_privately(
    respond: Respond | None, client: WebClient, user: str | None, answer: dict[str, Any]
) -> None:
    """Ephemeral through the response_url Slack gave (a message's button, a command), else a
    DM (the App Home and modals have none, and a response_url expires)."""
    if respond is not None and respond.response_url:
        sent = respond(response_type="ephemeral", replace_original=False, **answer)
        if sent.status_code == 200:
            return
    if user:
        client.chat_postMessage(channel=user, **answer)
