"""`handoff demo` runs a whole transition through the real app and prints what Slack saw."""

from __future__ import annotations

import io
import json
import re
from collections import Counter

import pytest

from handoff.bot.cli import main, parser
from handoff.demo import run_demo

# what the people type, in the demo's language (the reason on the start form)
REASON = {"en": "Dana moves to the enterprise team", "de": "Dana wechselt ins Enterprise-Team"}


@pytest.mark.parametrize(
    ("kind", "planned", "lang"), [("rep_to_rep", True, "en"), ("sales_to_cs", False, "de")]
)
def test_demo_json_is_one_web_api_call_per_line(kind, planned, lang):
    out = io.StringIO()
    assert run_demo(kind=kind, planned=planned, lang=lang, as_json=True, out=out) == 0
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines and all(set(d) == {"at", "method", "args"} for d in lines)
    assert all("+" in d["at"] or d["at"].endswith("Z") for d in lines)  # with offset
    posts = [d for d in lines if d["method"] == "chat.postMessage"]
    keys = [d["args"]["metadata"]["event_payload"]["key"] for d in posts]
    assert len(keys) == len(set(keys))  # nothing sent twice
    # DMs to the three people, and the manager digest in its channel
    assert {d["args"]["channel"] for d in posts} == {"U0DANA", "U0NOAH", "U0MAYA", "C0CSLEADS"}
    kinds = Counter(k.rsplit(":", 1)[-1] for k in keys)
    assert kinds["reminder"] >= 1 and kinds["snooze1"] == 1
    assert sum(":closed:" in k for k in keys) == 3  # everyone hears it is complete
    assert lines[-1]["at"] > lines[0]["at"]  # simulated time moved on
    welcome = json.dumps([d["args"] for d in posts[:3]], ensure_ascii=False)
    assert REASON[lang] in welcome
    assert all(REASON[other] not in out.getvalue() for other in REASON if other != lang)


@pytest.mark.parametrize(
    ("lang", "note", "reminder"),
    [
        ("en", "clicks Done: “Knowledge document started; Maya briefed Noah.”", "Reminder"),
        (
            "de",
            "clicks Done: “Wissensdokument angefangen; Maya hat Noah eingewiesen.”",
            "Erinnerung",
        ),
    ],
)
def test_demo_transcript_reads_day_by_day(lang, note, reminder):
    out = io.StringIO()
    assert run_demo(kind="rep_to_rep", planned=True, lang=lang, as_json=False, out=out) == 0
    text = out.getvalue()
    assert note in text
    last = text.strip().splitlines()[-1]
    assert re.fullmatch(r"Done: state closed; \d+ DMs sent, 0 sent twice, 0 still pending\.", last)
    for marker in (
        "T−28",
        "T−14",
        "· T ",
        "T+7",
        "T+30",
        "clicks Done",
        "Snooze 1 day",
        reminder,
        "state closed",
        "0 sent twice",
    ):
        assert marker in text, marker


def test_demo_help_describes_the_demo_and_every_option(capsys):
    with pytest.raises(SystemExit) as done:
        main(["demo", "--help"])
    assert done.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "in simulated time" in help_text and "needs no Slack workspace" in help_text
    assert "the scenario: sales_to_cs, sales_to_am, rep_to_rep, team_to_team" in help_text
    assert "en, de (default: en)" in help_text
    commands = next(a for a in parser()._actions if a.dest == "cmd").choices
    undocumented = [
        f"{name} {action.dest}"
        for name, sub in commands.items()
        for action in sub._actions
        if not action.help
    ]
    assert undocumented == []
