"""manifest.yml is valid for Slack and declares what the code uses, nothing more."""

import json
import re
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")
jsonschema = pytest.importorskip("jsonschema")

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT.parent / "shared" / "slack"


def manifest() -> dict:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


def test_manifest_validates_against_slacks_published_schema():
    if not SCHEMAS.is_dir():
        pytest.skip(f"Slack's manifest schemas are not at {SCHEMAS}")
    m = manifest()
    major = m.get("_metadata", {}).get("major_version", 1)
    schema = json.loads((SCHEMAS / f"manifest.schema.{major}.0.0.json").read_text())
    jsonschema.validate(m, schema)


def test_manifest_declares_the_command_shortcut_and_events_the_code_registers():
    m = manifest()
    commands = [c["command"] for c in m["features"]["slash_commands"]]
    assert commands == ["/handoff"]
    assert [s["callback_id"] for s in m["features"]["shortcuts"]] == ["start.shortcut"]
    source = "\n".join(p.read_text() for p in (ROOT / "handoff" / "bot").glob("*.py"))
    for event in m["settings"]["event_subscriptions"]["bot_events"]:
        assert f'app.event("{event}")' in source
    assert m["features"]["app_home"]["home_tab_enabled"] is True


def test_every_bot_scope_is_used_by_some_web_api_call():
    used_by = {
        "commands": r"app\.command\(",
        "chat:write": r"chat_postMessage",
        "im:write": r"conversations_open",
        "im:history": r"conversations_history",
        "channels:history": r"conversations_history",
        "groups:history": r"conversations_history",
        "users:read": r"users_info",
        "files:write": r"files_upload_v2",
        "users:read.email": r"users_lookupByEmail|get\(\"profile\"\)",
        "files:read": r"files_info",
    }
    source = "\n".join(p.read_text() for p in (ROOT / "handoff").rglob("*.py"))
    scopes = manifest()["oauth_config"]["scopes"]["bot"]
    assert sorted(scopes) == sorted(used_by), "a scope without a known use, or a use without scope"
    for scope in scopes:
        assert re.search(used_by[scope], source), f"scope {scope} is declared but never used"
