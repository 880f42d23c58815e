"""Services.later: keyed background work, the newest per key, one thread, failures contained."""

from __future__ import annotations

import json
import logging
import threading

import pytest

from handoff.bot.services import Later
from tests.conftest import MANAGER, NEW
from tests.test_start_e2e import start


def blocked(later: Later) -> threading.Event:
    """Occupy the worker until the returned event is set."""
    gate, running = threading.Event(), threading.Event()

    def hold() -> None:
        running.set()
        gate.wait(10)

    later("hold", hold)
    assert running.wait(10)
    return gate


def test_inline_work_runs_at_once_in_the_callers_thread():
    seen = []
    Later(inline=True)("k", lambda: seen.append(threading.current_thread().name))
    assert seen == [threading.current_thread().name]


def test_inline_work_that_fails_fails_where_it_was_asked_for():
    with pytest.raises(ZeroDivisionError):
        Later(inline=True)("k", lambda: 1 / 0)


def test_work_queued_again_under_a_waiting_key_replaces_it_and_keeps_its_place():
    later, done = Later(), []
    gate = blocked(later)
    later(("home", "A"), lambda: done.append("A1"))
    later(("home", "B"), lambda: done.append("B"))
    later(("home", "A"), lambda: done.append("A2"))
    gate.set()
    assert later.wait_idle(10)
    assert done == ["A2", "B"]
    later.close()


def test_work_runs_off_the_callers_thread():
    later, names = Later(name="later-test"), []
    later("k", lambda: names.append(threading.current_thread().name))
    assert later.wait_idle(10) and names == ["later-test"]
    later.close()


def test_a_failure_is_logged_and_the_next_piece_still_runs(caplog):
    later, done = Later(), []
    gate = blocked(later)
    later("bad", lambda: 1 / 0)
    later("good", lambda: done.append("good"))
    with caplog.at_level(logging.ERROR, logger="handoff.bot.services"):
        gate.set()
        assert later.wait_idle(10)
    assert done == ["good"]
    assert "background work 'bad' failed" in caplog.text
    later.close()


def test_close_drops_what_waits_and_takes_nothing_more():
    later, done = Later(), []
    gate = blocked(later)
    later("k", lambda: done.append("dropped"))
    later.close(wait=False)
    gate.set()
    later.close()  # waits for the worker to end
    later("after", lambda: done.append("after"))
    assert done == [] and not later._thread.is_alive()


def test_a_start_redraws_the_homes_on_the_background_thread(slack, emu, handoff):
    handoff.services.later = Later()
    for user in (NEW, MANAGER):
        slack.event({"type": "app_home_opened", "user": user, "tab": "home"})
    start(slack)
    assert handoff.services.later.wait_idle(10)
    for user in (NEW, MANAGER):
        assert "Acme Corp" in json.dumps(emu.home(user))
    handoff.services.later.close()
