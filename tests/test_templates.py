"""English and German catalogues: same macros, same keys, every text within Slack's limits."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta
from functools import cache
from types import SimpleNamespace
from typing import Any

import pytest
from jinja2 import nodes

from handoff.flows.plans import PLANNED, UNPLANNED, Kind, Role, build_plan, steps
from handoff.flows.states import ORDER, TERMINAL
from handoff.messages import blocks, nudges
from handoff.messages.i18n import catalog, environment, text

LANGS = ("en", "de")
TODAY = date(2026, 11, 30)
DEPARTING, NEW, MANAGER, OTHER = "U0DANA", "U0NOAH", "U0MAYA", "U0OTTO"
LEFTOVERS = ("{{", "}}", "{%", "%}", "None", "Undefined")
SETS = ("CHALLENGES", "SUCCESS", "TASKS_PLANNED", "TASKS_UNPLANNED")


# ---------------------------------------------------------------- helpers


def names(lang: str) -> set[str]:
    """The public names a catalogue exports: macros and top-level sets."""
    return {n for n in dir(catalog(lang)) if not n.startswith("_")}


def macros(lang: str) -> set[str]:
    """The macro names of a catalogue."""
    c = catalog(lang)
    return {n for n in names(lang) if callable(getattr(c, n))}


@cache
def macro_dicts(lang: str) -> dict[str, list[frozenset[str]]]:
    """Per macro of the template source: the key sets of its dict literals, in order."""
    env = environment(lang)
    source = env.loader.get_source(env, "ui.j2")[0]
    return {
        m.name: [frozenset(pair.key.value for pair in d.items) for d in m.find_all(nodes.Dict)]
        for m in env.parse(source).find_all(nodes.Macro)
    }


def dict_keys(lang: str, macro: str) -> list[frozenset[str]]:
    """The key sets of the dict literals inside one macro, in order."""
    assert macro in macro_dicts(lang), f"{lang}/ui.j2 has no macro {macro}"
    return macro_dicts(lang)[macro]


def en_keys(macro: str, index: int = 0) -> list[str]:
    """The keys the English macro looks up, sorted."""
    return sorted(dict_keys("en", macro)[index])


def shape(value: Any) -> Any:
    """A nested dict's keys, with leaves reduced to their type (lists keep their length)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return len(value)
    return type(value).__name__


def check(rendered: Any) -> str:
    """A rendered text: non-empty and free of template leftovers."""
    out = text(rendered)
    assert out, "empty text"
    for bad in LEFTOVERS:
        assert bad not in out, f"{bad!r} in {out!r}"
    return out


def strings(value: Any) -> list[str]:
    """Every string inside a nested payload."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in strings(v)]
    return []


def check_payload(payload: Any) -> str:
    """A builder's output, free of template leftovers; its texts joined for further checks."""
    found = strings(payload)
    for s in found:
        for bad in LEFTOVERS:
            assert bad not in s, f"{bad!r} in {s!r}"
    return "\n".join(found)


@dataclass
class Transition:
    """A transition as the builders read it (blocks.TransitionLike)."""

    account: str = "Acme <Corp> & Co"
    kind: str = Kind.SALES_TO_CS.value
    planned: bool = True
    strategic: bool = False
    handoff_date: date = TODAY + timedelta(days=28)
    departing_owner: str = DEPARTING
    new_owner: str = NEW
    manager: str = MANAGER
    creator: str = OTHER
    reason: str = "Dana moves to the enterprise team"
    notes: str = "The CFO wants numbers, not adjectives."
    digest_channel: str | None = "C0DIGEST"
    state: str = "planning"
    id: int | None = 1


def tasks_of(t: Transition, *, done: int = 0) -> list[SimpleNamespace]:
    """The transition's plan as blocks.TaskLike objects; the first `done` milestones are done."""
    plan = build_plan(planned=t.planned, anchor=t.handoff_date, today=TODAY, strategic=t.strategic)
    assignee = {Role.DEPARTING: t.departing_owner, Role.NEW_OWNER: t.new_owner}
    return [
        SimpleNamespace(
            **asdict(k),
            assignee=assignee.get(k.role, t.manager),
            done_at=TODAY if k.seq < done else None,
        )
        for k in plan
    ]


def cards() -> list[blocks.Card]:
    """Cards for every kind × planned × strategic, with and without creator = manager."""
    out = []
    for kind in Kind:
        for planned in (True, False):
            for strategic in (True, False):
                t = Transition(kind=kind.value, planned=planned, strategic=strategic)
                out.append(blocks.card(t, "en"))
    out.append(blocks.card(Transition(creator=MANAGER, digest_channel=None), "en"))
    return out


