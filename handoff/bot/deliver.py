"""Rendering and sending the messages that follow a milestone nudge: drafts, the joint meeting's
.ics invitation and the coaching guides. Only ever to the transition's own people."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handoff.flows import drafts as flow
from handoff.flows.knowledge import Document
from handoff.messages import drafts, ics
from handoff.messages.i18n import fmt_datetime, text
from handoff.messages.text import escape
from handoff.storage.models import Person, Task, Transition

log = logging.getLogger(__name__)
Emails = Callable[[Sequence[str]], dict[str, str]]


def render(
    *,
    row_kind: str,
    payload: dict[str, Any],
    recipient: str,
    t: Transition,
    tasks: Sequence[Task],
    doc: Document,
    people: dict[str, Person],
    lang: str,
    emails: Emails,
    now: datetime,
) -> tuple[dict[str, Any] | None, str]:
    """The message (or file) of a draft, invite or guide row, or why it is not sent."""
    if not flow.may_receive(t, recipient):
        return None, "recipient is not part of the transition"
    if row_kind == flow.GUIDE:
        item = str(payload.get("item") or "")
        if item == flow.ONGOING_ROLE:
            return drafts.ongoing_role_message(t, lang), ""
        if item.startswith("week") and item[4:].isdigit():
            return drafts.week_message(t, int(item[4:]), lang), ""
        return None, f"unknown guide {item!r}"
    task = next((k for k in tasks if k.id == payload.get("task")), None)
    if task is None:
        return None, "no task"
    names = {u: p.name for u, p in people.items() if p.name}
    fill = flow.fill(t, doc, names, meeting_day=task.due_on)
    if row_kind == flow.DRAFT:
        slot = flow.drafts_for(t.planned, task.milestone, task.role)
        if not slot:
            return None, "no drafts for this milestone"
        return drafts.draft_message(t, fill, slot, task.role, lang), ""
    if row_kind == flow.INVITE:
        return {"file": invite_file(t, fill, task, people, lang, emails, now)}, ""
    return None, f"unknown kind {row_kind}"


def invite_file(
    t: Transition,
    fill: flow.Fill,
    task: Task,
    people: dict[str, Person],
    lang: str,
    emails: Emails,
    now: datetime,
) -> dict[str, Any]:
    """The .ics upload: content, file name, title and the comment shown with it."""
    ids = flow.invite_attendees(t)
    found = emails(ids)
    attendees = [
        ics.Attendee(name=people[u].name if u in people else "", email=found.get(u, ""))
        for u in ids
    ]
    organiser = people.get(t.departing_owner)
    begin = flow.meeting_start(
        task.due_on,
        organiser.tz if organiser else "",
        [people[u].tz if u in people else "" for u in ids],
    )
    content = ics.invitation(
        transition_id=t.id or 0,
        fill=fill,
        begin=begin,
        attendees=attendees,
        lang=lang,
        now=now,
    )
    c = drafts.drafts_catalog(lang)
    return {
        "content": content,
        "filename": ics.filename(t.id or 0),
        "title": text(c.invite_title(t.account)),
        "initial_comment": text(
            c.invite_comment(
                escape(t.account), fmt_datetime(begin, organiser.tz if organiser else "", lang)
            )
        ),
    }


def upload(client: WebClient, recipient: str, file: dict[str, Any]) -> tuple[str, str | None]:
    """Upload a file into the recipient's DM; returns the DM channel (and no ts: Slack shares
    the file asynchronously)."""
    channel = client.conversations_open(users=recipient)["channel"]["id"]
    client.files_upload_v2(
        channel=channel,
        content=file["content"],
        filename=file["filename"],
        title=file["title"],
        initial_comment=file["initial_comment"],
    )
    return channel, None


def carries_upload(message: dict[str, Any], name: str) -> bool:
    """A DM message that shares a file whose name ends with `name` (how an upload is found
    after a crash)."""
    return any(str(f.get("name", "")).endswith(name) for f in message.get("files") or [])


def lookup_emails(client: WebClient, user_ids: Sequence[str]) -> dict[str, str]:
    """Profile emails from users.info (needs users:read.email); unknown ones are left out."""
    out: dict[str, str] = {}
    for user in user_ids:
        try:
            profile = client.users_info(user=user)["user"].get("profile") or {}
        except SlackApiError as exc:
            log.warning("users.info for %s failed: %s", user, exc.response.get("error"))
            continue
        if profile.get("email"):
            out[user] = str(profile["email"])
    return out
