"""Shared by the benchmarks: a realistic database built fast, servers in threads, figures.

The database is filled through the real tables (the Alembic schema, SQLModel table objects)
with SQLAlchemy core ``insert()`` executemany in chunks; nothing goes through the ORM row by row.
"""

from __future__ import annotations

import contextlib
import http.client
import math
import os
import random
import statistics
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from handoff.bot.server import bind, server
from handoff.flows.calendar import WorkCalendar
from handoff.flows.plans import Kind, build_plan
from handoff.flows.start import account_key
from handoff.flows.states import after_completion
from handoff.storage.db import make_engine, migrate
from handoff.storage.models import Outbox, Person, Task, Transition

TEAM = "T0001"  # SlackDriver's default team
SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench"
# Monday 30 Nov 2026, 08:00 UTC (09:00 in Berlin), as in the tests
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
CHUNK = 5000

# (zone, locale, share): a European team with colleagues in the US and the UK
ZONES = (
    ("Europe/Berlin", "de-DE", 0.40),
    ("Europe/London", "en-GB", 0.20),
    ("America/New_York", "en-US", 0.25),
    ("America/Los_Angeles", "en-US", 0.10),
    ("Asia/Singapore", "en-US", 0.05),
)
FIRST = "Ada Ben Cleo Dana Emil Fay Gus Hana Ivo Jana Kai Lena Milo Nora Otto Pia Rafa Sara Tom Uma"
LAST = "Adler Berg Cruz Dietz Ek Falk Gomez Haas Ito Jung Klein Lund Meyer Novak Ortiz Park Roth"
WORDS = "Acme Apex Blue Bright Cedar Delta Echo Falcon Granite Harbor Iron Juniper Kestrel "
WORDS += "Lumen Maple Nimbus Orbit Pioneer Quartz River Summit Terra Union Vertex Willow Zenith"
SUFFIX = ("GmbH", "AG", "Inc.", "Ltd", "Corp", "SE", "Group", "Labs", "Systems", "Partners")


@dataclass(frozen=True)
class User:
    """A workspace member, both in the emulator and in the person table."""

    user_id: str
    handle: str
    real_name: str
    tz: str
    locale: str


def make_users(count: int, rng: random.Random) -> list[User]:
    """`count` users with Slack-like ids, names, zones and locales."""
    firsts, lasts = FIRST.split(), LAST.split()
    zones = [z for z, _, _ in ZONES]
    weights = [w for _, _, w in ZONES]
    locales = {z: loc for z, loc, _ in ZONES}
    out = []
    for i in range(1, count + 1):
        tz = rng.choices(zones, weights)[0]
        first, last = rng.choice(firsts), rng.choice(lasts)
        out.append(
            User(
                f"U{i:07d}X",
                f"{first.lower()}.{last.lower()}{i}",
                f"{first} {last}",
                tz,
                locales[tz],
            )
        )
    return out


def add_users(emu: Any, users: Sequence[User]) -> None:
    """Register the users with a SlackEmulator."""
    for u in users:
        emu.add_user(u.user_id, u.handle, real_name=u.real_name, tz=u.tz, locale=u.locale)


# -- the database ------------------------------------------------------------------------------


@contextlib.contextmanager
def temp_database(url: str | None) -> Iterator[tuple[Engine, str]]:
    """A fresh database: an SQLite file in a temp dir (default), or a fresh schema on the
    PostgreSQL server at `url` (dropped afterwards). Yields (engine, description)."""
    if not url:
        with tempfile.TemporaryDirectory(prefix="handoff-bench-") as tmp:
            path = os.path.join(tmp, "handoff.db")
            engine = make_engine(f"sqlite:///{path}")
            try:
                yield engine, f"sqlite (temp file {path}, WAL)"
            finally:
                engine.dispose()
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine, f"postgresql (schema {schema})"
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def _at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, dtime(hour), tzinfo=UTC)


