"""Every draft, guide, coach answer and invitation renders in both languages, for every scenario,
planned and unplanned, with a full and with an empty knowledge document, within Slack's limits."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
from icalendar import Calendar
from jinja2 import nodes
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from handoff.flows import drafts as flow
from handoff.flows.knowledge import Document
from handoff.flows.plans import Kind
from handoff.messages import coach, drafts, ics
from handoff.messages.i18n import environment

LANGS = ("en", "de")
FILES = ("drafts.j2", "coach.j2", "guide.j2")
LEFTOVERS = ("{{", "}}", "{%", "%}", "None", "Undefined")
NAMES = {"U0DANA": "Dana D", "U0NOAH": "Noah N", "U0MAYA": "Maya M"}
LONG = "\n".join(f"Goal {i} & <b>{'x' * 200}</b>" for i in range(14))  # ~3000, grows when escaped


def transition(kind: str, planned: bool, strategic: bool = True) -> SimpleNamespace:
    return SimpleNamespace(
        id=7,
        account="<!channel> Evil & Co",
        kind=kind,
        planned=planned,
        strategic=strategic,
        handoff_date=date(2027, 1, 4),
        departing_owner="U0DANA",
        new_owner="U0NOAH",
        manager="U0MAYA",
        creator="U0MAYA",
        reason="I am moving to the partner team",
        notes="",
        digest_channel=None,
        state="planning",
    )


def full_document() -> Document:
    return Document(
        values={
            "objectives": {"goals": LONG, "success_criteria": LONG},
            "current": {"initiatives": LONG, "priorities": LONG, "open_issues": LONG},
            "communication": {"cadence": "monthly"},
        },
        stakeholders=[
            {"name": "Carla & <Co>", "role": "champion"},
            {"name": "Stan", "role": "economic_sponsor"},
        ],
    )


CASES = [
    pytest.param(lang, kind.value, planned, full, id=f"{lang}-{kind.value}-{planned}-{full}")
    for lang in LANGS
    for kind in Kind
    for planned in (True, False)
    for full in (True, False)
]


def check(payload: dict) -> None:
    """No template leftovers, and every block passes slack_sdk's limit checks again."""
    dumped = json.dumps(payload, ensure_ascii=False)
    for leftover in LEFTOVERS:
        assert leftover not in dumped, leftover
    blocks = payload["blocks"]
    assert len(blocks) <= 50
    for b in Block.parse_all(blocks):
        b.validate_json()
    for b in blocks:
        if b["type"] == "section":
            assert len(b["text"]["text"]) <= 3000


@pytest.mark.parametrize(("lang", "kind", "planned", "full"), CASES)
def test_every_template_renders_in_every_case(lang, kind, planned, full):
    t = transition(kind, planned)
    doc = full_document() if full else Document()
    fill = flow.fill(t, doc, NAMES if full else {}, meeting_day=date(2026, 12, 28))
    for role in ("departing", "new_owner"):
        for name in flow.DRAFT_NAMES:
            check(drafts.draft_message(t, fill, (name,), role, lang))
    check(drafts.ongoing_role_message(t, lang))
    for n in range(1, flow.WEEKS + 1):
        check(drafts.week_message(t, n, lang))
    v = drafts.values(fill, lang)
    for emotion in flow.EMOTIONS:
        view = coach.coach_view([(7, t.account)], lang, selected=7, emotion=emotion, v=v)
        View(**view).validate_json()
        check(view)
    content = ics.invitation(
        transition_id=7,
        fill=fill,
        begin=flow.meeting_start(date(2026, 12, 28), "Europe/Berlin", ["America/New_York"]),
        attendees=[ics.Attendee("Dana D", "dana@x.test"), ics.Attendee("Noah N")],
        lang=lang,
        now=datetime(2026, 12, 21, 8, tzinfo=UTC),
    )
    event = Calendar.from_ical(content).walk("VEVENT")[0]
    assert "{{" not in content.decode() and "None" not in str(event.get("description"))


def test_a_long_agenda_is_split_never_cut():
    t = transition("rep_to_rep", True)
    fill = flow.fill(t, full_document(), NAMES)
    msg = drafts.draft_message(t, fill, ("agenda",), "new_owner", "en")
    code = "\n".join(
        b["text"]["text"][3:-3]
        for b in msg["blocks"]
        if b["type"] == "section" and b["text"]["text"].startswith("```")
    )
    assert len([b for b in msg["blocks"] if b["type"] == "section"]) > 3
    for i in range(14):
        assert f"Goal {i} &amp; &lt;b&gt;{'x' * 200}&lt;/b&gt;" in code


def test_an_empty_document_gives_marked_placeholders_in_both_languages():
    t = transition("sales_to_cs", True)
    fill = flow.fill(t, Document(), {})
    en = drafts.draft_text("follow_up", fill, "en")
    de = drafts.draft_text("follow_up", fill, "de")
    assert "[fill in: priority 1]" in en and "[fill in: new owner's name]" in en
    assert "[bitte ergänzen: Priorität 3]" in de


def macro_names(lang: str, name: str) -> set[str]:
    env = environment(lang)
    source = env.loader.get_source(env, name)[0]
    return {m.name for m in env.parse(source).find_all(nodes.Macro)}


@pytest.mark.parametrize("name", FILES)
def test_english_and_german_define_the_same_macros(name):
    assert macro_names("en", name) == macro_names("de", name)
    assert macro_names("en", name)


def test_typed_fences_cannot_end_a_drafts_code_block():
    from handoff.messages.drafts import code_sections

    [block] = code_sections("Goals:\n``` now *bold* outside ```")
    body = block.to_dict()["text"]["text"]
    assert body.count("```") == 2 and body.startswith("```") and body.endswith("```")


@pytest.mark.parametrize(
    ("lang", "planned_words", "unplanned_words"),
    [
        (
            "en",
            ("two weeks before", "One week after", "prepared for weeks"),
            ("within two days", "Four weeks in", "took over the whole account history"),
        ),
        (
            "de",
            ("zwei Wochen vor", "Eine Woche nach", "wochenlang vorbereitet"),
            ("innerhalb von zwei Tagen", "Nach vier Wochen", "gesamte Kundenhistorie"),
        ),
    ],
)
def test_an_unplanned_handoff_is_not_told_it_was_planned_for_weeks(
    lang, planned_words, unplanned_words
):
    def said(planned: bool) -> str:
        t = transition("rep_to_rep", planned)
        fill = flow.fill(t, full_document(), NAMES)
        names = ("intro_email", "follow_up", "agenda")
        return json.dumps(
            drafts.draft_message(t, fill, names, "departing", lang), ensure_ascii=False
        )

    planned, unplanned = said(True), said(False)
    for words in planned_words:
        assert words in planned and words not in unplanned
    for words in unplanned_words:
        assert words in unplanned and words not in planned
