"""Checking a request to start a transition; pure, so it is tested without Slack."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from handoff.flows.plans import Kind

ACCOUNT_MAX = 80
REASON_MAX = 500
NOTES_MAX = 2000
UNPLANNED_MAX_PAST_DAYS = 30
MAX_FUTURE_DAYS = 730  # two years: further out is a typo, not a plan


def account_key(account: str) -> str:
    """The name an account is unique by: case and inner white space folded."""
    return " ".join(account.split()).casefold()


def similar_accounts(typed: str, names: Iterable[str], *, most: int = 3) -> list[str]:
    """Accounts the user may have meant: names containing what was typed, then close spellings
    (difflib), each once, best first."""
    key = account_key(typed)
    by_key = {account_key(n): n for n in names}
    if not key:
        return []
    containing = [n for k, n in by_key.items() if key in k]
    close = difflib.get_close_matches(key, list(by_key), n=most, cutoff=0.6)
    return list(dict.fromkeys([*containing, *(by_key[k] for k in close)]))[:most]


@dataclass(frozen=True)
class StartRequest:
    """What the start modal (or an import row) asks for."""

    account: str
    departing_owner: str | None
    new_owner: str | None
    manager: str | None
    kind: str | None
    planned: bool
    handoff_date: date | None
    digest_channel: str | None = None
    strategic: bool = False
    reason: str = ""
    notes: str = ""


@dataclass(frozen=True)
class Person:
    """What Slack told us about a user (users.info)."""

    user_id: str
    found: bool = True
    is_bot: bool = False
    deleted: bool = False
    name: str = ""
    tz: str = ""
    locale: str = ""


PEOPLE_BLOCKS = ("departing_owner", "new_owner", "manager")


def validate_start(
    req: StartRequest, *, people: dict[str, Person], today: date, account_taken: bool
) -> dict[str, str]:
    """Error codes keyed by the start modal's block_id; empty when the request is valid."""
    errors: dict[str, str] = {}
    name = req.account.strip()
    if not name:
        errors["account"] = "account_empty"
    elif len(name) > ACCOUNT_MAX:
        errors["account"] = "account_too_long"
    elif account_taken:
        errors["account"] = "account_taken"
    for block in PEOPLE_BLOCKS:
        user = getattr(req, block)
        if not user:
            errors[block] = "person_missing"
            continue
        person = people.get(user)
        if person is None or not person.found:
            errors[block] = "person_unknown"
        elif person.is_bot or user == "USLACKBOT":
            errors[block] = "person_bot"
        elif person.deleted:
            errors[block] = "person_deactivated"
    if req.departing_owner and req.departing_owner == req.new_owner and "new_owner" not in errors:
        errors["new_owner"] = "same_owner"
    if req.kind not in set(Kind):
        errors["kind"] = "kind_missing"
    if req.handoff_date is None:
        errors["handoff_date"] = "date_missing"
    elif req.handoff_date > today + timedelta(days=MAX_FUTURE_DAYS):
        errors["handoff_date"] = "date_too_far"
    elif req.planned and req.handoff_date < today:
        errors["handoff_date"] = "date_past"
    elif not req.planned and req.handoff_date < today - timedelta(days=UNPLANNED_MAX_PAST_DAYS):
        errors["handoff_date"] = "start_too_old"
    if len(req.reason) > REASON_MAX:
        errors["reason"] = "too_long"
    if len(req.notes) > NOTES_MAX:
        errors["notes"] = "too_long"
    return errors
