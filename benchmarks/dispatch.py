"""Scheduler tick cost and dispatcher throughput over a big database.

Builds a temp SQLite database (the real schema, bulk inserts) with --transitions transitions
(tasks as build_plan gives them, people, and by default the outbox history of what was already
sent); every open transition's next_due_at lies in the future. Then, with the real app built by
`build()` and the Slack emulator answering at once (every recipient is a workspace member):

  (b) idle ticks, nothing due, at 10,000 and at --transitions transitions: median and max ms of
      `handoff.bot.scheduler.tick(handoff)` over --idle-reps repetitions (after one cold tick);
  (a) one busy tick that claims and sends --due pending milestone nudges (outbox rows due now,
      each for a distinct transition, payload {"task": <an open task of it>}): seconds and
      nudges/second, then a check that the emulator got exactly that many chat.postMessage
      calls (one per row key) and that every outbox row is 'sent';
  (c) memory during the busy tick: peak RSS of this process (VmHWM, reset just before the
      tick) and ru_maxrss; with --tracemalloc, a second busy tick (rows reset to pending) under
      tracemalloc for the peak of Python allocations.

When the busy tick sends fewer than 500 nudges/s (or with --profile), the rows of a sample are
reset to pending and one more tick runs under cProfile; the top functions are printed.

By default the emulator runs in a child process, so that this process (the app: scheduler and
dispatcher) has one core to itself and the figure is the dispatcher's own; --emulator thread
runs it in-process as the tests do (then it competes for the GIL).

Run: /work/venv/bin/python benchmarks/dispatch.py [--transitions 100000] [--due 10000]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import multiprocessing as mp
import os
import platform
import pstats
import random
import resource
import statistics
import sys
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sqlalchemy as sa  # noqa: E402
from _common import (  # noqa: E402
    NOW,
    SECRET,
    TOKEN,
    Seeder,
    User,
    add_users,
    code_version,
    make_users,
    new_database,
    table,
    temp_database,
)

from handoff.bot.app import build  # noqa: E402
from handoff.bot.scheduler import tick  # noqa: E402
from handoff.demo import SimClock  # noqa: E402
from handoff.emulator import SlackEmulator  # noqa: E402
from handoff.settings import Settings  # noqa: E402
from handoff.storage.models import Outbox  # noqa: E402

TARGET_RATE = 500.0
TARGET_IDLE_MS = 20.0
ROOT = str(Path(__file__).resolve().parent.parent)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """The module docstring as written, and the defaults of the options."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--transitions", type=int, default=100_000, help="transitions in the db")
    p.add_argument("--due", type=int, default=10_000, help="pending nudges for the busy tick")
    p.add_argument(
        "--users", type=int, default=0, help="workspace members (0: transitions/20, at least 500)"
    )
    p.add_argument("--idle-reps", type=int, default=20, help="idle ticks timed per size")
    p.add_argument(
        "--emulator",
        choices=("process", "thread"),
        default="process",
        help="run the Slack emulator in a child process or in this process",
    )
    p.add_argument("--no-history", action="store_true", help="no sent outbox rows in the seed")
    p.add_argument("--profile", action="store_true", help="profile a busy tick whatever its rate")
    p.add_argument("--profile-rows", type=int, default=1000, help="nudges in the profiled tick")
    p.add_argument(
        "--tracemalloc",
        type=int,
        nargs="?",
        const=-1,
        default=None,
        metavar="N",
        help="one more busy tick under tracemalloc, re-sending N of the nudges (all when N is "
        "left out; about 2.5x slower than the timed tick)",
    )
    p.add_argument(
        "--database-url",
        default="",
        help="PostgreSQL URL to use a fresh schema there instead of a temp SQLite file",
    )
    p.add_argument("--seed", type=int, default=7, help="random seed")
    return p.parse_args(argv)


# -- the emulator, in a child process or in this one ------------------------------------------