STATES = en_keys("state_name")
ERRORS = en_keys("error")


@cache
def samples() -> dict[str, list[tuple[Any, ...]]]:
    """Representative arguments for every English macro, covering every key it looks up."""
    planned_tasks = [(s.key, r.value, True) for s in PLANNED for r in s.roles_for(True)]
    unplanned_tasks = [(s.key, r.value, False) for s in UNPLANNED for r in s.roles_for(True)]
    t = blocks.card(Transition(), "en")
    return {
        "kind_name": [(k.value,) for k in Kind],
        "kind_hint": [(k.value,) for k in Kind],
        "challenges": [(k.value,) for k in Kind],
        "success_factors": [(k.value,) for k in Kind],
        "role_name": [(r.value,) for r in Role],
        "state_name": [(s,) for s in STATES],
        "plan_name": [(True,), (False,)],
        "milestone_title": [(s.key, True) for s in PLANNED] + [(s.key, False) for s in UNPLANNED],
        "tasks": planned_tasks + unplanned_tasks,
        "start_title": [()],
        "start_submit": [()],
        "cancel": [()],
        "start_intro": [()],
        "label": [(b,) for b in en_keys("label")],
        "hint": [(b,) for b in en_keys("hint")],
        "planned_option": [(v,) for v in en_keys("planned_option")],
        "strategic_option": [()],
        "placeholder": [(b,) for b in en_keys("placeholder")],
        "error": [(code,) for code in ERRORS],
        "welcome_header": [("Acme Corp",)],
        "welcome_intro": [(r.value, c) for r in Role for c in cards()],
        "reason_line": [("A new role",)],
        "notes_line": [("Call the CFO first",)],
        "compressed_note": [()],
        "plan_heading": [()],
        "first_tasks_heading": [()],
        "no_first_tasks": [("Mon 14 Dec 2026",)],
        "first_tasks_of": [("Formal handoff", "Mon 14 Dec 2026")],
        "challenges_heading": [()],
        "success_heading": [()],
        "manager_digest_note": [("<#C0DIGEST>",), ("",)],
        "plan_line": [
            (":white_circle:", "Formal handoff", "Mon 14 Dec 2026", "manager"),
            (":white_check_mark:", "Formal handoff", "Mon 14 Dec 2026", ""),
        ],
        "compressed_tag": [()],
        "open_plan": [()],
        "help_text": [()],
        "unknown_subcommand": [("frobnicate",)],
        "list_heading": [(3,)],
        "list_empty": [()],
        "list_line": [
            ("Acme", "manager", "Planning", "Formal handoff, Mon 14 Dec 2026"),
            ("Acme", "manager", "Planning", ""),
        ],
        "list_more": [(2,)],
        "status_usage": [()],
        "status_none": [("Acme",)],
        "did_you_mean": [("*Acme Corp*, *Acme Ltd*",)],
        "status_heading": [(t,)],
        "status_facts": [(t, "Planning"), (replace(t, planned=False), "Planning")],
        "status_ended": [("cancelled",), ("closed",)],
        "done_heading": [()],
        "upcoming_heading": [()],
        "nothing": [()],
        "error_generic": [()],
        "error_action": [()],
        "home_heading": [()],
        "home_empty": [()],
        "home_start": [()],
        "delivery_failed": [("Acme", "<@U0NOAH>", "channel_not_found")],
        "nudge_header": [("Acme", "Formal handoff")],
        "nudge_intro": [
            (k, "Mon 14 Dec 2026", c) for k in ("due", "reminder", "snooze") for c in (True, False)
        ],
        "your_tasks": [()],
        "button": [(b,) for b in en_keys("button")],
        "done_line": [
            ("<@U0NOAH>", "Mon 14 Dec 2026", "Called the CFO"),
            ("<@U0NOAH>", "Mon 14 Dec 2026", ""),
        ],
        "snoozed_line": [("Tue 15 Dec 2026",)],
        "done_title": [()],
        "done_submit": [()],
        "done_intro": [("Acme", "Formal handoff")],
        "done_note_label": [()],
        "done_note_hint": [()],
        "not_yours": [()],
        "not_involved": [()],
        "already_done": [()],
        "closed_already": [("Closed",)],
        "escalation": [("Acme", "<@U0DANA>", "• Formal handoff (due Mon 14 Dec 2026)")],
        "overdue_line": [("Formal handoff", "Mon 14 Dec 2026")],
        "cancelled_notice": [("Acme", "<@U0MAYA>")],
        "moved_notice": [("Acme", "<@U0MAYA>", "Mon 14 Dec 2026")],
        "closed_notice": [("Acme",)],
        "move_title": [()],
        "move_submit": [()],
        "move_label": [(True,), (False,)],
        "move_hint": [()],
        "move_closed": [("Cancelled",), ("Closed",)],
        "cancel_confirm_title": [()],
        "cancel_confirm_text": [("Acme",)],
        "cancel_confirm_yes": [()],
        "cancel_confirm_no": [()],
        "manager_only": [()],
    }


