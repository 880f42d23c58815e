"""`handoff import FILE.csv`: preview, then create the transitions; welcome DMs go out from the
outbox of the running `handoff serve`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Engine

from handoff.bot.importer import BATCH, LookupFailed, check_file, create
from handoff.bot.services import Clock, Services, utc_now
from handoff.flows.bulk import RowError
from handoff.messages import bulk as texts
from handoff.settings import ConfigError, Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportArgs:
    """The command line of `handoff import`."""

    path: str
    dry_run: bool = False
    valid_only: bool = False
    wave_size: int | None = None


def check_readable(path: str) -> None:
    """ConfigError naming the file when it cannot be opened (checked before the settings: a
    mistyped file name is the likelier mistake, and needs no Slack token to be told)."""
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None


def read_csv(path: str) -> str:
    """The file as text; ConfigError when it cannot be read, ValueError when not UTF-8."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    return raw.decode("utf-8")


def run_import(
    settings: Settings,
    args: ImportArgs,
    *,
    out: TextIO,
    engine: Engine | None = None,
    client: WebClient | None = None,
    clock: Clock = utc_now,
) -> int:
    """Run one import; 0 when everything asked for was created (or, dry, would be), else 1."""
    from handoff.bot.app import make_client
    from handoff.storage.db import make_engine, migrate

    settings.require("bot_token")
    lang, wave = settings.lang, args.wave_size or settings.wave_size
    if not 1 <= wave <= 100:
        raise ConfigError(f"--wave-size must be between 1 and 100, not {wave}")
    try:
        data = read_csv(args.path)
    except ValueError:
        print(texts.error_text(RowError(1, "file", "not_utf8"), lang, slack=False), file=out)
        return 1
    if engine is None:
        engine = make_engine(settings.database_url)
        migrate(engine)
    client = client or make_client(settings)
    services = Services(settings=settings, engine=engine, clock=clock, worker="import")
    now = clock()
    try:
        team = client.auth_test()["team_id"]
        checked = check_file(services, client, data, team_id=team, today=now.date(), wave_size=wave)
    except (SlackApiError, LookupFailed, OSError) as exc:
        print(f"handoff: import failed: Slack did not answer: {exc}", file=out)
        return 1
    preview = checked.preview
    for line in texts.preview_lines(preview, lang, wave, valid_only=args.valid_only):
        print(line, file=out)
    blocked = not preview.staged or (not preview.ok and not args.valid_only)
    if args.dry_run:
        print("\n" + texts.dry_run_line(lang), file=out)
        return 1 if blocked else 0
    if blocked:
        return 1

    def progress(done: int, total: int) -> None:
        if total > BATCH:
            print(texts.progress_line(done, total, lang), file=out, flush=True)

    result = create(
        services, checked, team_id=team, creator=None, today=now.date(), now=now, progress=progress
    )
    for failure in result.failures:
        print(texts.error_text(failure, lang, slack=False), file=out)
    print(texts.result_line(result.created, len(result.failures), lang), file=out)
    log.info("import of %s: %s created, %s failed", args.path, result.created, result.failures)
    return 1 if result.failures else 0
