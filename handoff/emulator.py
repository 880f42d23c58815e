"""In-process Slack emulator: a fake Web API server plus a driver that plays Slack towards the app.

``SlackEmulator`` serves the Web API on 127.0.0.1 (point ``slack_sdk.WebClient(base_url=emu.url)``
at it) and records every call. ``SlackDriver`` builds correctly signed requests (slash commands,
view submissions, block actions, events) the way Slack's servers would and posts them to the app.
"""

from __future__ import annotations

import contextlib
import copy
import email.policy
import json
import logging
import mimetypes
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from email.parser import BytesParser
from http.client import HTTPMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo

from slack_sdk.signature import SignatureVerifier

__all__ = [
    "APP_ID",
    "BOT_ID",
    "Call",
    "Response",
    "SlackDriver",
    "SlackEmulator",
    "sign",
    "view_state",
]

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
# methods answered whatever the token (apps.connections.open wants an app-level xapp token)
_ANY_TOKEN = frozenset({"apps.connections.open"})
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


class _Server(ThreadingHTTPServer):
    """A threading HTTP server that knows its emulator."""

    daemon_threads = True
    request_queue_size = 1024  # bursts of concurrent clients must not hit SYN retransmits

    def __init__(self, emulator: SlackEmulator):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.emulator = emulator


