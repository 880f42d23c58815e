"""The App Home tab: each person's open transitions grouped by role, a page at a time.

A page shows at most PAGE transitions per role (two blocks each), so even a manager with
hundreds of transitions stays far inside Slack's 100-block limit; Previous/Next page through.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    DividerBlock,
    MarkdownTextObject,
    Option,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from handoff.flows import knowledge as kn
from handoff.flows.plans import Role
from handoff.messages.blocks import (
    MODAL_BLOCKS,
    TransitionLike,
    context,
    doc_button,
    header,
    section,
)
from handoff.messages.i18n import catalog, fmt_date, knowledge, text
from handoff.messages.knowledge import bar
from handoff.messages.text import escape

PAGE = 10
LANG_CHOICES = ("", "en", "de")


@dataclass(frozen=True)
class Item:
    """One transition on the Home page."""

    t: TransitionLike
    next_milestone: tuple[str, date] | None
    readiness: kn.Readiness


@dataclass
class Group:
    """The user's transitions in one role: how many, which page, the page's items."""

    role: Role
    count: int
    page: int
    items: list[Item] = field(default_factory=list)


def pages(state: str) -> dict[str, int]:
    """The page per role from a button value like 'departing=0,new_owner=2,manager=1'."""
    out: dict[str, int] = {}
    for part in state.split(","):
        role, _, page = part.partition("=")
        if role in Role.__members__.values() and page.isdigit():
            out[role] = int(page)
    return out


def _state(groups: Sequence[Group], role: str, page: int) -> str:
    parts = {g.role.value: g.page for g in groups}
    parts[role] = page
    return ",".join(f"{r}={p}" for r, p in parts.items())


@cache
def section_picker(lang: str) -> dict[str, Any]:
    """'Open a section…': the same for every transition (its id is in the block id), so it is
    built and checked against Slack's limits once per language."""
    h, k = catalog(lang, "home.j2"), knowledge(lang)
    return StaticSelectElement(
        action_id="home.section",
        placeholder=text(h.open_section()),
        options=[Option(value=s.key, label=k.TITLE[s.key]) for s in kn.SECTIONS],
    ).to_dict()


def item_blocks(item: Item, today: date, lang: str) -> list[Block]:
    """A transition: account, state, next milestone (overdue?), completeness; its buttons."""
    c, h = catalog(lang), catalog(lang, "home.j2")
    t, r = item.t, item.readiness
    nxt = ""
    if item.next_milestone:
        key, day = item.next_milestone
        nxt = text(
            h.next_text(text(c.milestone_title(key, t.planned)), fmt_date(day, lang), day < today)
        )
    line = text(
        h.line(escape(t.account), text(c.state_name(t.state)), nxt, bar(r.score), r.score, r.ready)
    )
    return [
        # the section picker is added as a ready dict by home_view (see section_picker)
        SectionBlock(block_id=f"t:{t.id}", text=MarkdownTextObject(text=line)),
        ActionsBlock(
            block_id=f"a:{t.id}",
            elements=[
                doc_button(t.id, lang),
                ButtonElement(action_id="plan.open", text=text(h.open_plan()), value=str(t.id)),
            ],
        ),
    ]


def home_view(
    groups: Sequence[Group], *, today: date, lang: str, chosen_lang: str
) -> dict[str, Any]:
    """The whole Home tab."""
    c, h = catalog(lang), catalog(lang, "home.j2")
    options = [
        Option(value=code or "auto", label=text(h.language_option(code))) for code in LANG_CHOICES
    ]
    chosen = next(o for o in options if o.value == (chosen_lang or "auto"))
    blocks: list[Block] = [
        header(text(c.home_heading())),
        ActionsBlock(
            block_id="home",
            elements=[
                ButtonElement(action_id="start.open", text=text(c.home_start()), style="primary"),
                StaticSelectElement(
                    action_id="home.lang",
                    placeholder=text(h.language()),
                    options=options,
                    initial_option=chosen,
                ),
            ],
        ),
    ]
    if not any(g.count for g in groups):
        blocks.append(section(text(c.home_empty())))
    for g in groups:
        if not g.count:
            continue
        blocks += [DividerBlock(), section(text(h.role_heading(g.role.value, g.count)))]
        for item in g.items:
            blocks += item_blocks(item, today, lang)
        if g.count > PAGE:
            first = g.page * PAGE + 1
            last = min(g.count, first + PAGE - 1)
            blocks.append(context(text(h.page_label(first, last, g.count))))
            buttons = []
            if g.page > 0:
                buttons.append(
                    ButtonElement(
                        action_id="home.page",
                        text=text(h.previous()),
                        value=_state(groups, g.role.value, g.page - 1),
                    )
                )
            if last < g.count:
                buttons.append(
                    ButtonElement(
                        action_id="home.page_next",
                        text=text(h.next()),
                        value=_state(groups, g.role.value, g.page + 1),
                    )
                )
            blocks.append(ActionsBlock(block_id=f"page:{g.role.value}", elements=buttons))
    if len(blocks) > MODAL_BLOCKS:
        raise ValueError(f"the App Home has {len(blocks)} blocks, more than {MODAL_BLOCKS}")
    view = View(type="home", blocks=blocks).to_dict()
    picker = section_picker(lang)
    for block in view["blocks"]:
        if block.get("block_id", "").startswith("t:"):
            block["accessory"] = dict(picker)  # read-only below the top level
    return view
