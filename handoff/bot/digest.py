"""Manager digests: scheduled per digest channel (HANDOFF_DIGEST_CRON), on demand with
`/handoff digest`, and the full list as a file."""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime
from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handoff.bot.dispatch import METADATA_TYPE, Dispatcher
from handoff.bot.ids import Ids
from handoff.bot.services import Services
from handoff.flows import digest as dg
from handoff.flows.calendar import local_today
from handoff.messages import blocks
from handoff.messages import digest as md
from handoff.messages.i18n import catalog, text
from handoff.messages.text import channel_ref, user_ref
from handoff.storage import digest as store
from handoff.storage import outbox, repo
from handoff.storage.db import session

log = logging.getLogger(__name__)


def scope_of(value: str, lang: str) -> tuple[str, dict[str, str]]:
    """('handoffs reporting to #cs', query) from a scope value 'c:C123' or 'm:U123'."""
    kind, _, ident = value.partition(":")
    d = md.texts(lang)
    if kind == "c":
        return text(d.scope_channel(channel_ref(ident))), {"channel": ident}
    return text(d.scope_manager(user_ref(ident))), {"manager": ident}


def build(services: Services, value: str, lang: str) -> tuple[dict[str, Any] | None, list]:
    """The digest message of a scope (None when nothing is in flight or closed lately)."""
    now = services.clock()
    scope, query = scope_of(value, lang)
    with session(services.engine) as s:
        rows = store.rows(s, now=now, today=local_today(now, "UTC"), **query)
    if not rows:
        return None, rows
    digest = dg.build(rows, now=now, today=local_today(now, "UTC"))
    return md.digest_message(digest, scope, value, lang), rows


def enqueue_digests(services: Services, fire_time: datetime) -> int:
    """One digest row per digest channel for this firing of the cron (every replica fires:
    the key makes it one)."""
    stamp = fire_time.strftime("%Y%m%dT%H%M")
    with session(services.engine) as s:
        channels = store.channels(s)
        added = outbox.enqueue(
            s,
            messages=[
                outbox.Message(
                    key=f"digest:{c}:{stamp}",
                    recipient=c,
                    kind="digest",
                    due_at=fire_time,
                    payload={"scope": f"c:{c}"},
                )
                for c in channels
            ],
        )
        s.commit()
    log.info("digest %s: %s channel(s), %s new", stamp, len(channels), added)
    return added


def register(app: Any, services: Services, dispatcher: Dispatcher) -> None:
    """Register the full-list button (the command is in commands.py)."""

    @app.action(Ids.DIGEST_FULL.value)
    def full_list(ack: Ack, body: dict, action: dict, client: WebClient, respond: Respond) -> None:
        ack()
        user = body["user"]["id"]
        value = str(action.get("value") or "")
        lang = services.lang_for(user)
        kind, _, ident = value.partition(":")
        allowed = (kind == "m" and ident == user) or (
            kind == "c" and (body.get("channel") or {}).get("id") == ident
        )
        if not allowed:
            log.warning("refused digest.full %r by %s", value, user)
            return
        now = services.clock()
        scope, query = scope_of(value, lang)
        with session(services.engine) as s:
            rows = store.rows(s, now=now, today=local_today(now, "UTC"), **query)
            names = {
                u: p.name
                for u, p in repo.people(
                    s,
                    user_ids={x for r in rows for x in (r.departing_owner, r.new_owner, r.manager)},
                ).items()
                if p.name
            }
        content = md.full_list(
            rows, scope=_plain(scope), names=names, today=local_today(now, "UTC"), lang=lang
        )
        dm = client.conversations_open(users=user)["channel"]["id"]
        client.files_upload_v2(
            channel=dm,
            content=content,
            filename="handoffs.md",
            title=text(md.texts(lang).full_list_title(_plain(scope))),
        )
        log.info("digest.full %s sent to %s (%s rows)", value, user, len(rows))
        with contextlib.suppress(ValueError, SlackApiError):  # no response_url: the file says it
            respond(
                response_type="ephemeral",
                replace_original=False,
                text=text(md.texts(lang).full_list_sent()),
            )


def _plain(scope: str) -> str:
    return scope.replace("<#", "#").replace("<@", "@").replace(">", "")


def on_demand(
    services: Services, client: WebClient, respond: Respond, command: dict, lang: str
) -> None:
    """/handoff digest: in a channel, post that channel's digest there; in a DM, show the
    caller's handoffs as manager, to them only. Called after the ack."""
    user, channel = command["user_id"], command.get("channel_id", "")
    d = md.texts(lang)
    if channel.startswith("D") or command.get("channel_name") == "directmessage":
        answer, _ = build(services, f"m:{user}", lang)
        if answer is None:
            answer = blocks.note_message(text(d.none_managed()))
        respond(response_type="ephemeral", replace_original=False, **answer)
        return
    # a channel's digest is for everyone in it: the workspace's language
    answer, _ = build(services, f"c:{channel}", services.settings.lang)
    if answer is None:
        note = text(d.no_reports(channel_ref(channel)))
        respond(response_type="ephemeral", replace_original=False, **blocks.note_message(note))
        return
    try:
        key = f"digest:{channel}:{user}:{services.clock().strftime('%Y%m%dT%H%M%S')}"
        client.chat_postMessage(
            channel=channel,
            unfurl_links=False,
            metadata={"event_type": METADATA_TYPE, "event_payload": {"key": key}},
            **answer,
        )
    except SlackApiError as exc:
        error = exc.response.get("error")
        log.info("/handoff digest in %s by %s: %s", channel, user, error)
        note = (
            text(d.not_in_channel())
            if error in ("not_in_channel", "channel_not_found")
            else (text(catalog(lang).error_generic()))
        )
        respond(response_type="ephemeral", replace_original=False, **blocks.note_message(note))
        return
    log.info("/handoff digest posted in %s by %s", channel, user)
