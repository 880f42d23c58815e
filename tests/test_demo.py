"""`handoff demo` runs a whole transition through the real app and prints what Slack saw."""

from __future__ import annotations

import io
import json
from collections import Counter

import pytest

from handoff.demo import run_demo


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


def test_demo_transcript_reads_day_by_day():
    out = io.StringIO()
    assert run_demo(kind="rep_to_rep", planned=True, lang="en", as_json=False, out=out) == 0
    text = out.getvalue()
    for marker in (
        "T−28",
        "T−14",
        "· T ",
        "T+7",
        "T+30",
        "clicks Done",
        "Snooze 1 day",
        "Reminder",
        "state closed",
        "0 sent twice",
    ):
        assert marker in text, marker