def _memo(proc: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    """A column's bind processor, memoised (dates and times repeat a lot in bulk data)."""
    if proc is None:
        return lambda value: value
    cache: dict[Any, Any] = {}

    def process(value: Any) -> Any:
        try:
            return cache[value]
        except KeyError:
            out = cache[value] = proc(value)
            return out

    return process


class Bulk:
    """`insert()` of one real table, compiled once for the engine's dialect and run as
    executemany. Rows come as tuples in the order of `layout` (the columns the seeder writes),
    with values already in the form the columns' own bind processors produce. Columns the
    table has beyond the layout (added since this was written) get their default: NULL when
    nullable, else the column's scalar default; anything else is an error."""

    def __init__(self, engine: Engine, table: sa.Table, layout: str) -> None:
        self.names = [c.key for c in table.columns]
        given = layout.split()
        compiled = sa.insert(table).compile(dialect=engine.dialect, column_keys=self.names)
        self.sql = str(compiled)
        self.positional = compiled.positional
        if self.positional and list(compiled.positiontup or []) != self.names:
            raise RuntimeError(f"unexpected parameter order for {table.name}")
        gone = [n for n in given if n not in self.names]
        if gone:
            raise RuntimeError(f"table {table.name} has no column(s) {gone}: update the seeder")
        self.remap: list[tuple[int | None, Any]] | None = None
        if given != self.names:
            self.remap = []
            for column in table.columns:
                if column.key in given:
                    self.remap.append((given.index(column.key), None))
                    continue
                default = column.default
                if column.nullable:
                    value = None
                elif default is not None and getattr(default, "is_scalar", False):
                    proc = column.type._cached_bind_processor(engine.dialect)
                    value = proc(default.arg) if proc else default.arg
                else:
                    raise RuntimeError(f"{table.name}.{column.key} is new and needs a value")
                self.remap.append((None, value))

    def run(self, conn: sa.Connection, rows: list[tuple]) -> None:
        for i in range(0, len(rows), CHUNK):
            chunk = rows[i : i + CHUNK]
            if self.remap is not None:
                remap = self.remap
                chunk = [tuple(v if k is None else r[k] for k, v in remap) for r in chunk]
            if not self.positional:
                chunk = [dict(zip(self.names, r, strict=True)) for r in chunk]
            conn.exec_driver_sql(self.sql, chunk)


# the columns the seeder writes, in the order of its tuples
LAYOUT = {
    "transition": "id team_id account account_key departing_owner new_owner manager creator kind "
    "planned handoff_date started_on strategic reason notes digest_channel holiday_country state "
    "created_at updated_at closed_at next_due_at",
    "task": "id transition_id milestone seq role assignee due_on compressed done_at done_by note "
    "snoozed_until snoozes",
    "outbox": "id key transition_id recipient kind milestone payload due_at status attempts "
    "uncertain lease_until claimed_by last_error sent_at channel ts",
    "person": "user_id name tz locale lang is_bot deleted updated_at",
}


@dataclass
class Seeder:
    """Fills the real tables with transitions in bulk; keeps the id counters between calls.

    Each transition has the Task rows `build_plan` gives for its start day, a distinct account
    name and owners spread over the users (managers from the first tenth). Tasks due before
    today are done with probability `done_share`; the state follows from the completed
    milestones (closed when the whole plan is done). Every open transition's next_due_at lies
    in the future, so the scheduler has nothing to plan. With `history`, the outbox holds what
    would have gone out so far: a welcome DM per person and a milestone nudge per completed
    task (status sent).
    """

    engine: Engine
    users: list[User]
    now: datetime = NOW
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    history: bool = True
    done_share: float = 0.9
    managers_share: float = 0.1
    transitions: int = 0
    tasks: int = 0
    outbox_rows: int = 0
    open_ids: list[int] = field(default_factory=list)
    # transition id -> (task id, milestone, role, assignee) of its first open task
    open_task: dict[int, tuple[int, str, str, str]] = field(default_factory=dict)
    _plans: dict[tuple, list] = field(default_factory=dict)
    _states: dict[tuple, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        cut = max(1, int(len(self.users) * self.managers_share))
        self._managers = [u.user_id for u in self.users[:cut]]
        self._owners = [u.user_id for u in self.users[cut:]] or self._managers
        self._calendar = WorkCalendar()
        self._kinds = [k.value for k in Kind]
        self._words = WORDS.split()
        d = self.engine.dialect
        cols = Transition.__table__.c
        self.c_date = _memo(cols.handoff_date.type._cached_bind_processor(d))
        self.c_time = _memo(cols.created_at.type._cached_bind_processor(d))
        self.c_bool = _memo(cols.planned.type._cached_bind_processor(d))
        tables = (Transition.__table__, Task.__table__, Outbox.__table__, Person.__table__)
        self._bulk = {t.name: Bulk(self.engine, t, LAYOUT[t.name]) for t in tables}

    def add_people(self) -> None:
        """One person row per user (what users.info said)."""
        f, now = self.c_bool(False), self.c_time(self.now)
        rows = [(u.user_id, u.real_name, u.tz, u.locale, "", f, f, now) for u in self.users]
        with self.engine.begin() as conn:
            self._bulk["person"].run(conn, rows)

    def _plan(self, planned: bool, anchor: date, started: date, strategic: bool) -> list:
        key = (planned, anchor, started, strategic)
        plan = self._plans.get(key)
        if plan is None:
            plan = [
                (
                    p.milestone,
                    p.seq,
                    p.role.value,
                    p.due_on,
                    self.c_date(p.due_on),
                    self.c_bool(p.compressed),
                    self.c_time(_at(p.due_on, 15)),
                    self.c_time(_at(p.due_on)),
                )
                for p in build_plan(
                    planned=planned,
                    anchor=anchor,
                    today=started,
                    strategic=strategic,
                    calendar=self._calendar,
                )
            ]
            self._plans[key] = plan
        return plan

    def _state(self, milestones: tuple[str, ...], complete: tuple[bool, ...]) -> str:
        key = (milestones, complete)
        state = self._states.get(key)
        if state is None:
            state = "planning"
            for m, ok in zip(milestones, complete, strict=True):
                if ok:
                    state = after_completion(state, m, plan_done=False)
            if all(complete):
                state = "closed"
            self._states[key] = state
        return state

    def _one(self, tid: int, today: date, out: tuple[list, list, list]) -> None:
        rng, conv_t = self.rng, self.c_time
        transitions, tasks, outbox = out
        planned = rng.random() < 0.8
        strategic = rng.random() < 0.15
        if planned:  # handoff between 6 weeks ago and 8 weeks ahead, started 2-5 weeks before
            anchor = today + timedelta(days=rng.randint(-45, 56))
            started = min(today, anchor - timedelta(days=rng.randint(14, 35)))
        else:  # an unplanned transition starts on its anchor day, within the last month
            anchor = today - timedelta(days=rng.randint(0, 30))
            started = anchor
        manager = rng.choice(self._managers)
        departing, new = rng.sample(self._owners, 2)
        who = {"departing": departing, "new_owner": new, "manager": manager}
        created = _at(started) + timedelta(minutes=rng.randint(0, 480))
        by_milestone: dict[str, list[bool]] = {}
        open_task = None
        done_tasks = []
        for milestone, seq, role, due_on, due_s, compressed, done_at, nudged_at in self._plan(
            planned, anchor, started, strategic
        ):
            self.tasks += 1
            done = due_on < today and rng.random() < self.done_share
            assignee = who[role]
            tasks.append(
                (
                    self.tasks,
                    tid,
                    milestone,
                    seq,
                    role,
                    assignee,
                    due_s,
                    compressed,
                    done_at if done else None,
                    assignee if done else None,
                    "",
                    None,
                    0,
                )
            )
            by_milestone.setdefault(milestone, []).append(done)
            if done:
                done_tasks.append((self.tasks, milestone, role, assignee, nudged_at))
            elif open_task is None:
                open_task = (self.tasks, milestone, role, assignee)
        state = self._state(tuple(by_milestone), tuple(all(v) for v in by_milestone.values()))
        closed = state == "closed"
        account = f"{rng.choice(self._words)} {SUFFIX[tid % len(SUFFIX)]} {tid:06d}"
        created_s = conv_t(created)
        later = self.now + timedelta(minutes=rng.randint(60, 4320))
        transitions.append(
            (
                tid,
                TEAM,
                account,
                account_key(account),
                departing,
                new,
                manager,
                manager,
                rng.choice(self._kinds),
                self.c_bool(planned),
                self.c_date(anchor),
                self.c_date(started),
                self.c_bool(strategic),
                "",
                "",
                None,
                "",
                state,
                created_s,
                created_s,
                conv_t(self.now - timedelta(days=1)) if closed else None,
                None if closed else conv_t(later),
            )
        )
        if self.history:
            sent, t = "sent", self.c_bool(False)
            for user, role in {
                departing: "departing",
                new: "new_owner",
                manager: "manager",
            }.items():
                self.outbox_rows += 1
                outbox.append(
                    (
                        self.outbox_rows,
                        f"t{tid}:welcome:{user}",
                        tid,
                        user,
                        "welcome",
                        None,
                        f'{{"role": "{role}"}}',
                        created_s,
                        sent,
                        1,
                        t,
                        None,
                        "handoff",
                        None,
                        created_s,
                        "D" + user,
                        f"{created.timestamp():.6f}",
                    )
                )
            for task_id, milestone, role, user, at in done_tasks:
                self.outbox_rows += 1
                outbox.append(
                    (
                        self.outbox_rows,
                        f"t{tid}:{milestone}:{role}:{user}:milestone",
                        tid,
                        user,
                        "milestone",
                        milestone,
                        f'{{"task": {task_id}}}',
                        at,
                        sent,
                        1,
                        t,
                        None,
                        "handoff",
                        None,
                        at,
                        "D" + user,
                        f"{tid}.{task_id:06d}",
                    )
                )
        if not closed:
            self.open_ids.append(tid)
            if open_task is not None:
                self.open_task[tid] = open_task

    def add_transitions(self, count: int) -> float:
        """Insert `count` more transitions (with tasks and history); returns seconds taken."""
        started = time.perf_counter()
        today = self.now.date()
        with self.engine.begin() as conn:
            for first in range(0, count, CHUNK):
                out: tuple[list, list, list] = ([], [], [])
                for _ in range(min(CHUNK, count - first)):
                    self.transitions += 1
                    self._one(self.transitions, today, out)
                for name, rows in zip(("transition", "task", "outbox"), out, strict=True):
                    if rows:
                        self._bulk[name].run(conn, rows)
        self._fix_sequences()
        return time.perf_counter() - started

    def add_due_nudges(self, count: int, *, rng: random.Random | None = None) -> list[int]:
        """`count` pending milestone nudges, due now or up to an hour ago, each for a distinct
        open transition and its first open task (the assignee is the recipient); row ids."""
        rng = rng or self.rng
        candidates = [t for t in self.open_ids if t in self.open_task]
        if count > len(candidates):
            raise SystemExit(f"only {len(candidates)} open transitions to nudge, not {count}")
        chosen = sorted(rng.sample(candidates, count))
        rows, ids = [], []
        no = self.c_bool(False)
        for tid in chosen:
            task_id, milestone, role, user = self.open_task[tid]
            self.outbox_rows += 1
            ids.append(self.outbox_rows)
            due = self.c_time(self.now - timedelta(seconds=rng.randint(0, 3600)))
            rows.append(
                (
                    self.outbox_rows,
                    f"t{tid}:{milestone}:{role}:{user}:milestone",
                    tid,
                    user,
                    "milestone",
                    milestone,
                    f'{{"task": {task_id}}}',
                    due,
                    "pending",
                    0,
                    no,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                )
            )
        with self.engine.begin() as conn:
            self._bulk["outbox"].run(conn, rows)
        self._fix_sequences()
        return ids

    def _fix_sequences(self) -> None:
        """PostgreSQL: move the id sequences past the explicit ids (SQLite needs nothing)."""
        if self.engine.dialect.name != "postgresql":
            return
        with self.engine.begin() as conn:
            for table in ("transition", "task", "outbox"):
                conn.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
                    )
                )


