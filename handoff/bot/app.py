"""The Bolt app factory: nothing is built at import time."""

from __future__ import annotations

import logging
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from sqlalchemy.engine import Engine

from handoff.bot import (
    bulk,
    coach,
    commands,
    digest,
    errors,
    home,
    knowledge,
    metrics,
    start,
    tasks,
)
from handoff.bot.dispatch import SENDERS, Dispatcher
from handoff.bot.ids import check_unique
from handoff.bot.services import Clock, Later, Services, utc_now
from handoff.settings import Settings
from handoff.storage.db import make_engine, migrate
from handoff.storage.events import first_time

log = logging.getLogger(__name__)


@dataclass
class Handoff:
    """One running instance: the Bolt app, its services and its dispatcher."""

    app: App
    services: Services
    dispatcher: Dispatcher


def make_client(settings: Settings) -> WebClient:
    """A WebClient for SLACK_API_URL that waits out 429s (Retry-After) before giving up."""
    client = WebClient(token=settings.bot_token, base_url=settings.api_url, timeout=10)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    return client


def sending_client(client: WebClient) -> WebClient:
    """The dispatcher's client: no retries inside a call. The outbox retries, after a 429 once
    Retry-After has passed, after a lost connection once it has looked whether Slack has the
    message; a call never outlives the claim that allowed it."""
    return WebClient(
        token=client.token, base_url=client.base_url, timeout=client.timeout, retry_handlers=[]
    )


def user_of(body: dict) -> str:
    """The user a request comes from: interactions, slash commands, events."""
    user = body.get("user")
    if isinstance(user, dict):
        return str(user.get("id") or "")
    event = body.get("event") or {}
    who = body.get("user_id") or (event.get("user") if isinstance(event, dict) else None)
    return who if isinstance(who, str) else ""


def build(
    settings: Settings,
    *,
    client: WebClient | None = None,
    engine: Engine | None = None,
    clock: Clock = utc_now,
    executor: Executor | None = None,
    worker: str = "handoff",
    run_migrations: bool = True,
    senders: int = SENDERS,
    later: Later | None = None,
) -> Handoff:
    """Wire settings, database, Slack client and listeners into a Handoff instance."""
    check_unique()
    engine = engine or make_engine(settings.database_url)
    if run_migrations:
        migrate(engine)
    client = client or make_client(settings)
    services = Services(settings=settings, engine=engine, clock=clock, worker=worker)
    if later is not None:  # Later(inline=True): Home redraws done before the listener returns
        services.later = later
    kwargs: dict[str, Any] = {}
    if executor is not None:
        kwargs["listener_executor"] = executor
    app = App(
        client=client,
        signing_secret=settings.signing_secret,
        token_verification_enabled=False,
        ignoring_self_events_enabled=True,
        **kwargs,
    )
    dispatcher = Dispatcher(services, sending_client(client), threads=senders)

    @app.middleware
    def skip_event_retries(body: dict, next: Any) -> BoltResponse | None:  # noqa: A002
        """An Events API delivery we already handled (Slack retries) is acknowledged, not redone."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not first_time(engine, event_id=event_id, now=services.clock()):
            log.info("skipping event %s: already handled", event_id)
            return BoltResponse(status=200, body="")
        return next()

    @app.middleware
    def know_the_user(body: dict, client: WebClient, next: Any) -> BoltResponse | None:  # noqa: A002
        """Whoever uses the app is looked up once, so answers follow their Slack locale."""
        user = user_of(body)
        if user:
            services.remember(client, user)
        return next()

    errors.register(app, services)
    for module in (commands, start, home, tasks, knowledge, bulk, digest, coach, metrics):
        module.register(app, services, dispatcher)
    return Handoff(app=app, services=services, dispatcher=dispatcher)


def create_app(settings: Settings, client: WebClient | None = None, **kwargs: Any) -> App:
    """The Bolt app alone (see build for the whole instance)."""
    return build(settings, client=client, **kwargs).app
