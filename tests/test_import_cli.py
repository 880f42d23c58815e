"""`handoff import FILE.csv` against the emulator and a real database."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import quote

import pytest
from sqlmodel import select

from handoff.bot.cli import main
from handoff.storage.db import make_engine, migrate, session
from handoff.storage.models import Outbox, Transition
from tests.conftest import DEPARTING, MANAGER, NEW, OTHER, TOKEN

HEADER = "account,departing_owner,new_owner,manager,kind,handoff_date\n"
LATER = (date.today() + timedelta(days=60)).isoformat()  # the CLI runs on the wall clock


@pytest.fixture
def env(emu, database, monkeypatch):
    """The CLI's environment; a PostgreSQL test schema travels in the URL's options."""
    url, extra = database
    options = extra.get("connect_args", {}).get("options")
    if options:
        url += "?options=" + quote(options)
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("SLACK_API_URL", emu.url)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("HANDOFF_WAVE_SIZE", raising=False)
    emu.add_user(NEW, "noah", real_name="Noah N", tz="America/New_York", email="noah@example.com")
    engine = make_engine(url)
    migrate(engine)
    yield engine
    engine.dispose()


def row(account: str, new: str = NEW, kind: str = "rep_to_rep") -> str:
    return f"{account},{DEPARTING},{new},{MANAGER},{kind},{LATER}\n"


def csv_file(tmp_path, content: str):
    path = tmp_path / "accounts.csv"
    path.write_text(content, encoding="utf-8")
    return str(path)


def accounts(engine) -> list[str]:
    with session(engine) as s:
        return [t.account for t in s.exec(select(Transition).order_by(Transition.id)).all()]


def test_import_creates_transitions_and_their_welcome_messages(env, tmp_path, capsys):
    path = csv_file(tmp_path, HEADER + row("Acme", new="noah@example.com") + row("Beta", OTHER))
    assert main(["import", path]) == 0
    out = capsys.readouterr().out
    assert "2 rows: 2 can be created." in out and "2 handoffs created" in out
    assert accounts(env) == ["Acme", "Beta"]
    with session(env) as s:
        welcome = s.exec(select(Outbox).where(Outbox.kind == "welcome")).all()
        assert {w.recipient for w in welcome} == {DEPARTING, NEW, MANAGER, OTHER}


def test_dry_run_previews_and_creates_nothing(env, tmp_path, capsys):
    path = csv_file(tmp_path, HEADER + "".join(row(f"A{i}") for i in range(4)))
    assert main(["import", path, "--dry-run", "--wave-size", "2"]) == 0
    out = capsys.readouterr().out
    assert "Moved to a later week (2)" in out and "Dry run: nothing was created." in out
    assert accounts(env) == []


def test_errors_create_nothing_and_exit_1(env, tmp_path, capsys):
    path = csv_file(tmp_path, HEADER + row("Acme") + row("Bad", kind="sales"))
    assert main(["import", path]) == 1
    out = capsys.readouterr().out
    assert 'line 3: kind: "sales" is not a scenario' in out
    assert accounts(env) == []


def test_valid_only_creates_the_valid_rows_and_exits_0(env, tmp_path, capsys):
    path = csv_file(tmp_path, HEADER + row("Acme") + row("Bad", kind="sales"))
    assert main(["import", path, "--valid-only"]) == 0
    assert accounts(env) == ["Acme"]
    assert main(["import", path, "--valid-only"]) == 1  # Acme is taken now: nothing left
    assert "line 2: account: this account already has an open handoff" in capsys.readouterr().out


def test_a_semicolon_separated_file_is_imported(env, tmp_path, capsys):
    path = csv_file(tmp_path, (HEADER + row("Acme") + row("Beta", OTHER)).replace(",", ";"))
    assert main(["import", path]) == 0
    assert "2 rows: 2 can be created." in capsys.readouterr().out
    assert accounts(env) == ["Acme", "Beta"]


def test_a_large_file_prints_progress(env, tmp_path, capsys):
    content = HEADER + "".join(row(f"Account {i:03d}", new=(NEW, OTHER)[i % 2]) for i in range(150))
    path = csv_file(tmp_path, content)
    assert main(["import", path, "--wave-size", "100"]) == 0
    out = capsys.readouterr().out
    assert "Importing handoffs: 100 of 150 created…" in out
    assert len(accounts(env)) == 150


def test_config_errors_exit_2(env, tmp_path, monkeypatch, capsys):
    path = csv_file(tmp_path, HEADER + row("Acme"))
    monkeypatch.setenv("HANDOFF_WAVE_SIZE", "zero")
    assert main(["import", path]) == 2
    monkeypatch.delenv("HANDOFF_WAVE_SIZE")
    assert main(["import", str(tmp_path / "missing.csv")]) == 2
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    assert main(["import", path]) == 2
    err = capsys.readouterr().err
    assert "HANDOFF_WAVE_SIZE" in err and "missing.csv" in err and "SLACK_BOT_TOKEN" in err
    assert accounts(env) == []


def test_a_missing_file_is_told_before_the_settings(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.setenv("HANDOFF_WAVE_SIZE", "zero")
    missing = str(tmp_path / "nofile.csv")
    assert main(["import", missing]) == 2
    assert main(["import", str(tmp_path)]) == 2  # a directory cannot be read either
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        f"handoff: cannot read {missing}: No such file or directory",
        f"handoff: cannot read {tmp_path}: Is a directory",
    ]


def test_slack_refusing_the_token_exits_1(env, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-wrong")
    assert main(["import", csv_file(tmp_path, HEADER + row("Acme"))]) == 1
    assert "invalid_auth" in capsys.readouterr().out
