"""/handoff bulk with Bolt's own listener threads (as in production): the Check step is
acknowledged while the file is still being downloaded, and the preview follows by views.update."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait

import pytest

from handoff.bot.app import Handoff, build
from handoff.settings import Settings
from handoff.storage.db import make_engine
from tests.conftest import SECRET, TOKEN
from tests.test_bulk_e2e import HEADER, OPS, confirm, row, texts, transitions


class Pool(ThreadPoolExecutor):
    """A thread pool that can wait for everything it was given (instead of sleeping)."""

    def __init__(self) -> None:
        super().__init__(max_workers=4, thread_name_prefix="listener")
        self.futures: list[Future] = []

    def submit(self, fn, /, *args, **kwargs) -> Future:  # type: ignore[override]
        future = super().submit(fn, *args, **kwargs)
        self.futures.append(future)
        return future

    def drain(self) -> None:
        """Wait until every listener submitted so far has finished."""
        wait(list(self.futures))


@pytest.fixture(autouse=True)
def ops(emu):
    emu.add_user(OPS, "olga", real_name="Olga Ops", tz="Europe/Berlin", locale="en-US")


@pytest.fixture
def settings(emu, database) -> Settings:
    return Settings(
        bot_token=TOKEN,
        signing_secret=SECRET,
        api_url=emu.url,
        database_url=database[0],
        wave_size=100,
    )


@pytest.fixture
def pool() -> Iterator[Pool]:
    p = Pool()
    yield p
    p.shutdown(wait=True)


@pytest.fixture
def handoff(settings, database, clock, pool) -> Iterator[Handoff]:
    """The app with a real listener thread pool instead of the inline executor."""
    engine = make_engine(settings.database_url, **database[1])
    h = build(settings, engine=engine, clock=clock, executor=pool)
    yield h
    engine.dispose()


@pytest.fixture
def gate(emu) -> Iterator[threading.Event]:
    """Holds the app's files.info call until the test opens the gate."""
    opened, reached = threading.Event(), threading.Event()

    def hold(call) -> None:
        if call.method == "files.info":
            reached.set()
            opened.wait()

    emu.on_call = hold
    yield opened
    opened.set()
    emu.on_call = None


def test_the_check_is_acknowledged_before_the_file_is_downloaded(slack, emu, handoff, pool, gate):
    assert slack.slash(OPS, "bulk").status == 200
    pool.drain()  # the modal is opened after the command's ack
    view = slack.last_view()
    file = emu.add_file("accounts.csv", (HEADER + row("Acme")).encode(), user=OPS)
    resp = slack.submit(OPS, view, {"file": [file]})
    # the answer came back while files.info was still held: the ack did not wait for the check
    assert resp.status == 200 and resp.json()["response_action"] == "update"
    assert "Checking *accounts.csv*" in texts(resp.json()["view"])
    assert not emu.calls_to("views.update")
    gate.set()
    pool.drain()
    (update,) = emu.calls_to("views.update")
    assert update.args["view_id"] == view["id"]
    preview = update.args["view"]
    assert "*1* row: *1* can be created" in texts(preview)
    confirm(slack, view, preview)
    confirm(slack, view, preview)  # a double submit
    pool.drain()
    assert [t.account for t in transitions(handoff)] == ["Acme"]
