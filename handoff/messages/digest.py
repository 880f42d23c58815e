"""Block Kit of the manager digest and of mistake flags; the full list as a Markdown file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, DividerBlock

from handoff.flows import digest as dg
from handoff.messages.blocks import (
    MESSAGE_BLOCKS,
    TransitionLike,
    context,
    doc_button,
    header,
    message,
    note_message,
    section,
)
from handoff.messages.i18n import catalog, fmt_date, fmt_number, text
from handoff.messages.text import escape, user_ref


def texts(lang: str) -> Any:
    """The digest's catalogue."""
    return catalog(lang, "digest.j2")


def _number(value: float | None, lang: str) -> str | None:
    return None if value is None else fmt_number(value, lang)


def flag_message(t: TransitionLike, kind: str, lang: str) -> dict[str, Any]:
    """A mistake the bot caught, told once, with what to do."""
    d, c = texts(lang), catalog(lang)
    line = text(d.flag_message(kind, escape(t.account)))
    buttons = ActionsBlock(
        block_id=f"flag:{t.id}",
        elements=[
            ButtonElement(action_id="plan.open", text=text(c.button("open_plan")), value=str(t.id)),
            doc_button(t.id, lang),
        ],
    )
    return message([section(line), buttons], line)


def digest_failed(channel: str, error: str, lang: str) -> dict[str, Any]:
    """Tells a manager that their handoffs' digest channel would not take the digest."""
    return note_message(text(texts(lang).digest_failed(f"<#{channel}>", escape(error))))


def _reasons(row: dg.Row, lang: str) -> str:
    d = texts(lang)
    parts = [d.FLAG[f] for f in row.flags]
    if row.overdue:
        who = ", ".join(dict.fromkeys(user_ref(o.assignee) for o in row.overdue))
        parts.append(text(d.reason_overdue(len(row.overdue), who)))
    if row.completeness < dg.COMPLETENESS_TARGET:
        parts.append(text(d.reason_completeness(row.completeness)))
    return " · ".join(parts)


def digest_message(digest: dg.Digest, scope: str, value: str, lang: str) -> dict[str, Any]:
    """The digest: totals against the targets first, then the most at-risk handoffs, and a
    button for the full list. `scope` is mrkdwn ('handoffs reporting to #cs'); `value` says
    whose list the button sends ('c:C123' or 'm:U123')."""
    d, c = texts(lang), catalog(lang)
    by_state = ", ".join(
        text(d.state_count(text(c.state_name(s)), n)) for s, n in digest.by_state.items()
    )
    blocks: list[Block] = [
        header(text(d.title())),
        context(scope),
        section(text(d.totals(digest.in_flight, by_state, digest.overdue_tasks, digest.delays))),
    ]
    if digest.overdue_by_person:
        people = ", ".join(f"{user_ref(u)} {n}" for u, n in digest.overdue_by_person)
        blocks.append(context(text(d.overdue_people(people))))
    flags = ", ".join(text(d.flag_count(k, n)) for k, n in sorted(digest.flags.items()))
    blocks.append(
        section(
            "\n".join(
                [
                    text(d.completeness(digest.avg_completeness, digest.ready, digest.in_flight)),
                    text(d.flags(flags)),
                    text(d.completed(digest.completed, _number(digest.avg_csat, lang))),
                    *([text(d.after_handoff(digest))] if digest.checked_in else []),
                ]
            )
        )
    )
    if digest.completed_rows:
        done = [text(d.completed_line(escape(r.account), r.csat)) for r in digest.completed_rows]
        blocks.append(section("\n".join(done)))
    blocks.append(context(text(d.targets(digest.csat_ok, digest.completeness_ok, digest.delays))))
    blocks.append(DividerBlock())
    if not digest.at_risk:
        blocks.append(section(text(d.none_at_risk())))
    else:
        blocks.append(section(text(d.at_risk_heading(len(digest.at_risk), digest.at_risk_total))))
        for row, _ in digest.at_risk:
            line = text(
                d.risk_line(
                    escape(row.account),
                    text(c.state_name(row.state)),
                    fmt_date(row.handoff_date, lang),
                    _reasons(row, lang),
                )
            )
            blocks.append(section(line))
    rest = digest.at_risk_total - len(digest.at_risk)
    if rest > 0:
        blocks.append(context(text(d.more(rest))))
    blocks.append(
        ActionsBlock(
            block_id="digest",
            elements=[
                ButtonElement(action_id="digest.full", text=text(d.full_list()), value=value)
            ],
        )
    )
    return message(blocks[:MESSAGE_BLOCKS], text(d.heading(scope)))


def full_list(
    rows: Sequence[dg.Row],
    *,
    scope: str,
    names: Mapping[str, str],
    today: date,
    lang: str,
) -> str:
    """Every handoff of the digest as a Markdown table, riskiest first."""
    d, c = texts(lang), catalog(lang)
    ordered = sorted(rows, key=lambda r: (-dg.risk(r, today), r.handoff_date, r.id))
    lines = [f"# {text(d.full_list_title(scope))}", "", text(d.table_header())]
    lines.append("|" + "---|" * 9)
    for r in ordered:
        cells = [
            r.account.replace("|", "\\|"),
            text(c.state_name(r.state)),
            fmt_date(r.handoff_date, lang),
            names.get(r.departing_owner, r.departing_owner),
            names.get(r.new_owner, r.new_owner),
            names.get(r.manager, r.manager),
            f"{r.completeness} %",
            str(len(r.overdue)),
            ", ".join(d.FLAG[f] for f in r.flags),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
