"""Texts and views of the knowledge document, the App Home and the export, in both languages."""

from __future__ import annotations

import json
from datetime import date

import pytest

from handoff.flows import knowledge as kn
from handoff.flows.plans import Role
from handoff.messages import home
from handoff.messages import knowledge as kb
from handoff.messages.i18n import catalog, knowledge
from tests.test_flows_knowledge import full_document
from tests.test_templates import TODAY, Transition, check_payload

LANGS = ("en", "de")
FILES = ("knowledge.j2", "home.j2", "export.j2", "digest.j2", "metrics.j2")


def public(lang: str, name: str) -> dict:
    module = catalog(lang, name)
    return {n: getattr(module, n) for n in dir(module) if not n.startswith("_")}


@pytest.mark.parametrize("name", FILES)
def test_both_languages_define_the_same_texts(name):
    en, de = public("en", name), public("de", name)
    assert set(en) == set(de)
    for n, value in en.items():
        if isinstance(value, dict):
            assert set(value) == set(de[n]), n


@pytest.mark.parametrize("lang", LANGS)
def test_every_field_and_option_has_a_label_and_a_hint(lang):
    k = knowledge(lang)
    for s in kn.SECTIONS:
        assert k.TITLE[s.key] and k.INTRO[s.key]
        assert 0 < len(k.SHORT[s.key]) <= 24
        for f in s.fields:
            assert k.LABEL[f"{s.key}.{f.key}"] and k.HINT[f"{s.key}.{f.key}"]
            assert all(k.OPTION[o] for o in f.options)
    for f in kn.STAKEHOLDER:
        assert k.LABEL[f"stakeholder.{f.key}"] and k.HINT[f"stakeholder.{f.key}"]
        assert all(k.OPTION[o] for o in f.options)
    for code in (*{c for c in k.ERROR}, "required"):
        assert k.ERROR[code]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("filled", [True, False])
@pytest.mark.parametrize("section", kn.SECTION_KEYS)
def test_section_modals_build_within_limits(lang, filled, section):
    doc = full_document() if filled else kn.Document()
    view = kb.section_modal(Transition(), doc, section, lang, callback_id="cb", root="V1")
    text = check_payload(view)
    assert len(view["blocks"]) <= 100 and view["notify_on_close"]
    assert "Acme &lt;Corp&gt; &amp; Co" in text
    inputs = [b for b in view["blocks"] if b["type"] == "input"]
    assert [b["block_id"] for b in inputs] == [f.key for f in kn.section(section).fields]
    if filled and section == "relationships":
        assert "&lt;b&gt;" in text  # stakeholder names are escaped where shown as mrkdwn


@pytest.mark.parametrize("lang", LANGS)
def test_overview_and_stakeholder_modal_build(lang):
    for doc, viewer in ((full_document(), "U0NOAH"), (kn.Document(), "U0NOAH")):
        view = kb.overview_modal(Transition(), doc, viewer, lang, callback_id="cb")
        check_payload(view)
        assert len(view["blocks"]) <= 100
    person = full_document().stakeholders[0]
    check_payload(kb.stakeholder_modal(1, person, lang, callback_id="cb", root="V1"))
    check_payload(kb.stakeholder_modal(1, None, lang, callback_id="cb", root=None))


@pytest.mark.parametrize("lang", LANGS)
def test_a_map_of_forty_stakeholders_fits_one_modal(lang):
    doc = full_document()
    doc.stakeholders = [dict(doc.stakeholders[0], id=i) for i in range(kn.STAKEHOLDERS_MAX)]
    view = kb.section_modal(Transition(), doc, "relationships", lang, callback_id="cb")
    assert len(view["blocks"]) <= 100
    assert "doc.stakeholder.add" not in json.dumps(view)  # full: no Add button


@pytest.mark.parametrize("lang", LANGS)
def test_not_ready_names_what_is_missing(lang):
    msg = kb.not_ready(Transition(), "Joint meeting", kn.readiness(kn.Document()), lang)
    text = check_payload(msg)
    assert knowledge(lang).TITLE["relationships"] in text
    assert knowledge(lang).ITEM["sponsor"] in text
    assert len(msg["blocks"]) <= 50


