"""Block Kit for milestone nudges and what follows them: done, snooze, move, escalate, notify."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    DatePickerElement,
    InputBlock,
    PlainTextInputElement,
    PlainTextObject,
)

from handoff.messages.blocks import (
    MESSAGE_BLOCKS,
    TaskLike,
    TransitionLike,
    context,
    doc_button,
    header,
    message,
    modal,
    note_message,
    plan_lines,
    section,
)
from handoff.messages.i18n import catalog, fmt_date, text
from handoff.messages.text import escape, user_ref


def task_buttons(task_id: int, transition_id: int, lang: str) -> ActionsBlock:
    """Done, snooze (a day / until Monday), open plan."""
    c = catalog(lang)
    return ActionsBlock(
        block_id=f"task:{task_id}",
        elements=[
            ButtonElement(
                action_id="task.done",
                text=text(c.button("done")),
                value=str(task_id),
                style="primary",
            ),
            ButtonElement(
                action_id="task.snooze_day", text=text(c.button("snooze_day")), value=str(task_id)
            ),
            ButtonElement(
                action_id="task.snooze_monday",
                text=text(c.button("snooze_monday")),
                value=str(task_id),
            ),
            ButtonElement(
                action_id="plan.open", text=text(c.button("open_plan")), value=str(transition_id)
            ),
            doc_button(transition_id, lang),
        ],
    )


def nudge(t: TransitionLike, task: TaskLike, task_id: int, kind: str, lang: str) -> dict[str, Any]:
    """A milestone's DM to one person: what is due, their tasks, and the buttons."""
    c = catalog(lang)
    title = text(c.milestone_title(task.milestone, t.planned))
    head = text(c.nudge_header(t.account, title))
    blocks: list[Block] = [
        header(head),
        section(text(c.nudge_intro(kind, fmt_date(task.due_on, lang), task.compressed))),
        section(text(c.your_tasks()) + "\n" + text(c.tasks(task.milestone, task.role, t.planned))),
        task_buttons(task_id, t.id or 0, lang),
    ]
    return message(blocks, text(c.nudge_header(escape(t.account), title)))


def task_settled(original: dict[str, Any], line: str) -> dict[str, Any]:
    """The nudge as it looks once done or snoozed: same text, buttons replaced by a line."""
    kept = [b for b in original.get("blocks", []) if b.get("type") != "actions"]
    blocks = [*kept, context(line).to_dict()]
    return {"text": original.get("text", ""), "blocks": blocks[:MESSAGE_BLOCKS]}


def done_modal(account: str, title: str, task_id: int, meta: str, lang: str) -> dict[str, Any]:
    """The optional note when a task is marked done."""
    c = catalog(lang)
    note = InputBlock(
        block_id="note",
        label=PlainTextObject(text=text(c.done_note_label())),
        hint=PlainTextObject(text=text(c.done_note_hint())),
        element=PlainTextInputElement(action_id="value", multiline=True, max_length=2000),
        optional=True,
    )
    return modal(
        "task.done_view",
        text(c.done_title()),
        text(c.done_submit()),
        [section(text(c.done_intro(escape(account), title))), note],
        lang,
        meta,
    )


def move_modal(planned: bool, current: date, meta: str, lang: str) -> dict[str, Any]:
    """Change the handoff (or start) date."""
    c = catalog(lang)
    field = InputBlock(
        block_id="handoff_date",
        label=PlainTextObject(text=text(c.move_label(planned))),
        hint=PlainTextObject(text=text(c.move_hint())),
        element=DatePickerElement(action_id="value", initial_date=current.isoformat()),
    )
    return modal("plan.move_view", text(c.move_title()), text(c.move_submit()), [field], lang, meta)


def move_closed(state: str, lang: str) -> str:
    """Why a cancelled or closed handoff's date can no longer be changed (plain text)."""
    c = catalog(lang)
    return text(c.move_closed(text(c.state_name(state))))


def escalation(t: TransitionLike, overdue: Sequence[TaskLike], lang: str) -> dict[str, Any]:
    """The manager's DM when the departing owner ignored two reminders."""
    c = catalog(lang)
    lines = "\n".join(
        text(
            c.overdue_line(
                text(c.milestone_title(k.milestone, t.planned)), fmt_date(k.due_on, lang)
            )
        )
        for k in overdue
    )
    body = text(c.escalation(escape(t.account), user_ref(t.departing_owner), lines))
    return message([section(body), plan_button(t, lang)], body)


def plan_button(t: TransitionLike, lang: str) -> ActionsBlock:
    """A lone Open plan button."""
    c = catalog(lang)
    return ActionsBlock(
        elements=[
            ButtonElement(action_id="plan.open", text=text(c.button("open_plan")), value=str(t.id))
        ]
    )


def notice(
    t: TransitionLike, tasks: Sequence[TaskLike], kind: str, payload: dict[str, Any], lang: str
) -> dict[str, Any]:
    """Cancelled, moved and closed notices to everyone in the transition."""
    c = catalog(lang)
    by = user_ref(payload.get("by"))
    if kind == "cancelled":
        return note_message(text(c.cancelled_notice(escape(t.account), by)))
    if kind == "closed":
        return note_message(text(c.closed_notice(escape(t.account))))
    head = text(c.moved_notice(escape(t.account), by, fmt_date(t.handoff_date, lang)))
    body = "\n".join(plan_lines(t, tasks, lang))
    return message([section(head), section(body)], head)
