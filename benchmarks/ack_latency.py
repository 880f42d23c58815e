"""Ack latency of the real app over its production HTTP server, next to a bare Bolt app.

Builds a temp SQLite database with --transitions transitions (tasks as build_plan gives them,
people, outbox history), starts the Slack emulator with the users, builds the real app with
`build(settings, clock=..., run_migrations=True)` and Bolt's default thread pool executor (so
ack() answers before the post-ack work), serves it with `asgi(handoff, scheduler=False)` under
uvicorn (`server()`/`bind()` on 127.0.0.1:0, in a thread, as tests/conftest.py does), and plays
Slack with SlackDriver. It measures the wall time from sending a signed request to having read
the whole HTTP response for:

  * `/handoff start` (the listener acks, then opens the modal with views.open);
  * a valid view_submission of the start modal (a new account name each time);
  * `/handoff` on a bare Bolt app whose only listener calls ack(), served the same way.

"settled": after each response the script waits (untimed) until the post-ack work is done
(views.open seen; for a submission, the three App Home tabs published), so each request meets
an idle app. "back-to-back": the next request goes out as soon as the response is in, so the
post-ack work of earlier requests competes (GIL, Bolt's 5 worker threads, SQLite's one writer).
The App Home redraws after a start run on the app's one background thread (Services.later),
where a Home changed again before its redraw is drawn once; the script reports how many ran.

Run: /work/venv/bin/python benchmarks/ack_latency.py [--requests 200] [--transitions 10000]
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import random
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sqlalchemy as sa  # noqa: E402
from _common import (  # noqa: E402
    NOW,
    SECRET,
    TOKEN,
    Seeder,
    Served,
    TimedTarget,
    add_users,
    code_version,
    make_users,
    new_database,
    summary_ms,
    table,
    temp_database,
)
from slack_bolt import App  # noqa: E402
from slack_sdk import WebClient  # noqa: E402

from handoff.bot.app import build  # noqa: E402
from handoff.bot.server import asgi  # noqa: E402
from handoff.bot.services import Later  # noqa: E402
from handoff.demo import SimClock  # noqa: E402
from handoff.emulator import SlackDriver, SlackEmulator  # noqa: E402
from handoff.flows.plans import Kind  # noqa: E402
from handoff.settings import Settings  # noqa: E402
from handoff.storage.models import Person, Transition  # noqa: E402

TARGET_P99_MS = 100.0
TARGET_RATIO = 2.0
DIGEST = "C0DIGEST"


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """The module docstring as written, and the defaults of the options."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--transitions", type=int, default=10_000, help="transitions in the database")
    p.add_argument("--users", type=int, default=500, help="workspace members (owners, managers)")
    p.add_argument("--requests", type=int, default=200, help="timed requests per scenario")
    p.add_argument("--warmup", type=int, default=20, help="untimed requests before each scenario")
    p.add_argument(
        "--mode",
        choices=("settled", "back-to-back", "both"),
        default="both",
        help="wait for the post-ack work after each request, or not, or measure both",
    )
    p.add_argument("--no-history", action="store_true", help="no sent outbox rows in the seed")
    p.add_argument(
        "--database-url",
        default="",
        help="PostgreSQL URL to use a fresh schema there instead of a temp SQLite file",
    )
    p.add_argument("--seed", type=int, default=7, help="random seed")
    return p.parse_args(argv)


class Calls:
    """Counts the emulator's calls per method as they arrive (its on_call hook)."""

    def __init__(self, emu: SlackEmulator) -> None:
        self.counts: Counter[str] = Counter()
        self.last_at: dict[str, float] = {}
        self.cond = threading.Condition()
        emu.on_call = self._hook

    def _hook(self, call: Any) -> None:
        with self.cond:
            self.counts[call.method] += 1
            self.last_at[call.method] = time.perf_counter()
            self.cond.notify_all()

    def get(self, method: str) -> int:
        with self.cond:
            return self.counts[method]

    def wait(self, method: str, count: int, timeout: float = 60.0) -> float:
        """Wait until `method` was called `count` times in all; when the last one came."""
        with self.cond:
            if not self.cond.wait_for(lambda: self.counts[method] >= count, timeout):
                raise SystemExit(f"timed out waiting for {count} {method} calls")
            return self.last_at[method]


