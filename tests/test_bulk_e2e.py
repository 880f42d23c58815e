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


def submit_file(slack, emu, content: str | bytes, *, valid_only: bool = False, user: str = OPS):
    """/handoff bulk, then submit the modal with the file; the modal and the app's answer."""
    assert slack.slash(user, "bulk").status == 200
    view = slack.last_view()
    raw = content.encode("utf-8") if isinstance(content, str) else content
    file = emu.add_file("accounts.csv", raw, user=user)
    values = {"file": [file], "options": ["valid_only"] if valid_only else []}
    emu.clear_calls()
    return view, slack.submit(user, view, values)


def upload(slack, emu, content: str | bytes, *, valid_only: bool = False, user: str = OPS):
    """Submit the file; the modal and what the app then put into it by views.update (the
    preview, or the reason the file could not be checked)."""
    view, resp = submit_file(slack, emu, content, valid_only=valid_only, user=user)
    assert resp.status == 200
    assert resp.json()["response_action"] == "update"
    assert "Checking *accounts.csv*" in texts(resp.json()["view"])
    (update,) = emu.calls_to("views.update")
    assert update.args["view_id"] == view["id"] and not update.failed
    return view, update.args["view"]


def confirm(slack, view, preview, user: str = OPS):
    """Submit the preview the app showed (same view id, as Slack keeps it)."""
    return slack.submit(user, {**preview, "id": view["id"]}, {})


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
    view, preview = upload(slack, emu, HEADER + row("Acme") + row("Beta", new=OTHER))
    assert preview["callback_id"] == "bulk.preview"
    assert "*2* rows: *2* can be created" in texts(preview)
    assert "submit" in preview
    assert transitions(handoff) == []  # a preview creates nothing
    download = emu.calls_to("files.download")
    assert download and not download[-1].failed
    done = confirm(slack, view, preview)
    assert done.json()["response_action"] == "update"
    assert [t.account for t in transitions(handoff)] == ["Acme", "Beta"]
    assert all(t.creator == OPS for t in transitions(handoff))
    with session(handoff.services.engine) as s:
        welcome = s.exec(select(Outbox).where(Outbox.kind == "welcome")).all()
    assert len(welcome) == 6


def test_errors_are_listed_with_line_numbers_and_nothing_is_created(slack, emu, handoff):
    content = HEADER + row("Acme") + row("Bad", kind="sales") + row("Acme")
    view, preview = upload(slack, emu, content)
    shown = texts(preview)
    assert 'line 3: kind: \\"sales\\" is not a scenario' in shown
    assert "line 4: account: the same account as line 2" in shown
    assert "submit" not in preview  # nothing to confirm
    confirm(slack, view, preview)  # a forged submit of the preview changes nothing
    assert transitions(handoff) == []


def test_valid_only_creates_the_valid_rows(slack, emu, handoff):
    content = HEADER + row("Acme") + row("Bad", kind="sales") + row("Beta", new=OTHER)
    view, preview = upload(slack, emu, content, valid_only=True)
    assert "submit" in preview
    confirm(slack, view, preview)
    assert [t.account for t in transitions(handoff)] == ["Acme", "Beta"]


def test_a_semicolon_separated_file_from_german_excel_is_previewed_and_created(slack, emu, handoff):
    content = (HEADER + row("Acme") + row("Beta", new=OTHER)).replace(",", ";")
    view, preview = upload(slack, emu, content.replace("\n", "\r\n").encode("utf-8-sig"))
    assert "*2* rows: *2* can be created" in texts(preview)
    confirm(slack, view, preview)
    assert [t.account for t in transitions(handoff)] == ["Acme", "Beta"]


def press_valid_rows(slack, emu, view, user: str = OPS):
    """Press "Import the N valid rows" in the preview Slack shows (its id, hash and metadata)."""
    shown = emu.view(view["id"])
    (block,) = [b for b in shown["blocks"] if b["type"] == "actions"]
    (button,) = block["elements"]
    return slack.click(
        user, button["action_id"], button.get("value"), block_id=block["block_id"], view=shown
    )