# ---------------------------------------------------------------- catalogue parity


def test_both_catalogues_export_the_same_names():
    assert names("de") == names("en")


@pytest.mark.parametrize("macro", sorted(macros("en")))
def test_german_macros_take_the_same_parameters(macro):
    assert getattr(catalog("de"), macro).arguments == getattr(catalog("en"), macro).arguments


@pytest.mark.parametrize("macro", sorted(macros("en")))
def test_german_macros_look_up_the_same_keys(macro):
    assert dict_keys("de", macro) == dict_keys("en", macro)


@pytest.mark.parametrize("name", SETS)
def test_top_level_sets_have_the_same_keys(name):
    en, de = getattr(catalog("en"), name), getattr(catalog("de"), name)
    assert isinstance(en, dict)
    assert shape(de).keys() == shape(en).keys()
    for key, value in en.items():
        if isinstance(value, dict):
            assert de[key].keys() == value.keys(), f"{name}[{key!r}]"


def test_every_scenario_has_challenges_and_success_factors():
    kinds = {k.value for k in Kind}
    for lang in LANGS:
        c = catalog(lang)
        assert set(c.CHALLENGES) == kinds
        assert set(c.SUCCESS) == kinds


@pytest.mark.parametrize("planned", [True, False])
def test_every_role_with_a_task_has_a_text(planned):
    want = {s.key: {r.value for r in s.roles_for(True)} for s in steps(planned)}
    for lang in LANGS:
        c = catalog(lang)
        table = c.TASKS_PLANNED if planned else c.TASKS_UNPLANNED
        assert {key: set(roles) for key, roles in table.items()} == want


def test_every_state_of_the_machine_has_a_name():
    assert set(ORDER) | TERMINAL <= set(STATES)


# ---------------------------------------------------------------- every macro renders


def test_samples_cover_every_macro():
    assert set(samples()) == macros("en"), "add sample arguments for new macros"


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("macro", sorted(samples()))
def test_macro_renders_for_every_key(lang, macro):
    c = catalog(lang)
    for args in samples()[macro]:
        check(getattr(c, macro)(*args))


@pytest.mark.parametrize("lang", LANGS)
def test_texts_stay_within_slack_limits(lang):
    c = catalog(lang)
    for k in Kind:
        assert len(text(c.kind_name(k.value))) <= 75
        assert len(text(c.kind_hint(k.value))) <= 75
    for v in en_keys("planned_option"):
        assert len(text(c.planned_option(v))) <= 75
    for b in en_keys("button"):
        assert len(text(c.button(b))) <= 75
    assert len(text(c.strategic_option())) <= 75
    assert len(text(c.home_start())) <= 75
    for short in (
        "start_title",
        "start_submit",
        "cancel",
        "done_title",
        "done_submit",
        "move_title",
        "move_submit",
    ):
        assert len(text(getattr(c, short)())) <= 24, short
    assert len(text(c.cancel_confirm_title())) <= 100
    assert len(text(c.cancel_confirm_text("A" * 80))) <= 300
    for word in ("cancel_confirm_yes", "cancel_confirm_no"):
        assert len(text(getattr(c, word)())) <= 30, word
    for b in en_keys("placeholder"):
        assert len(text(c.placeholder(b))) <= 150
    account = "A" * 80
    titles = [text(c.milestone_title(s.key, True)) for s in PLANNED]
    titles += [text(c.milestone_title(s.key, False)) for s in UNPLANNED]
    assert len(text(c.welcome_header(account))) <= 150
    assert len(text(c.home_heading())) <= 150
    assert max(len(text(c.nudge_header(account, title))) for title in titles) <= 150


def test_german_keeps_slash_commands_in_english():
    help_de = text(catalog("de").help_text())
    for sub in ("start", "list", "status <Konto>", "doc <Konto>", "coach", "digest", "help"):
        assert f"`/handoff {sub}`" in help_de


# ---------------------------------------------------------------- the real builders


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("manager", [MANAGER, None])
def test_start_modal_builds(lang, manager):
    view = blocks.start_modal(lang, today=TODAY, manager=manager)
    check_payload(view)
    assert view["callback_id"] == blocks.START_CALLBACK


@pytest.mark.parametrize("lang", LANGS)
def test_start_errors_build_for_every_code(lang):
    errors = blocks.start_errors(lang, {f"block_{code}": code for code in ERRORS})
    assert len(errors) == len(ERRORS)
    for message in errors.values():
        check(message)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("kind", list(Kind))
