"""The fake Slack Web API server: records every call, answers as Slack would."""

from __future__ import annotations

import copy
import json
import logging
import mimetypes
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.client import HTTPMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from handoff.emulator.methods import WebApiMethods
from handoff.emulator.wire import (
    _APP_TOKEN,
    _EPOCH,
    _MICRO,
    APP_ID,
    BOT_ID,
    Call,
    _Fault,
    _json_reply,
    _parse_args,
    _parse_multipart,
    _read_body,
    _Reply,
    _SlackError,
    _truthy,
    _ts_key,
    _utcnow,
)

log = logging.getLogger(__name__)


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


class SlackEmulator(WebApiMethods):
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

    def add_file(
        self, name: str, content: bytes, *, user: str | None = None, title: str | None = None
    ) -> dict[str, Any]:
        """Put a file into the workspace (as a user's upload, e.g. into a file_input) and return
        its file object; its bytes are served at ``url_private_download`` to the bot token."""
        with self._lock:
            file_id = f"F{self._next_seq():09d}"
            self._files[file_id] = {
                "id": file_id,
                "name": name,
                "title": title or name,
                "size": len(content),
                "content": bytes(content),
                "channels": [],
                "initial_comment": None,
                "created": self._epoch(),
                "user": user,
            }
            return self._file_object(self._files[file_id])

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
            elif path.startswith("/files/"):
                call, reply = self._download(path[7:], req.headers)
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
                if method in _APP_TOKEN:
                    if not str(token or "").startswith("xapp-"):
                        raise _SlackError("not_allowed_token_type")
                elif token != self.token:
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

    def _download(self, rest: str, headers: HTTPMessage) -> tuple[Call, _Reply]:
        """Serve a file's bytes (url_private, url_private_download) to the bot token only."""
        file_id = rest.split("/", 1)[0]
        auth = headers.get("Authorization", "")
        with self._lock:
            record = self._files.get(file_id)
            content = record.get("content") if record else None
            if auth != f"Bearer {self.token}":
                error, reply = "not_authed", _Reply(403, b"forbidden", "text/plain")
            elif content is None:
                error, reply = "file_not_found", _Reply(404, b"file not found", "text/plain")
            else:
                name = record["name"] if record else ""
                kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
                error, reply = None, _Reply(200, bytes(content), kind)
            call = Call("files.download", {"file": file_id}, self._now(), error)
            self._calls.append(call)
        return call, reply

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
            "user": record.get("user") or self.bot_user_id,
            "size": len(content) if content is not None else record["size"],
            "url_private": f"{self.origin}/files/{record['id']}/{name}",
            "url_private_download": f"{self.origin}/files/{record['id']}/download/{name}",
            "channels": list(record["channels"]),
            "is_external": False,
        }

    # -- Web API methods -------------------------------------------------------------------------