def test_a_preview_with_errors_offers_to_import_the_valid_rows(slack, emu, handoff):
    content = HEADER + row("Acme") + row("Bad", kind="sales") + row("Beta", new=OTHER)
    view, preview = upload(slack, emu, content)
    shown = texts(preview)
    assert 'line 3: kind: \\"sales\\" is not a scenario' in shown  # the bad row is still listed
    assert "or import only the 2 valid rows" in shown
    assert "submit" not in preview
    (button,) = [e for b in preview["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert button["text"]["text"] == "Import the 2 valid rows"
    emu.clear_calls()
    assert press_valid_rows(slack, emu, view).status == 200
    assert [t.account for t in transitions(handoff)] == ["Acme", "Beta"]
    assert "Creating 2 handoffs" in texts(emu.view(view["id"]))
    (posted,) = [c for c in emu.calls_to("chat.postMessage") if c.args.get("channel") == OPS]
    assert posted.args["text"] == "Importing handoffs: 0 of 2 created…"
    assert "2 handoffs created" in emu.calls_to("chat.update")[-1].args["text"]


def test_valid_rows_are_imported_once_and_only_by_the_uploader(slack, emu, handoff):
    content = HEADER + row("Acme") + row("Bad", kind="sales")
    view, _ = upload(slack, emu, content)
    emu.clear_calls()
    press_valid_rows(slack, emu, view, user=MANAGER)  # not the one who uploaded the file
    assert transitions(handoff) == [] and not emu.calls_to("views.update")
    preview = emu.view(view["id"])
    press_valid_rows(slack, emu, view)
    slack.click(OPS, "bulk.valid_rows", block_id="valid_rows", view=preview)  # a double click
    assert "already been started" in texts(emu.view(view["id"]))
    assert [t.account for t in transitions(handoff)] == ["Acme"]


def test_a_preview_without_any_valid_row_offers_nothing_to_import(slack, emu, handoff):
    _, preview = upload(slack, emu, HEADER + row("Bad", kind="sales"))
    assert not [b for b in preview["blocks"] if b["type"] == "actions"]
    assert "No row can be created." in texts(preview) and "submit" not in preview


def test_a_double_submit_creates_once(slack, emu, handoff):
    view, preview = upload(slack, emu, HEADER + row("Acme"))
    first = confirm(slack, view, preview)
    second = confirm(slack, view, preview)
    assert first.status == second.status == 200
    assert "already" in texts(second.json()["view"])
    assert len(transitions(handoff)) == 1


def test_a_preview_staged_elsewhere_is_checked_again_and_created_once(slack, emu, handoff):
    _, shown = upload(slack, emu, HEADER + row("Acme"))
    preview = {**shown, "id": "V-OTHER-REPLICA"}
    slack.submit(OPS, preview, {})
    slack.submit(OPS, {**preview, "id": "V-THIRD"}, {})  # yet another replica: taken
    assert len(transitions(handoff)) == 1


def test_a_large_import_updates_a_progress_dm(slack, emu, handoff):
    content = HEADER + "".join(row(f"Account {i:03d}", date_text="2027-06-07") for i in range(250))
    view, preview = upload(slack, emu, content)
    emu.clear_calls()
    confirm(slack, view, preview)
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
    view, preview = upload(slack, emu, content)
    assert emu.calls_to("users.lookupByEmail")
    confirm(slack, view, preview)
    assert [t.new_owner for t in transitions(handoff)] == [NEW]
    _, bad = upload(slack, emu, (HEADER + row("Café")).encode("latin-1"))
    assert "I could not check *accounts.csv*" in texts(bad)
    assert "line 1: file: the file is not UTF-8 text" in texts(bad)
    assert "submit" not in bad


def test_no_file_is_answered_inline(slack, emu):
    assert slack.slash(OPS, "bulk").status == 200
    resp = slack.submit(OPS, slack.last_view(), {"file": []})
    assert resp.json()["response_action"] == "errors"
    assert "file" in resp.json()["errors"]


def test_help_mentions_bulk(slack):
    assert "/handoff bulk" in slack.slash(MANAGER, "help").body


def test_the_check_answers_with_a_checking_view_then_updates_it_by_view_id(slack, emu, handoff):
    view, resp = submit_file(slack, emu, HEADER + row("Acme"))
    answer = resp.json()
    assert answer["response_action"] == "update"
    assert "submit" not in answer["view"]  # nothing to press while the file is checked
    methods = [c.method for c in emu.calls]
    assert methods.index("files.info") < methods.index("views.update")
    (update,) = emu.calls_to("views.update")
    assert update.args["view_id"] == view["id"]
    assert emu.view(view["id"])["callback_id"] == "bulk.preview"


def test_a_file_that_cannot_be_downloaded_shows_why(slack, emu, handoff):
    emu.fail("files.info", error="file_not_found")
    _, shown = upload(slack, emu, HEADER + row("Acme"))
    assert shown["callback_id"] == "bulk.done"
    assert "I could not check *accounts.csv*, so nothing will be created" in texts(shown)
    assert "I could not download the file from Slack; please try again" in texts(shown)
    assert "submit" not in shown
    assert transitions(handoff) == []


def test_a_file_with_a_bad_header_shows_why_instead_of_a_preview(slack, emu, handoff):
    _, shown = upload(slack, emu, "account,colour\nAcme,red\n")
    assert shown["callback_id"] == "bulk.done"
    assert "line 1: colour: unknown column" in texts(shown)
    assert "line 1: departing_owner: this required column is missing" in texts(shown)


def test_a_trailing_empty_column_is_ignored_and_one_with_values_is_named(slack, emu, handoff):
    trailing = HEADER.replace("\n", ",\n") + row("Acme").replace("\n", ",\n")
    view, preview = upload(slack, emu, trailing)
    assert "*1* row: *1* can be created" in texts(preview)
    confirm(slack, view, preview)
    assert [t.account for t in transitions(handoff)] == ["Acme"]
    _, shown = upload(slack, emu, trailing + row("Beta", new=OTHER).replace("\n", ",note\n"))
    assert shown["callback_id"] == "bulk.done"
    assert (
        "line 1: file: column 7 has no name in the header but has values (first on line 3)"
        in texts(shown)
    )


def test_a_modal_closed_during_the_check_is_logged_once_and_left_alone(slack, emu, handoff, caplog):
    emu.fail("views.update", error="not_found")
    caplog.set_level("INFO", logger="handoff")
    caplog.clear()
    view, resp = submit_file(slack, emu, HEADER + row("Acme"))
    assert resp.json()["response_action"] == "update"
    (update,) = emu.calls_to("views.update")
    assert update.failed == "not_found"
    lines = [r for r in caplog.records if r.name.startswith("handoff")]
    assert [r.getMessage() for r in lines] == [
        f"bulk: modal {view['id']} was closed before its preview was ready"
    ]
    assert not emu.calls_to("chat.postMessage")
    assert transitions(handoff) == []
