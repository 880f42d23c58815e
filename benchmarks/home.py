"""App Home for a manager with 500 open transitions: build and publish, p50/p99.

The database holds 10,000 transitions (the Seeder's realistic mix); 500 open ones are moved to
one manager, and each of those gets a knowledge document (some sections filled, a few
stakeholders). The Web API is the in-process emulator, which answers at once. Measured:

* build: `views.home_for` (the queries, completeness of the page's documents, Block Kit);
* publish: `home.publish`, i.e. build plus `views.publish` over HTTP to the emulator;
* page 10: the same for a later page (offset queries).

Target: publish under 150 ms at p99. Prints figures; asserts nothing.
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
    add_users,
    code_version,
    make_users,
    summary_ms,
    table,
    temp_database,
)

from handoff.bot import home, views  # noqa: E402
from handoff.bot.app import build  # noqa: E402
from handoff.bot.services import Later  # noqa: E402
from handoff.demo import InlineExecutor, SimClock  # noqa: E402
from handoff.emulator import SlackEmulator  # noqa: E402
from handoff.flows import knowledge as kn  # noqa: E402
from handoff.flows.states import TERMINAL  # noqa: E402
from handoff.settings import Settings  # noqa: E402
from handoff.storage.db import migrate  # noqa: E402
from handoff.storage.models import KnowledgeSection, Stakeholder, Transition  # noqa: E402


def fill_documents(engine: sa.Engine, ids: list[int], rng: random.Random) -> None:
    """Some sections of each document filled, two or three stakeholders each."""
    sections, people = [], []
    for tid in ids:
        for sec in kn.SECTIONS:
            if rng.random() < 0.6:
                values = {f.key: f"{f.key} text" for f in sec.fields if f.type is kn.Type.TEXT}
                sections.append(
                    {
                        "transition_id": tid,
                        "section": sec.key,
                        "data": json.dumps(values),
                        "updated_at": NOW,
                        "updated_by": "U0",
                    }
                )
        for i in range(rng.randint(2, 3)):
            role = ("economic_sponsor", "champion", "user")[i]
            data = {"name": f"Person {i}", "title": "VP", "role": role, "trust": 4}
            people.append(
                {
                    "transition_id": tid,
                    "data": json.dumps(data),
                    "created_at": NOW,
                    "updated_at": NOW,
                    "updated_by": "U0",
                }
            )
    with engine.begin() as conn:
        conn.execute(sa.insert(KnowledgeSection), sections)
        conn.execute(sa.insert(Stakeholder), people)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transitions", type=int, default=10_000, help="in the database")
    parser.add_argument("--mine", type=int, default=500, help="open ones of the one manager")
    parser.add_argument("--runs", type=int, default=200, help="measured runs per row")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    rng = random.Random(11)
    users = make_users(500, rng)
    manager = users[0].user_id
    clock = SimClock(NOW)
    with (
        temp_database(args.database_url) as (engine, where),
        SlackEmulator(clock=clock, token=TOKEN) as emu,
    ):
        add_users(emu, users)
        migrate(engine)
        seeder = Seeder(engine, users, history=False)
        seeder.add_people()
        started = time.perf_counter()
        seeder.add_transitions(args.transitions)
        with engine.begin() as conn:
            open_ids = [
                r[0]
                for r in conn.execute(
                    sa.select(Transition.id)
                    .where(Transition.state.not_in(TERMINAL))
                    .order_by(Transition.id)
                    .limit(args.mine)
                )
            ]
            conn.execute(
                sa.update(Transition)
                .where(Transition.id.in_(open_ids))
                .values(manager=manager, creator=manager)
            )
        fill_documents(engine, open_ids, rng)
        seeded = time.perf_counter() - started
        settings = Settings(
            bot_token=TOKEN, signing_secret=SECRET, api_url=emu.url, database_url="sqlite://"
        )
        handoff = build(
            settings,
            engine=engine,
            clock=clock,
            executor=InlineExecutor(),
            later=Later(inline=True),
        )
        services, client = handoff.services, handoff.app.client
        lang = services.lang_for(manager)

        def timed(fn) -> list[float]:
            for _ in range(10):  # warm-up
                fn()
            out = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                fn()
                out.append(time.perf_counter() - t0)
            return out

        view = views.home_for(services, manager, lang)
        rows = []
        for name, fn in (
            ("build (views.home_for)", lambda: views.home_for(services, manager, lang)),
            ("publish (build + views.publish)", lambda: home.publish(client, services, [manager])),
            (
                "publish, page 10 of manager",
                lambda: home.publish(client, services, [manager], {"manager": 9}),
            ),
        ):
            s = summary_ms(timed(fn))
            rows.append((name, s["n"], s["p50"], s["p99"], s["max"]))
        print(f"App Home of a manager with {len(open_ids)} open transitions")
        print(
            f"database: {where}; {args.transitions} transitions seeded in {seeded:.1f} s; "
            f"{code_version()}"
        )
        print(f"load average at start: {os.getloadavg()[0]:.2f}")
        print(
            f"blocks in the view: {len(view['blocks'])} (Slack's limit: 100); "
            f"JSON size {len(json.dumps(view)) / 1024:.1f} KiB"
        )
        print(table(("what", "runs", "p50 ms", "p99 ms", "max ms"), rows))
        print("target: publish p99 under 150 ms with the Web API answering at once")
    return 0


if __name__ == "__main__":
    sys.exit(main())