def groups(count: int, page: int = 0) -> list[home.Group]:
    r = kn.readiness(full_document())
    out = []
    for role in Role:
        shown = min(home.PAGE, max(0, count - page * home.PAGE))
        items = [
            home.Item(Transition(id=i, state="onboarding"), ("joint_meeting", date(2026, 11, 1)), r)
            for i in range(shown)
        ]
        out.append(home.Group(role=role, count=count, page=page, items=items))
    return out


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("count", "page"), [(0, 0), (3, 0), (500, 0), (500, 7), (500, 49)])
def test_home_stays_inside_the_block_limit_and_pages(lang, count, page):
    view = home.home_view(groups(count, page), today=TODAY, lang=lang, chosen_lang="de")
    text = check_payload(view)
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    raw = json.dumps(view)
    assert ("home.page_next" in raw) == (count > home.PAGE * (page + 1))
    assert ('home.page"' in raw) == (page > 0)
    if count:
        assert "100 %" in text


def test_page_state_round_trips_and_ignores_junk():
    assert home.pages("departing=0,new_owner=2,manager=11") == {
        "departing": 0,
        "new_owner": 2,
        "manager": 11,
    }
    assert home.pages("x=1,manager=-1,new_owner=a") == {}


# ---------------------------------------------------------------- digest, flags, metrics


@pytest.mark.parametrize("lang", LANGS)
def test_digest_flags_and_check_ins_render_within_limits(lang):
    from datetime import UTC, datetime, timedelta

    from handoff.flows import digest as dg
    from handoff.flows import metrics as fm
    from handoff.flows.mistakes import KINDS
    from handoff.messages import digest as md
    from handoff.messages import metrics as mm

    now = datetime(2026, 12, 7, 9, tzinfo=UTC)
    rows = [
        dg.Row(
            id=i,
            account=f"Acme <{i}> & Co",
            state="onboarding",
            planned=True,
            handoff_date=TODAY + timedelta(days=i % 20),
            departing_owner="U0DANA",
            new_owner="U0NOAH",
            manager="U0MAYA",
            completeness=i % 100,
            ready=False,
            overdue=(dg.Overdue("U0DANA", "planning", 3),) * (i % 3),
            flags=KINDS[: i % 5],
            csat=None,
        )
        for i in range(300)
    ] + [
        dg.Row(
            id=900 + i,
            account=f"Done {i}",
            state="closed",
            planned=True,
            handoff_date=TODAY,
            departing_owner="U0DANA",
            new_owner="U0NOAH",
            manager="U0MAYA",
            completeness=100,
            ready=True,
            closed_at=now,
            csat=(None, 5)[i % 2],
            health_before=60,
            health_after=58 + i,
        )
        for i in range(8)
    ]
    digest = dg.build(rows, now=now, today=TODAY)
    msg = md.digest_message(digest, "handoffs reporting to <#C0DIGEST>", "c:C0DIGEST", lang)
    text = check_payload(msg)
    assert len(msg["blocks"]) <= 50 and "Acme &lt;" in text
    empty = md.digest_message(dg.build([], now=now, today=TODAY), "x", "m:U1", lang)
    check_payload(empty)
    for kind in KINDS:
        check_payload(md.flag_message(Transition(), kind, lang))
    listing = md.full_list(rows, scope="#cs", names={}, today=TODAY, lang=lang)
    assert listing.count("\n") == len(rows) + 4
    for item in fm.ITEMS:
        check_payload(mm.survey_message(Transition(), item, lang))
        check_payload(mm.survey_modal(Transition(), item, lang, callback_id="cb", meta="{}"))
    values = {
        "csat": {"score": 5},
        "d30": {"health": 70, "renewal_risk": "lower", "pipeline": "kept", "reference": "maybe"},
    }
    assert len(mm.lines(values, 65, lang)) == 4
    assert len(mm.lines({}, None, lang)) == 2


@pytest.mark.parametrize("lang", LANGS)
def test_a_long_csat_comment_is_shortened_in_status_and_whole_in_the_export(lang):
    from handoff.flows import metrics as fm
    from handoff.messages import blocks
    from handoff.messages import metrics as mm
    from tests.test_templates import tasks_of

    comment = "<&>" * (fm.NOTE_MAX // 3)
    check = {"health": 90, "renewal_risk": "higher", "pipeline": "lost", "reference": "maybe"}
    values = {"csat": {"score": 5, "comment": comment}, "d30": check, "d60": check, "d90": check}
    status = mm.lines(values, 60, lang)
    assert "<" not in status[2] and "&lt;&amp;&gt;" in status[2] and "…" in status[2]
    lines = kb.summary_lines(kn.Document(), lang) + ["", *status]
    t = Transition()
    text = check_payload(blocks.status_message(t, tasks_of(t), lang, knowledge_lines=lines))
    assert json.dumps(status[-1], ensure_ascii=False)[1:-1] in text  # nothing cut after it
    exported = mm.recorded_lines(values, 60, lang, markdown=True)
    assert comment in exported[1] and exported[2:] == status[3:]
