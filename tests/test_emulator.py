"""Tests for the in-process Slack emulator and the driver that plays Slack towards the app."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import builtin_handlers
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from handoff.emulator import Call, Response, SlackDriver, SlackEmulator, sign

WINTER = datetime(2024, 1, 15, 9, 0, tzinfo=UTC)
SUMMER = datetime(2024, 7, 15, 9, 0, tzinfo=UTC)
SECRET = "s3cr3t"


@pytest.fixture
def emu() -> Iterator[SlackEmulator]:
    """A running emulator with a frozen winter clock and a few users."""
    with SlackEmulator(clock=lambda: WINTER) as emulator:
        emulator.add_user("U1", "alice", real_name="Alice A", email="alice@example.com")
        emulator.add_user("U2", "bob", tz="America/New_York", locale="de-DE")
        emulator.add_user("U3", "gone", deleted=True)
        emulator.add_channel("C1", "handoffs")
        yield emulator


@pytest.fixture
def client(emu: SlackEmulator) -> WebClient:
    """A real WebClient talking HTTP to the emulator."""
    return WebClient(token=emu.token, base_url=emu.url)


class Recorder:
    """A driver target that records (body, headers) and answers 200 with an empty body."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []

    def __call__(self, body: str, headers: dict[str, str]) -> tuple[int, str]:
        self.requests.append((body, headers))
        return 200, ""

    def payload(self, index: int = -1) -> dict[str, Any]:
        """Decode the ``payload`` form field of a recorded request."""
        body, _ = self.requests[index]
        return json.loads(parse_qs(body)["payload"][0])


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def driver(emu: SlackEmulator, recorder: Recorder) -> SlackDriver:
    return SlackDriver(emulator=emu, signing_secret=SECRET, target=recorder)


def _error(exc: pytest.ExceptionInfo[SlackApiError]) -> str:
    return str(exc.value.response["error"])


# -- Web API -------------------------------------------------------------------------------------


def test_auth_test_identifies_bot(emu: SlackEmulator, client: WebClient) -> None:
    answer = client.auth_test()
    assert answer["user_id"] == "UBOT"
    assert answer["team_id"] == "T0001"
    assert answer["bot_id"] == "B0001"
    assert [c.method for c in emu.calls] == ["auth.test"]
    assert emu.calls[0].at == WINTER


def test_users_info_without_locale(client: WebClient) -> None:
    user = client.users_info(user="U1")["user"]
    assert user["id"] == "U1"
    assert user["name"] == "alice"
    assert user["real_name"] == "Alice A"
    assert user["profile"]["email"] == "alice@example.com"
    assert user["tz"] == "Europe/Berlin"
    assert user["tz_offset"] == 3600
    assert "locale" not in user


def test_users_info_with_locale_and_dst_offset(emu: SlackEmulator, client: WebClient) -> None:
    emu.clock = lambda: SUMMER
    user = client.users_info(user="U2", include_locale=True)["user"]
    assert user["locale"] == "de-DE"
    assert user["tz_offset"] == -4 * 3600
    assert client.users_info(user="U1")["user"]["tz_offset"] == 7200