class _Handler(BaseHTTPRequestHandler):
    """Hands every request to the emulator."""

    server: _Server
    server_version = "SlackEmulator/1.0"

    def do_POST(self) -> None:
        """Serve a POST request."""
        self.server.emulator._serve(self)

    def do_GET(self) -> None:
        """Serve a GET request (Web API methods accept query arguments too)."""
        self.server.emulator._serve(self)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the per-request access log off stderr."""
        log.debug("emulator: " + format, *args)


class SlackEmulator:
    """An in-process fake of the Slack Web API that records every call."""

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] | None = None,
        token: str = "xoxb-emulator",
        team_id: str = "T0001",
        bot_user_id: str = "UBOT",
    ):
        self.clock: Callable[[], datetime] = clock or _utcnow
        self.token = token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.on_call: Callable[[Call], None] | None = None
        self._lock = threading.RLock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._calls: list[Call] = []
        self._faults: list[_Fault] = []
        self._seq = 0
        self._last_ts = 0
        self._users: dict[str, dict[str, Any]] = {}
        self._channels: dict[str, dict[str, Any]] = {}
        self._history: dict[str, list[dict[str, Any]]] = {}
        self._views: dict[str, dict[str, Any]] = {}
        self._external_views: dict[str, str] = {}
        self._trigger_views: dict[str, str] = {}
        self._last_opened: str | None = None
        self._homes: dict[str, dict[str, Any]] = {}
        self._files: dict[str, dict[str, Any]] = {}
        self._methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "api.test": self._api_test,
            "auth.test": self._auth_test,
            "users.info": self._users_info,
            "users.list": self._users_list,
            "users.lookupByEmail": self._users_lookup_by_email,
            "conversations.open": self._conversations_open,
            "conversations.info": self._conversations_info,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "files.info": self._files_info,
            "apps.connections.open": self._apps_connections_open,
        }
        self.add_channel("C0GENERAL", "general")

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> SlackEmulator:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread; return self."""
        if self._server is not None:
            raise RuntimeError("SlackEmulator already started")
        server = _Server(self)
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"slack-emulator-{server.server_address[1]}",
            daemon=True,
        )
        self._server, self._thread = server, thread
        thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join()

    def __enter__(self) -> SlackEmulator:
        """Start the emulator for a ``with`` block."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Stop the emulator at the end of a ``with`` block."""
        self.stop()

    @property
    def origin(self) -> str:
        """Return ``http://127.0.0.1:<port>`` of the running server."""
        if self._server is None:
            raise RuntimeError("SlackEmulator is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        """Return the Web API base URL to pass as ``WebClient(base_url=...)``."""
        return f"{self.origin}/api/"

    # -- recorded calls and fault injection ---------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """Return a snapshot of all recorded calls, in the order received."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        """Return the recorded calls of one method, in the order received."""
        with self._lock:
            return [c for c in self._calls if c.method == method]

    def clear_calls(self) -> None:
        """Forget all recorded calls."""
        with self._lock:
            self._calls.clear()

    def fail(
        self,
        method: str,
        *,
        error: str = "ratelimited",
        status: int = 200,
        retry_after: int | None = None,
        times: int | None = 1,
        match: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        """Answer the next ``times`` matching calls of ``method`` with an error (None: forever)."""
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 or None")
        with self._lock:
            self._faults.append(_Fault(method, error, status, retry_after, times, match))

    def clear_faults(self) -> None:
        """Remove all fault-injection rules."""
        with self._lock:
            self._faults.clear()

    # -- workspace fixtures and inspection -----------------------------------------------------

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        real_name: str | None = None,
        tz: str = "Europe/Berlin",
        locale: str = "en-US",
        is_bot: bool = False,
        deleted: bool = False,
        email: str | None = None,
    ) -> None:
        """Register (or replace) a workspace member."""
        ZoneInfo(tz)  # fail early on an unknown zone
        with self._lock:
            self._users[user_id] = {
                "id": user_id,
                "name": name,
                "real_name": real_name if real_name is not None else name,
                "tz": tz,
                "locale": locale,
                "is_bot": is_bot,
                "deleted": deleted,
                "email": email,
            }

    def add_channel(self, channel_id: str, name: str, *, is_private: bool = False) -> None:
        """Register a channel (C…/G…) that messages may be posted to."""
        with self._lock:
            self._channels[channel_id] = {
                "id": channel_id,
                "name": name,
                "is_private": is_private,
                "is_mpim": False,
            }

    def user(self, user_id: str) -> dict[str, Any] | None:
        """Return the ``users.info`` user object of a member, or None."""
        with self._lock:
            try:
                return self._user_object(user_id, include_locale=True)
            except _SlackError:
                return None

    def channel_name(self, channel_id: str) -> str:
        """Return the name Slack would report for a channel in interaction payloads."""
        with self._lock:
            known = self._channels.get(channel_id)
        if known is not None:
            return str(known["name"])
        return "directmessage" if channel_id.startswith("D") else "privategroup"

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Return copies of the messages posted to a channel (or user id's DM), oldest first."""
        with self._lock:
            if channel in self._users:
                channel = "D" + channel
            return copy.deepcopy(self._history.get(channel, []))

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """Return a copy of one stored message (with "channel"), or None."""
        for msg in self.messages(channel):
            if msg["ts"] == ts:
                return msg
        return None

    def view(self, view_id: str) -> dict[str, Any] | None:
        """Return the latest version of a modal view opened/pushed/updated by the app."""
        with self._lock:
            found = self._views.get(view_id)
            return copy.deepcopy(found) if found is not None else None

    def view_for_trigger(self, trigger_id: str | None = None) -> dict[str, Any] | None:
        """Return the latest version of the view opened for a trigger (or the latest opened)."""
        with self._lock:
            view_id = (
                self._last_opened if trigger_id is None else self._trigger_views.get(trigger_id)
            )
            return self.view(view_id) if view_id is not None else None

    def home(self, user_id: str) -> dict[str, Any] | None:
        """Return the latest App Home view published for a user, or None."""
        with self._lock:
            found = self._homes.get(user_id)
            return copy.deepcopy(found) if found is not None else None

    def uploaded_file(self, file_id: str) -> bytes:
        """Return the bytes uploaded for a file id (KeyError if nothing was uploaded)."""
        with self._lock:
            content = self._files[file_id]["content"]
        if content is None:
            raise KeyError(file_id)
        return bytes(content)

    def new_trigger_id(self) -> str:
        """Allocate a unique trigger id like Slack puts into interaction payloads."""
        return f"trig-{self._next_seq()}"

    def new_response_url(self) -> str:
        """Allocate a unique response_url served (and recorded) by this emulator."""
        return f"{self.origin}/response/{self._next_seq()}"

    def new_event_id(self) -> str:
        """Allocate a unique Events API event id."""
        return f"Ev{self._next_seq():010d}"

    # -- internals -------------------------------------------------------------------------------

    def _next_seq(self) -> int:
        """Return the next value of the emulator-wide counter."""
        with self._lock:
            self._seq += 1
            return self._seq

    def _now(self) -> datetime:
        """Return the clock's time, tz-aware (naive values are taken as UTC)."""
        now = self.clock()
        return now if now.tzinfo is not None else now.replace(tzinfo=UTC)

    def _epoch(self) -> int:
        """Return the clock's time in whole epoch seconds."""
        return int(self._now().timestamp())

    def _next_ts(self) -> str:
        """Return a unique, increasing message ts derived from the clock."""
        with self._lock:
            micros = (self._now() - _EPOCH) // _MICRO
            self._last_ts = max(micros, self._last_ts + 1)
            return f"{self._last_ts // 1_000_000}.{self._last_ts % 1_000_000:06d}"

    def _serve(self, req: _Handler) -> None:
        """Route one HTTP request, record it, run the on_call hook and answer it."""
        parts = urlsplit(req.path)
        path = parts.path
        call: Call | None = None
        try:
            body = _read_body(req)
        except (OSError, ValueError):
            reply = _Reply(400, b"bad request", "text/plain")
        else:
            if path.startswith("/api/"):
                call, reply = self._api_request(path[5:], req.headers, body, parts.query)
            elif path.startswith("/upload/"):
                reply = self._upload(path[8:], req.headers.get("Content-Type", ""), body)
            elif path.startswith("/response/"):
                call, reply = self._response_url(body)
            else:
                reply = _Reply(404, b"not found", "text/plain")
        hook = self.on_call
        if call is not None and hook is not None:
            try:
                hook(call)
            except Exception:
                log.debug("emulator: on_call hook raised; dropping the answer", exc_info=True)
                req.close_connection = True
                return
        try:
            req.send_response(reply.status)
            req.send_header("Content-Type", reply.content_type)
            req.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                req.send_header(name, value)
            req.end_headers()
            req.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _inject_fault(self, method: str, args: dict[str, Any]) -> None:
        """Raise the error of the first fault rule matching this call, consuming one use."""
        for fault in self._faults:
            if fault.method != method or (fault.match is not None and not fault.match(args)):
                continue
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
            headers: dict[str, str] = {}
            if fault.status == 429 or fault.retry_after is not None:
                headers["Retry-After"] = str(1 if fault.retry_after is None else fault.retry_after)
            raise _SlackError(fault.error, fault.status, headers)

    def _api_request(
        self, method: str, headers: HTTPMessage, body: bytes, query: str
    ) -> tuple[Call, _Reply]:
        """Answer one Web API call and record it."""
        args: dict[str, Any] = {}
        result: dict[str, Any] = {}
        error: str | None = None
        status, extra = 200, dict[str, str]()
        try:
            args = _parse_args(body, headers.get("Content-Type", ""), query)
        except _SlackError as exc:
            error = exc.error
        auth = headers.get("Authorization", "")
        token = auth[7:].strip() if auth.startswith("Bearer ") else args.get("token")
        with self._lock:
            try:
                if error is not None:
                    raise _SlackError(error)
                if token != self.token and method not in _ANY_TOKEN:
                    raise _SlackError("invalid_auth")
                self._inject_fault(method, args)
                handler = self._methods.get(method)
                if handler is None:
                    raise _SlackError("unknown_method")
                result = {"ok": True, **handler(args)}
            except _SlackError as exc:
                error, status, extra = exc.error, exc.status, exc.headers
            except Exception:
                log.exception("emulator: %s crashed", method)
                error, status = "internal_error", 500
            call = Call(method, args, self._now(), error)
            self._calls.append(call)
        payload = result if error is None else {"ok": False, "error": error}
        return call, _json_reply(payload, status, extra)

    def _response_url(self, body: bytes) -> tuple[Call, _Reply]:
        """Record a POST to a response_url handed out in an interaction payload."""
        args: dict[str, Any] = {}
        error: str | None = None
        status, extra = 200, dict[str, str]()
        with self._lock:
            try:
                try:
                    data = json.loads(body.decode("utf-8"))
                except (UnicodeDecodeError, ValueError):
                    raise _SlackError("invalid_payload", 400) from None
                if not isinstance(data, dict):
                    raise _SlackError("invalid_payload", 400)
                args = data
                self._inject_fault("response_url", args)
            except _SlackError as exc:
                error, status, extra = exc.error, exc.status, exc.headers
            call = Call("response_url", args, self._now(), error)
            self._calls.append(call)
        payload = {"ok": True} if error is None else {"ok": False, "error": error}
        return call, _json_reply(payload, status, extra)

    def _upload(self, file_id: str, content_type: str, body: bytes) -> _Reply:
        """Store the bytes POSTed to an upload URL from files.getUploadURLExternal."""
        if content_type.lower().startswith("multipart/form-data"):
            try:
                parts = _parse_multipart(body, content_type)
            except _SlackError:
                return _Reply(400, b"bad multipart body", "text/plain")
            files = [v for v in parts.values() if isinstance(v, bytes)]
            body = files[0] if files else b""
        with self._lock:
            record = self._files.get(file_id)
            if record is None:
                return _Reply(404, b"file not found", "text/plain")
            record["content"] = body
        return _Reply(200, b"OK", "text/plain; charset=utf-8")

    # -- helpers for method handlers -------------------------------------------------------------

    def _user_object(self, user_id: str, *, include_locale: bool) -> dict[str, Any]:
        """Build the users.info user object (``user_not_found`` for unknown ids)."""
        record = self._users.get(user_id)
        if record is None:
            raise _SlackError("user_not_found")
        local = self._now().astimezone(ZoneInfo(record["tz"]))
        offset = local.utcoffset() or timedelta(0)
        profile: dict[str, Any] = {
            "real_name": record["real_name"],
            "real_name_normalized": record["real_name"],
            "display_name": record["name"],
            "display_name_normalized": record["name"],
        }
        if record["email"] is not None:
            profile["email"] = record["email"]
        user: dict[str, Any] = {
            "id": user_id,
            "team_id": self.team_id,
            "name": record["name"],
            "real_name": record["real_name"],
            "deleted": record["deleted"],
            "is_bot": record["is_bot"],
            "is_app_user": False,
            "tz": record["tz"],
            "tz_label": local.tzname(),
            "tz_offset": int(offset.total_seconds()),
            "profile": profile,
        }
        if include_locale:
            user["locale"] = record["locale"]
        return user

    def _resolve_channel(self, channel: Any, *, posting: bool) -> str:
        """Map a channel or user id to a known channel id, or raise ``channel_not_found``."""
        channel = str(channel or "")
        if channel in self._channels:
            return channel
        if channel.startswith("D") and channel[1:] in self._users:
            user_id = channel[1:]
        elif channel in self._users:
            user_id = channel
        else:
            raise _SlackError("channel_not_found")
        if posting and self._users[user_id]["deleted"]:
            raise _SlackError("account_inactive")
        return "D" + user_id

    def _find_message(self, channel: str, ts: Any) -> dict[str, Any]:
        """Return the stored message with that ts, or raise ``message_not_found``."""
        for msg in self._history.get(channel, []):
            if msg["ts"] == str(ts):
                return msg
        raise _SlackError("message_not_found")

    @staticmethod
    def _public_message(msg: dict[str, Any], *, metadata: bool = True) -> dict[str, Any]:
        """Copy a stored message the way the Web API shows it (no channel key)."""
        out = {k: copy.deepcopy(v) for k, v in msg.items() if k != "channel"}
        if not metadata:
            out.pop("metadata", None)
        return out

    def _check_content(self, args: dict[str, Any]) -> None:
        """Validate text/blocks/metadata arguments of a message."""
        if not args.get("text") and not args.get("blocks") and not args.get("attachments"):
            raise _SlackError("no_text")
        if "blocks" in args and not isinstance(args["blocks"], list):
            raise _SlackError("invalid_blocks_format")
        if "metadata" in args and not isinstance(args["metadata"], dict):
            raise _SlackError("invalid_metadata_format")

    def _page(
        self, messages: list[dict[str, Any]], args: dict[str, Any], *, newest_first: bool
    ) -> dict[str, Any]:
        """Filter by oldest/latest, paginate by limit/cursor and shape a history answer."""
        oldest = _ts_key(args.get("oldest") or "0")
        latest = _ts_key(args["latest"]) if args.get("latest") else None
        inclusive = _truthy(args.get("inclusive", False))

        def within(msg: dict[str, Any]) -> bool:
            key = _ts_key(msg["ts"])
            if key < oldest or (key == oldest and not inclusive and oldest > 0):
                return False
            return latest is None or key < latest or (key == latest and inclusive)

        selected = [m for m in messages if within(m)]
        if newest_first:
            selected.reverse()
        try:
            limit = max(1, min(int(args.get("limit") or 100), 1000))
            cursor = str(args.get("cursor") or "")
            offset = int(cursor.removeprefix("next:")) if cursor else 0
        except ValueError:
            raise _SlackError("invalid_cursor") from None
        page = selected[offset : offset + limit]
        has_more = offset + limit < len(selected)
        metadata = _truthy(args.get("include_all_metadata", False))
        return {
            "messages": [self._public_message(m, metadata=metadata) for m in page],
            "has_more": has_more,
            "pin_count": 0,
            "response_metadata": {"next_cursor": f"next:{offset + limit}" if has_more else ""},
        }

    def _new_hash(self) -> str:
        """Return a fresh view hash."""
        return f"{self._epoch()}.{self._next_seq():08x}"

    def _view_arg(self, args: dict[str, Any]) -> dict[str, Any]:
        """Return the ``view`` argument as a dict or raise ``invalid_arguments``."""
        view = args.get("view")
        if not isinstance(view, dict) or "type" not in view:
            raise _SlackError("invalid_arguments")
        return copy.deepcopy(view)

    def _build_view(
        self, view: dict[str, Any], view_id: str, previous: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Complete a view definition with the fields Slack adds (id, hash, state, …)."""
        built = {
            "id": view_id,
            "team_id": self.team_id,
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "clear_on_close": False,
            "notify_on_close": False,
            **view,
            "state": previous["state"] if previous else {"values": {}},
            "hash": self._new_hash(),
            "root_view_id": previous["root_view_id"] if previous else view_id,
            "previous_view_id": previous.get("previous_view_id") if previous else None,
            "app_id": APP_ID,
            "app_installed_team_id": self.team_id,
            "bot_id": BOT_ID,
        }
        if built["external_id"]:
            self._external_views[built["external_id"]] = view_id
        return built

    def _file_object(self, record: dict[str, Any]) -> dict[str, Any]:
        """Build the file object answered by files.* methods."""
        content = record["content"]
        name = record["name"]
        return {
            "id": record["id"],
            "created": record["created"],
            "name": name,
            "title": record["title"],
            "mimetype": mimetypes.guess_type(name)[0] or "application/octet-stream",
            "filetype": name.rsplit(".", 1)[-1] if "." in name else "binary",
            "user": self.bot_user_id,
            "size": len(content) if content is not None else record["size"],
            "url_private": f"{self.origin}/files/{record['id']}/{name}",
            "channels": list(record["channels"]),
            "is_external": False,
        }

    # -- Web API methods -------------------------------------------------------------------------

    def _api_test(self, args: dict[str, Any]) -> dict[str, Any]:
        """api.test: echo the arguments."""
        return {"args": {k: v for k, v in args.items() if k != "token"}}

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        """auth.test: identify the bot token."""
        bot = self._users.get(self.bot_user_id)
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": TEAM_NAME,
            "user": bot["name"] if bot else "handoff",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        """users.info: one member, with locale when include_locale is set."""
        include_locale = _truthy(args.get("include_locale", False))
        return {"user": self._user_object(str(args.get("user", "")), include_locale=include_locale)}

    def _users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        """users.list: all members in one page."""
        include_locale = _truthy(args.get("include_locale", False))
        members = [self._user_object(uid, include_locale=include_locale) for uid in self._users]
        return {"members": members, "response_metadata": {"next_cursor": ""}}

    def _users_lookup_by_email(self, args: dict[str, Any]) -> dict[str, Any]:
        """users.lookupByEmail: find a member by (case-insensitive) email."""
        wanted = str(args.get("email", "")).strip().lower()
        for uid, record in self._users.items():
            if wanted and (record["email"] or "").lower() == wanted:
                return {"user": self._user_object(uid, include_locale=False)}
        raise _SlackError("users_not_found")

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        """conversations.open: the DM ("D" + user id) or group DM of the given users."""
        users = args.get("users", "")
        ids = users if isinstance(users, list) else str(users).split(",")
        ids = [str(u).strip() for u in ids if str(u).strip()]
        if not ids:
            if args.get("channel"):
                channel = self._resolve_channel(args["channel"], posting=False)
                return {"channel": {"id": channel}, "no_op": True, "already_open": True}
            raise _SlackError("users_list_not_supplied")
        for uid in ids:
            if uid not in self._users:
                raise _SlackError("user_not_found")
        if len(ids) == 1:
            channel = {"id": "D" + ids[0], "is_im": True, "user": ids[0], "created": self._epoch()}
            return {"no_op": False, "already_open": False, "channel": channel}
        members = sorted(set(ids))
        channel_id = "G" + "".join(members)
        if channel_id not in self._channels:
            names = "--".join(self._users[u]["name"] for u in members)
            self._channels[channel_id] = {
                "id": channel_id,
                "name": f"mpdm-{names}-1",
                "is_private": True,
                "is_mpim": True,
            }
        return {"no_op": False, "already_open": False, "channel": {"id": channel_id}}

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        """conversations.info: a minimal channel object for a known channel."""
        channel = self._resolve_channel(args.get("channel"), posting=False)
        base = {"id": channel, "created": self._epoch(), "is_archived": False, "is_member": True}
        known = self._channels.get(channel)
        if known is None:
            info = {**base, "is_im": True, "is_channel": False, "is_group": False}
            info.update({"is_private": True, "is_mpim": False, "user": channel[1:]})
            return {"channel": info}
        private = bool(known["is_private"])
        info = {**base, "name": known["name"], "is_im": False, "is_private": private}
        info.update({"is_channel": not private, "is_group": private, "is_mpim": known["is_mpim"]})
        return {"channel": info}

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        """conversations.history: top-level messages, newest first."""
        channel = self._resolve_channel(args.get("channel"), posting=False)
        top = [
            m
            for m in self._history.get(channel, [])
            if "thread_ts" not in m or m["thread_ts"] == m["ts"]
        ]
        return self._page(top, args, newest_first=True)

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        """conversations.replies: a thread's parent and replies, oldest first."""
        channel = self._resolve_channel(args.get("channel"), posting=False)
        ts = str(args.get("ts", ""))
        thread = [
            m for m in self._history.get(channel, []) if m["ts"] == ts or m.get("thread_ts") == ts
        ]
        if not thread:
            raise _SlackError("thread_not_found")
        return self._page(thread, args, newest_first=False)

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        """chat.postMessage: store a bot message in the channel's history."""
        channel = self._resolve_channel(args.get("channel"), posting=True)
        self._check_content(args)
        ts = self._next_ts()
        msg: dict[str, Any] = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": self.team_id,
            "text": str(args.get("text") or ""),
            "ts": ts,
        }
        for key in ("blocks", "attachments", "metadata"):
            if args.get(key):
                msg[key] = copy.deepcopy(args[key])
        thread_ts = args.get("thread_ts")
        if thread_ts:
            msg["thread_ts"] = str(thread_ts)
            for parent in self._history.get(channel, []):
                if parent["ts"] == str(thread_ts):
                    parent["thread_ts"] = parent["ts"]
                    parent["reply_count"] = parent.get("reply_count", 0) + 1
                    parent["latest_reply"] = ts
        msg["channel"] = channel
        self._history.setdefault(channel, []).append(msg)
        return {"channel": channel, "ts": ts, "message": self._public_message(msg)}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        """chat.update: replace text/blocks/metadata of a stored message."""
        channel = self._resolve_channel(args.get("channel"), posting=False)
        msg = self._find_message(channel, args.get("ts"))
        if "blocks" in args and not isinstance(args["blocks"], list):
            raise _SlackError("invalid_blocks_format")
        if "metadata" in args and not isinstance(args["metadata"], dict):
            raise _SlackError("invalid_metadata_format")
        if "text" in args:
            msg["text"] = str(args["text"] or "")
        for key in ("blocks", "attachments", "metadata"):
            if key in args:
                msg[key] = copy.deepcopy(args[key])
        msg["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        public = self._public_message(msg)
        return {"channel": channel, "ts": msg["ts"], "text": msg["text"], "message": public}

    def _chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        """chat.delete: remove a stored message."""
        channel = self._resolve_channel(args.get("channel"), posting=False)
        msg = self._find_message(channel, args.get("ts"))
        self._history[channel].remove(msg)
        return {"channel": channel, "ts": msg["ts"]}

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        """chat.postEphemeral: accept (not stored in history) and return a message_ts."""
        self._resolve_channel(args.get("channel"), posting=True)
        if str(args.get("user", "")) not in self._users:
            raise _SlackError("user_not_found")
        self._check_content(args)
        return {"message_ts": self._next_ts()}

    def _chat_get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        """chat.getPermalink: a permalink for a stored message."""
        channel = self._resolve_channel(args.get("channel"), posting=False)
        msg = self._find_message(channel, args.get("message_ts"))
        link = f"https://{TEAM_DOMAIN}.slack.com/archives/{channel}/p{msg['ts'].replace('.', '')}"
        return {"channel": channel, "permalink": link}

    def _open_view(self, args: dict[str, Any]) -> dict[str, Any]:
        """Shared body of views.open and views.push."""
        trigger_id = args.get("trigger_id")
        if not trigger_id:
            raise _SlackError("invalid_arguments")
        view_id = f"V{self._next_seq():09d}"
        built = self._build_view(self._view_arg(args), view_id)
        self._views[view_id] = built
        self._trigger_views[str(trigger_id)] = view_id
        self._last_opened = view_id
        return {"view": copy.deepcopy(built)}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        """views.open: open a modal for a trigger."""
        return self._open_view(args)

    def _views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        """views.push: push a modal onto the stack for a trigger."""
        return self._open_view(args)

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        """views.update: replace a modal by view_id or external_id, honouring hash."""
        view_id = args.get("view_id") or self._external_views.get(str(args.get("external_id")))
        previous = self._views.get(str(view_id))
        if previous is None:
            raise _SlackError("not_found")
        if args.get("hash") and args["hash"] != previous["hash"]:
            raise _SlackError("hash_conflict")
        built = self._build_view(self._view_arg(args), previous["id"], previous)
        self._views[previous["id"]] = built
        return {"view": copy.deepcopy(built)}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        """views.publish: store a user's App Home view."""
        user_id = str(args.get("user_id") or "")
        view = self._view_arg(args)
        if not user_id or view.get("type") != "home":
            raise _SlackError("invalid_arguments")
        previous = self._homes.get(user_id)
        if previous is not None and args.get("hash") and args["hash"] != previous["hash"]:
            raise _SlackError("hash_conflict")
        view_id = previous["id"] if previous else f"V{self._next_seq():09d}"
        built = self._build_view(view, view_id, previous)
        self._homes[user_id] = built
        return {"view": copy.deepcopy(built)}

    def _files_get_upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        """files.getUploadURLExternal: reserve a file id and an upload URL."""
        filename = str(args.get("filename") or "")
        try:
            length = int(args.get("length", ""))
        except ValueError:
            raise _SlackError("invalid_arguments") from None
        if not filename:
            raise _SlackError("invalid_arguments")
        file_id = f"F{self._next_seq():09d}"
        self._files[file_id] = {
            "id": file_id,
            "name": filename,
            "title": filename,
            "size": length,
            "content": None,
            "channels": [],
            "initial_comment": None,
            "created": self._epoch(),
        }
        return {"upload_url": f"{self.origin}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        """files.completeUploadExternal: finish uploads and share them to a channel."""
        files = args.get("files")
        if not isinstance(files, list) or not all(isinstance(f, dict) for f in files):
            raise _SlackError("invalid_arguments")
        records = []
        for item in files:
            record = self._files.get(str(item.get("id")))
            if record is None:
                raise _SlackError("file_not_found")
            records.append((record, item))
        targets = args.get("channels") or args.get("channel_id") or ""
        names = targets if isinstance(targets, list) else str(targets).split(",")
        channels = [self._resolve_channel(c.strip(), posting=True) for c in names if c.strip()]
        comment = args.get("initial_comment")
        for record, item in records:
            if item.get("title"):
                record["title"] = str(item["title"])
            record["channels"] = sorted(set(record["channels"]) | set(channels))
            record["initial_comment"] = comment
        shared = [self._file_object(record) for record, _ in records]
        for channel in channels:
            msg: dict[str, Any] = {
                "type": "message",
                "user": self.bot_user_id,
                "bot_id": BOT_ID,
                "text": str(comment or ""),
                "files": copy.deepcopy(shared),
                "upload": True,
                "ts": self._next_ts(),
                "channel": channel,
            }
            if args.get("thread_ts"):
                msg["thread_ts"] = str(args["thread_ts"])
            self._history.setdefault(channel, []).append(msg)
        return {"files": shared}

    def _files_info(self, args: dict[str, Any]) -> dict[str, Any]:
        """files.info: the file object of an uploaded file."""
        record = self._files.get(str(args.get("file", "")))
        if record is None:
            raise _SlackError("file_not_found")
        return {"file": self._file_object(record)}

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        """apps.connections.open: Socket Mode is not emulated."""
        raise _SlackError("not_allowed_token_type")


# -- the driver: plays Slack's side towards the app ---------------------------------------------


@dataclass(frozen=True)
class Response:
    """The app's HTTP answer to a request sent by the driver."""

    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        """Return the body parsed as JSON, or None when it is empty or not JSON."""
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None


Target = str | Callable[[str, dict[str, str]], tuple[int, str]]


def sign(
    secret: str, body: str, timestamp: int, *, content_type: str | None = None
) -> dict[str, str]:
    """Return the headers Slack sends with a signed request (content type guessed if None)."""
    signature = SignatureVerifier(secret).generate_signature(timestamp=str(timestamp), body=body)
    if signature is None:
        raise ValueError("cannot sign without a timestamp")
    if content_type is None:
        content_type = JSON_TYPE if body.lstrip().startswith("{") else FORM
    return {
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": signature,
        "Content-Type": content_type,
    }


# element type -> (state key, initial key, kind of value)
_ELEMENTS: dict[str, tuple[str, str, str]] = {
    "plain_text_input": ("value", "initial_value", "text"),
    "email_text_input": ("value", "initial_value", "text"),
    "url_text_input": ("value", "initial_value", "text"),
    "number_input": ("value", "initial_value", "text"),
    "rich_text_input": ("rich_text_value", "initial_value", "rich"),
    "users_select": ("selected_user", "initial_user", "scalar"),
    "multi_users_select": ("selected_users", "initial_users", "list"),
    "conversations_select": ("selected_conversation", "initial_conversation", "scalar"),
    "multi_conversations_select": ("selected_conversations", "initial_conversations", "list"),
    "channels_select": ("selected_channel", "initial_channel", "scalar"),
    "multi_channels_select": ("selected_channels", "initial_channels", "list"),
    "static_select": ("selected_option", "initial_option", "option"),
    "external_select": ("selected_option", "initial_option", "option"),
    "radio_buttons": ("selected_option", "initial_option", "option"),
    "multi_static_select": ("selected_options", "initial_options", "options"),
    "multi_external_select": ("selected_options", "initial_options", "options"),
    "checkboxes": ("selected_options", "initial_options", "options"),
    "datepicker": ("selected_date", "initial_date", "date"),
    "timepicker": ("selected_time", "initial_time", "scalar"),
    "datetimepicker": ("selected_date_time", "initial_date_time", "int"),
}


def _find_option(element: dict[str, Any], value: Any, block_id: str) -> dict[str, Any]:
    """Return the option with that value from an element's options or option groups."""
    if isinstance(value, dict):
        return copy.deepcopy(value)
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    for option in options:
        if option.get("value") == str(value):
            return copy.deepcopy(option)
    if element.get("type", "").endswith("external_select"):
        return {"text": {"type": "plain_text", "text": str(value)}, "value": str(value)}
    raise ValueError(f"no option with value {value!r} in block {block_id!r}")


def _element_state(element: dict[str, Any], raw: Any, given: bool, block_id: str) -> dict[str, Any]:
    """Build one element's state entry from a raw value (or its initial/empty value)."""
    kind_name = str(element.get("type", "plain_text_input"))
    key, initial, kind = _ELEMENTS.get(kind_name, ("value", "initial_value", "text"))
    empty: Any = [] if kind in ("list", "options") else None
    if not given:
        value = copy.deepcopy(element.get(initial, empty))
    elif raw is None:
        value = empty
    elif kind == "text":
        value = str(raw)
    elif kind == "list":
        value = [raw] if isinstance(raw, str) else list(raw)
    elif kind == "option":
        value = _find_option(element, raw, block_id)
    elif kind == "options":
        values = [raw] if isinstance(raw, str) else list(raw)
        value = [_find_option(element, v, block_id) for v in values]
    elif kind == "date":
        value = raw.isoformat() if isinstance(raw, date) else str(raw)
    elif kind == "int":
        value = int(raw.timestamp()) if isinstance(raw, datetime) else int(raw)
    elif kind == "rich" and isinstance(raw, str):
        text = {"type": "text", "text": raw}
        section = {"type": "rich_text_section", "elements": [text]}
        value = {"type": "rich_text", "elements": [section]}
    else:
        value = raw
    return {"type": kind_name, key: value}


def _stateful_blocks(view: Mapping[str, Any]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Yield (block_id, elements) for every block whose elements Slack reports in state."""
    for index, block in enumerate(view.get("blocks") or []):
        block_id = str(block.get("block_id") or f"block-{index}")
        kind = block.get("type")
        if kind == "input":
            elements = [block.get("element") or {}]
        elif kind == "actions":
            elements = [e for e in block.get("elements") or [] if e.get("type") in _ELEMENTS]
        elif kind == "section" and (block.get("accessory") or {}).get("type") in _ELEMENTS:
            elements = [block["accessory"]]
        else:
            continue
        if elements:
            yield block_id, elements


def view_state(view: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """Build ``view.state.values`` from block_id -> raw value (KeyError for unknown blocks)."""
    blocks = dict(_stateful_blocks(view))
    for block_id in values:
        if block_id not in blocks:
            raise KeyError(block_id)
    state: dict[str, Any] = {}
    for block_id, elements in blocks.items():
        given = block_id in values
        raw = values.get(block_id)
        if given and len(elements) > 1 and not isinstance(raw, Mapping):
            raise ValueError(f"block {block_id!r} has several elements; map action_id -> value")
        entry: dict[str, Any] = {}
        for index, element in enumerate(elements):
            action_id = str(element.get("action_id") or f"action-{index}")
            if len(elements) == 1:
                entry[action_id] = _element_state(element, raw, given, block_id)
            else:
                per = raw if isinstance(raw, Mapping) else {}
                entry[action_id] = _element_state(
                    element, per.get(action_id), action_id in per, block_id
                )
        state[block_id] = entry
    return state


class SlackDriver:
    """Sends Slack-shaped signed requests to an app, the way Slack's servers would."""

    def __init__(
        self,
        *,
        emulator: SlackEmulator,
        signing_secret: str,
        target: Target,
        team_id: str = "T0001",
        now: Callable[[], float] = time.time,
        timeout: float = 30.0,
    ):
        if isinstance(target, str) and not target.startswith(("http://", "https://")):
            raise ValueError(f"target must be an http(s) URL or a callable, not {target!r}")
        self.emulator = emulator
        self.signing_secret = signing_secret
        self.target = target
        self.team_id = team_id
        self.now = now
        self.timeout = timeout
        self.last_trigger_id: str | None = None
        self.last_response_url: str | None = None
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def post(
        self,
        body: str,
        content_type: str,
        *,
        headers: dict[str, str] | None = None,
        timestamp: int | None = None,
        secret: str | None = None,
    ) -> Response:
        """Sign ``body`` (with overridable timestamp/secret) and post it to the target."""
        ts = int(self.now()) if timestamp is None else timestamp
        secret = self.signing_secret if secret is None else secret
        all_headers = sign(secret, body, ts, content_type=content_type)
        all_headers.update(headers or {})
        if not isinstance(self.target, str):
            status, text = self.target(body, dict(all_headers))
            return Response(status, text)
        request = urllib.request.Request(
            self.target, data=body.encode("utf-8"), headers=all_headers, method="POST"
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as answer:
                text = answer.read().decode("utf-8", "replace")
                return Response(answer.status, text, dict(answer.headers.items()))
        except urllib.error.HTTPError as err:
            text = err.read().decode("utf-8", "replace")
            return Response(err.code, text, dict(err.headers.items()))

    # -- payload helpers -------------------------------------------------------------------------

    def _user(self, user_id: str) -> dict[str, Any]:
        """Return the ``user`` object of interaction payloads."""
        known = self.emulator.user(user_id)
        name = known["name"] if known else user_id
        return {"id": user_id, "username": name, "name": name, "team_id": self.team_id}

    def _team(self) -> dict[str, Any]:
        """Return the ``team`` object of interaction payloads."""
        return {"id": self.team_id, "domain": TEAM_DOMAIN}

    def _trigger(self) -> str:
        """Allocate a trigger id and remember it as the latest."""
        self.last_trigger_id = self.emulator.new_trigger_id()
        return self.last_trigger_id

    def _response_url(self) -> str:
        """Allocate a response_url and remember it as the latest."""
        self.last_response_url = self.emulator.new_response_url()
        return self.last_response_url

    def _interaction(self, kind: str, user_id: str, **extra: Any) -> dict[str, Any]:
        """Return the common fields of an interaction payload."""
        return {
            "type": kind,
            "team": self._team(),
            "user": self._user(user_id),
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "is_enterprise_install": False,
            "enterprise": None,
            **extra,
        }

    def _post_payload(self, payload: dict[str, Any]) -> Response:
        """Post an interaction payload as the form field ``payload``."""
        return self.post(urlencode({"payload": json.dumps(payload)}), FORM)

    # -- what users do in Slack --------------------------------------------------------------

    def slash(
        self, user_id: str, text: str, *, command: str = "/handoff", channel_id: str = "C0GENERAL"
    ) -> Response:
        """Invoke a slash command as ``user_id`` in ``channel_id``."""
        fields = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "team_domain": TEAM_DOMAIN,
            "channel_id": channel_id,
            "channel_name": self.emulator.channel_name(channel_id),
            "user_id": user_id,
            "user_name": self._user(user_id)["name"],
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": self._response_url(),
            "trigger_id": self._trigger(),
        }
        return self.post(urlencode(fields), FORM)

    def last_view(self, trigger_id: str | None = None) -> dict[str, Any]:
        """Return the view the app opened for a trigger (or the latest opened view)."""
        view = self.emulator.view_for_trigger(trigger_id)
        if view is None:
            raise KeyError(trigger_id or "no view was opened")
        return view

    def submit(self, user_id: str, view: dict[str, Any], values: dict[str, Any]) -> Response:
        """Submit a modal with the given block_id -> raw value inputs."""
        submitted = {**copy.deepcopy(view), "state": {"values": view_state(view, values)}}
        payload = self._interaction(
            "view_submission",
            user_id,
            trigger_id=self._trigger(),
            view=submitted,
            response_urls=[],
        )
        return self._post_payload(payload)

    def close(self, user_id: str, view: dict[str, Any]) -> Response:
        """Close (cancel) a modal that has notify_on_close."""
        payload = self._interaction(
            "view_closed", user_id, view=copy.deepcopy(view), is_cleared=False
        )
        return self._post_payload(payload)

    def click(
        self,
        user_id: str,
        action_id: str,
        value: str | None = None,
        *,
        block_id: str = "b",
        channel_id: str | None = None,
        message_ts: str | None = None,
        view: dict[str, Any] | None = None,
        container: dict[str, Any] | None = None,
    ) -> Response:
        """Click a button (block_actions) in a message or a view."""
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block_id,
            "type": "button",
            "action_ts": f"{self.now():.6f}",
        }
        if value is not None:
            action["value"] = value
        payload = self._interaction(
            "block_actions", user_id, trigger_id=self._trigger(), actions=[action]
        )
        if channel_id is not None:
            payload["channel"] = {"id": channel_id, "name": self.emulator.channel_name(channel_id)}
        if message_ts is not None:
            if channel_id is None:
                raise ValueError("message_ts needs channel_id")
            payload["container"] = container or {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel_id,
                "is_ephemeral": False,
            }
            stored = self.emulator.message(channel_id, message_ts)
            if stored is not None:
                stored.pop("channel", None)
            payload["message"] = stored or {"type": "message", "ts": message_ts}
            payload["response_url"] = self._response_url()
            payload["state"] = {"values": {}}
        elif view is not None:
            payload["container"] = container or {"type": "view", "view_id": view.get("id")}
            payload["view"] = copy.deepcopy(view)
        elif container is not None:
            payload["container"] = container
        return self._post_payload(payload)

    def click_message_button(
        self, user_id: str, message: dict[str, Any], action_id: str
    ) -> Response:
        """Click the button with ``action_id`` in a message as returned by ``messages()``."""
        for block in message.get("blocks") or []:
            elements = list(block.get("elements") or [])
            if block.get("accessory"):
                elements.append(block["accessory"])
            for element in elements:
                if element.get("type") == "button" and element.get("action_id") == action_id:
                    return self.click(
                        user_id,
                        action_id,
                        element.get("value"),
                        block_id=str(block.get("block_id") or "b"),
                        channel_id=message["channel"],
                        message_ts=message["ts"],
                    )
        raise KeyError(action_id)

    def event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry_num: int | None = None
    ) -> Response:
        """Deliver an Events API event_callback (optionally as a retry)."""
        now = self.now()
        inner = {"event_ts": f"{now:.6f}", **copy.deepcopy(event)}
        envelope = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "api_app_id": APP_ID,
            "event": inner,
            "type": "event_callback",
            "event_id": event_id or self.emulator.new_event_id(),
            "event_time": int(now),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.emulator.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
        headers: dict[str, str] = {}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        return self.post(json.dumps(envelope), JSON_TYPE, headers=headers)
