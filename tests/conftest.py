"""Fixtures: the Slack emulator, a real database, the app behind its real HTTP server, a driver."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from handoff.bot.app import Handoff, build
from handoff.bot.server import asgi, bind, server
from handoff.bot.services import Later
from handoff.demo import InlineExecutor, SimClock
from handoff.emulator import SlackDriver, SlackEmulator
from handoff.settings import Settings
from handoff.storage.db import make_engine

SECRET = "test-signing-secret"
TOKEN = "xoxb-test"
DEPARTING, NEW, MANAGER, OTHER = "U0DANA", "U0NOAH", "U0MAYA", "U0OTTO"
BOT, GONE = "U0BOT", "U0GONE"
PG_URL = os.environ.get("TEST_DATABASE_URL", "")


@pytest.fixture
def clock() -> SimClock:
    """Monday 30 Nov 2026, 09:00 in Berlin."""
    return SimClock(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))


@pytest.fixture
def emu(clock: SimClock) -> Iterator[SlackEmulator]:
    with SlackEmulator(clock=clock, token=TOKEN) as e:
        e.add_user(DEPARTING, "dana", real_name="Dana D", tz="Europe/Berlin", locale="en-US")
        e.add_user(NEW, "noah", real_name="Noah N", tz="America/New_York", locale="en-US")
        e.add_user(MANAGER, "maya", real_name="Maya M", tz="Europe/Berlin", locale="de-DE")
        e.add_user(OTHER, "otto", real_name="Otto O", tz="Europe/London", locale="en-GB")
        e.add_user(BOT, "robot", is_bot=True)
        e.add_user(GONE, "gone", deleted=True)
        e.add_channel("C0DIGEST", "cs-leads")
        yield e


def pg_engine_url() -> Iterator[tuple[str, dict]]:
    """A fresh schema on the test PostgreSQL server, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield PG_URL, {"connect_args": {"options": f"-csearch_path={schema}"}}
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path) -> Iterator[tuple[str, dict]]:
    """A real database: an SQLite file, and PostgreSQL when TEST_DATABASE_URL is set."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'handoff.db'}", {}
        return
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set: no PostgreSQL server to test against")
    yield from pg_engine_url()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'handoff.db'}"


@pytest.fixture
def settings(emu: SlackEmulator, database: tuple[str, dict]) -> Settings:
    return Settings(
        bot_token=TOKEN, signing_secret=SECRET, api_url=emu.url, database_url=database[0]
    )


@pytest.fixture
def handoff(settings: Settings, database: tuple[str, dict], clock: SimClock) -> Iterator[Handoff]:
    engine = make_engine(settings.database_url, **database[1])
    h = build(
        settings, engine=engine, clock=clock, executor=InlineExecutor(), later=Later(inline=True)
    )
    yield h
    engine.dispose()


@pytest.fixture
def base_url(handoff: Handoff) -> Iterator[str]:
    """The app's production ASGI server (uvicorn) on a free loopback port."""
    sock = bind("127.0.0.1", 0)
    http = server(asgi(handoff, scheduler=False), log_level="warning")
    thread = threading.Thread(target=http.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    started = threading.Event()
    while not http.started and thread.is_alive():
        started.wait(0.005)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    http.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def slack(emu: SlackEmulator, base_url: str) -> SlackDriver:
    """Plays Slack: signed requests into the app over HTTP."""
    return SlackDriver(emulator=emu, signing_secret=SECRET, target=f"{base_url}/slack/events")