@pytest.mark.parametrize("planned", [True, False])
@pytest.mark.parametrize("strategic", [True, False])
def test_welcome_builds(lang, role, kind, planned, strategic):
    t = Transition(kind=kind.value, planned=planned, strategic=strategic)
    msg = blocks.welcome(t, tasks_of(t), role.value, lang)
    check_payload(msg)
    assert msg["text"]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("role", list(Role))
def test_compressed_welcome_without_reason_or_digest_builds(lang, role):
    t = Transition(
        handoff_date=TODAY + timedelta(days=10),
        reason="",
        notes="",
        digest_channel=None,
        creator=MANAGER,
    )
    tasks = tasks_of(t)
    assert any(k.compressed for k in tasks)
    check_payload(blocks.welcome(t, tasks, role.value, lang))


@pytest.mark.parametrize("role", list(Role))
def test_german_welcome_is_a_translation(role):
    t = Transition(strategic=True)
    en = blocks.welcome(t, tasks_of(t), role.value, "en")
    de = blocks.welcome(t, tasks_of(t), role.value, "de")
    assert len(de["blocks"]) == len(en["blocks"])
    assert de["text"] != en["text"]
    texts_en = [b.get("text", {}).get("text") for b in en["blocks"] if b["type"] == "section"]
    texts_de = [b.get("text", {}).get("text") for b in de["blocks"] if b["type"] == "section"]
    for a, b in zip(texts_en, texts_de, strict=True):
        assert a != b
    assert "Sie" in check_payload(de)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("planned", [True, False])
def test_status_message_builds(lang, state, planned):
    t = Transition(state=state, planned=planned, strategic=True)
    for done in (0, 3, len(steps(planned))):
        check_payload(blocks.status_message(t, tasks_of(t, done=done), lang))


def listing() -> list[tuple[Transition, str | None]]:
    """One open transition per role of OTHER, in every state."""
    items: list[tuple[Transition, str | None]] = []
    for i, state in enumerate(STATES):
        t = Transition(account=f"Account {i}", state=state)
        if i % 3 == 0:
            t.departing_owner = OTHER
        elif i % 3 == 1:
            t.new_owner = OTHER
        items.append((t, "Formal handoff, Mon 14 Dec 2026" if i % 2 else None))
    return items


@pytest.mark.parametrize("lang", LANGS)
def test_list_message_builds(lang):
    check_payload(blocks.list_message(OTHER, listing(), len(STATES) + 5, lang))
    check_payload(blocks.list_message(OTHER, [], 0, lang))


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("unknown", [None, "frobnicate <@U0BAD>"])
def test_help_message_builds(lang, unknown):
    check_payload(blocks.help_message(lang, unknown=unknown))


@pytest.mark.parametrize("lang", LANGS)
def test_delivery_failed_builds(lang):
    payload = {"recipient": NEW, "error": "channel_not_found"}
    check_payload(blocks.delivery_failed(Transition(), payload, lang))


# ---------------------------------------------------------------- nudges and plan actions


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("planned", [True, False])
@pytest.mark.parametrize("kind", ["due", "reminder", "snooze"])
def test_nudge_builds_for_every_task(lang, planned, kind):
    t = Transition(planned=planned, strategic=True, handoff_date=TODAY + timedelta(days=10))
    for i, task in enumerate(tasks_of(t)):
        msg = nudges.nudge(t, task, i + 1, kind, lang)
        check_payload(msg)
        settled = nudges.task_settled(msg, text(catalog(lang).snoozed_line("Tue 1 Dec 2026")))
        check_payload(settled)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("planned", [True, False])
def test_done_and_move_modals_build(lang, planned):
    check_payload(nudges.done_modal("Acme <Corp>", "Formal handoff", 7, "{}", lang))
    check_payload(nudges.move_modal(planned, TODAY, "{}", lang))


@pytest.mark.parametrize("lang", LANGS)
def test_escalation_and_notices_build(lang):
    t = Transition(planned=False)
    tasks = tasks_of(t)
    check_payload(nudges.escalation(t, tasks[:3], lang))
    for kind in ("cancelled", "closed", "moved"):
        check_payload(nudges.notice(t, tasks, kind, {"by": MANAGER}, lang))


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("viewer", [DEPARTING, NEW, MANAGER, OTHER])
def test_status_message_with_plan_actions_builds(lang, viewer):
    t = Transition(account="A" * 80)
    msg = blocks.status_message(t, tasks_of(t), lang, viewer)
    check_payload(msg)
    assert any(b["type"] == "actions" for b in msg["blocks"]) == (viewer != OTHER)
