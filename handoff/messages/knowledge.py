"""Block Kit of the knowledge document: the overview, a section's modal, the stakeholder modal,
progress bars, and the readiness warning. User text is escaped where it is shown as mrkdwn and
kept as typed in input elements."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    DatePickerElement,
    DividerBlock,
    InputBlock,
    MarkdownTextObject,
    NumberInputElement,
    Option,
    OverflowMenuElement,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticMultiSelectElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from handoff.flows import knowledge as kn
from handoff.messages.blocks import MESSAGE_BLOCKS, TransitionLike, context, message, section
from handoff.messages.i18n import knowledge, text
from handoff.messages.text import escape, truncate

BAR_CELLS = 10


def bar(score: int) -> str:
    """A ten-cell progress bar."""
    full = max(0, min(BAR_CELLS, score * BAR_CELLS // 100))
    return "▰" * full + "▱" * (BAR_CELLS - full)


def title(lang: str, section_key: str) -> str:
    """A section's title."""
    return knowledge(lang).TITLE[section_key]


def item_label(lang: str, section_key: str, item: str) -> str:
    """The name of a required item (a field label, or a relationship-map item)."""
    k = knowledge(lang)
    return k.ITEM.get(item) or k.LABEL[f"{section_key}.{item}"]


def section_state(doc: kn.Document, section_key: str, lang: str) -> str:
    """'reviewed', 'not reviewed' or 'changed since review'."""
    k = knowledge(lang)
    if doc.is_reviewed(section_key):
        return text(k.reviewed())
    if section_key in doc.reviewed:
        return text(k.changed_since_review())
    return text(k.not_reviewed())


def total_lines(r: kn.Readiness, lang: str) -> list[str]:
    """The document's completeness bar and whether it is ready."""
    k = knowledge(lang)
    reviewed = len(kn.SECTIONS) - len(r.unreviewed)
    return [
        text(k.total_line(bar(r.score), r.score, reviewed, len(kn.SECTIONS))),
        text(k.ready_line(r.ready)),
    ]


def section_text(doc: kn.Document, section_key: str, lang: str) -> str:
    """A section's title, bar, score and review state."""
    score = kn.score(doc, section_key)
    state = section_state(doc, section_key, lang)
    return text(knowledge(lang).section_line(title(lang, section_key), bar(score), score, state))


def summary_lines(doc: kn.Document, lang: str) -> list[str]:
    """The total lines and one line per section, for /handoff status."""
    lines = total_lines(kn.readiness(doc), lang)
    return lines + [section_text(doc, sec.key, lang) for sec in kn.SECTIONS]


def _meta(**values: Any) -> str:
    return json.dumps(values, separators=(",", ":"))


def _plain(s: str) -> PlainTextObject:
    return PlainTextObject(text=s)


def _modal(
    callback_id: str,
    title_text: str,
    blocks: Sequence[Block],
    lang: str,
    meta: str,
    *,
    submit: bool = True,
    submit_text: str | None = None,
    notify_on_close: bool = False,
) -> dict[str, Any]:
    """A modal: Save (or `submit_text`) and Cancel; Close where closing keeps what was typed or
    there is nothing to submit."""
    k = knowledge(lang)
    view = View(
        type="modal",
        callback_id=callback_id,
        private_metadata=meta,
        title=_plain(truncate(title_text, 24)),
        submit=_plain(submit_text or text(k.save())) if submit else None,
        close=_plain(text(k.close() if notify_on_close or not submit else k.cancel())),
        notify_on_close=notify_on_close,
        blocks=list(blocks),
    )
    return view.to_dict()


# ---------------------------------------------------------------- overview


def overview_modal(
    t: TransitionLike, doc: kn.Document, viewer: str, lang: str, *, callback_id: str
) -> dict[str, Any]:
    """The document's overview: completeness, each section with Edit (and Review for the new
    owner)."""
    k = knowledge(lang)
    blocks: list[Block] = [
        section(text(k.overview_intro(escape(t.account)))),
        section("\n".join(total_lines(kn.readiness(doc), lang))),
        DividerBlock(),
    ]
    for sec in kn.SECTIONS:
        blocks += section_rows(t, doc, sec.key, viewer, lang)
    return _modal(
        callback_id,
        text(k.document_title()),
        blocks,
        lang,
        _meta(t=t.id),
        submit=False,
    )


