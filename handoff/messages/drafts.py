"""Block Kit for the customer-communication drafts and the coaching guides.

Drafts are shown as copyable mrkdwn code blocks; a long draft is split over several sections
(never cut). User text is escaped for mrkdwn; the .ics file gets the raw values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

from slack_sdk.models.blocks import Block, DividerBlock

from handoff.flows.drafts import CADENCE_KEYS, Fill, Missing
from handoff.messages.blocks import (
    SECTION_TEXT,
    TransitionLike,
    context,
    header,
    message,
    section,
)
from handoff.messages.i18n import catalog, fmt_date, text
from handoff.messages.text import chunks, escape, user_ref

FENCE = "```"


def drafts_catalog(lang: str) -> Any:
    """The macros of drafts.j2."""
    return catalog(lang, "drafts.j2")


def guide_catalog(lang: str) -> Any:
    """The macros of guide.j2."""
    return catalog(lang, "guide.j2")


def values(fill: Fill, lang: str, *, esc: Callable[[str], str] = escape) -> SimpleNamespace:
    """The template values of a Fill: text escaped with `esc`, missing values as placeholders."""
    c = drafts_catalog(lang)

    def one(v: str | Missing) -> str:
        return text(c.placeholder(v.key)) if isinstance(v, Missing) else esc(v)

    def many(v: tuple[str, ...] | Missing) -> list[str]:
        return [one(v)] if isinstance(v, Missing) else [esc(x) for x in v]

    cadence = fill.cadence
    if isinstance(cadence, str) and cadence not in CADENCE_KEYS:
        cadence = Missing("cadence")
    return SimpleNamespace(
        account=esc(fill.account),
        strategic=fill.strategic,
        departing=one(fill.departing),
        new_owner=one(fill.new_owner),
        manager=one(fill.manager),
        customer=one(fill.customer),
        sponsor=one(fill.sponsor),
        reason=one(fill.reason),
        goals=many(fill.goals),
        initiatives=many(fill.initiatives),
        success_criteria=many(fill.success_criteria),
        priorities=many(fill.priorities),
        top=[one(v) for v in fill.top],
        open_issues=many(fill.open_issues),
        project=one(fill.project),
        cadence=one(cadence) if isinstance(cadence, Missing) else text(c.cadence_name(cadence)),
        meeting_day=fmt_date(fill.meeting_day, lang) if fill.meeting_day else "",
        company=one(fill.company),
        expertise=one(fill.expertise),
        benefit=one(fill.benefit),
        background=one(fill.background),
        proposed_times=one(fill.proposed_times),
        contact=one(fill.contact),
        support=one(fill.support),
        next_meeting=one(fill.next_meeting),
    )


def draft_text(name: str, fill: Fill, lang: str, *, esc: Callable[[str], str] = escape) -> str:
    """One draft's full text (subject and body), filled in."""
    return text(getattr(drafts_catalog(lang), name)(values(fill, lang, esc=esc)))


def code_sections(body: str) -> list[Block]:
    """A copyable text as code-block sections of at most 3000 characters each."""
    limit = SECTION_TEXT - 2 * len(FENCE)
    body = body.replace(FENCE, FENCE[:-1] + "\u200b" + FENCE[-1])  # typed text cannot end it
    return [section(f"{FENCE}{piece}{FENCE}") for piece in chunks(body, limit)]


def text_sections(body: str) -> list[Block]:
    """Plain mrkdwn split over as many sections as it needs."""
    return [section(piece) for piece in chunks(body, SECTION_TEXT)]


def draft_message(
    t: TransitionLike, fill: Fill, names: Sequence[str], role: str, lang: str
) -> dict[str, Any]:
    """The DM that follows a milestone nudge: each draft of the slot, ready to copy."""
    c = drafts_catalog(lang)
    v = values(fill, lang)
    blocks: list[Block] = []
    for name in names:
        if blocks:
            blocks.append(DividerBlock())
        blocks.append(header(text(c.header(t.account, name))))
        blocks.append(section(text(c.intro(name, role, t.planned))))
        blocks += code_sections(draft_text(name, fill, lang))
        if name == "agenda":
            blocks += text_sections(
                text(c.questions_heading()) + "\n" + text(c.customer_questions(v, t.planned))
            )
    blocks.append(context(text(c.never_sent())))
    fallback = ", ".join(text(c.header(escape(t.account), name)) for name in names)
    return message(blocks, fallback)


def ongoing_role_message(t: TransitionLike, lang: str) -> dict[str, Any]:
    """The departing owner's guide at T+14: appropriate and inappropriate involvement."""
    c = guide_catalog(lang)
    account = escape(t.account)
    blocks: list[Block] = [
        header(text(c.ongoing_role_header(t.account))),
        section(text(c.ongoing_role(account, user_ref(t.new_owner)))),
        section(text(c.ongoing_role_do())),
        section(text(c.ongoing_role_dont())),
        context(text(c.ongoing_role_tip())),
    ]
    return message(blocks, text(c.ongoing_role_header(account)))


def week_message(t: TransitionLike, n: int, lang: str) -> dict[str, Any]:
    """The new owner's checklist of week n of their first 30 days solo."""
    c = guide_catalog(lang)
    blocks: list[Block] = [
        header(text(c.week_header(t.account, n))),
        section(text(c.week_intro(n)) + "\n" + text(c.week(n))),
    ]
    return message(blocks, text(c.week_header(escape(t.account), n)))