def new_database(engine: Engine) -> None:
    """The schema, through the packaged Alembic migrations."""
    migrate(engine)


# -- HTTP ----------------------------------------------------------------------------------------


class Served:
    """An ASGI app under the production uvicorn server, in a thread, on 127.0.0.1:<free>."""

    def __init__(self, app: Any) -> None:
        self.sock = bind("127.0.0.1", 0)
        self.http = server(app, log_level="warning")
        self.thread = threading.Thread(
            target=self.http.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> Served:
        self.thread.start()
        while not self.http.started and self.thread.is_alive():
            time.sleep(0.005)
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.should_exit = True
        self.thread.join(timeout=30)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/slack/events"


class TimedTarget:
    """A SlackDriver target that posts over one keep-alive HTTP connection and records the
    wall time from sending the request to having read the whole response."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        parts = urllib.parse.urlsplit(url)
        self.host, self.port, self.path = parts.hostname, parts.port, parts.path
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None
        self.last: float = 0.0

    def __call__(self, body: str, headers: dict[str, str]) -> tuple[int, str]:
        data = body.encode("utf-8")
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                self.conn.connect()
            try:
                started = time.perf_counter()
                self.conn.request("POST", self.path, body=data, headers=headers)
                answer = self.conn.getresponse()
                text = answer.read().decode("utf-8", "replace")
                self.last = time.perf_counter() - started
                return answer.status, text
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


# -- figures ------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summary_ms(values: Sequence[float]) -> dict[str, float]:
    """p50, p99, max (and mean) in milliseconds of durations given in seconds."""
    return {
        "n": len(values),
        "p50": percentile(values, 50) * 1000,
        "p99": percentile(values, 99) * 1000,
        "max": max(values) * 1000,
        "mean": statistics.fmean(values) * 1000,
    }


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain text table, numbers right-aligned."""
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [all(_is_num(r[i]) for r in rows) for i in range(len(headers))]
    lines = []
    for n, r in enumerate(cells):
        parts = [
            c.rjust(w) if numeric[i] else c.ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _is_num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"
    return str(value)


def code_version() -> str:
    """Which code was measured: the git commit, and how many files under handoff/ differ."""
    import subprocess

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        head = subprocess.run(
            ["git", "-C", root, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", root, "status", "--porcelain", "--", "handoff"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return "code: unknown (no git)"
    return f"code: commit {head}" + (
        f" + {len(dirty)} changed file(s) in handoff/" if dirty else ""
    )


def wait_until(predicate: Callable[[], bool], timeout: float, step: float = 0.002) -> bool:
    """Poll `predicate` until it holds or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True