def emulator_summary(emu: SlackEmulator) -> dict[str, Any]:
    """What the emulator recorded: chat.postMessage calls, their outcomes and row keys."""
    calls = emu.calls
    posts = [c for c in calls if c.method == "chat.postMessage"]
    keys = [
        ((c.args.get("metadata") or {}).get("event_payload") or {}).get("key")
        for c in posts
        if not c.failed
    ]
    return {
        "posts": len(posts),
        "failed": Counter(c.failed for c in posts if c.failed),
        "keys": keys,
        "methods": Counter(c.method for c in calls),
    }


def _emulator_child(conn: Any, users: list[User]) -> None:
    logging.disable(logging.CRITICAL)
    with SlackEmulator(token=TOKEN) as emu:
        add_users(emu, users)
        conn.send(emu.url)
        while True:
            command = conn.recv()
            if command == "summary":
                conn.send(emulator_summary(emu))
            elif command == "clear":
                emu.clear_calls()
                conn.send(None)
            else:
                conn.send(None)
                return


class Emulator:
    """The Slack emulator with the users, in a child process or in this process."""

    def __init__(self, users: list[User], *, process: bool, clock: Any) -> None:
        self.process = process
        if process:
            ctx = mp.get_context("fork")  # before any thread of ours exists
            self.conn, child = ctx.Pipe()
            self.proc = ctx.Process(target=_emulator_child, args=(child, users), daemon=True)
            self.proc.start()
            self.url = self.conn.recv()
        else:
            self.emu = SlackEmulator(clock=clock, token=TOKEN).start()
            add_users(self.emu, users)
            self.url = self.emu.url

    def _ask(self, command: str) -> Any:
        self.conn.send(command)
        return self.conn.recv()

    def summary(self) -> dict[str, Any]:
        return self._ask("summary") if self.process else emulator_summary(self.emu)

    def clear(self) -> None:
        if self.process:
            self._ask("clear")
        else:
            self.emu.clear_calls()

    def stop(self) -> None:
        if self.process:
            self._ask("stop")
            self.proc.join(timeout=10)
        else:
            self.emu.stop()


# -- measurements -------------------------------------------------------------------------------


