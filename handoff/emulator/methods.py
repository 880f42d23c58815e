"""The Web API methods the emulator answers, as Slack would."""

from __future__ import annotations

import copy
import logging
from typing import Any

from handoff.emulator.wire import (
    APP_ID,
    BOT_ID,
    TEAM_DOMAIN,
    TEAM_NAME,
    _SlackError,
    _truthy,
)

log = logging.getLogger(__name__)


class WebApiMethods:
    """Mixed into SlackEmulator: one method per Web API method (state lives there)."""

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
        """apps.connections.open: Socket Mode is not emulated, so no app-level token is valid."""
        raise _SlackError("invalid_auth")
