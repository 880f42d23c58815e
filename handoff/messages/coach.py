"""Block Kit for the emotions coach (`/handoff coach`)."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

from slack_sdk.models.blocks import Block, DividerBlock, Option, SectionBlock, StaticSelectElement
from slack_sdk.models.blocks.basic_components import MarkdownTextObject, PlainTextObject
from slack_sdk.models.views import View

from handoff.flows.drafts import EMOTIONS
from handoff.messages.blocks import context, section
from handoff.messages.i18n import catalog, text
from handoff.messages.text import truncate

VIEW = "coach.view"
TRANSITION = "coach.transition"
EMOTION = "coach.emotion"
OPTION_TEXT = 75
OPTIONS_MAX = 100


def coach_catalog(lang: str) -> Any:
    """The macros of coach.j2."""
    return catalog(lang, "coach.j2")


def _select(
    block: str, label: str, placeholder: str, options: list[Option], initial: Option | None
) -> SectionBlock:
    return SectionBlock(
        block_id=block,
        text=MarkdownTextObject(text=label),
        accessory=StaticSelectElement(
            action_id=block,
            placeholder=PlainTextObject(text=placeholder),
            options=options,
            initial_option=initial,
        ),
    )


def coach_view(
    choices: Sequence[tuple[int, str]],
    lang: str,
    *,
    selected: int | None = None,
    emotion: str | None = None,
    v: SimpleNamespace | None = None,
) -> dict[str, Any]:
    """The coach modal: pick a handoff and the customer's reaction; with `v`, the answer too.

    `choices` are (transition id, account name as typed); `v` holds escaped names.
    """
    c = coach_catalog(lang)
    handoffs = [
        Option(value=str(i), text=truncate(account, OPTION_TEXT))
        for i, account in choices[:OPTIONS_MAX]
    ]
    feelings = [Option(value=e, text=text(c.emotion_name(e))) for e in EMOTIONS]
    chosen = next(
        (o for o in handoffs if o.value == str(selected)), handoffs[0] if handoffs else None
    )
    felt = next((o for o in feelings if o.value == emotion), None)
    blocks: list[Block] = [
        context(text(c.intro())),
        _select(
            TRANSITION, text(c.transition_label()), text(c.pick_transition()), handoffs, chosen
        ),
        _select(EMOTION, text(c.emotion_label()), text(c.pick_emotion()), feelings, felt),
    ]
    if v is not None and emotion in EMOTIONS:
        blocks += [
            DividerBlock(),
            section(text(c.heading(v.account, emotion))),
            section(text(c.says_heading()) + "\n" + text(c.customer_says(emotion, v))),
            section(text(c.response_heading(v.new_owner)) + "\n" + text(c.response(emotion, v))),
            section(text(c.validation())),
        ]
    view = View(
        type="modal",
        callback_id=VIEW,
        title=PlainTextObject(text=text(c.title())),
        close=PlainTextObject(text=text(catalog(lang).cancel())),
        blocks=blocks,
    )
    return view.to_dict()
