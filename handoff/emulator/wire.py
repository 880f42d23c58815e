"""What the emulator speaks: constants, recorded calls, errors, request parsing."""

from __future__ import annotations

import contextlib
import email.policy
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl

log = logging.getLogger(__name__)


BOT_ID = "B0001"
APP_ID = "A0001"
TEAM_NAME = "Emulator"
TEAM_DOMAIN = "emulator"
VERIFICATION_TOKEN = "emulator-verification-token"
FORM = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
_JSON_FIELDS = frozenset(
    {"attachments", "blocks", "files", "metadata", "unfurls", "user_auth_blocks", "view"}
)
# methods that take an app-level (xapp-) token instead of the bot token
_APP_TOKEN = frozenset({"apps.connections.open"})
_TRUE = frozenset({"1", "true", "yes", "on"})


def _utcnow() -> datetime:
    """Return the current time as a tz-aware UTC datetime."""
    return datetime.now(UTC)


def _truthy(value: Any) -> bool:
    """Interpret a Slack boolean argument (True, 1, "true", "1")."""
    if isinstance(value, str):
        return value.strip().lower() in _TRUE
    return bool(value)


def _ts_key(ts: Any) -> Decimal:
    """Turn a Slack ``ts`` string into a comparable number (invalid → ``invalid_ts``)."""
    try:
        return Decimal(str(ts))
    except InvalidOperation:
        raise _SlackError("invalid_ts_latest") from None


@dataclass(frozen=True)
class Call:
    """One request received by the emulator, in the order received."""

    method: str
    args: dict[str, Any]
    at: datetime
    failed: str | None = None


class _SlackError(Exception):
    """An ``{"ok": false, "error": ...}`` answer raised by a method handler."""

    def __init__(self, error: str, status: int = 200, headers: dict[str, str] | None = None):
        super().__init__(error)
        self.error = error
        self.status = status
        self.headers = headers or {}


@dataclass
class _Fault:
    """A fault-injection rule registered with ``SlackEmulator.fail``."""

    method: str
    error: str
    status: int
    retry_after: int | None
    times: int | None
    match: Callable[[dict[str, Any]], bool] | None


@dataclass
class _Reply:
    """An HTTP answer to write back to the client."""

    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


def _json_reply(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> _Reply:
    """Build a JSON HTTP answer."""
    return _Reply(status, json.dumps(payload).encode("utf-8"), headers=headers or {})


def _read_body(req: BaseHTTPRequestHandler) -> bytes:
    """Read a request body, honouring Content-Length or chunked transfer encoding."""
    if req.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks: list[bytes] = []
        while True:
            size = int(req.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                req.rfile.readline()
                return b"".join(chunks)
            chunks.append(req.rfile.read(size))
            req.rfile.readline()
    length = int(req.headers.get("Content-Length") or 0)
    return req.rfile.read(length) if length > 0 else b""


def _parse_multipart(body: bytes, content_type: str) -> dict[str, Any]:
    """Parse a multipart/form-data body: text fields as str, file fields as bytes."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    out: dict[str, Any] = {}
    if not message.is_multipart():
        raise _SlackError("invalid_form_data")
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        out[name] = data if part.get_filename() is not None else data.decode("utf-8")
    return out


def _parse_args(body: bytes, content_type: str, query: str) -> dict[str, Any]:
    """Parse Web API arguments from the query string and a form, multipart or JSON body."""
    args: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    kind = content_type.split(";")[0].strip().lower()
    if kind == JSON_TYPE:
        try:
            data = json.loads(body.decode("utf-8")) if body.strip() else {}
        except (UnicodeDecodeError, ValueError):
            raise _SlackError("invalid_json") from None
        if not isinstance(data, dict):
            raise _SlackError("invalid_json")
        args.update(data)
    elif kind == "multipart/form-data":
        args.update(_parse_multipart(body, content_type))
    elif body:
        try:
            args.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            raise _SlackError("invalid_form_data") from None
    for key in _JSON_FIELDS & args.keys():
        value = args[key]
        if isinstance(value, str) and value.strip()[:1] in ("{", "["):
            with contextlib.suppress(ValueError):
                args[key] = json.loads(value)
    return args
