"""Exactly once across crashes and replicas, with the real `handoff serve` process.

A replica is killed with SIGKILL while Slack has a message but the database does not know it
yet; a fresh replica on the same database finishes the work without sending anything twice.
Two replicas on one PostgreSQL database share the work (SKIP LOCKED), never the same message.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from handoff.emulator import SlackEmulator
from handoff.flows.plans import build_plan
from handoff.flows.start import StartRequest
from handoff.storage import outbox, repo
from handoff.storage.db import make_engine, migrate, session
from handoff.storage.models import Outbox
from tests.conftest import PG_URL, TOKEN, pg_engine_url

ROWS = 40
USERS = [f"U9{n:04d}" for n in range(ROWS)]


@pytest.fixture
def emu() -> Iterator[SlackEmulator]:
    """Slack on the real clock, like the `handoff serve` processes: a message's ts must be
    comparable with the time the server recorded its first try (the recovery check looks for
    messages newer than that)."""
    with SlackEmulator(token=TOKEN) as e:
        yield e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(engine) -> list[str]:
    """One transition far from its first milestone, and ROWS welcome DMs due now."""
    migrate(engine)
    now = datetime.now(UTC)
    today = now.date()
    req = StartRequest(
        account="Acme",
        departing_owner=USERS[0],
        new_owner=USERS[1],
        manager=USERS[2],
        kind="rep_to_rep",
        planned=True,
        handoff_date=today + timedelta(days=90),
    )
    with session(engine) as s:
        t = repo.create_transition(
            s,
            team_id="T0001",
            creator=USERS[2],
            req=req,
            plan=build_plan(planned=True, anchor=req.handoff_date, today=today, strategic=False),
            started_on=today,
            holiday_country="",
            now=now,
        )
        messages = [
            outbox.Message(
                key=f"k{n}",
                recipient=u,
                kind="welcome",
                due_at=now,
                transition_id=t.id,
                payload={"role": "departing"},
            )
            for n, u in enumerate(USERS)
        ]
        outbox.enqueue(s, messages=messages)
        s.commit()
    return [m.key for m in messages]


def serve(emu, database_url: str, extra_env: dict | None = None) -> subprocess.Popen:
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": "x",
        "SLACK_API_URL": emu.url,
        "DATABASE_URL": database_url,
        "PORT": str(free_port()),
        "HANDOFF_TICK_SECONDS": "0.05",
        "HANDOFF_LEASE_SECONDS": "3",  # a killed replica's claims are taken over after 3 s
        **(extra_env or {}),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "handoff.bot.cli", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_until(condition, seconds: float = 60.0) -> None:
    """Poll a condition that the processes under test will make true (bounded)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def posted_keys(emu) -> list[str]:
    return [
        c.args["metadata"]["event_payload"]["key"]
        for c in emu.calls_to("chat.postMessage")
        if not c.failed
    ]


def all_sent(engine) -> bool:
    with session(engine) as s:
        return {r.status for r in s.exec(select(Outbox)).all()} == {"sent"}


def stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=30)


@pytest.mark.parametrize("kill_at", [1, 7, ROWS])
def test_sigkill_mid_send_loses_nothing_and_sends_nothing_twice(emu, tmp_path, kill_at):
    for u in USERS:
        emu.add_user(u, u.lower())
    url = f"sqlite:///{tmp_path / 'h.db'}"
    engine = make_engine(url)
    keys = seed(engine)
    first = {"n": 0, "proc": None}
    lock = threading.Lock()

    def kill_after_slack_has_it(call):
        if call.method != "chat.postMessage":
            return
        with lock:  # the dispatcher sends to several people at once
            if first["proc"] is None:
                return
            first["n"] += 1
            if first["n"] == kill_at:
                first["proc"].kill()  # SIGKILL: the row stays 'sending', Slack has the message
                first["proc"].wait()
                first["proc"] = None
                raise ConnectionResetError("process died")

    emu.on_call = kill_after_slack_has_it
    first["proc"] = serve(emu, url)
    wait_until(lambda: first["proc"] is None)
    assert len(posted_keys(emu)) >= kill_at  # sends to other people may have been in flight
    emu.on_call = None
    second = serve(emu, url)
    try:
        wait_until(lambda: all_sent(engine))
    finally:
        assert stop(second) == 0  # graceful shutdown on SIGTERM
    keys_posted = posted_keys(emu)
    assert sorted(keys_posted) == sorted(keys)  # every one, each exactly once
    engine.dispose()


@pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL is not set: no PostgreSQL server")
def test_two_replicas_share_the_work_and_never_send_the_same_message(emu):
    for u in USERS:
        emu.add_user(u, u.lower())
    gen = pg_engine_url()
    url, kwargs = next(gen)
    schema = kwargs["connect_args"]["options"].split("=", 1)[1]
    engine = make_engine(url, **kwargs)
    keys = seed(engine)
    # every send waits until both replicas have sent: one replica doing all the work alone
    # (with its several sender threads) would never get past this
    seen: set[str] = set()
    both = threading.Event()
    lock = threading.Lock()

    def meet(call):
        if call.method != "chat.postMessage" or both.is_set():
            return
        key = call.args["metadata"]["event_payload"]["key"]
        with session(engine) as s:
            worker = s.exec(select(Outbox.claimed_by).where(Outbox.key == key)).one()
        with lock:
            seen.add(worker)
            if len(seen) == 2:
                both.set()
        both.wait(timeout=8)  # below the sending client's 10 s timeout

    emu.on_call = meet
    db = f"{url}?options=-csearch_path%3D{schema}"
    lease = {"HANDOFF_LEASE_SECONDS": "300"}  # no claim may expire while the replicas wait
    replicas = [serve(emu, db, lease), serve(emu, db, lease)]
    try:
        wait_until(lambda: all_sent(engine))
    finally:
        codes = [stop(p) for p in replicas]
    assert codes == [0, 0]
    assert both.is_set(), "one replica sent while the other never did"
    assert sorted(posted_keys(emu)) == sorted(keys)
    with session(engine) as s:
        workers = {r.claimed_by for r in s.exec(select(Outbox)).all()}
    assert len(workers) == 2  # both replicas sent a share
    engine.dispose()
    next(gen, None)


def test_claims_with_skip_locked_are_disjoint():
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set: no PostgreSQL server")
    gen = pg_engine_url()
    url, kwargs = next(gen)
    engine = make_engine(url, **kwargs)
    seed(engine)
    now = datetime.now(UTC) + timedelta(seconds=1)
    a, b = session(engine), session(engine)
    try:
        got_a = outbox.claim(a, now=now, worker="a", limit=25)  # not committed: rows locked
        got_b = outbox.claim(b, now=now, worker="b", limit=25)
        a.commit()
        b.commit()
    finally:
        a.close()
        b.close()
    ids_a, ids_b = {r.id for r in got_a}, {r.id for r in got_b}
    assert len(ids_a) == 25 and len(ids_b) == ROWS - 25
    assert not ids_a & ids_b
    engine.dispose()
    next(gen, None)


def test_serve_without_settings_names_what_is_missing():
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    out = subprocess.run(
        [sys.executable, "-m", "handoff.bot.cli", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "SLACK_BOT_TOKEN" in lines[0] and "SLACK_SIGNING_SECRET" in lines[0]
    bad = subprocess.run(
        [sys.executable, "-m", "handoff.bot.cli", "serve"],
        env={**env, "PORT": "eighty"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "PORT" in bad.stderr and "Traceback" not in bad.stderr
    socket_mode = subprocess.run(
        [sys.executable, "-m", "handoff.bot.cli", "serve", "--socket"],
        env={**env, "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert socket_mode.returncode == 2 and "SLACK_APP_TOKEN" in socket_mode.stderr


def serve_socket_mode(env: dict) -> subprocess.CompletedProcess:
    """`handoff serve --socket` without a signing secret, which Socket Mode does not use."""
    env = {k: v for k, v in {**os.environ, **env}.items() if k != "SLACK_SIGNING_SECRET"}
    return subprocess.run(
        [sys.executable, "-m", "handoff.bot.cli", "serve", "--socket"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def problems(stderr: str) -> list[str]:
    """What a start-up failure told the operator: errors logged and the CLI's own lines."""
    return [line for line in stderr.splitlines() if "ERROR" in line or line.startswith("handoff:")]


def test_socket_mode_with_a_refused_or_unreachable_app_token_says_why_in_one_line(emu, tmp_path):
    env = {
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_APP_TOKEN": "xapp-1-bogus",
        "SLACK_API_URL": emu.url,  # answers apps.connections.open with invalid_auth
        "DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}",
        "PORT": str(free_port()),
    }
    refused = serve_socket_mode(env)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert problems(refused.stderr) == [
        "handoff: Slack refused SLACK_APP_TOKEN (invalid_auth): Socket Mode needs an app-level "
        "token with the connections:write scope"
    ]
    assert [c.method for c in emu.calls_to("apps.connections.open")] == ["apps.connections.open"]

    unreachable = serve_socket_mode({**env, "SLACK_API_URL": f"http://127.0.0.1:{free_port()}/"})
    assert unreachable.returncode == 1 and "Traceback" not in unreachable.stderr
    [line] = problems(unreachable.stderr)
    assert line.startswith("handoff: cannot reach Slack at http://127.0.0.1:") and "refused" in line


def test_healthz_answers_while_serving(emu, tmp_path):
    import json
    import urllib.request

    port = free_port()
    proc = serve(emu, f"sqlite:///{tmp_path / 'h.db'}", {"PORT": str(port)})
    try:

        def healthy():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    return r.status == 200 and json.load(r)["database"] == "ok"
            except OSError:
                return False

        wait_until(healthy)
    finally:
        assert stop(proc) == 0
