"""`handoff export` reads the database it is given and never creates or migrates one: a wrong
DATABASE_URL is reported as such, not as an account without a transition."""

from __future__ import annotations

import socket
from urllib.parse import quote

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from handoff.bot.cli import main
from handoff.storage.db import alembic_config, make_engine
from tests.test_migrations import upgrade


def the_line(capsys) -> str:
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    [line] = captured.err.strip().splitlines()
    return line


def cli_url(database) -> str:
    """The URL the CLI reads; a PostgreSQL test schema travels in the URL's options."""
    url, extra = database
    options = extra.get("connect_args", {}).get("options")
    return url + "?options=" + quote(options) if options else url


def revision(engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_without_database_url_export_creates_no_database(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["export", "Acme"]) == 2
    line = the_line(capsys)
    assert line.startswith("handoff: no database at DATABASE_URL=sqlite:///handoff.db: ")
    assert "does not exist" in line
    assert list(tmp_path.iterdir()) == []


def test_a_database_without_the_schema_is_named_and_left_alone(database, monkeypatch, capsys):
    url, extra = database
    if url.startswith("sqlite:///"):
        open(url.removeprefix("sqlite:///"), "wb").close()  # exists, but is no Handoff database
    monkeypatch.setenv("DATABASE_URL", cli_url(database))
    assert main(["export", "Acme"]) == 2
    line = the_line(capsys)
    assert line.startswith("handoff: no Handoff schema in the database at DATABASE_URL=")
    engine = make_engine(url, **extra)
    assert sa.inspect(engine).get_table_names() == []  # nothing migrated
    engine.dispose()


def test_a_schema_behind_the_head_is_named_and_not_migrated(database, monkeypatch, capsys):
    url, extra = database
    engine = make_engine(url, **extra)
    upgrade(engine, "0001")
    monkeypatch.setenv("DATABASE_URL", cli_url(database))
    assert main(["export", "Acme"]) == 2
    line = the_line(capsys)
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    assert f"has schema revision 0001, this handoff needs {head}" in line
    assert "handoff migrate" in line
    assert revision(engine) == "0001"
    engine.dispose()


def test_an_unreachable_database_is_one_line_without_its_password(monkeypatch, capsys):
    port = closed_port()
    monkeypatch.setenv("DATABASE_URL", f"postgresql+psycopg://me:s3cret@127.0.0.1:{port}/h")
    assert main(["export", "Acme"]) == 2
    line = the_line(capsys)
    shown = f"DATABASE_URL=postgresql+psycopg://me:***@127.0.0.1:{port}/h"
    assert line.startswith(f"handoff: cannot read the database at {shown}: ")
    assert "s3cret" not in line