class Bench:
    """The scenarios, sharing one emulator, one database and two servers."""

    def __init__(
        self, args: argparse.Namespace, emu: SlackEmulator, calls: Calls, users, later: Later
    ) -> None:
        self.args, self.emu, self.calls = args, emu, calls
        self.rng = random.Random(args.seed + 1)
        cut = max(1, len(users) // 10)
        self.managers = [u.user_id for u in users[:cut]]
        self.owners = [u.user_id for u in users[cut:]]
        self.rows: list[list[Any]] = []
        self.errors: Counter[str] = Counter()
        self.submitted = 0
        self.view: dict[str, Any] | None = None
        self.p99: dict[str, float] = {}
        self.later = later
        self.redraws: dict[bool, tuple[int, int]] = {}  # settled? -> (published, changes)

    def driver(self, url: str) -> tuple[SlackDriver, TimedTarget]:
        target = TimedTarget(url)
        return SlackDriver(emulator=self.emu, signing_secret=SECRET, target=target), target

    def record(
        self, name: str, mode: str, samples: list[float], *, target: bool = True, rate: str = ""
    ) -> None:
        s = summary_ms(samples)
        ok = "yes" if s["p99"] < TARGET_P99_MS else "NO"
        self.rows.append(
            [
                name,
                mode,
                s["n"],
                s["p50"],
                s["p99"],
                s["max"],
                rate,
                f"p99<100ms: {ok}" if target else "",
            ]
        )
        self.p99[f"{name}/{mode}"] = s["p99"]

    def slash(self, url: str, name: str, *, settle: bool, opens: bool) -> None:
        """/handoff start, --warmup + --requests times."""
        driver, target = self.driver(url)
        samples, done = [], []
        n = self.args.warmup + self.args.requests
        before = self.calls.get("views.open")
        first = 0.0
        for i in range(n):
            if i == self.args.warmup:
                first = time.perf_counter()
            user = self.rng.choice(self.managers)
            sent = time.perf_counter()
            resp = driver.slash(user, "start")
            if resp.status != 200 or resp.body.strip():
                self.errors[f"{name}: HTTP {resp.status} {resp.body[:80]!r}"] += 1
            if i >= self.args.warmup:
                samples.append(target.last)
            if settle and opens:
                at = self.calls.wait("views.open", before + i + 1)
                if i >= self.args.warmup:
                    done.append(at - sent)
        rate = self.args.requests / (time.perf_counter() - first)
        if opens:
            self.calls.wait("views.open", before + n)
            self.view = self.emu.view_for_trigger(driver.last_trigger_id)
        target.close()
        mode = ("settled" if settle else "back-to-back") if opens else "-"
        self.record(name, mode, samples, rate="" if settle else f"{rate:.0f}")
        if done:
            self.record("  ... until views.open reached Slack", mode, done, target=False)

    def submit(self, url: str, *, settle: bool) -> None:
        """A valid view_submission of the start modal, --warmup + --requests times."""
        if self.view is None or self.view.get("callback_id") != "handoff_start":
            raise SystemExit("no start modal was opened: cannot submit one")
        driver, target = self.driver(url)
        samples, done = [], []
        n = self.args.warmup + self.args.requests
        before = self.calls.get("views.publish")
        today = NOW.date()
        kinds = [k.value for k in Kind]
        first = 0.0
        for i in range(n):
            if i == self.args.warmup:
                first = time.perf_counter()
            manager = self.rng.choice(self.managers)
            departing, new = self.rng.sample(self.owners, 2)
            self.submitted += 1
            values = {
                "account": f"Bench Account {self.submitted:05d} {self.rng.randrange(10**6)}",
                "departing_owner": departing,
                "new_owner": new,
                "manager": manager,
                "kind": self.rng.choice(kinds),
                "planned": "planned",
                "handoff_date": (today + timedelta(days=self.rng.randint(7, 63))).isoformat(),
                "digest_channel": DIGEST,
            }
            if self.rng.random() < 0.15:
                values["strategic"] = ["strategic"]
            sent = time.perf_counter()
            resp = driver.submit(manager, self.view, values)
            if resp.status != 200 or resp.json() not in (None, {}):
                self.errors[f"submission: HTTP {resp.status} {resp.body[:120]!r}"] += 1
            if i >= self.args.warmup:
                samples.append(target.last)
            if settle:  # the last step: the three people's App Home tabs, redrawn in background
                at = self.calls.wait("views.publish", before + 3 * (i + 1))
                if i >= self.args.warmup:
                    done.append(at - sent)
        rate = self.args.requests / (time.perf_counter() - first)
        if not self.later.wait_idle(300):  # Home redraws run on Services.later's thread
            raise SystemExit("timed out waiting for the App Home redraws")
        self.redraws[settle] = (self.calls.get("views.publish") - before, 3 * n)
        target.close()
        mode = "settled" if settle else "back-to-back"
        self.record(
            "handoff view_submission (start)", mode, samples, rate="" if settle else f"{rate:.0f}"
        )
        if done:
            self.record("  ... until DMs sent + Home published", mode, done, target=False)


class _DropMessage(logging.Filter):
    def __init__(self, fragment: str) -> None:
        super().__init__()
        self.fragment = fragment

    def filter(self, record: logging.LogRecord) -> bool:
        return self.fragment not in record.getMessage()


def bare_bolt(emu: SlackEmulator) -> App:
    """A Bolt app whose only listener acks /handoff; served like the real one."""
    # Bolt warns that the client's token wins over `token`: expected here, so not shown
    quiet = logging.getLogger("slack_bolt.App")
    skip = _DropMessage("`token` will be unused")
    quiet.addFilter(skip)
    try:
        app = App(
            signing_secret=SECRET,
            token=TOKEN,
            token_verification_enabled=False,
            client=WebClient(base_url=emu.url, token=TOKEN),
        )
    finally:
        quiet.removeFilter(skip)

    @app.command("/handoff")
    def only_ack(ack: Any) -> None:
        ack()

    return app


def bare_handoff(emu: SlackEmulator) -> Any:
    """What asgi() serves, around the bare Bolt app (its lifespan closes services.later)."""
    return SimpleNamespace(app=bare_bolt(emu), services=SimpleNamespace(later=Later()))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    began = time.perf_counter()
    version, load = code_version(), os.getloadavg()[0]
    rng = random.Random(args.seed)
    clock = SimClock(NOW)
    users = make_users(args.users, rng)
    modes = ["settled", "back-to-back"] if args.mode == "both" else [args.mode]
    with (
        SlackEmulator(clock=clock, token=TOKEN) as emu,
        temp_database(args.database_url) as (engine, db_desc),
    ):
        add_users(emu, users)
        emu.add_channel(DIGEST, "cs-leads")
        calls = Calls(emu)
        new_database(engine)
        seeder = Seeder(engine, users, now=NOW, rng=rng, history=not args.no_history)
        seeder.add_people()
        seed_s = seeder.add_transitions(args.transitions)
        with engine.begin() as conn:  # the worst case: everyone uses the App Home
            conn.execute(sa.update(Person).values(home_opened_at=NOW))
        url = engine.url.render_as_string(hide_password=False)
        settings = Settings(
            bot_token=TOKEN, signing_secret=SECRET, api_url=emu.url, database_url=url
        )
        # the app opens its own engine from DATABASE_URL as in production (PostgreSQL: the
        # seeded schema's engine, for its search_path)
        extra = {"engine": engine} if args.database_url else {}
        handoff = build(settings, clock=clock, run_migrations=True, **extra)
        executor = handoff.app._listener_runner.listener_executor
        bench = Bench(args, emu, calls, users, handoff.services.later)
        with (
            Served(asgi(handoff, scheduler=False)) as real,
            Served(asgi(bare_handoff(emu), scheduler=False)) as bare,
        ):
            bench.slash(bare.url, "bare Bolt /handoff (ack only)", settle=False, opens=False)
            for mode in modes:
                settle = mode == "settled"
                bench.slash(real.url, "handoff /handoff start", settle=settle, opens=True)
                bench.submit(real.url, settle=settle)
        with handoff.services.engine.connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(Transition)).scalar()
        handoff.services.engine.dispose()

    workers = getattr(executor, "_max_workers", "?")
    print()
    print("ack latency: request sent -> whole HTTP response read (ms)")
    print(
        f"parameters: transitions={args.transitions} users={args.users} "
        f"history={'no' if args.no_history else 'yes'} requests={args.requests} "
        f"warmup={args.warmup} mode={args.mode} seed={args.seed}"
    )
    print(
        f"setup: db={db_desc}; app executor={type(executor).__name__}(max_workers={workers}) "
        f"(Bolt's default); uvicorn {'+'.join(['asgi()', 'Starlette'])} in a thread; "
        f"emulator and driver in the same process; python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs; seeding took {seed_s:.1f} s"
    )
    print(f"{version}; load average at start {load:.2f}")
    print()
    print(table(["scenario", "mode", "n", "p50", "p99", "max", "req/s", "target"], bench.rows))
    print("(req/s: requests answered per second in a back-to-back run, one client)")
    for settle, (published, changes) in bench.redraws.items():
        mode = "settled" if settle else "back-to-back"
        print(
            f"App Home redraws ({mode}): {published} views.publish for {changes} Homes changed "
            "(a Home changed again while its redraw waited is drawn once)"
        )
    print()
    bare_p99 = bench.p99["bare Bolt /handoff (ack only)/-"]
    for mode in modes:
        real_p99 = bench.p99[f"handoff /handoff start/{mode}"]
        ratio = real_p99 / bare_p99
        ok = "yes" if ratio <= TARGET_RATIO else "NO"
        print(
            f"ratio handoff-p99 / bare-p99 (/handoff start, {mode}): {real_p99:.1f} / "
            f"{bare_p99:.1f} = {ratio:.2f}  (target <= {TARGET_RATIO:g}x: {ok})"
        )
    expected = args.transitions + bench.submitted
    check = "ok" if total == expected and not bench.errors else "MISMATCH"
    print(
        f"check: {bench.submitted} submissions, transitions in db {total} "
        f"(expected {expected}), unexpected answers {sum(bench.errors.values())}: {check}"
    )
    for what, count in bench.errors.most_common(5):
        print(f"  {count} x {what}")
    print(f"total run time {time.perf_counter() - began:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
