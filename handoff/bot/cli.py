"""The `handoff` command line."""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys

from handoff.flows.plans import Kind
from handoff.settings import LANGS, ConfigError, Settings

DEMO = (
    "Runs one complete handoff, from its start to the step-back note (T+45 days), in "
    "simulated time (a few seconds) through the real app: signed requests into its HTTP server, "
    "Web API calls out to a built-in Slack emulator, the real scheduler every simulated hour, "
    "and the owners' simulated clicks. Uses a throw-away SQLite database; needs no Slack "
    "workspace and no network. Prints the transcript day by day."
)


def parser() -> argparse.ArgumentParser:
    """The command line: one sub-command per task, every option with its help."""
    top = argparse.ArgumentParser(prog="handoff", description="Account handoffs in Slack.")
    sub = top.add_subparsers(dest="cmd", required=True)
    p_serve = sub.add_parser("serve", help="serve Slack requests (HTTP, or Socket Mode)")
    p_serve.add_argument("--socket", action="store_true", help="use Socket Mode")
    sub.add_parser("migrate", help="bring the database schema up to date")
    p_demo = sub.add_parser(
        "demo",
        help="run one whole handoff against a built-in Slack emulator",
        description=DEMO,
    )
    p_demo.add_argument(
        "--json",
        action="store_true",
        help="instead of the transcript, print every Web API call the app made, one JSON object "
        'per line: {"at", "method", "args"}',
    )
    p_demo.add_argument(
        "--kind",
        default="rep_to_rep",
        choices=[k.value for k in Kind],
        help="the scenario: %(choices)s (default: %(default)s)",
    )
    p_demo.add_argument(
        "--unplanned",
        action="store_true",
        help="an unplanned departure: the plan starts today (default: planned, four weeks ahead)",
    )
    p_demo.add_argument(
        "--lang",
        default="en",
        choices=LANGS,
        help="language of the messages and of what the people type: %(choices)s "
        "(default: %(default)s)",
    )
    p_export = sub.add_parser("export", help="print an account's summary (knowledge, plan)")
    p_export.add_argument("account", help="the account name")
    p_export.add_argument(
        "--format",
        choices=["md", "json"],
        default="md",
        help="Markdown in HANDOFF_LANG, or JSON with the raw values: %(choices)s "
        "(default: %(default)s)",
    )
    p_import = sub.add_parser("import", help="create transitions in bulk from a CSV file")
    p_import.add_argument("file", help="CSV file (see README: Bulk import)")
    p_import.add_argument("--dry-run", action="store_true", help="only check and preview")
    p_import.add_argument("--valid-only", action="store_true", help="skip the rows with errors")
    p_import.add_argument("--wave-size", type=int, help="customer-facing milestones per week")
    return top


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    args = parser().parse_args(argv)

    logging.basicConfig(
        level=logging.INFO if args.cmd == "serve" else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # one line per tick is noise
    try:
        if args.cmd == "demo":
            from handoff.demo import run_demo

            return run_demo(
                kind=args.kind,
                planned=not args.unplanned,
                lang=args.lang,
                as_json=args.json,
                out=sys.stdout,
            )
        if args.cmd == "import":
            from handoff.bot.import_cmd import check_readable

            check_readable(args.file)
        settings = Settings.from_env()
        if args.cmd == "migrate":
            from handoff.storage.db import make_engine, migrate

            migrate(make_engine(settings.database_url))
            print("database schema is up to date")
            return 0
        if args.cmd == "export":
            from handoff.bot.export import run_export

            return run_export(settings, args.account, args.format, out=sys.stdout, err=sys.stderr)
        if args.cmd == "import":
            from handoff.bot.import_cmd import ImportArgs, run_import

            wanted = ImportArgs(args.file, args.dry_run, args.valid_only, args.wave_size)
            return run_import(settings, wanted, out=sys.stdout)
        if args.cmd == "serve":
            # Socket Mode requests come over the app token's connection, not signed HTTP
            settings.require("bot_token", "app_token" if args.socket else "signing_secret")
            from handoff.bot.app import build
            from handoff.bot.server import SocketModeUnavailable, serve

            worker = f"{socket.gethostname()[:40]}:{os.getpid()}"  # fits claimed_by
            try:
                serve(build(settings, worker=worker), port=settings.port, socket_mode=args.socket)
            except SocketModeUnavailable as exc:
                print(f"handoff: {exc}", file=sys.stderr)
                return 1
            return 0
    except BrokenPipeError:  # `handoff demo | head`: the reader left, which is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except ConfigError as exc:
        print(f"handoff: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # one clear line, never a traceback, for start-up failures
        logging.getLogger("handoff").debug("start-up failed", exc_info=True)
        print(f"handoff: {args.cmd} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