def section_rows(
    t: TransitionLike, doc: kn.Document, section_key: str, viewer: str, lang: str
) -> list[Block]:
    """One section in the overview: its line with an Edit button, what is missing, Review."""
    k = knowledge(lang)
    line = section_text(doc, section_key, lang)
    rows: list[Block] = [
        SectionBlock(
            block_id=f"sec:{section_key}",
            text=MarkdownTextObject(text=line),
            accessory=ButtonElement(
                action_id="doc.section", text=text(k.edit()), value=f"{t.id}:{section_key}"
            ),
        )
    ]
    notes = [text(k.map_flag(f)) for f in kn.flags(doc)] if section_key == "relationships" else []
    missing = kn.missing(doc, section_key)
    if missing:
        notes.append(
            text(k.missing_line(", ".join(item_label(lang, section_key, m) for m in missing)))
        )
    if notes:
        rows.append(context("\n".join(notes)))
    if viewer == t.new_owner and not doc.is_reviewed(section_key):
        rows.append(
            ActionsBlock(
                block_id=f"rev:{section_key}",
                elements=[
                    ButtonElement(
                        action_id="doc.review",
                        text=text(k.mark_reviewed()),
                        value=f"{t.id}:{section_key}",
                    )
                ],
            )
        )
    return rows


# ---------------------------------------------------------------- a section's modal


def _label(lang: str, key: str, required: bool) -> str:
    k = knowledge(lang)
    label = k.LABEL[key]
    return truncate(f"{label} {text(k.required_mark())}" if required else label, 2000)


def _options(lang: str, values: Sequence[str]) -> list[Option]:
    names = knowledge(lang).OPTION
    return [Option(value=v, label=names[v]) for v in values]


def element(f: kn.Field, value: Any, lang: str) -> Any:
    """The input element of a field, holding its current value."""
    k = knowledge(lang)
    action = f"v:{f.key}"
    if f.type in (kn.Type.TEXT, kn.Type.LINE):
        return PlainTextInputElement(
            action_id=action,
            multiline=f.type is kn.Type.TEXT,
            max_length=f.max_length,
            initial_value=str(value) if kn.filled(value) else None,
        )
    if f.type is kn.Type.SELECT:
        options = _options(lang, f.options)
        initial = next((o for o in options if o.value == value), None)
        return StaticSelectElement(
            action_id=action,
            placeholder=text(k.select_placeholder()),
            options=options,
            initial_option=initial,
        )
    if f.type is kn.Type.MULTI:
        options = _options(lang, f.options)
        chosen = [o for o in options if isinstance(value, list) and o.value in value]
        return StaticMultiSelectElement(
            action_id=action,
            placeholder=text(k.select_placeholder()),
            options=options,
            initial_options=chosen or None,
        )
    if f.type is kn.Type.NUMBER:
        return NumberInputElement(
            action_id=action,
            is_decimal_allowed=False,
            min_value=str(f.low),
            max_value=str(f.high),
            initial_value=str(value) if kn.filled(value) else None,
        )
    return DatePickerElement(
        action_id=action,
        initial_date=str(value) if kn.filled(value) else None,
    )


def field_inputs(
    fields: Sequence[kn.Field], prefix: str, values: dict[str, Any], lang: str, *, all_optional
) -> list[Block]:
    """One input block per field (block_id = the field key)."""
    hints = knowledge(lang).HINT
    return [
        InputBlock(
            block_id=f.key,
            label=_label(lang, f"{prefix}.{f.key}", f.required),
            hint=hints.get(f"{prefix}.{f.key}"),
            element=element(f, values.get(f.key), lang),
            optional=all_optional or not f.required,
        )
        for f in fields
    ]


def section_modal(
    t: TransitionLike,
    doc: kn.Document,
    section_key: str,
    lang: str,
    *,
    callback_id: str,
    root: str | None = None,
) -> dict[str, Any]:
    """A section's modal. Every field is optional in Slack, so a half-filled section can be
    saved; what stays empty shows as missing. Closing it keeps what was typed."""
    k = knowledge(lang)
    sec = kn.section(section_key)
    blocks: list[Block] = [
        section(f"*{escape(t.account)}* · {k.INTRO[section_key]}"),
    ]
    if section_key == "relationships":
        blocks += stakeholder_rows(t, doc, lang)
        blocks += [DividerBlock(), section(text(k.politics_heading()))]
    blocks += field_inputs(
        sec.fields, section_key, doc.values.get(section_key, {}), lang, all_optional=True
    )
    return _modal(
        callback_id,
        k.SHORT[section_key],
        blocks,
        lang,
        _meta(t=t.id, s=section_key, root=root),
        notify_on_close=True,
    )