def rss_kb(field: str) -> int:
    """VmRSS / VmHWM of this process in kB (0 when /proc is not there)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux: clear_refs 5)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def idle_ticks(handoff: Any, reps: int) -> dict[str, float]:
    """One cold tick, then `reps` timed ones; all must send nothing."""
    started = time.perf_counter()
    sent = tick(handoff)
    cold = time.perf_counter() - started
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        sent += tick(handoff)
        times.append(time.perf_counter() - started)
    if sent:
        raise SystemExit(f"an idle tick sent {sent} messages: the seed is not idle")
    return {
        "cold": cold * 1000,
        "median": statistics.median(times) * 1000,
        "max": max(times) * 1000,
    }


def reset_pending(engine: Any, ids: list[int]) -> None:
    """Put sent rows back to pending, as they were before the busy tick."""
    table = Outbox.__table__
    with engine.begin() as conn:
        for i in range(0, len(ids), 5000):
            conn.execute(
                sa.update(table)
                .where(table.c.id.in_(ids[i : i + 5000]))
                .values(
                    status="pending",
                    attempts=0,
                    lease_until=None,
                    claimed_by=None,
                    sent_at=None,
                    channel=None,
                    ts=None,
                    uncertain=False,
                    last_error=None,
                )
            )


def statuses(engine: Any, ids: list[int] | None = None) -> Counter[str]:
    """Outbox rows per status (of these ids, or of all rows)."""
    table = Outbox.__table__
    out: Counter[str] = Counter()
    with engine.connect() as conn:
        if ids is None:
            stmt = sa.select(table.c.status, sa.func.count()).group_by(table.c.status)
            out.update(dict(conn.execute(stmt).all()))
            return out
        for i in range(0, len(ids), 5000):
            stmt = (
                sa.select(table.c.status, sa.func.count())
                .where(table.c.id.in_(ids[i : i + 5000]))
                .group_by(table.c.status)
            )
            out.update(dict(conn.execute(stmt).all()))
    return out


def where(file: str, line: int, func: str) -> str:
    """A short file:line(function) for a profile entry."""
    if file.startswith(ROOT):
        file = file[len(ROOT) + 1 :]
    elif "site-packages/" in file:
        file = file.split("site-packages/", 1)[1]
    elif "/lib/python" in file:
        file = "stdlib/" + file.split("/lib/python", 1)[1].split("/", 1)[1]
    return f"{file}:{line}({func})"


# the steps of one send, as (file suffix, function) in the profile
STEPS = {
    "outbox.claim (batches of the tick)": ("handoff/storage/outbox.py", "claim"),
    "outbox.renew (lease, before sending)": ("handoff/storage/outbox.py", "renew"),
    "Dispatcher.render (3 queries + Block Kit)": ("handoff/bot/dispatch.py", "render"),
    "  repo.tasks": ("handoff/storage/repo.py", "tasks"),
    "  repo.people": ("handoff/storage/repo.py", "people"),
    "  blocks.nudge": ("handoff/messages/blocks.py", "nudge"),
    "WebClient.chat_postMessage (HTTP to emulator)": (
        "slack_sdk/web/client.py",
        "chat_postMessage",
    ),
    "outbox.mark_sent": ("handoff/storage/outbox.py", "mark_sent"),
    "Session.commit (all commits)": ("sqlalchemy/orm/session.py", "commit"),
}


def library(file: str) -> str:
    """The package a profiled function belongs to."""
    if file.startswith(os.path.join(ROOT, "handoff")):
        return "handoff"
    if "site-packages/" in file:
        return file.split("site-packages/", 1)[1].split("/", 1)[0]
    if "/lib/python" in file:
        return "stdlib: " + file.split("/lib/python", 1)[1].split("/", 2)[1].removesuffix(".py")
    return file


def print_profile(profile: cProfile.Profile, sent: int, seconds: float, top: int = 18) -> None:
    stats = pstats.Stats(profile, stream=io.StringIO())
    entries = [(k, v) for k, v in stats.stats.items()]  # type: ignore[attr-defined]
    total = sum(v[2] for _, v in entries)
    print(
        f"\nprofile of a busy tick: {sent} nudges in {seconds:.2f} s under cProfile "
        f"(~{seconds / max(sent, 1) * 1000:.2f} ms per nudge; profiler overhead included)"
    )
    print("\ntop functions by own time (tottime):")
    rows = []
    for (file, line, func), (_cc, nc, tt, ct, _callers) in sorted(
        entries, key=lambda e: e[1][2], reverse=True
    )[:top]:
        rows.append(
            [f"{tt:.2f}", f"{100 * tt / total:.1f}%", f"{ct:.2f}", nc, where(file, line, func)]
        )
    print(table(["tottime s", "share", "cumtime s", "calls", "function"], rows))
    print("\nown time (tottime) by library:")
    groups: Counter[str] = Counter()
    for (file, _line, func), v in entries:
        groups[library(file) if file != "~" else f"C: {func}"] += v[2]
    rows = [[f"{tt:.2f}", f"{100 * tt / total:.1f}%", name] for name, tt in groups.most_common(14)]
    print(table(["tottime s", "share", "library"], rows))
    print("\nwhere a nudge's time goes (cumtime of the steps of Dispatcher.send, per nudge):")
    rows = []
    for label, (suffix, func) in STEPS.items():
        found = [v[3] for (f, _l, fn), v in entries if fn == func and f.endswith(suffix)]
        ct = max(found, default=0.0)  # Session.commit wraps SessionTransaction.commit
        rows.append([label, f"{ct / max(sent, 1) * 1000:.2f}", f"{100 * ct / total:.1f}%"])
    print(table(["step", "ms/nudge", "share"], rows))
    print("\nhandoff's own functions by cumulative time (cumtime):")
    rows = []
    mine = [e for e in entries if e[0][0].startswith(os.path.join(ROOT, "handoff"))]
    for (file, line, func), (_cc, nc, _tt, ct, _callers) in sorted(
        mine, key=lambda e: e[1][3], reverse=True
    )[:top]:
        per = ct / nc * 1000 if nc else 0.0
        rows.append(
            [f"{ct:.2f}", f"{100 * ct / total:.1f}%", nc, f"{per:.3f}", where(file, line, func)]
        )
    print(table(["cumtime s", "share", "calls", "ms/call", "function"], rows))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    began = time.perf_counter()
    version, load = code_version(), os.getloadavg()[0]
    rng = random.Random(args.seed)
    n_users = args.users or max(500, args.transitions // 20)
    users = make_users(n_users, rng)
    clock = SimClock(NOW)
    emulator = Emulator(users, process=args.emulator == "process", clock=clock)
    results: dict[str, Any] = {}
    try:
        with temp_database(args.database_url) as (engine, db_desc):
            results = run(args, engine, emulator, users, rng, clock)
            results.update(db=db_desc, version=version, load=load)
    finally:
        emulator.stop()
    report(args, results, n_users, time.perf_counter() - began)
    return 0


def run(args: argparse.Namespace, engine: Any, emulator: Emulator, users: list[User],
        rng: random.Random, clock: SimClock) -> dict[str, Any]:  # fmt: skip
    r: dict[str, Any] = {"seed_s": 0.0, "idle": []}
    new_database(engine)
    seeder = Seeder(engine, users, now=NOW, rng=rng, history=not args.no_history)
    seeder.add_people()
    url = engine.url.render_as_string(hide_password=False)
    settings = Settings(
        bot_token=TOKEN, signing_secret=SECRET, api_url=emulator.url, database_url=url
    )
    extra = {"engine": engine} if args.database_url else {}
    handoff = build(settings, clock=clock, run_migrations=True, **extra)
    app_engine = handoff.services.engine

    for size in sorted({min(10_000, args.transitions), args.transitions}):
        r["seed_s"] += seeder.add_transitions(size - seeder.transitions)
        r["idle"].append(
            (f"{size:,} transitions, nothing due", idle_ticks(handoff, args.idle_reps))
        )
    r["outbox_before"] = seeder.outbox_rows
    r["tasks"] = seeder.tasks
    started = time.perf_counter()
    due_ids = seeder.add_due_nudges(args.due)
    r["seed_s"] += time.perf_counter() - started

    # (a) + (c): the busy tick
    rusage_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss_before = rss_kb("VmRSS")
    hwm_ok = reset_peak_rss()
    cpu = time.process_time()
    started = time.perf_counter()
    sent = tick(handoff)
    r["busy_s"] = time.perf_counter() - started
    r["busy_cpu_s"] = time.process_time() - cpu
    r["sent"] = sent
    r["rss_before_mb"] = rss_before / 1024
    r["rss_peak_mb"] = rss_kb("VmHWM") / 1024 if hwm_ok else float("nan")
    r["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    r["maxrss_before_mb"] = rusage_before / 1024

    # the check
    summary = emulator.summary()
    due_keys = set()
    with app_engine.connect() as conn:
        table_ = Outbox.__table__
        for i in range(0, len(due_ids), 5000):
            due_keys.update(
                k
                for (k,) in conn.execute(
                    sa.select(table_.c.key).where(table_.c.id.in_(due_ids[i : i + 5000]))
                )
            )
    r["check"] = {
        "posts": summary["posts"],
        "failed": sum(summary["failed"].values()),
        "distinct_keys": len(set(summary["keys"])),
        "keys_match": set(summary["keys"]) == due_keys,
        "due_status": statuses(app_engine, due_ids),
        "all_status": statuses(app_engine),
        "methods": summary["methods"],
    }

    # (b) again: idle after the busy tick (the sent rows stay in the outbox)
    r["idle"].append(
        (
            f"{args.transitions:,} transitions, after the busy tick",
            idle_ticks(handoff, args.idle_reps),
        )
    )

    rate = sent / r["busy_s"] if r["busy_s"] else 0.0
    r["rate"] = rate
    if args.profile or rate < TARGET_RATE:
        sample = due_ids[: min(args.profile_rows, len(due_ids))]
        reset_pending(app_engine, sample)
        emulator.clear()
        profile = cProfile.Profile()
        started = time.perf_counter()
        profile.enable()
        p_sent = tick(handoff)
        profile.disable()
        r["profile"] = (profile, p_sent, time.perf_counter() - started)
    if args.tracemalloc is not None:
        count = len(due_ids) if args.tracemalloc < 0 else min(args.tracemalloc, len(due_ids))
        reset_pending(app_engine, due_ids[:count])
        emulator.clear()
        tracemalloc.start()
        started = time.perf_counter()
        t_sent = tick(handoff)
        t_s = time.perf_counter() - started
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        r["tracemalloc"] = (t_sent, t_s, current / 2**20, peak / 2**20)
    app_engine.dispose()
    return r


def report(args: argparse.Namespace, r: dict[str, Any], n_users: int, total_s: float) -> None:
    print()
    print("dispatch: scheduler tick over a big database")
    print(
        f"parameters: transitions={args.transitions} due={args.due} users={n_users} "
        f"history={'no' if args.no_history else 'yes'} idle-reps={args.idle_reps} "
        f"emulator={args.emulator} seed={args.seed}"
    )
    print(
        f"setup: db={r['db']}; {r['tasks']:,} tasks, {r['outbox_before']:,} outbox rows before "
        f"the nudges; seeding took {r['seed_s']:.1f} s; python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs"
    )
    print(f"{r['version']}; load average at start {r['load']:.2f}")
    print("\n(b) idle tick: plan() + dispatcher.tick(), nothing due (ms)")
    rows = [
        [name, f["cold"], f["median"], f["max"],
         f"<{TARGET_IDLE_MS:g}ms: {'yes' if f['median'] < TARGET_IDLE_MS else 'NO'}"]
        for name, f in r["idle"]
    ]  # fmt: skip
    print(table(["database", "cold", "median", "max", "target (median)"], rows))
    rate = r["rate"]
    print(f"\n(a) busy tick: claims and sends {args.due:,} due nudges")
    rows = [
        ["nudges sent (tick's return value)", r["sent"], ""],
        ["elapsed", f"{r['busy_s']:.2f} s", ""],
        ["CPU time of this process", f"{r['busy_cpu_s']:.2f} s", ""],
        ["throughput", f"{rate:.0f} nudges/s",
         f">={TARGET_RATE:g}/s: {'yes' if rate >= TARGET_RATE else 'NO'}"],
        ["per nudge", f"{1000 / rate:.2f} ms" if rate else "-", ""],
    ]  # fmt: skip
    print(table(["", "value", "target"], rows))
    print("\n(c) memory during the busy tick (this process)")
    rows = [
        ["RSS before the tick", f"{r['rss_before_mb']:.0f} MB"],
        ["peak RSS during the tick (VmHWM, reset before it)", f"{r['rss_peak_mb']:.0f} MB"],
        ["ru_maxrss after the tick (whole run)", f"{r['maxrss_mb']:.0f} MB"],
        ["ru_maxrss before the tick (seeding included)", f"{r['maxrss_before_mb']:.0f} MB"],
    ]
    if "tracemalloc" in r:
        t_sent, t_s, current, peak = r["tracemalloc"]
        rows.append(
            [f"tracemalloc peak, second busy tick ({t_sent} sent in {t_s:.1f} s)",
             f"{peak:.1f} MB (left allocated: {current:.1f} MB)"]
        )  # fmt: skip
    print(table(["", "value"], rows))
    c = r["check"]
    ok = (
        c["posts"] == args.due
        and c["failed"] == 0
        and c["distinct_keys"] == args.due
        and c["keys_match"]
        and r["sent"] == args.due
        and set(c["due_status"]) == {"sent"}
        and set(c["all_status"]) == {"sent"}
    )
    others = dict(c["methods"] - Counter({"chat.postMessage": c["posts"]}))
    print(
        f"\ncheck: emulator chat.postMessage calls={c['posts']} (failed {c['failed']}, distinct "
        f"row keys {c['distinct_keys']}, keys = the due rows' keys: {c['keys_match']}); "
        f"due rows by status {dict(c['due_status'])}; all outbox rows by status "
        f"{dict(c['all_status'])}; other calls {others}: {'ok' if ok else 'MISMATCH'}"
    )
    if "profile" in r:
        print_profile(*r["profile"])
    print(f"\ntotal run time {total_s:.1f} s")


if __name__ == "__main__":
    raise SystemExit(main())
