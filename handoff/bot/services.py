"""What every listener needs: settings, the database, the clock, the dispatcher."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from handoff.flows.start import Person as PersonFacts
from handoff.messages.i18n import lang_of
from handoff.settings import Settings
from handoff.storage import repo
from handoff.storage.db import session
from handoff.storage.models import Person

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


class Later:
    """Work that may wait a moment (an App Home redraw), done on one background thread.

    Work is keyed: work queued again under a key that is still waiting replaces it and keeps
    its place, so under load each user's Home is drawn once, from the newest state, and a
    burst of changes costs the listeners nothing after their ack. A failure is logged and the
    next piece runs. `inline=True` runs each piece at once in the caller's thread and lets its
    failure propagate (tests, demo).
    """

    def __init__(self, *, inline: bool = False, name: str = "later") -> None:
        self.inline, self.name = inline, name
        self._waiting: dict[Hashable, Callable[[], None]] = {}
        self._cond = threading.Condition()
        self._busy = False
        self._closed = False
        self._thread: threading.Thread | None = None

    def __call__(self, key: Hashable, work: Callable[[], None]) -> None:
        """Do `work` soon (at once when inline); it replaces work still waiting under `key`."""
        if self.inline:  # tests and the demo: a failure surfaces where it happened
            work()
            return
        with self._cond:
            if self._closed:
                return
            self._waiting[key] = work
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing waits or runs (benchmarks, tests); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._waiting and not self._busy, timeout)

    def close(self, *, wait: bool = True) -> None:
        """Stop taking work; what still waits is dropped (a Home is redrawn when opened).
        With `wait`, also wait (at most 10 s) for the piece running now."""
        with self._cond:
            self._closed = True
            self._waiting.clear()
            self._cond.notify_all()
        if wait and self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._busy = False
                self._cond.notify_all()
                self._cond.wait_for(lambda: self._waiting or self._closed)
                if self._closed:
                    return
                key = next(iter(self._waiting))
                work = self._waiting.pop(key)
                self._busy = True
            self._run(key, work)

    @staticmethod
    def _run(key: Hashable, work: Callable[[], None]) -> None:
        try:
            work()
        except Exception:  # one broken piece must not stop the rest
            log.exception("background work %r failed", key)


@dataclass
class Services:
    """Shared state of one app instance (no globals)."""

    settings: Settings
    engine: Engine
    clock: Clock = utc_now
    worker: str = "handoff"
    # the App Home page each user last turned to (kept per process: a refresh stays on it)
    home_pages: dict[str, dict[str, int]] = field(default_factory=dict)
    # App Home redraws and other work that may wait, off the listeners' threads
    later: Later = field(default_factory=Later)
    _known: set[str] = field(default_factory=set)  # users with a Person row (per process)
    _lookup_failed: dict[str, datetime] = field(default_factory=dict)  # when users.info failed
    _pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=4, thread_name_prefix="lookup")
    )

    def lookup_people(self, client: WebClient, user_ids: Iterable[str]) -> dict[str, PersonFacts]:
        """users.info for each id, concurrently; an unknown user comes back with found=False."""
        ids = sorted({u for u in user_ids if u})
        return dict(zip(ids, self._pool.map(lambda u: lookup_person(client, u), ids), strict=True))

    def remember(self, client: WebClient, user_id: str) -> None:
        """A user seen for the first time: ask Slack once (users.info with the locale) and keep
        the answer, so that everything is in their language from their first request. A fault
        is logged, never raised: the request goes on in HANDOFF_LANG."""
        if user_id in self._known:
            return
        now = self.clock()
        failed = self._lookup_failed.get(user_id)
        if failed is not None and now - failed < LOOKUP_RETRY:
            return
        with session(self.engine) as s:
            if s.get(Person, user_id) is None:
                try:  # before the ack: quick, and never Slack's retries (3 s is all there is)
                    facts = lookup_person(quick_client(client), user_id)
                except (SlackApiError, OSError) as exc:
                    log.warning("could not look up new user %s: %s", user_id, exc)
                    self._lookup_failed[user_id] = now
                    return
                repo.save_people(s, people=[facts], now=self.clock())
                try:
                    s.commit()
                except IntegrityError:  # a second request of theirs was quicker: same answer
                    s.rollback()
        self._known.add(user_id)

    def lang_for(self, user_id: str, locale: str = "") -> str:
        """The user's language: their own setting, their Slack locale, then HANDOFF_LANG."""
        with session(self.engine) as s:
            p = repo.people(s, user_ids=[user_id]).get(user_id)
        return self.lang_of(p, locale)

    def lang_of(self, person: Person | None, locale: str = "") -> str:
        """The language of a Person row already read (None: HANDOFF_LANG, or the locale)."""
        return lang_of(
            chosen=person.lang if person else "",
            locale=locale or (person.locale if person else ""),
            default=self.settings.lang,
        )


LOOKUP_TIMEOUT = 1.0  # seconds: a first-contact lookup happens before the 3 s ack
LOOKUP_RETRY = timedelta(minutes=10)  # a failed first-contact lookup is not repeated sooner


def quick_client(client: WebClient) -> WebClient:
    """The same workspace, with a short timeout and no retries inside a call."""
    return WebClient(
        token=client.token, base_url=client.base_url, timeout=LOOKUP_TIMEOUT, retry_handlers=[]
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
