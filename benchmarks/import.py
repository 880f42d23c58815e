"""Bulk import throughput: `handoff import` of a generated 1,000-row CSV, rows per second.

Builds a temp SQLite database (the real schema) and an in-process Slack emulator with
--people workspace members, half of them named by email in the file (users.lookupByEmail) and
half by user id (users.info); writes --rows rows (distinct accounts, handoff dates spread over
the next months, waves of HANDOFF_WAVE_SIZE=3) and runs the CLI's own function
(`handoff.bot.import_cmd.run_import`: check, preview, create in batches with commits, welcome
outbox rows). Prints rows/s and the total time, and checks that every row was created.

Run: python benchmarks/import.py [--rows 1000] [--people 200]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sqlalchemy as sa  # noqa: E402

from benchmarks._common import code_version, table  # noqa: E402
from handoff.bot.import_cmd import ImportArgs, run_import  # noqa: E402
from handoff.emulator import SlackEmulator  # noqa: E402
from handoff.flows.plans import Kind  # noqa: E402
from handoff.settings import Settings  # noqa: E402
from handoff.storage.db import make_engine, migrate  # noqa: E402

TOKEN = "xoxb-bench"


def write_csv(path: str, rows: int, people: int, today: datetime, rng: random.Random) -> None:
    """The file: people by email (even numbers) or id (odd), dates 5 to 20 weeks ahead."""

    def who(n: int) -> str:
        return f"person{n:04d}@example.com" if n % 2 == 0 else f"U{n:07d}"

    lines = ["account,departing_owner,new_owner,manager,kind,planned,handoff_date,strategic"]
    kinds = [k.value for k in Kind]
    for i in range(rows):
        departing, new, manager = rng.sample(range(people), 3)
        day = (today + timedelta(days=rng.randint(35, 140))).date().isoformat()
        lines.append(
            f"Account {i:05d},{who(departing)},{who(new)},{who(manager)},"
            f"{rng.choice(kinds)},planned,{day},{str(rng.random() < 0.15).lower()}"
        )
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--people", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(7)
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp, SlackEmulator(token=TOKEN) as emu:
        for n in range(args.people):
            emu.add_user(f"U{n:07d}", f"p{n}", email=f"person{n:04d}@example.com")
        path = os.path.join(tmp, "accounts.csv")
        write_csv(path, args.rows, args.people, now, rng)
        url = f"sqlite:///{os.path.join(tmp, 'handoff.db')}"
        engine = make_engine(url)
        migrate(engine)
        settings = Settings(bot_token=TOKEN, api_url=emu.url, database_url=url)
        out = io.StringIO()
        started = time.perf_counter()
        status = run_import(settings, ImportArgs(path), out=out, engine=engine)
        seconds = time.perf_counter() - started
        with engine.connect() as conn:
            created = conn.execute(sa.text("SELECT count(*) FROM transition")).scalar_one()
        calls = len(emu.calls)
    print(code_version())
    print(f"rows={args.rows} people={args.people} (half by email) database=SQLite (temp file)")
    print(
        table(
            ["rows", "created", "exit", "Slack calls", "seconds", "rows/s"],
            [[args.rows, created, status, calls, seconds, args.rows / seconds]],
        )
    )
    print(f"import: {args.rows / seconds:.0f} rows/s ({seconds:.2f} s for {args.rows} rows)")
    if status != 0 or created != args.rows:
        print(out.getvalue()[-2000:])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
