"""/handoff bulk end to end: signed requests in, a CSV file in the emulator, Web API calls out."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from handoff.settings import Settings
from handoff.storage.db import session
from handoff.storage.models import Outbox, Transition
from tests.conftest import DEPARTING, MANAGER, NEW, OTHER, SECRET, TOKEN

HEADER = "account,departing_owner,new_owner,manager,kind,handoff_date\n"
OPS = "U0OPS"  # CS ops: imports, is in none of the handoffs


@pytest.fixture(autouse=True)
def ops(emu):
    emu.add_user(OPS, "olga", real_name="Olga Ops", tz="Europe/Berlin", locale="en-US")


@pytest.fixture
def settings(emu, database) -> Settings:
    """Waves of 100: these tests are about the modal, not about staging."""
    return Settings(
        bot_token=TOKEN,
        signing_secret=SECRET,
        api_url=emu.url,
        database_url=database[0],
        wave_size=100,
    )


def row(account: str, new: str = NEW, date_text: str = "2027-03-01", kind="rep_to_rep") -> str:
    return f"{account},{DEPARTING},{new},{MANAGER},{kind},{date_text}\n"


def upload(slack, emu, content: str | bytes, *, valid_only: bool = False, user: str = OPS):
    """/handoff bulk, then submit the modal with the file; the app's answer."""
    assert slack.slash(user, "bulk").status == 200
    view = slack.last_view()
    raw = content.encode("utf-8") if isinstance(content, str) else content
    file = emu.add_file("accounts.csv", raw, user=user)
    values = {"file": [file], "options": ["valid_only"] if valid_only else []}
    return view, slack.submit(user, view, values)


def confirm(slack, view, resp, user: str = OPS):
    """Submit the preview the app answered with (same view id, as Slack keeps it)."""
    preview = {**resp.json()["view"], "id": view["id"]}
    return slack.submit(user, preview, {})


def transitions(handoff):
    with session(handoff.services.engine) as s:
        return list(s.exec(select(Transition).order_by(Transition.id)).all())


def texts(view) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


def test_bulk_opens_a_modal_with_a_csv_file_input(slack, emu):
    assert slack.slash(MANAGER, "bulk").status == 200
    view = emu.calls_to("views.open")[-1].args["view"]
    assert view["callback_id"] == "handoff_bulk"
    file_input = next(b for b in view["blocks"] if b.get("block_id") == "file")["element"]
    assert file_input["type"] == "file_input"
    assert file_input["filetypes"] == ["csv"] and file_input["max_files"] == 1


def test_a_clean_file_is_previewed_then_created(slack, emu, handoff):
    view, resp = upload(slack, emu, HEADER + row("Acme") + row("Beta", new=OTHER))
    body = resp.json()
    assert body["response_action"] == "update"
    assert "*2* rows: *2* can be created" in texts(body["view"])
    assert "submit" in body["view"]
    assert transitions(handoff) == []  # a preview creates nothing
    download = emu.calls_to("files.download")
    assert download and not download[-1].failed
    done = confirm(slack, view, resp)
    assert done.json()["response_action"] == "update"
    assert [t.account for t in transitions(handoff)] == ["Acme", "Beta"]
    assert all(t.creator == OPS for t in transitions(handoff))
    with session(handoff.services.engine) as s:
        welcome = s.exec(select(Outbox).where(Outbox.kind == "welcome")).all()
    assert len(welcome) == 6


def test_errors_are_listed_with_line_numbers_and_nothing_is_created(slack, emu, handoff):
    content = HEADER + row("Acme") + row("Bad", kind="sales") + row("Acme")
    view, resp = upload(slack, emu, content)
    shown = texts(resp.json()["view"])
    assert 'line 3: kind: \\"sales\\" is not a scenario' in shown
    assert "line 4: account: the same account as line 2" in shown
    assert "submit" not in resp.json()["view"]  # nothing to confirm
    confirm(slack, view, resp)  # a forged submit of the preview changes nothing
    assert transitions(handoff) == []


def test_valid_only_creates_the_valid_rows(slack, emu, handoff):
    content = HEADER + row("Acme") + row("Bad", kind="sales") + row("Beta", new=OTHER)
    view, resp = upload(slack, emu, content, valid_only=True)
    assert "submit" in resp.json()["view"]
    confirm(slack, view, resp)
    assert [t.account for t in transitions(handoff)] == ["Acme", "Beta"]


def test_a_double_submit_creates_once(slack, emu, handoff):
    view, resp = upload(slack, emu, HEADER + row("Acme"))
    first = confirm(slack, view, resp)
    second = confirm(slack, view, resp)
    assert first.status == second.status == 200
    assert "already" in texts(second.json()["view"])
    assert len(transitions(handoff)) == 1


def test_a_preview_staged_elsewhere_is_checked_again_and_created_once(slack, emu, handoff):
    view, resp = upload(slack, emu, HEADER + row("Acme"))
    preview = {**resp.json()["view"], "id": "V-OTHER-REPLICA"}
    slack.submit(OPS, preview, {})
    slack.submit(OPS, {**preview, "id": "V-THIRD"}, {})  # yet another replica: taken
    assert len(transitions(handoff)) == 1


def test_a_large_import_updates_a_progress_dm(slack, emu, handoff):
    content = HEADER + "".join(row(f"Account {i:03d}", date_text="2027-06-07") for i in range(250))
    view, resp = upload(slack, emu, content)
    emu.clear_calls()
    confirm(slack, view, resp)
    assert len(transitions(handoff)) == 250
    posted = [c for c in emu.calls_to("chat.postMessage") if c.args.get("channel") == OPS]
    assert "0 of 250" in posted[0].args["text"]
    updates = [c.args["text"] for c in emu.calls_to("chat.update")]
    assert updates == [
        "Importing handoffs: 100 of 250 created…",
        "Importing handoffs: 200 of 250 created…",
        ":white_check_mark: Bulk import finished: 250 handoffs created. Everyone involved gets "
        "their welcome message.",
    ]


def test_people_by_email_and_a_file_that_is_not_utf8(slack, emu, handoff):
    emu.add_user(NEW, "noah", real_name="Noah N", tz="America/New_York", email="noah@example.com")
    content = HEADER + f"Acme,{DEPARTING},Noah@Example.com,{MANAGER},rep_to_rep,2027-03-01\n"
    view, resp = upload(slack, emu, content)
    confirm(slack, view, resp)
    assert [t.new_owner for t in transitions(handoff)] == [NEW]
    assert emu.calls_to("users.lookupByEmail")
    _, bad = upload(slack, emu, (HEADER + row("Café")).encode("latin-1"))
    assert "line 1: file: the file is not UTF-8 text" in texts(bad.json()["view"])


def test_no_file_is_answered_inline(slack, emu):
    assert slack.slash(OPS, "bulk").status == 200
    resp = slack.submit(OPS, slack.last_view(), {"file": []})
    assert resp.json()["response_action"] == "errors"
    assert "file" in resp.json()["errors"]


def test_help_mentions_bulk(slack):
    assert "/handoff bulk" in slack.slash(MANAGER, "help").body
