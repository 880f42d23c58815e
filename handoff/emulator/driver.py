"""The driver: sends Slack-shaped, signed requests to the app, the way Slack's servers would."""

from __future__ import annotations

import copy
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from handoff.emulator.server import SlackEmulator
from handoff.emulator.wire import (
    APP_ID,
    FORM,
    JSON_TYPE,
    TEAM_DOMAIN,
    VERIFICATION_TOKEN,
)
from handoff.messages.text import escape as slack_escape

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
    "file_input": ("files", "initial_files", "files"),
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
    empty: Any = [] if kind in ("list", "options", "files") else None
    if not given:
        value = copy.deepcopy(element.get(initial, empty))
    elif raw is None:
        value = empty
    elif kind == "text":
        value = str(raw)
    elif kind == "list":
        value = [raw] if isinstance(raw, str) else list(raw)
    elif kind == "files":  # file objects, e.g. from SlackEmulator.add_file
        value = copy.deepcopy([raw] if isinstance(raw, Mapping) else list(raw))
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
            "text": slack_escape(text),  # as Slack does: &, < and > arrive as entities
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
        values: Mapping[str, Any] | None = None,
        overflow: bool = False,
    ) -> Response:
        """Click a button (block_actions) in a message or a view; with ``overflow``, choose the
        option ``value`` of an overflow menu. ``values`` are what the user has typed into the
        view's inputs so far (Slack sends them as ``view.state``)."""
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block_id,
            "type": "overflow" if overflow else "button",
            "action_ts": f"{self.now():.6f}",
        }
        if overflow:
            option = {"text": {"type": "plain_text", "text": str(value)}, "value": str(value)}
            action["selected_option"] = option
        elif value is not None:
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
            payload["view"] = {
                **copy.deepcopy(view),
                "state": {"values": view_state(view, values or {})},
            }
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
