"""Turning Slack payloads into typed values."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from handoff.flows.start import StartRequest


def _element(values: dict[str, Any], block: str) -> dict[str, Any]:
    inner = values.get(block) or {}
    return next(iter(inner.values()), {}) if inner else {}


def _text(values: dict[str, Any], block: str) -> str:
    return (_element(values, block).get("value") or "").strip()


def _option(values: dict[str, Any], block: str) -> str | None:
    opt = _element(values, block).get("selected_option") or {}
    return opt.get("value")


def _date(values: dict[str, Any], block: str) -> date | None:
    raw = _element(values, block).get("selected_date")
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def start_request(view: dict[str, Any]) -> StartRequest:
    """The start modal's state as a StartRequest (server-side; Slack's checks are not trusted)."""
    v = view.get("state", {}).get("values", {})
    channel = _element(v, "digest_channel")
    checked = _element(v, "strategic").get("selected_options") or []
    return StartRequest(
        account=_text(v, "account"),
        departing_owner=_element(v, "departing_owner").get("selected_user"),
        new_owner=_element(v, "new_owner").get("selected_user"),
        manager=_element(v, "manager").get("selected_user"),
        kind=_option(v, "kind"),
        planned=(_option(v, "planned") or "planned") == "planned",
        handoff_date=_date(v, "handoff_date"),
        digest_channel=channel.get("selected_conversation") or channel.get("selected_channel"),
        strategic=any(o.get("value") == "strategic" for o in checked),
        reason=_text(v, "reason"),
        notes=_text(v, "notes"),
    )


_SLACK_ENTITY = re.compile(r"&(amp|lt|gt);")
_ENTITY_CHAR = {"amp": "&", "lt": "<", "gt": ">"}


def slack_unescape(text: str) -> str:
    """Text as typed: Slack sends `&`, `<` and `>` of a command's text as entities (one pass,
    so a typed `&amp;` comes back as `&amp;`)."""
    return _SLACK_ENTITY.sub(lambda m: _ENTITY_CHAR[m.group(1)], text)


def subcommand(text: str) -> tuple[str, str]:
    """'/handoff status Acme Corp' → ('status', 'Acme Corp'); 'AT&amp;T' → 'AT&T'."""
    parts = slack_unescape(text or "").strip().split(None, 1)
    if not parts:
        return "", ""
    return parts[0].lower(), (parts[1].strip() if len(parts) > 1 else "")


def note_text(view: dict[str, Any]) -> str:
    """The done modal's note."""
    return _text(view.get("state", {}).get("values", {}), "note")


def move_date(view: dict[str, Any]) -> date | None:
    """The move modal's new date."""
    return _date(view.get("state", {}).get("values", {}), "handoff_date")


def int_or_none(value: Any) -> int | None:
    """An id from a button value or metadata; None when it is not a number."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def view_meta(view: dict[str, Any]) -> dict[str, Any]:
    """A view's private_metadata as a dict ({} when it is missing or not ours)."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) else {}
