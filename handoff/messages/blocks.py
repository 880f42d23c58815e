"""Block Kit builders. Built with slack_sdk.models, so Slack's limits are checked here."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import groupby
from typing import Any, Protocol

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    ConversationFilter,
    ConversationSelectElement,
    DatePickerElement,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from handoff.flows.plans import Kind, Role
from handoff.flows.states import TERMINAL
from handoff.messages.i18n import catalog, fmt_date, knowledge, text
from handoff.messages.text import channel_ref, escape, truncate, user_ref

MESSAGE_BLOCKS = 50
MODAL_BLOCKS = 100
SECTION_TEXT = 3000
HEADER_TEXT = 150
START_CALLBACK = "handoff_start"


class TransitionLike(Protocol):
    """What the builders read of a transition."""

    id: int | None
    account: str
    kind: str
    planned: bool
    strategic: bool
    handoff_date: date
    departing_owner: str
    new_owner: str
    manager: str
    creator: str
    reason: str
    notes: str
    digest_channel: str | None
    state: str


class TaskLike(Protocol):
    """What the builders read of a task."""

    milestone: str
    seq: int
    role: str
    assignee: str
    due_on: date
    compressed: bool
    done_at: Any


@dataclass(frozen=True)
class Card:
    """A transition prepared for the templates: user text escaped, people as mentions."""

    account: str
    kind: str
    planned: bool
    strategic: bool
    handoff_date_text: str
    departing_ref: str
    new_owner_ref: str
    manager_ref: str
    creator_ref: str
    reason: str
    notes: str
    digest_ref: str


def card(t: TransitionLike, lang: str) -> Card:
    """Escape and format a transition once for all templates."""
    return Card(
        account=escape(t.account),
        kind=t.kind,
        planned=t.planned,
        strategic=t.strategic,
        handoff_date_text=fmt_date(t.handoff_date, lang),
        departing_ref=user_ref(t.departing_owner),
        new_owner_ref=user_ref(t.new_owner),
        manager_ref=user_ref(t.manager),
        creator_ref=user_ref(t.creator),
        reason=escape(t.reason),
        notes=escape(t.notes),
        digest_ref=channel_ref(t.digest_channel),
    )


def message(blocks: Sequence[Block], fallback: str) -> dict[str, Any]:
    """chat.postMessage arguments: blocks checked against Slack's limits, plus notification text.

    `fallback` is mrkdwn like the blocks: user text in it must already be escaped.
    """
    if len(blocks) > MESSAGE_BLOCKS:
        raise ValueError(f"a message may have at most {MESSAGE_BLOCKS} blocks, not {len(blocks)}")
    return {"text": truncate(fallback, 3000), "blocks": [b.to_dict() for b in blocks]}


def section(mrkdwn: str) -> SectionBlock:
    """A mrkdwn section, cut to Slack's 3000 characters."""
    return SectionBlock(text=MarkdownTextObject(text=truncate(mrkdwn, SECTION_TEXT)))


def context(mrkdwn: str) -> ContextBlock:
    """A small-print line."""
    return ContextBlock(elements=[MarkdownTextObject(text=truncate(mrkdwn, SECTION_TEXT))])


def header(plain: str) -> HeaderBlock:
    """A header, cut to Slack's 150 characters."""
    return HeaderBlock(text=PlainTextObject(text=truncate(plain, HEADER_TEXT)))


# ---------------------------------------------------------------- start modal


def start_modal(lang: str, *, today: date, manager: str | None = None) -> dict[str, Any]:
    """The start modal (callback_id handoff_start, block ids as in CONTRACT.md)."""
    c = catalog(lang)

    def plain(s: Any) -> PlainTextObject:
        return PlainTextObject(text=text(s))

    def field(block: str, element: Any, *, optional: bool = False) -> InputBlock:
        return InputBlock(
            block_id=block,
            label=plain(c.label(block)),
            hint=plain(c.hint(block)),
            element=element,
            optional=optional,
        )

    def person(initial: str | None = None) -> UserSelectElement:
        return UserSelectElement(
            action_id="value", placeholder=plain(c.placeholder("people")), initial_user=initial
        )

    kinds = [
        Option(
            value=k.value, text=text(c.kind_name(k.value)), description=text(c.kind_hint(k.value))
        )
        for k in Kind
    ]
    plans = [Option(value=v, text=text(c.planned_option(v))) for v in ("planned", "unplanned")]
    strategic = Option(value="strategic", text=text(c.strategic_option()))
    blocks: list[Block] = [
        context(text(c.start_intro())),
        field(
            "account",
            PlainTextInputElement(
                action_id="value", max_length=80, placeholder=plain(c.placeholder("account"))
            ),
        ),
        field("departing_owner", person()),
        field("new_owner", person()),
        field("manager", person(manager)),
        field(
            "kind",
            StaticSelectElement(
                action_id="value", options=kinds, placeholder=plain(c.placeholder("kind"))
            ),
        ),
        field(
            "planned",
            RadioButtonsElement(action_id="value", options=plans, initial_option=plans[0]),
        ),
        field(
            "handoff_date",
            DatePickerElement(
                action_id="value",
                initial_date=(today + timedelta(days=28)).isoformat(),
                placeholder=plain(c.placeholder("date")),
            ),
        ),
        field(
            "digest_channel",
            ConversationSelectElement(
                action_id="value",
                placeholder=plain(c.placeholder("digest_channel")),
                filter=ConversationFilter(include=["public", "private"], exclude_bot_users=True),
            ),
            optional=True,
        ),
        field(
            "strategic", CheckboxesElement(action_id="value", options=[strategic]), optional=True
        ),
        field("reason", PlainTextInputElement(action_id="value", max_length=500), optional=True),
        field(
            "notes",
            PlainTextInputElement(action_id="value", multiline=True, max_length=2000),
            optional=True,
        ),
    ]
    return modal(START_CALLBACK, text(c.start_title()), text(c.start_submit()), blocks, lang)


