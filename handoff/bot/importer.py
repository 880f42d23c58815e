"""Bulk import, shared by `handoff import` and the /handoff bulk modal: look people up in Slack,
check and stage the rows (flows.bulk), create the transitions in batches."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handoff.bot.services import Services
from handoff.bot.start import welcome_messages
from handoff.flows import bulk
from handoff.flows.plans import build_plan, steps
from handoff.flows.start import Person, account_key
from handoff.storage import bulk as stored
from handoff.storage import outbox, repo
from handoff.storage.db import session

log = logging.getLogger(__name__)
BATCH = 100
LOOKUP_THREADS = 8
FACING = sorted({s.key for p in (True, False) for s in steps(p) if s.customer_facing})
Progress = Callable[[int, int], None]


class LookupFailed(Exception):
    """Slack did not answer a people look-up (not: the person does not exist)."""


@dataclass
class Checked:
    """A checked file: the preview and the people it names (to be remembered on create)."""

    preview: bulk.Preview
    people: dict[str, Person] = field(default_factory=dict)


@dataclass
class Outcome:
    """What creating did: how many were created, and the rows that failed (with reasons)."""

    created: int = 0
    failures: list[bulk.RowError] = field(default_factory=list)
    transition_ids: list[int] = field(default_factory=list)


def lookup_emails(client: WebClient, addresses: Collection[str]) -> dict[str, str | None]:
    """users.lookupByEmail for each address, concurrently; None for an unknown address."""

    def one(address: str) -> str | None:
        try:
            return client.users_lookupByEmail(email=address)["user"]["id"]
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else ""
            if error in ("users_not_found", "user_not_found"):
                return None
            raise LookupFailed(f"users.lookupByEmail: {error or exc}") from exc
        except OSError as exc:
            raise LookupFailed(f"users.lookupByEmail: {exc}") from exc

    wanted = sorted(addresses)
    with ThreadPoolExecutor(max_workers=LOOKUP_THREADS, thread_name_prefix="email") as pool:
        return dict(zip(wanted, pool.map(one, wanted), strict=True))


def lookup(services: Services, client: WebClient, user_ids: Iterable[str]) -> dict[str, Person]:
    """users.info for these ids (Services.lookup_people), failures as LookupFailed."""
    try:
        return services.lookup_people(client, user_ids)
    except (SlackApiError, OSError) as exc:
        raise LookupFailed(f"users.info: {exc}") from exc


def check_file(
    services: Services,
    client: WebClient,
    data: str,
    *,
    team_id: str,
    today: date,
    wave_size: int,
) -> Checked:
    """Parse, resolve people, validate and stage a CSV text (creates nothing)."""
    parsed = bulk.parse_csv(data)
    by_email = lookup_emails(client, bulk.emails(parsed.rows))
    rows = bulk.resolve(parsed.rows, by_email)
    people = lookup(services, client, bulk.user_ids(rows))
    parsed = bulk.Parsed(rows=rows, errors=parsed.errors, total=parsed.total)
    owners = {r.new_owner for r in rows}
    with session(services.engine) as s:
        taken = repo.taken_accounts(s, team_id=team_id, keys=[account_key(r.account) for r in rows])
        booked = repo.customer_facing_load(s, user_ids=owners, milestones=FACING, since=today)
    preview = bulk.check(
        parsed,
        people=people,
        today=today,
        taken=taken,
        wave_size=wave_size,
        calendar=repo.calendar_for(services.settings.holiday_country),
        booked=booked,
    )
    return Checked(preview=preview, people=people)


def create(
    services: Services,
    checked: Checked,
    *,
    team_id: str,
    creator: str | None,
    today: date,
    now: datetime,
    progress: Progress | None = None,
    batch: int = BATCH,
) -> Outcome:
    """Create the staged transitions with their welcome messages, committing every `batch`.

    An account that got an open transition meanwhile fails alone (its row is reported, the
    batch goes on); the creator defaults to each row's manager (the CLI has no Slack user).
    """
    staged = checked.preview.staged
    out = Outcome()
    with session(services.engine) as s:
        repo.save_people(s, people=checked.people.values(), now=now)
        s.commit()
    for first in range(0, len(staged), batch):
        _create_batch(services, staged[first : first + batch], out, team_id, creator, today, now)
        if progress is not None:
            progress(min(first + batch, len(staged)), len(staged))
    return out


def _create_batch(
    services: Services,
    rows: list[bulk.Staged],
    out: Outcome,
    team_id: str,
    creator: str | None,
    today: date,
    now: datetime,
) -> None:
    """One batch in one transaction: two inserts for the transitions and their tasks, one for
    the welcome messages. An account with an open transition (one opened since the check
    included) is skipped by the insert itself and reported as its row's error."""
    country = services.settings.holiday_country
    calendar = repo.calendar_for(country)
    new = []
    for row in rows:
        req = row.request
        assert req.handoff_date is not None
        plan = build_plan(
            planned=req.planned,
            anchor=req.handoff_date,
            today=today,
            strategic=req.strategic,
            calendar=calendar,
        )
        new.append(stored.NewTransition(creator or req.manager or "", req, plan))
    welcome: list[outbox.Message] = []
    with session(services.engine) as s:
        created = stored.create_transitions(
            s, team_id=team_id, new=new, started_on=today, holiday_country=country, now=now
        )
        for row, t in zip(rows, created, strict=True):
            if t is None:
                log.info("bulk: %r got an open transition meanwhile", row.request.account)
                out.failures.append(bulk.RowError(row.line, "account", "account_taken"))
                continue
            out.transition_ids.append(t.id)
            welcome += welcome_messages(t, now)
        outbox.enqueue(s, messages=welcome)  # one insert per batch, in the same transaction
        s.commit()
    out.created = len(out.transition_ids)
