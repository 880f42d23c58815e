"""The manager digest over 10,000 transitions: build time and message size.

The database holds the Seeder's realistic mix (open and closed transitions, tasks done and
overdue); every transition reports to one digest channel, a tenth carries a mistake flag, and
closed ones a CSAT. Measured: `bot.digest.build` (the queries, the totals and the risk order,
Block Kit), and the full list as Markdown. Target: the digest under 1 s. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import sqlalchemy as sa  # noqa: E402
from _common import (  # noqa: E402
    NOW,
    SECRET,
    TOKEN,
    Seeder,
    code_version,
    make_users,
    summary_ms,
    table,
    temp_database,
)

from handoff.bot import digest  # noqa: E402
from handoff.bot.services import Services  # noqa: E402
from handoff.flows import digest as dg  # noqa: E402
from handoff.messages import digest as md  # noqa: E402
from handoff.settings import Settings  # noqa: E402
from handoff.storage import digest as store  # noqa: E402
from handoff.storage.db import migrate, session  # noqa: E402
from handoff.storage.models import Flag, Metric, Transition  # noqa: E402

CHANNEL = "C0DIGEST"
KINDS = ("throw_over_wall", "ghost", "unprepared", "unclear_roles")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transitions", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    rng = random.Random(5)
    with temp_database(args.database_url) as (engine, where):
        migrate(engine)
        seeder = Seeder(engine, make_users(500, rng), history=False)
        seeder.add_people()
        t0 = time.perf_counter()
        seeder.add_transitions(args.transitions)
        with engine.begin() as conn:
            ids = [r[0] for r in conn.execute(sa.select(Transition.id, Transition.state))]
            conn.execute(
                sa.update(Transition).values(
                    digest_channel=CHANNEL, completeness=sa.literal(0) + (Transition.id * 7) % 101
                )
            )
            conn.execute(
                sa.update(Transition).where(Transition.state == "closed").values(closed_at=NOW)
            )
            flags = [
                {
                    "key": f"t{i}:{KINDS[i % 4]}",
                    "transition_id": i,
                    "kind": KINDS[i % 4],
                    "detail": "{}",
                    "raised_at": NOW,
                }
                for i in ids
                if i % 10 == 0
            ]
            conn.execute(sa.insert(Flag), flags)
            metrics = [
                {
                    "transition_id": i,
                    "name": "csat",
                    "value": json.dumps({"score": 3 + i % 3}),
                    "recorded_by": "U0",
                    "recorded_at": NOW,
                }
                for i in ids
                if i % 5 == 0
            ]
            conn.execute(sa.insert(Metric), metrics)
        seeded = time.perf_counter() - t0
        settings = Settings(bot_token=TOKEN, signing_secret=SECRET, database_url="sqlite://")
        services = Services(settings=settings, engine=engine, clock=lambda: NOW)

        def timed(fn, runs):
            fn()
            out = []
            for _ in range(runs):
                s = time.perf_counter()
                fn()
                out.append(time.perf_counter() - s)
            return out

        answer, rows = digest.build(services, f"c:{CHANNEL}", "en")
        size = len(json.dumps(answer).encode())

        def full():
            with session(engine) as s:
                rs = store.rows(s, now=NOW, today=NOW.date(), channel=CHANNEL)
            return md.full_list(rs, scope="#cs", names={}, today=NOW.date(), lang="en")

        results = []
        for name, fn in (
            (
                "digest (queries + totals + Block Kit)",
                lambda: digest.build(services, f"c:{CHANNEL}", "en"),
            ),
            ("  of which the rows (4 queries)", lambda: _rows(engine)),
            ("full list as Markdown", full),
        ):
            s = summary_ms(timed(fn, args.runs))
            results.append((name, s["n"], s["p50"], s["p99"], s["max"]))
        d = dg.build(rows, now=NOW, today=NOW.date())
        print(
            f"Digest of {len(rows)} transitions ({d.in_flight} in flight, "
            f"{d.at_risk_total} at risk, {sum(d.flags.values())} flags)"
        )
        print(f"database: {where}; seeded in {seeded:.1f} s; {code_version()}")
        print(f"load average at start: {os.getloadavg()[0]:.2f}")
        print(
            f"message: {len(answer['blocks'])} blocks (limit 50), {size / 1024:.1f} KiB JSON; "
            f"full list {len(full()) / 1024:.0f} KiB"
        )
        print(table(("what", "runs", "p50 ms", "p99 ms", "max ms"), results))
        print("target: the digest under 1 s")
    return 0


def _rows(engine):
    with session(engine) as s:
        return store.rows(s, now=NOW, today=NOW.date(), channel=CHANNEL)


if __name__ == "__main__":
    sys.exit(main())