def start_errors(lang: str, codes: dict[str, str]) -> dict[str, str]:
    """Inline error texts keyed by block_id."""
    c = catalog(lang)
    return {block: text(c.error(code)) for block, code in codes.items()}


# ---------------------------------------------------------------- plan


def plan_lines(t: TransitionLike, tasks: Sequence[TaskLike], lang: str) -> list[str]:
    """One line per milestone: done mark, date, title, who."""
    c = catalog(lang)
    lines = []
    order = [r.value for r in Role]
    by_seq = sorted(tasks, key=lambda k: (k.seq, order.index(k.role)))
    for _, group in groupby(by_seq, key=lambda k: k.seq):
        items = list(group)
        first = items[0]
        done = all(k.done_at is not None for k in items)
        mark = ":white_check_mark:" if done else ":white_circle:"
        who = ", ".join(text(c.role_name(k.role)) for k in items)
        line = text(
            c.plan_line(
                mark,
                text(c.milestone_title(first.milestone, t.planned)),
                fmt_date(first.due_on, lang),
                who,
            )
        )
        if first.compressed and not done:
            line += " " + text(c.compressed_tag())
        lines.append(line)
    return lines


def first_tasks(t: TransitionLike, tasks: Sequence[TaskLike], role: str, lang: str) -> str:
    """The role's first open milestone: its title, date and tasks."""
    c = catalog(lang)
    mine = sorted((k for k in tasks if k.role == role and k.done_at is None), key=lambda k: k.seq)
    if not mine:
        return ""
    first = mine[0]
    title = text(c.milestone_title(first.milestone, t.planned))
    return "\n".join(
        [
            text(c.first_tasks_heading()),
            text(c.first_tasks_of(title, fmt_date(first.due_on, lang))),
            text(c.tasks(first.milestone, role, t.planned)),
        ]
    )


def welcome(t: TransitionLike, tasks: Sequence[TaskLike], role: str, lang: str) -> dict[str, Any]:
    """The DM each person gets when a transition starts."""
    c = catalog(lang)
    cd = card(t, lang)
    blocks: list[Block] = [
        header(text(c.welcome_header(t.account))),
        section(text(c.welcome_intro(role, cd))),
    ]
    small = [text(c.reason_line(cd.reason))] if cd.reason else []
    if cd.notes:
        small.append(text(c.notes_line(cd.notes)))
    if small:
        blocks.append(context("\n".join(small)))
    if any(k.compressed for k in tasks):
        blocks.append(section(text(c.compressed_note())))
    blocks += [
        DividerBlock(),
        section(text(c.plan_heading()) + "\n" + "\n".join(plan_lines(t, tasks, lang))),
    ]
    mine = first_tasks(t, tasks, role, lang)
    if mine:
        blocks.append(section(mine))
    if role == Role.MANAGER:
        blocks.append(context(text(c.manager_digest_note(cd.digest_ref))))
    else:
        blocks.append(section(text(c.challenges_heading()) + "\n" + text(c.challenges(t.kind))))
        blocks.append(section(text(c.success_heading()) + "\n" + text(c.success_factors(t.kind))))
    blocks.append(ActionsBlock(block_id=f"doc:{t.id}", elements=[doc_button(t.id, lang)]))
    return message(blocks, text(c.welcome_header(escape(t.account))))


def doc_button(transition_id: int | None, lang: str) -> ButtonElement:
    """'Open document': the knowledge document's overview."""
    return ButtonElement(
        action_id="doc.open", text=text(knowledge(lang).open_document()), value=str(transition_id)
    )


# ---------------------------------------------------------------- slash command answers


def help_message(lang: str, *, unknown: str | None = None) -> dict[str, Any]:
    """The help text; with `unknown`, says which subcommand was not understood."""
    c = catalog(lang)
    blocks: list[Block] = []
    if unknown:
        blocks.append(section(text(c.unknown_subcommand(escape(truncate(unknown, 50))))))
    blocks.append(section(text(c.help_text())))
    return message(blocks, text(c.help_text()))


def note_message(mrkdwn: str) -> dict[str, Any]:
    """A one-section message."""
    return message([section(mrkdwn)], mrkdwn)


