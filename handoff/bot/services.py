"""What every listener needs: settings, the database, the clock, the dispatcher."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Engine

from handoff.flows.start import Person as PersonFacts
from handoff.messages.i18n import lang_of
from handoff.settings import Settings
from handoff.storage import repo
from handoff.storage.db import session

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


@dataclass
class Services:
    """Shared state of one app instance (no globals)."""

    settings: Settings
    engine: Engine
    clock: Clock = utc_now
    worker: str = "handoff"
    # the App Home page each user last turned to (kept per process: a refresh stays on it)
    home_pages: dict[str, dict[str, int]] = field(default_factory=dict)
    _pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=4, thread_name_prefix="lookup")
    )

    def lookup_people(self, client: WebClient, user_ids: Iterable[str]) -> dict[str, PersonFacts]:
        """users.info for each id, concurrently; an unknown user comes back with found=False."""
        ids = sorted({u for u in user_ids if u})
        return dict(zip(ids, self._pool.map(lambda u: lookup_person(client, u), ids), strict=True))

    def lang_for(self, user_id: str, locale: str = "") -> str:
        """The user's language: their own setting, their Slack locale, then HANDOFF_LANG."""
        with session(self.engine) as s:
            p = repo.people(s, user_ids=[user_id]).get(user_id)
        return lang_of(
            chosen=p.lang if p else "",
            locale=locale or (p.locale if p else ""),
            default=self.settings.lang,
        )


def lookup_person(client: WebClient, user_id: str) -> PersonFacts:
    """What Slack knows about one user."""
    try:
        user = client.users_info(user=user_id, include_locale=True)["user"]
    except SlackApiError as exc:
        error = exc.response.get("error") if exc.response is not None else str(exc)
        if error in ("user_not_found", "users_not_found"):
            return PersonFacts(user_id=user_id, found=False)
        log.warning("users.info failed for %s: %s", user_id, error)
        raise
    return PersonFacts(
        user_id=user_id,
        found=True,
        is_bot=bool(user.get("is_bot")) or user_id == "USLACKBOT",
        deleted=bool(user.get("deleted")),
        name=user.get("real_name") or user.get("name") or "",
        tz=user.get("tz") or "",
        locale=user.get("locale") or "",
    )