def test_unknown_user_raises(emu: SlackEmulator, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as exc:
        client.users_info(user="U404")
    assert _error(exc) == "user_not_found"
    assert emu.calls[-1].failed == "user_not_found"


def test_lookup_by_email(client: WebClient) -> None:
    assert client.users_lookupByEmail(email="ALICE@example.com")["user"]["id"] == "U1"
    with pytest.raises(SlackApiError) as exc:
        client.users_lookupByEmail(email="nobody@example.com")
    assert _error(exc) == "users_not_found"


def test_conversations_open_is_deterministic(client: WebClient) -> None:
    assert client.conversations_open(users="U1")["channel"]["id"] == "DU1"
    assert client.conversations_open(users=["U1"])["channel"]["id"] == "DU1"
    with pytest.raises(SlackApiError) as exc:
        client.conversations_open(users="U404")
    assert _error(exc) == "user_not_found"


def test_post_to_user_id_lands_in_dm_history(emu: SlackEmulator, client: WebClient) -> None:
    answer = client.chat_postMessage(channel="U1", text="hi alice")
    assert answer["channel"] == "DU1"
    history = client.conversations_history(channel="DU1")["messages"]
    assert [m["text"] for m in history] == ["hi alice"]
    assert history[0]["ts"] == answer["ts"]
    assert history[0]["user"] == "UBOT"
    stored = emu.messages("DU1")
    assert stored[0]["channel"] == "DU1"
    assert emu.messages("U1") == stored


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_post_message_errors(client: WebClient) -> None:
    for kwargs, expected in [
        ({"channel": "C404", "text": "x"}, "channel_not_found"),
        ({"channel": "U404", "text": "x"}, "channel_not_found"),
        ({"channel": "U3", "text": "x"}, "account_inactive"),
        ({"channel": "DU3", "text": "x"}, "account_inactive"),
        ({"channel": "C1"}, "no_text"),
    ]:
        with pytest.raises(SlackApiError) as exc:
            client.chat_postMessage(**kwargs)
        assert _error(exc) == expected


def test_ts_unique_and_increasing_with_frozen_clock(client: WebClient) -> None:
    stamps = [client.chat_postMessage(channel="C1", text=str(i))["ts"] for i in range(5)]
    assert len(set(stamps)) == 5
    assert [float(s) for s in stamps] == sorted(float(s) for s in stamps)
    assert all(s.startswith(f"{int(WINTER.timestamp())}.") for s in stamps)
    history = client.conversations_history(channel="C1", limit=2)
    assert [m["text"] for m in history["messages"]] == ["4", "3"]
    assert history["has_more"] is True


def test_metadata_round_trip(client: WebClient) -> None:
    metadata = {"event_type": "handoff_started", "event_payload": {"plan": 7}}
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    client.chat_postMessage(channel="C1", text="hi", blocks=blocks, metadata=metadata)
    with_md = client.conversations_history(channel="C1", include_all_metadata=True)
    assert with_md["messages"][0]["metadata"] == metadata
    assert with_md["messages"][0]["blocks"] == blocks
    without = client.conversations_history(channel="C1")
    assert "metadata" not in without["messages"][0]
    assert without["response_metadata"]["next_cursor"] == ""


def test_form_encoded_json_fields_are_decoded(emu: SlackEmulator, client: WebClient) -> None:
    blocks = [{"type": "divider"}]
    client.api_call(
        "chat.postMessage", params={"channel": "C1", "text": "t", "blocks": json.dumps(blocks)}
    )
    client.api_call("chat.postMessage", json={"channel": "C1", "text": "t", "blocks": blocks})
    assert [c.args["blocks"] for c in emu.calls_to("chat.postMessage")] == [blocks, blocks]
    assert [m["blocks"] for m in emu.messages("C1")] == [blocks, blocks]


def test_chat_update_and_ephemeral(emu: SlackEmulator, client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C1", text="old")["ts"]
    client.chat_update(channel="C1", ts=ts, text="new")
    assert emu.message("C1", ts)["text"] == "new"
    with pytest.raises(SlackApiError) as exc:
        client.chat_update(channel="C1", ts="1.000001", text="x")
    assert _error(exc) == "message_not_found"
    assert client.chat_postEphemeral(channel="C1", user="U1", text="psst")["message_ts"]
    assert len(emu.messages("C1")) == 1


def test_conversations_info(emu: SlackEmulator, client: WebClient) -> None:
    assert client.conversations_info(channel="C1")["channel"]["name"] == "handoffs"
    assert client.conversations_info(channel="DU1")["channel"]["is_im"] is True
    with pytest.raises(SlackApiError) as exc:
        client.conversations_info(channel="C404")
    assert _error(exc) == "channel_not_found"


def test_rate_limit_is_retried(emu: SlackEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr(builtin_handlers, "time", SimpleNamespace(sleep=sleeps.append))
    emu.fail("chat.postMessage", retry_after=3, status=429)
    client = WebClient(
        token=emu.token, base_url=emu.url, retry_handlers=[RateLimitErrorRetryHandler()]
    )
    assert client.chat_postMessage(channel="C1", text="hello")["ok"] is True
    calls = emu.calls_to("chat.postMessage")
    assert [c.failed for c in calls] == ["ratelimited", None]
    assert len(sleeps) == 1 and 3 <= sleeps[0] < 4
    assert len(emu.messages("C1")) == 1


def test_rate_limit_without_retry_exposes_header(emu: SlackEmulator, client: WebClient) -> None:
    emu.fail("users.info", status=429)
    with pytest.raises(SlackApiError) as exc:
        client.users_info(user="U1")
    assert exc.value.response.status_code == 429
    assert exc.value.response.headers["Retry-After"] in ("1", ["1"])
    assert client.users_info(user="U1")["ok"] is True


def test_permanent_fault_with_match(emu: SlackEmulator, client: WebClient) -> None:
    emu.add_channel("C2", "other")
    emu.fail(
        "chat.postMessage", error="is_archived", times=None, match=lambda a: a["channel"] == "C1"
    )
    for _ in range(3):
        with pytest.raises(SlackApiError) as exc:
            client.chat_postMessage(channel="C1", text="x")
        assert _error(exc) == "is_archived"
    client.chat_postMessage(channel="C2", text="y")
    assert [c.failed for c in emu.calls_to("chat.postMessage")] == [
        "is_archived",
        "is_archived",
        "is_archived",
        None,
    ]
    assert emu.messages("C1") == []
    emu.clear_faults()
    client.chat_postMessage(channel="C1", text="z")
    assert len(emu.messages("C1")) == 1


def test_invalid_token(emu: SlackEmulator) -> None:
    bad = WebClient(token="xoxb-wrong", base_url=emu.url)
    with pytest.raises(SlackApiError) as exc:
        bad.auth_test()
    assert _error(exc) == "invalid_auth"
    assert emu.calls[-1] == Call("auth.test", {}, WINTER, "invalid_auth")


def test_unknown_method(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as exc:
        client.api_call("nope.never")
    assert _error(exc) == "unknown_method"


def test_apps_connections_open_is_refused(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as exc:
        client.apps_connections_open(app_token="xapp-1")
    assert _error(exc) == "invalid_auth"  # Socket Mode is not emulated
    with pytest.raises(SlackApiError) as exc:
        client.apps_connections_open(app_token=client.token)
    assert _error(exc) == "not_allowed_token_type"  # a bot token is the wrong kind


def test_on_call_hook_runs_before_answer(emu: SlackEmulator, client: WebClient) -> None:
    seen: list[Call] = []
    emu.on_call = seen.append
    client.chat_postMessage(channel="C1", text="x")
    assert [c.method for c in seen] == ["chat.postMessage"]


def test_on_call_hook_that_raises_drops_the_answer(emu: SlackEmulator) -> None:
    def kill(call: Call) -> None:
        raise RuntimeError("connection lost")

    emu.on_call = kill
    client = WebClient(token=emu.token, base_url=emu.url, retry_handlers=[])
    with pytest.raises(Exception):  # noqa: B017 - any transport error is fine
        client.chat_postMessage(channel="C1", text="lost")
    emu.on_call = None
    assert [m["text"] for m in emu.messages("C1")] == ["lost"]


def test_views_open_update_and_last_view(
    emu: SlackEmulator, client: WebClient, driver: SlackDriver
) -> None:
    view = {
        "type": "modal",
        "callback_id": "start",
        "title": {"type": "plain_text", "text": "Start"},
        "blocks": [],
    }
    opened = client.views_open(trigger_id="trig-a", view=view)["view"]
    assert opened["id"].startswith("V")
    assert opened["state"] == {"values": {}}
    assert driver.last_view("trig-a") == opened == emu.view(opened["id"])
    client.views_open(trigger_id="trig-b", view={**view, "callback_id": "other"})
    assert driver.last_view()["callback_id"] == "other"
    updated = client.views_update(
        view_id=opened["id"], hash=opened["hash"], view={**view, "private_metadata": "42"}
    )["view"]
    assert updated["id"] == opened["id"] and updated["hash"] != opened["hash"]
    assert driver.last_view("trig-a")["private_metadata"] == "42"
    with pytest.raises(SlackApiError) as exc:
        client.views_update(view_id=opened["id"], hash=opened["hash"], view=view)
    assert _error(exc) == "hash_conflict"
    with pytest.raises(SlackApiError) as exc:
        client.views_update(view_id="V404", view=view)
    assert _error(exc) == "not_found"
    with pytest.raises(KeyError):
        driver.last_view("trig-unknown")


def test_views_publish_home(emu: SlackEmulator, client: WebClient) -> None:
    assert emu.home("U1") is None
    client.views_publish(user_id="U1", view={"type": "home", "blocks": []})
    client.views_publish(user_id="U1", view={"type": "home", "blocks": [{"type": "divider"}]})
    home = emu.home("U1")
    assert home is not None and home["blocks"] == [{"type": "divider"}]


def test_files_upload_v2_round_trip(emu: SlackEmulator, client: WebClient) -> None:
    data = b"col1,col2\n1,2\n" * 100
    answer = client.files_upload_v2(
        channel="C1", filename="plan.csv", content=data, title="Plan", initial_comment="here"
    )
    file_id = answer["file"]["id"]
    assert answer["file"]["title"] == "Plan"
    assert emu.uploaded_file(file_id) == data
    assert [c.method for c in emu.calls] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]
    assert emu.calls[1].args["files"][0]["id"] == file_id
    shared = emu.messages("C1")
    assert shared[0]["text"] == "here" and shared[0]["files"][0]["id"] == file_id


def test_response_url_is_recorded(emu: SlackEmulator, driver: SlackDriver) -> None:
    driver.slash("U1", "help")
    assert driver.last_response_url is not None
    answer = WebhookClient(driver.last_response_url).send(text="working on it")
    assert answer.status_code == 200
    (call,) = emu.calls_to("response_url")
    assert call.args["text"] == "working on it"


def test_concurrent_posts_are_all_recorded(emu: SlackEmulator) -> None:
    def post(n: int) -> None:
        WebClient(token=emu.token, base_url=emu.url).chat_postMessage(channel="C1", text=str(n))

    threads = [threading.Thread(target=post, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stamps = [m["ts"] for m in emu.messages("C1")]
    assert len(set(stamps)) == 20 == len(emu.calls)
    assert sorted({m["text"] for m in emu.messages("C1")}) == sorted(str(n) for n in range(20))


# -- driver --------------------------------------------------------------------------------------


def test_sign_verifies() -> None:
    now = int(time.time())
    headers = sign(SECRET, "a=1&b=2", now)
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid(
        "a=1&b=2", headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    )
    assert verifier.is_valid_request("a=1&b=2", headers)
    assert not SignatureVerifier("other").is_valid_request("a=1&b=2", headers)
    assert sign(SECRET, '{"a": 1}', now)["Content-Type"] == "application/json"


def test_slash_is_signed_form(recorder: Recorder, driver: SlackDriver) -> None:
    response = driver.slash("U1", "start @bob", channel_id="C1")
    assert response == Response(200, "")
    body, headers = recorder.requests[0]
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    fields = {k: v[0] for k, v in parse_qs(body).items()}
    assert fields["command"] == "/handoff"
    assert fields["text"] == "start @bob"
    assert fields["user_name"] == "alice"
    assert fields["channel_name"] == "handoffs"
    assert fields["trigger_id"] == driver.last_trigger_id
    assert fields["response_url"].endswith(driver.last_response_url.rsplit("/", 1)[-1])
    driver.slash("U1", "again")
    assert parse_qs(recorder.requests[1][0])["trigger_id"][0] != fields["trigger_id"]


def test_post_allows_overriding_timestamp_and_secret(
    recorder: Recorder, driver: SlackDriver
) -> None:
    driver.post("x=1", "application/x-www-form-urlencoded", timestamp=1, secret="wrong")
    body, headers = recorder.requests[0]
    assert headers["X-Slack-Request-Timestamp"] == "1"
    assert not SignatureVerifier(SECRET).is_valid_request(body, headers)


def _modal() -> dict[str, Any]:
    def option(value: str) -> dict[str, Any]:
        return {"text": {"type": "plain_text", "text": value.title()}, "value": value}

    def block(block_id: str, element: dict[str, Any]) -> dict[str, Any]:
        label = {"type": "plain_text", "text": block_id}
        return {"type": "input", "block_id": block_id, "label": label, "element": element}

    return {
        "id": "V1",
        "type": "modal",
        "callback_id": "handoff_start",
        "private_metadata": "pm",
        "hash": "h1",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "intro"}},
            block("note", {"type": "plain_text_input", "action_id": "a"}),
            block("successor", {"type": "users_select", "action_id": "a"}),
            block("conv", {"type": "conversations_select", "action_id": "a"}),
            block("chan", {"type": "channels_select", "action_id": "a"}),
            block(
                "kind",
                {"type": "static_select", "action_id": "a", "options": [option("x"), option("y")]},
            ),
            block("mode", {"type": "radio_buttons", "action_id": "a", "options": [option("p")]}),
            block(
                "checks",
                {"type": "checkboxes", "action_id": "a", "options": [option("c1"), option("c2")]},
            ),
            block("day", {"type": "datepicker", "action_id": "a"}),
            block("count", {"type": "number_input", "action_id": "a", "is_decimal_allowed": False}),
            block("watchers", {"type": "multi_users_select", "action_id": "a"}),
            block("empty_user", {"type": "users_select", "action_id": "a"}),
            block("empty_text", {"type": "plain_text_input", "action_id": "a"}),
            block("preset", {"type": "users_select", "action_id": "a", "initial_user": "U9"}),
        ],
    }


def test_submit_builds_state_for_each_element_type(recorder: Recorder, driver: SlackDriver) -> None:
    view = _modal()
    response = driver.submit(
        "U1",
        view,
        {
            "note": "hello",
            "successor": "U2",
            "conv": "C1",
            "chan": "C2",
            "kind": "y",
            "mode": "p",
            "checks": ["c2"],
            "day": date(2024, 2, 1),
            "count": 3,
            "watchers": ["U1", "U2"],
        },
    )
    assert response.status == 200 and response.json() is None
    body, headers = recorder.requests[0]
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    payload = recorder.payload()
    assert payload["type"] == "view_submission"
    assert payload["user"]["id"] == "U1"
    sent = payload["view"]
    assert (sent["id"], sent["callback_id"], sent["private_metadata"], sent["hash"]) == (
        "V1",
        "handoff_start",
        "pm",
        "h1",
    )
    values = sent["state"]["values"]
    assert set(values) == {b["block_id"] for b in view["blocks"] if "block_id" in b}
    assert values["note"]["a"] == {"type": "plain_text_input", "value": "hello"}
    assert values["successor"]["a"] == {"type": "users_select", "selected_user": "U2"}
    assert values["conv"]["a"]["selected_conversation"] == "C1"
    assert values["chan"]["a"]["selected_channel"] == "C2"
    assert values["kind"]["a"]["selected_option"] == {
        "text": {"type": "plain_text", "text": "Y"},
        "value": "y",
    }
    assert values["mode"]["a"]["selected_option"]["value"] == "p"
    assert [o["value"] for o in values["checks"]["a"]["selected_options"]] == ["c2"]
    assert values["day"]["a"] == {"type": "datepicker", "selected_date": "2024-02-01"}
    assert values["count"]["a"] == {"type": "number_input", "value": "3"}
    assert values["watchers"]["a"]["selected_users"] == ["U1", "U2"]
    assert values["empty_user"]["a"] == {"type": "users_select", "selected_user": None}
    assert values["empty_text"]["a"] == {"type": "plain_text_input", "value": None}
    assert values["preset"]["a"]["selected_user"] == "U9"


def test_submit_unknown_block_raises_key_error(driver: SlackDriver) -> None:
    with pytest.raises(KeyError, match="nope"):
        driver.submit("U1", _modal(), {"nope": "x"})
    with pytest.raises(ValueError, match="zzz"):
        driver.submit("U1", _modal(), {"kind": "zzz"})


def test_close_and_click_in_view(recorder: Recorder, driver: SlackDriver) -> None:
    view = _modal()
    driver.close("U1", view)
    assert recorder.payload()["type"] == "view_closed"
    driver.click("U1", "refresh", "v", block_id="top", view=view)
    payload = recorder.payload()
    assert payload["type"] == "block_actions"
    assert payload["container"] == {"type": "view", "view_id": "V1"}
    assert payload["actions"][0]["action_id"] == "refresh"
    assert payload["actions"][0]["value"] == "v"
    assert payload["view"]["id"] == "V1"


def test_click_message_button(emu: SlackEmulator, client: WebClient, recorder: Recorder) -> None:
    driver = SlackDriver(emulator=emu, signing_secret=SECRET, target=recorder)
    button = {
        "type": "button",
        "action_id": "task_done",
        "value": "task-7",
        "text": {"type": "plain_text", "text": "Done"},
    }
    blocks = [{"type": "actions", "block_id": "tasks", "elements": [button]}]
    client.chat_postMessage(channel="U1", text="task", blocks=blocks)
    (message,) = emu.messages("U1")
    driver.click_message_button("U1", message, "task_done")
    payload = recorder.payload()
    assert payload["actions"][0]["value"] == "task-7"
    assert payload["actions"][0]["block_id"] == "tasks"
    assert payload["container"]["message_ts"] == message["ts"]
    assert payload["container"]["channel_id"] == "DU1"
    assert payload["channel"]["id"] == "DU1"
    assert payload["message"]["blocks"] == blocks
    assert payload["response_url"].startswith(emu.origin)
    with pytest.raises(KeyError):
        driver.click_message_button("U1", message, "missing")


def test_event_envelope_and_retry_headers(
    emu: SlackEmulator, recorder: Recorder, driver: SlackDriver
) -> None:
    driver.event({"type": "app_home_opened", "user": "U1", "tab": "home"}, event_id="Ev1")
    body, headers = recorder.requests[0]
    assert headers["Content-Type"] == "application/json"
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    envelope = json.loads(body)
    assert envelope["type"] == "event_callback"
    assert envelope["event_id"] == "Ev1"
    assert envelope["event"]["type"] == "app_home_opened"
    assert envelope["authorizations"][0]["user_id"] == emu.bot_user_id
    assert "X-Slack-Retry-Num" not in headers
    driver.event({"type": "app_home_opened", "user": "U1"}, retry_num=1)
    _, headers = recorder.requests[1]
    assert headers["X-Slack-Retry-Num"] == "1"
    assert headers["X-Slack-Retry-Reason"] == "http_timeout"
    assert json.loads(recorder.requests[1][0])["event_id"] != "Ev1"


def test_driver_posts_over_http(emu: SlackEmulator) -> None:
    received: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            valid = SignatureVerifier(SECRET).is_valid_request(body, dict(self.headers.items()))
            received.append((self.path, body))
            answer = json.dumps({"valid": valid}).encode()
            self.send_response(200 if valid else 401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/slack/events"
        driver = SlackDriver(emulator=emu, signing_secret=SECRET, target=url)
        ok = driver.slash("U1", "help")
        assert (ok.status, ok.json()) == (200, {"valid": True})
        bad = driver.post("x=1", "application/x-www-form-urlencoded", secret="wrong")
        assert (bad.status, bad.json()) == (401, {"valid": False})
        assert received[0][0] == "/slack/events"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_bolt_app_end_to_end(emu: SlackEmulator) -> None:
    """A real Bolt app accepts the driver's signed requests and talks to the emulator."""
    app = App(
        signing_secret=SECRET,
        client=WebClient(token=emu.token, base_url=emu.url),
        process_before_response=True,
    )
    modal = _modal()
    del modal["id"], modal["hash"]

    @app.command("/handoff")
    def open_modal(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=modal)

    @app.view("handoff_start")
    def on_submit(ack: Any, view: dict[str, Any], client: WebClient) -> None:
        ack()
        successor = view["state"]["values"]["successor"]["a"]["selected_user"]
        client.chat_postMessage(channel=successor, text=f"you are next ({view['id']})")

    def dispatch(body: str, headers: dict[str, str]) -> tuple[int, str]:
        response = app.dispatch(BoltRequest(body=body, headers=headers))
        return response.status, response.body

    driver = SlackDriver(emulator=emu, signing_secret=SECRET, target=dispatch)
    assert driver.slash("U1", "start").status == 200
    opened = driver.last_view(driver.last_trigger_id)
    assert opened["callback_id"] == "handoff_start"
    assert driver.submit("U1", opened, {"successor": "U2"}).status == 200
    assert [m["text"] for m in emu.messages("U2")] == [f"you are next ({opened['id']})"]
    bad = driver.post("command=/handoff", "application/x-www-form-urlencoded", secret="nope")
    assert bad.status == 401


def test_url_requires_start() -> None:
    emulator = SlackEmulator()
    with pytest.raises(RuntimeError):
        _ = emulator.url
    emulator.start()
    try:
        with urllib.request.urlopen(emulator.url + "api.test", data=b"") as answer:
            assert json.loads(answer.read()) == {"ok": False, "error": "invalid_auth"}
    finally:
        emulator.stop()
    emulator.stop()
