"""App Home: each person's transitions, published when the tab opens."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handoff.bot import views
from handoff.bot.dispatch import Dispatcher
from handoff.bot.ids import Ids
from handoff.bot.services import Services
from handoff.messages.home import LANG_CHOICES, pages
from handoff.storage import repo
from handoff.storage.db import session

log = logging.getLogger(__name__)


def refresh(client: WebClient, services: Services, user_ids: Iterable[str]) -> None:
    """After a change: redraw the App Home of these users, off the listener's thread (see
    Services.later: a user changed twice meanwhile is drawn once, from the newest state).
    Only users who opened the Home are drawn; the others' is built when they first open it."""
    for user in dict.fromkeys(u for u in user_ids if u):
        services.later(("home", user), lambda user=user: _redraw(client, services, user))


def _redraw(client: WebClient, services: Services, user: str) -> None:
    with session(services.engine) as s:
        uses_home = bool(repo.home_users(s, user_ids=[user]))
    if uses_home:
        publish(client, services, [user])


def publish(
    client: WebClient,
    services: Services,
    user_ids: Iterable[str],
    pages: dict[str, int] | None = None,
) -> None:
    """Publish the App Home of these users; a Slack fault is logged, not raised."""
    for user in dict.fromkeys(u for u in user_ids if u):
        if pages is not None:
            services.home_pages[user] = pages
        try:
            view = views.home_for(services, user, pages=services.home_pages.get(user))
            client.views_publish(user_id=user, view=view)
        except SlackApiError as exc:
            log.warning("views.publish for %s failed: %s", user, exc.response.get("error"))


def register(app: Any, services: Services, dispatcher: Dispatcher) -> None:
    """Register App Home listeners."""

    @app.event("app_home_opened")
    def home_opened(event: dict, client: WebClient) -> None:
        if event.get("tab", "home") == "home":
            with session(services.engine) as s:
                repo.home_opened(s, user_id=event["user"], now=services.clock())
                s.commit()
            publish(client, services, [event["user"]])

    @app.action(Ids.HOME_PAGE.value)
    @app.action(Ids.HOME_PAGE_NEXT.value)
    def home_page(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        publish(client, services, [body["user"]["id"]], pages(str(action.get("value") or "")))

    @app.action(Ids.HOME_LANG.value)
    def home_lang(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        user = body["user"]["id"]
        chosen = (action.get("selected_option") or {}).get("value")
        lang = "" if chosen == "auto" else chosen
        if lang not in LANG_CHOICES:
            log.warning("home.lang by %s: unknown language %r", user, chosen)
            return
        with session(services.engine) as s:
            repo.set_language(s, user_id=user, lang=lang, now=services.clock())
            s.commit()
        log.info("%s chose language %r", user, lang or "auto")
        publish(client, services, [user])
