"""Escaping and truncation for Slack text, in one place each."""

from __future__ import annotations

import re

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")


def escape(text: str | None) -> str:
    """Escape user text for mrkdwn: &, < and > (so it can never ping or link)."""
    if not text:
        return ""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """Cut text to at most `limit` characters, marking the cut with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def user_ref(user_id: str | None) -> str:
    """A mention of a user id, or nothing when it is not a user id."""
    return f"<@{user_id}>" if user_id and _USER_ID.match(user_id) else ""


def channel_ref(channel_id: str | None) -> str:
    """A link to a channel id, or nothing when it is not a channel id."""
    return f"<#{channel_id}>" if channel_id and _CHANNEL_ID.match(channel_id) else ""


def chunks(text: str, limit: int) -> list[str]:
    """Split text into pieces of at most `limit` characters, at line ends where possible.

    Nothing is dropped: a line longer than `limit` is cut into several pieces, never inside an
    escaped entity such as `&amp;`.
    """
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            cut = limit
            amp = line.rfind("&", max(0, cut - 6), cut)
            if amp > 0 and ";" not in line[amp:cut]:
                cut = amp  # keep an entity whole
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:cut])
            line = line[cut:]
        candidate = f"{current}\n{line}" if current else line
        if current and len(candidate) > limit:
            pieces.append(current)
            current = line
        else:
            current = candidate
    if current or not pieces:
        pieces.append(current)
    return pieces
