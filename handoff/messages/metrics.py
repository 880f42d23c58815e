"""Block Kit of the new owner's check-ins: the DM, the modal, and the lines in /handoff status."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    InputBlock,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from handoff.flows import metrics as fm
from handoff.messages.blocks import TransitionLike, message, section
from handoff.messages.i18n import catalog, text
from handoff.messages.text import escape, truncate

COMMENT_SHOWN = 300  # characters of a comment or note in /handoff status; the export has all


def texts(lang: str) -> Any:
    """The metrics catalogue."""
    return catalog(lang, "metrics.j2")


def survey_message(t: TransitionLike, item: str, lang: str) -> dict[str, Any]:
    """The DM asking the new owner to record a check-in."""
    m = texts(lang)
    line = text(m.survey_text(item, escape(t.account)))
    button = ButtonElement(
        action_id="survey.open",
        text=text(m.record()),
        value=f"{t.id}:{item}",
        style="primary",
    )
    return message(
        [section(line), ActionsBlock(block_id=f"survey:{t.id}", elements=[button])], line
    )


def survey_modal(
    t: TransitionLike, item: str, lang: str, *, callback_id: str, meta: str
) -> dict[str, Any]:
    """The check-in's modal."""
    m = texts(lang)
    blocks: list[Block] = [section(f"*{escape(t.account)}* · {m.ITEM[item]}")]
    for name in fm.FIELDS[item]:
        if name in fm.CHOICES:
            element: Any = StaticSelectElement(
                action_id="v",
                options=[Option(value=v, label=m.OPTION[v]) for v in fm.CHOICES[name]],
            )
        elif name == "health":
            element = NumberInputElement(
                action_id="v", is_decimal_allowed=False, min_value="0", max_value="100"
            )
        else:
            element = PlainTextInputElement(action_id="v", multiline=True, max_length=fm.NOTE_MAX)
        blocks.append(
            InputBlock(
                block_id=name,
                label=m.LABEL[name],
                element=element,
                optional=name not in fm.REQUIRED,
            )
        )
    view = View(
        type="modal",
        callback_id=callback_id,
        private_metadata=meta,
        title=PlainTextObject(text=text(m.title())),
        submit=PlainTextObject(text=text(m.save())),
        close=PlainTextObject(text=text(catalog(lang).cancel())),
        blocks=blocks,
    )
    return view.to_dict()


def errors_for(codes: dict[str, str], lang: str) -> dict[str, str]:
    """Inline errors of the modal."""
    m = texts(lang)
    return {
        name: text(m.out_of_range() if code == "out_of_range" else m.bad_value())
        for name, code in codes.items()
    }


def lines(values: dict[str, dict[str, Any]], baseline: int | None, lang: str) -> list[str]:
    """The recorded metrics against the value before the handoff, for /handoff status."""
    m = texts(lang)
    return [text(m.heading()), *recorded_lines(values, baseline, lang)]


def recorded_lines(
    values: Mapping[str, Mapping[str, Any]],
    baseline: int | None,
    lang: str,
    *,
    markdown: bool = False,
) -> list[str]:
    """One line per recorded metric (or one saying there are none), without a heading: mrkdwn
    with the customer's comment escaped and shortened, or, with `markdown`, for the exported
    file (Markdown bold, the comment whole and as typed)."""
    m = texts(lang)
    if not values:
        return [text(m.none_yet())]
    bold = "**" if markdown else "*"
    out = []

    def said(typed: Any, line: Any) -> None:  # the customer's comment, the owner's note
        if typed:
            shown = str(typed) if markdown else escape(truncate(str(typed), COMMENT_SHOWN))
            out.append(text(line(shown)))

    if "csat" in values:
        out.append(text(m.csat_line(values["csat"].get("score"), bold)))
        said(values["csat"].get("comment"), m.comment_line)
    points = [
        (text(m.short(item)), values[item]["health"])
        for item in ("d30", "d60", "d90")
        if item in values and "health" in values[item]
    ]
    if points or baseline is not None:
        out.append(text(m.health_line(baseline, points)))
    for item in ("d30", "d60", "d90"):
        v = values.get(item)
        if v:
            out.append(
                text(
                    m.change_line(
                        item,
                        m.OPTION.get(v.get("renewal_risk"), "—"),
                        m.OPTION.get(v.get("pipeline"), "—"),
                        m.OPTION.get(v.get("reference"), "—"),
                    )
                )
            )
            said(v.get("note"), m.note_line)
    return out
