"""Loading what a person may see and rendering it; shared by commands, App Home and start."""

from __future__ import annotations

from typing import Any

from handoff.bot.services import Services
from handoff.flows import knowledge as kn
from handoff.flows.calendar import local_today
from handoff.flows.metrics import baseline_health
from handoff.flows.plans import Role
from handoff.flows.start import similar_accounts
from handoff.messages import blocks, home
from handoff.messages import knowledge as kb
from handoff.messages import metrics as metrics_messages
from handoff.messages.i18n import catalog, fmt_date, text
from handoff.storage import knowledge as knowledge_store
from handoff.storage import repo
from handoff.storage.db import session

LIST_LIMIT = 40


def _open_items(services: Services, user_id: str, lang: str) -> tuple[list, int]:
    """The user's open transitions with their next milestone text, and how many there are."""
    c = catalog(lang)
    with session(services.engine) as s:
        ts = repo.open_transitions_for(s, user_id=user_id, limit=LIST_LIMIT)
        total = len(ts)
        if total == LIST_LIMIT:
            total = repo.count_open_transitions_for(s, user_id=user_id)
        nxt = repo.next_milestones(s, transition_ids=[t.id for t in ts])
    items = []
    for t in ts:
        key_due = nxt.get(t.id)
        label = None
        if key_due:
            label = (
                f"{text(c.milestone_title(key_due[0], t.planned))}, {fmt_date(key_due[1], lang)}"
            )
        items.append((t, label))
    return items, total


def list_for(services: Services, user_id: str, lang: str) -> dict[str, Any]:
    """The /handoff list answer."""
    items, total = _open_items(services, user_id, lang)
    return blocks.list_message(user_id, items, total, lang)


def no_such(
    services: Services, user_id: str, account: str, lang: str, team_id: str | None
) -> dict[str, Any]:
    """No transition of the user's by that name: say so, and suggest their close matches (only
    accounts they are part of, so nothing leaks)."""
    with session(services.engine) as s:
        names = repo.accounts_of(s, user_id=user_id, team_id=team_id)
    maybe = similar_accounts(account, names)
    c = catalog(lang)
    line = text(c.status_none(blocks.escape(account[:80])))
    if maybe:
        line += "\n" + text(c.did_you_mean(", ".join(f"*{blocks.escape(n)}*" for n in maybe)))
    return blocks.note_message(line)


def status_for(
    services: Services, user_id: str, account: str, lang: str, team_id: str | None
) -> dict[str, Any]:
    """The /handoff status answer: only for people involved, and revealing nothing otherwise."""
    c = catalog(lang)
    if not account:
        return blocks.note_message(text(c.status_usage()))
    with session(services.engine) as s:
        t = repo.transition_for(s, user_id=user_id, account=account, team_id=team_id)
        if t is None:
            return no_such(services, user_id, account, lang, team_id)
        tasks = repo.tasks(s, transition_id=t.id)
        doc = knowledge_store.document(s, transition_id=t.id)
        recorded = knowledge_store.metrics(s, transition_id=t.id)
    lines = kb.summary_lines(doc, lang)
    lines += ["", *metrics_messages.lines(recorded, baseline_health(doc), lang)]
    return blocks.status_message(t, tasks, lang, viewer=user_id, knowledge_lines=lines)


def home_for(
    services: Services, user_id: str, lang: str = "", pages: dict[str, int] | None = None
) -> dict[str, Any]:
    """The App Home view of one user: a page of transitions per role (the first by default),
    in `lang`, or by default in the user's language (Services.lang_for, from the same read)."""
    pages = pages or {}
    groups = []
    with session(services.engine) as s:
        me = repo.people(s, user_ids=[user_id]).get(user_id)
        counts = repo.open_counts_by_role(s, user_id=user_id)
        for role in Role:
            page = max(0, pages.get(role.value, 0))
            count, rows = repo.open_by_role(
                s,
                user_id=user_id,
                role=role,
                offset=page * home.PAGE,
                limit=home.PAGE,
                count=counts[role],
            )
            if count and not rows and page:  # the page emptied meanwhile: show the last one
                page = (count - 1) // home.PAGE
                count, rows = repo.open_by_role(
                    s, user_id=user_id, role=role, offset=page * home.PAGE, limit=home.PAGE
                )
            groups.append(home.Group(role=role, count=count, page=page, items=rows))
        ids = [t.id for g in groups for t in g.items]
        nxt = repo.next_milestones(s, transition_ids=ids)
        docs = knowledge_store.documents(s, transition_ids=ids)
    for g in groups:
        g.items = [home.Item(t, nxt.get(t.id), kn.readiness(docs[t.id])) for t in g.items]
    today = local_today(services.clock(), me.tz if me else "")
    lang = lang or services.lang_of(me)
    return home.home_view(groups, today=today, lang=lang, chosen_lang=me.lang if me else "")