def stakeholder_rows(t: TransitionLike, doc: kn.Document, lang: str) -> list[Block]:
    """The stakeholders of the map, each with Edit/Remove, the map's warnings, and Add."""
    k = knowledge(lang)
    names = k.OPTION
    rows: list[Block] = [section(text(k.stakeholders_heading(len(doc.stakeholders))))]
    if not doc.stakeholders:
        rows.append(context(text(k.no_stakeholders())))
    for p in doc.stakeholders:
        line = text(
            k.stakeholder_line(
                escape(truncate(str(p.get("name") or "?"), 100)),
                escape(truncate(str(p.get("title") or ""), 100)),
                names.get(p.get("role"), ""),
                names.get(p.get("stance"), ""),
                p.get("trust") or "",
            )
        )
        rows.append(
            SectionBlock(
                block_id=f"sh:{p['id']}",
                text=MarkdownTextObject(text=line),
                accessory=OverflowMenuElement(
                    action_id="doc.stakeholder.menu",
                    options=[
                        Option(value=f"edit:{t.id}:{p['id']}", label=text(k.edit())),
                        Option(value=f"remove:{t.id}:{p['id']}", label=text(k.remove())),
                    ],
                ),
            )
        )
    flags = [text(k.map_flag(f)) for f in kn.flags(doc)]
    if flags:
        rows.append(context("\n".join(flags)))
    if len(doc.stakeholders) < kn.STAKEHOLDERS_MAX:
        rows.append(
            ActionsBlock(
                block_id="sh:add",
                elements=[
                    ButtonElement(
                        action_id="doc.stakeholder.add",
                        text=text(k.add_stakeholder()),
                        value=str(t.id),
                    )
                ],
            )
        )
    return rows


def stakeholder_modal(
    transition_id: int,
    person: dict[str, Any] | None,
    lang: str,
    *,
    callback_id: str,
    root: str | None,
    top: str | None = None,
) -> dict[str, Any]:
    """Add or edit one stakeholder (pushed on top of the relationship map, `root`; `top` is the
    overview below the map, if any)."""
    k = knowledge(lang)
    blocks = field_inputs(kn.STAKEHOLDER, "stakeholder", person or {}, lang, all_optional=False)
    meta = _meta(t=transition_id, id=(person or {}).get("id"), root=root, top=top)
    # closing keeps what was typed (an incomplete stakeholder counts as such)
    return _modal(
        callback_id, text(k.stakeholder_title()), blocks, lang, meta, notify_on_close=True
    )


def remove_modal(
    transition_id: int,
    person: dict[str, Any],
    lang: str,
    *,
    callback_id: str,
    root: str | None,
    top: str | None,
) -> dict[str, Any]:
    """'Remove <name> from the map?' (pushed on top of the map)."""
    k = knowledge(lang)
    name = escape(truncate(str(person.get("name") or "?"), 100))
    return _modal(
        callback_id,
        text(k.stakeholder_title()),
        [section(text(k.remove_question(name)))],
        lang,
        _meta(t=transition_id, id=person.get("id"), root=root, top=top),
        submit_text=text(k.remove()),
    )


def errors_for(fields: Sequence[kn.Field], codes: dict[str, str], lang: str) -> dict[str, str]:
    """Inline modal errors (block_id → message) for the codes of flows.knowledge.clean."""
    k = knowledge(lang)
    by_key = {f.key: f for f in fields}
    out = {}
    for key, code in codes.items():
        f = by_key[key]
        out[key] = k.ERROR[code].format(n=f.max_length, low=f.low, high=f.high)
    return out


def raw_values(view: dict[str, Any]) -> dict[str, Any]:
    """The values of a submitted or closed view, by block id (field key)."""
    out: dict[str, Any] = {}
    for block_id, actions in ((view.get("state") or {}).get("values") or {}).items():
        for action in actions.values():
            kind = action.get("type")
            if kind == "static_select":
                out[block_id] = (action.get("selected_option") or {}).get("value")
            elif kind == "multi_static_select":
                out[block_id] = [o.get("value") for o in action.get("selected_options") or []]
            elif kind == "datepicker":
                out[block_id] = action.get("selected_date")
            else:
                out[block_id] = action.get("value")
    return out


# ---------------------------------------------------------------- messages


def not_ready(
    t: TransitionLike, milestone_title: str, r: kn.Readiness, lang: str
) -> dict[str, Any]:
    """Tells an owner or the manager that a customer milestone is due while not ready."""
    k = knowledge(lang)
    head = text(k.not_ready_title(escape(t.account), milestone_title))
    blocks: list[Block] = [section(head), section(text(k.not_ready_body(r.score)))]
    if r.unreviewed:
        names = ", ".join(title(lang, s) for s in r.unreviewed)
        blocks.append(section(text(k.not_ready_unreviewed(names))))
    lines = [
        text(
            k.not_ready_incomplete(title(lang, s), ", ".join(item_label(lang, s, m) for m in items))
        )
        for s, items in r.incomplete.items()
    ]
    if lines:
        blocks.append(section("\n".join(lines)))
    blocks.append(
        ActionsBlock(
            block_id=f"doc:{t.id}",
            elements=[
                ButtonElement(
                    action_id="doc.open",
                    text=text(k.open_document()),
                    value=str(t.id),
                    style="primary",
                )
            ],
        )
    )
    return message(blocks[:MESSAGE_BLOCKS], head)


def doc_text(t: TransitionLike, r: kn.Readiness, by: str, lang: str) -> str:
    """The short message that goes with the exported document (mrkdwn)."""
    return text(knowledge(lang).doc_message(escape(t.account), r.score, r.ready, by))