def list_message(
    user_id: str,
    items: Sequence[tuple[TransitionLike, str | None]],
    total: int,
    lang: str,
) -> dict[str, Any]:
    """The caller's open transitions with their role, state and next milestone date."""
    c = catalog(lang)
    if not items:
        return note_message(text(c.list_empty()))
    lines = [
        text(
            c.list_line(
                escape(t.account),
                text(c.role_name(role_of(t, user_id))),
                text(c.state_name(t.state)),
                next_text or "",
            )
        )
        for t, next_text in items
    ]
    blocks: list[Block] = [section(text(c.list_heading(total)))]
    # several lines per section keep long lists inside the 50-block limit
    for start in range(0, len(lines), 10):
        blocks.append(section("\n".join(lines[start : start + 10])))
    if total > len(items):
        blocks.append(context(text(c.list_more(total - len(items)))))
    return message(blocks[:MESSAGE_BLOCKS], text(c.list_heading(total)))


def role_of(t: TransitionLike, user_id: str) -> str:
    """The user's role in a transition: an owner, the manager, or who only started it."""
    if user_id == t.departing_owner:
        return Role.DEPARTING
    if user_id == t.new_owner:
        return Role.NEW_OWNER
    if user_id == t.manager:
        return Role.MANAGER
    return "creator"


def status_message(
    t: TransitionLike,
    tasks: Sequence[TaskLike],
    lang: str,
    viewer: str | None = None,
    knowledge_lines: Sequence[str] = (),
) -> dict[str, Any]:
    """One transition: people, state, done and upcoming milestones (none once it has ended)."""
    c = catalog(lang)
    cd = card(t, lang)
    heading = text(c.status_heading(cd))
    if t.state in TERMINAL:  # cancelled or closed: said at the top, and nothing is upcoming
        heading += "\n" + text(c.status_ended(t.state))
    lines = plan_lines(t, tasks, lang)
    done_seqs = {
        seq
        for seq, group in groupby(sorted(tasks, key=lambda k: k.seq), key=lambda k: k.seq)
        if all(k.done_at is not None for k in group)
    }
    seqs = sorted({k.seq for k in tasks})
    done = [line for seq, line in zip(seqs, lines, strict=True) if seq in done_seqs]
    upcoming = [line for seq, line in zip(seqs, lines, strict=True) if seq not in done_seqs]
    blocks: list[Block] = [
        section(heading),
        context(text(c.status_facts(cd, text(c.state_name(t.state))))),
        section(text(c.done_heading()) + "\n" + ("\n".join(done) or text(c.nothing()))),
    ]
    if t.state not in TERMINAL:
        blocks.append(
            section(text(c.upcoming_heading()) + "\n" + ("\n".join(upcoming) or text(c.nothing())))
        )
    if knowledge_lines:
        blocks.append(section("\n".join(knowledge_lines)))
    actions = plan_actions(t, viewer, lang) if viewer else None
    if actions is not None:
        actions.elements.insert(0, doc_button(t.id, lang))
        blocks.append(actions)
    return message(blocks, heading)


def json_ephemeral(mrkdwn: str) -> str:
    """A slash-command response body (ephemeral) as JSON."""
    return json.dumps({"response_type": "ephemeral", **note_message(mrkdwn)})


def delivery_failed(t: TransitionLike, payload: dict[str, Any], lang: str) -> dict[str, Any]:
    """Tells the manager that a message could not be delivered."""
    c = catalog(lang)
    line = text(
        c.delivery_failed(
            escape(t.account), user_ref(payload.get("recipient")), escape(str(payload.get("error")))
        )
    )
    return note_message(line)


def modal(
    callback_id: str, title: str, submit: str, blocks: list[Block], lang: str, meta: str = ""
) -> dict[str, Any]:
    """A modal with Cancel as its close button, checked against Slack's limits."""
    view = View(
        type="modal",
        callback_id=callback_id,
        private_metadata=meta or None,
        title=PlainTextObject(text=title),
        submit=PlainTextObject(text=submit),
        close=PlainTextObject(text=text(catalog(lang).cancel())),
        blocks=blocks,
    )
    return view.to_dict()


def plan_actions(t: TransitionLike, viewer: str, lang: str) -> ActionsBlock | None:
    """Change date (owners and manager) and cancel (manager, with a confirmation)."""
    from slack_sdk.models.blocks import ConfirmObject

    c = catalog(lang)
    if t.state in TERMINAL or viewer not in (
        t.departing_owner,
        t.new_owner,
        t.manager,
    ):
        return None
    elements = [
        ButtonElement(action_id="plan.move", text=text(c.button("change_date")), value=str(t.id))
    ]
    if viewer == t.manager:
        elements.append(
            ButtonElement(
                action_id="plan.cancel",
                text=text(c.button("cancel")),
                value=str(t.id),
                style="danger",
                confirm=ConfirmObject(
                    title=text(c.cancel_confirm_title()),
                    text=MarkdownTextObject(text=text(c.cancel_confirm_text(escape(t.account)))),
                    confirm=text(c.cancel_confirm_yes()),
                    deny=text(c.cancel_confirm_no()),
                    style="danger",
                ),
            )
        )
    return ActionsBlock(block_id=f"plan:{t.id}", elements=elements)
