"""App Home: each person's transitions, published when the tab opens."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handoff.bot import views
from handoff.bot.dispatch import Dispatcher
from handoff.bot.services import Services

log = logging.getLogger(__name__)


def publish(client: WebClient, services: Services, user_ids: Iterable[str]) -> None:
    """Publish (refresh) the App Home of these users; a Slack fault is logged, not raised."""
    for user in dict.fromkeys(u for u in user_ids if u):
        try:
            client.views_publish(
                user_id=user, view=views.home_for(services, user, services.lang_for(user))
            )
        except SlackApiError as exc:
            log.warning("views.publish for %s failed: %s", user, exc.response.get("error"))


def register(app: Any, services: Services, dispatcher: Dispatcher) -> None:
    """Register App Home listeners."""

    @app.event("app_home_opened")
    def home_opened(event: dict, client: WebClient) -> None:
        if event.get("tab", "home") == "home":
            publish(client, services, [event["user"]])
