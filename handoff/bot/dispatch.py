"""The dispatcher: claims due outbox rows and sends them, exactly once."""

from __future__ import annotations

import contextlib
import json
import logging
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from handoff.bot import deliver
from handoff.bot.services import Services
from handoff.flows import drafts
from handoff.flows.calendar import local_today
from handoff.flows.knowledge import Document, readiness
from handoff.flows.plans import Role
from handoff.flows.schedule import NUDGE_KINDS as NUDGES
from handoff.flows.schedule import PLANNED_KINDS
from handoff.flows.states import TERMINAL
from handoff.messages import blocks, export, nudges
from handoff.messages import digest as digest_messages
from handoff.messages import knowledge as kb
from handoff.messages import metrics as metrics_messages
from handoff.messages.i18n import catalog, knowledge, text
from handoff.messages.ics import filename as invite_filename
from handoff.messages.text import user_ref
from handoff.storage import digest as digest_store
from handoff.storage import knowledge as knowledge_store
from handoff.storage import outbox, repo
from handoff.storage.db import session
from handoff.storage.models import Outbox, Person, Task, Transition

log = logging.getLogger(__name__)

PERMANENT = frozenset(
    {
        "user_not_found",
        "users_not_found",
        "account_inactive",
        "channel_not_found",
        "is_archived",
        "not_in_channel",
        "user_disabled",
        "cannot_dm_bot",
        "invalid_blocks",
        "msg_too_long",
        "no_text",
    }
)
METADATA_TYPE = "handoff_message"
SENDERS = 4  # Slack answers in ~100 ms: overlap the waits of different recipients
NOTICES = ("cancelled", "moved", "closed")
HISTORY_PAGES = 25
DOC_KINDS = ("not_ready", "doc")  # rendered from the knowledge document
UNREACHABLE = frozenset({"user_not_found", "users_not_found", "account_inactive", "user_disabled"})
# conversations.history answers that will not change by trying again
HISTORY_REFUSED = frozenset(
    {"missing_scope", "not_in_channel", "channel_not_found", "is_archived", *UNREACHABLE}
)


@dataclass(frozen=True)
class Context:
    """What a batch of rows is rendered from."""

    transitions: dict[int, Transition]
    tasks: dict[int, list[Task]]
    people: dict[str, Person]
    documents: dict[int, Document] = field(default_factory=dict)  # for drafts


CHANNEL_REFUSED = frozenset({"not_in_channel", "channel_not_found", "is_archived"})


def digest_failed(s: Session, row: Outbox, error: str, now: datetime) -> list[outbox.Message]:
    """A digest its channel would not take (the bot is not in it, it is gone or archived): each
    manager whose handoffs report there is told, at most once a week per channel and cause.
    Other failures (Slack down for hours, a scope missing) are for the operator's log."""
    code = error.rsplit(": ", 1)[-1]  # also 'history check refused: channel_not_found'
    if code not in CHANNEL_REFUSED:
        return []
    year, week, _ = now.isocalendar()
    return [
        outbox.Message(
            key=f"digest:{row.recipient}:failed:{code}:{year}w{week}:{manager}",
            recipient=manager,
            kind="digest_failed",
            due_at=now,
            payload={"channel": row.recipient, "error": code},
        )
        for manager in digest_store.channel_managers(s, channel=row.recipient)
    ]


class Dispatcher:
    """Sends what the outbox holds; one instance per process, any number of processes."""

    def __init__(self, services: Services, client: WebClient, *, threads: int = SENDERS) -> None:
        self.services = services
        self.client = client
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="send")

    def tick(self, *, limit: int = 25, transition_id: int | None = None) -> int:
        """Claim and send due rows until none is left; returns how many were sent.

        Small batches let replicas share the work and keep each claim's lease short.
        """
        sent = 0
        while True:
            now = self.services.clock()
            with session(self.services.engine) as s:
                rows = outbox.claim(
                    s,
                    now=now,
                    worker=self.services.worker,
                    limit=limit,
                    transition_id=transition_id,
                    lease=timedelta(seconds=self.services.settings.lease_seconds),
                )
                s.commit()
            if not rows:
                return sent
            context = self.load(rows)
            # one person's messages in order, different people's side by side
            by_recipient: dict[str, list[Outbox]] = {}
            for row in rows:
                by_recipient.setdefault(row.recipient, []).append(row)
            futures = [
                self.pool.submit(self._send_all, mine, context) for mine in by_recipient.values()
            ]
            wait(futures)
            for future in futures:
                if future.exception() is not None:  # _send_all catches; this is a last resort
                    log.error("sender thread failed", exc_info=future.exception())
                else:
                    sent += future.result()

    def _send_all(self, rows: list[Outbox], context: Context) -> int:
        """One person's rows in order; their 'sent' marks written together when all are done.

        Should the process die before that, the rows' leases run out and the next claim finds
        the messages in Slack (their keys are in the message metadata): nothing is sent twice.
        """
        marks: list[dict[str, Any]] = []
        count = 0
        for row in rows:
            try:
                count += self.send(row, context, marks)
            except Exception:  # a database fault mid-send: keep the row, look before resending
                log.exception("outbox %s: unexpected fault while sending", row.key)
                with contextlib.suppress(Exception):
                    self._retry(row, "internal fault while sending", uncertain=True)
                break  # this person's later messages wait, so their order is kept
        self._mark_sent(marks)
        return count

    def _mark_sent(self, marks: list[dict[str, Any]]) -> None:
        """Write 'sent' marks in one transaction (tried twice; recovery covers the rest)."""
        for attempt in (1, 2):
            if not marks:
                return
            try:
                with self.services.engine.begin() as conn:
                    outbox.mark_sent_many(conn, marks)
                return
            except Exception:
                log.exception("%d posted messages not marked sent (try %d)", len(marks), attempt)

    def load(self, rows: list[Outbox]) -> Context:
        """Everything the batch's messages are rendered from: three queries per batch."""
        ids = sorted({r.transition_id for r in rows if r.transition_id})
        # a nudge needs its own task; the others (welcome, notices, escalation) the whole plan
        whole = sorted({r.transition_id for r in rows if r.transition_id and r.kind not in NUDGES})
        own_task = (*NUDGES, *drafts.KINDS)
        task_ids = [json.loads(r.payload or "{}").get("task") for r in rows if r.kind in own_task]
        with_doc = (*drafts.KINDS, *DOC_KINDS)  # rendered from the knowledge document
        doc_ids = sorted({r.transition_id or 0 for r in rows if r.kind in with_doc} - {0})
        with session(self.services.engine) as s:
            transitions = {t.id: t for t in repo.transitions_by_id(s, ids=ids)}
            users = {r.recipient for r in rows}
            for i in doc_ids:  # drafts name the departing owner, the new owner and the manager
                if i in transitions:
                    t = transitions[i]
                    users |= {t.departing_owner, t.new_owner, t.manager}
            documents = knowledge_store.documents(s, transition_ids=doc_ids) if doc_ids else {}
            tasks = repo.tasks_of_many(s, transition_ids=whole)
            for k in repo.tasks_by_id(s, ids=[i for i in task_ids if i]):
                if k.transition_id not in whole:
                    tasks.setdefault(k.transition_id, []).append(k)
            people = repo.people(s, user_ids=users)
        return Context(transitions, tasks, people, documents)

    def send(
        self, row: Outbox, context: Context | None = None, sent: list[dict[str, Any]] | None = None
    ) -> int:
        """Send one claimed row and record the outcome; never raises for Slack faults."""
        now = self.services.clock()
        engine = self.services.engine
        lease = timedelta(seconds=self.services.settings.lease_seconds)
        try:
            if row.status == "recovering":
                found = self._already_posted(row)
                if found:
                    with session(engine) as s:
                        outbox.mark_sent(s, row_id=row.id, now=now, channel=found[0], ts=found[1])
                        s.commit()
                    log.info("outbox %s had already reached Slack", row.key)
                    return 0
        except SlackApiError as exc:
            error = str(exc.response.get("error") or exc.response.status_code)
            if error in HISTORY_REFUSED:
                # Slack will never let us look (a scope missing, the channel gone): posting
                # blind could send it twice, so the row fails and someone is told
                self._failed(row, f"history check refused: {error}")
            else:
                self._retry_or_give_up(row, f"history check: {error}", wait=retry_after(exc))
            return 0
        except Exception as exc:  # cut short, unreadable: look again next time
            self._retry_or_give_up(row, f"history check: {type(exc).__name__}: {exc}")
            return 0
        if row.attempts > outbox.MAX_ATTEMPTS:
            self._failed(row, f"gave up after {row.attempts - 1} attempts: {row.last_error}")
            return 0
        try:
            args, reason = self.render(row, context or self.load([row]))
        except Exception as exc:  # a bug in rendering must not stop the dispatcher
            log.exception("outbox %s could not be rendered", row.key)
            self._failed(row, f"internal: {type(exc).__name__}")
            return 0
        if args is None:
            with session(engine) as s:
                outbox.mark_skipped(s, row_id=row.id, reason=reason, attempts=row.attempts)
                s.commit()
            return 0
        # the fence: only the current claim may post, and only for a transition still open
        # (or for the notices that tell people it closed); renewed right before the post
        with engine.begin() as conn:
            mine = outbox.renew(
                conn,
                row_id=row.id,
                worker=self.services.worker,
                attempts=row.attempts,
                now=self.services.clock(),
                lease=lease,
                require_open=(row.kind in PLANNED_KINDS or row.kind == "flag")
                and not drafts.outlives_close(row.kind, _item(row)),
            )
        if not mine:
            self._not_mine(row)
            return 0
        try:
            resp = self._post(row, args)
        except SlackApiError as exc:
            error = str(exc.response.get("error") or exc.response.status_code)
            if error in PERMANENT:
                self._failed(row, error)
            else:
                # HTTP 200 with ok:false and 429 mean Slack did not post; after a 5xx it may have.
                # A 429 waits for Retry-After in the outbox, not in this thread (and its lease)
                self._retry(
                    row, error, uncertain=exc.response.status_code >= 500, wait=retry_after(exc)
                )
            return 0
        except Exception as exc:  # connection lost, answer cut short: Slack may have it
            self._retry(row, f"connection: {type(exc).__name__}: {exc}", uncertain=True)
            return 0
        mark = {
            "row_id": row.id,
            "sent_at": self.services.clock(),
            "channel": resp.get("channel"),
            "ts": resp.get("ts"),
        }
        if sent is not None:
            sent.append(mark)  # list.append is atomic: the sender threads share the list
            return 1
        try:
            with engine.begin() as conn:
                outbox.mark_sent_many(conn, [mark])
        except Exception:  # the lease runs out; the next claim finds the message in Slack
            log.exception("outbox %s was posted but could not be marked sent", row.key)
        return 1

    def _post(self, row: Outbox, args: dict[str, Any]) -> dict[str, Any]:
        """Post a message carrying the row's key, or upload the row's file into the DM."""
        if "file" in args:
            channel, ts = deliver.upload(self.client, row.recipient, args["file"])
            return {"channel": channel, "ts": ts}
        resp = self.client.chat_postMessage(
            channel=row.recipient,
            metadata={"event_type": METADATA_TYPE, "event_payload": {"key": row.key}},
            unfurl_links=False,
            unfurl_media=False,
            **args,
        )
        return {"channel": resp.get("channel"), "ts": resp.get("ts")}

    def _retry_or_give_up(self, row: Outbox, error: str, wait: timedelta | None = None) -> None:
        """The look into Slack failed again: try later, until the row has had its tries."""
        if row.attempts > outbox.MAX_ATTEMPTS:
            self._failed(row, f"gave up after {row.attempts - 1} attempts: {error}")
        else:
            self._retry(row, error, uncertain=True, wait=wait)

    def _retry(
        self, row: Outbox, error: str, *, uncertain: bool, wait: timedelta | None = None
    ) -> None:
        with session(self.services.engine) as s:
            at = outbox.mark_retry(
                s,
                row_id=row.id,
                attempts=row.attempts,
                now=self.services.clock(),
                error=error,
                uncertain=uncertain,
                at_least=wait,
            )
            s.commit()
        log.warning("outbox %s: %s; next try at %s", row.key, error, at.isoformat())

    def _not_mine(self, row: Outbox) -> None:
        """Renewal failed: the claim was lost, or the transition closed meanwhile."""
        with session(self.services.engine) as s:
            current = s.get(Outbox, row.id)
            if current and current.status == "sending" and current.attempts == row.attempts:
                outbox.mark_skipped(
                    s, row_id=row.id, reason="transition closed", attempts=row.attempts
                )
                s.commit()
                return
        log.warning("outbox %s: claim lost to another replica; not sending", row.key)

    def _failed(self, row: Outbox, error: str) -> None:
        now = self.services.clock()
        with session(self.services.engine) as s:
            if not outbox.mark_failed(s, row_id=row.id, error=error, attempts=row.attempts):
                return  # a newer claim owns the row: its outcome stands
            if error in UNREACHABLE:
                repo.mark_unreachable(s, user_id=row.recipient, now=now)
            if row.kind == "digest":
                outbox.enqueue(s, messages=digest_failed(s, row, error, now))
            t = s.get(Transition, row.transition_id) if row.transition_id else None
            if t is not None and row.recipient != t.manager and row.kind != "delivery_failed":
                outbox.enqueue(
                    s,
                    messages=[
                        outbox.Message(
                            # once per person and transition, however many messages fail
                            key=f"t{t.id}:failed:{row.recipient}",
                            recipient=t.manager,
                            kind="delivery_failed",
                            due_at=now,
                            transition_id=t.id,
                            milestone=row.milestone,
                            payload={"recipient": row.recipient, "error": error, "of": row.kind},
                        )
                    ],
                )
            s.commit()
        log.error("outbox %s failed permanently: %s", row.key, error)

    def _already_posted(self, row: Outbox) -> tuple[str, str] | None:
        """After a crash mid-send: look in the DM for a message carrying this row's key."""
        channel = row.recipient  # a digest goes to a channel
        if not row.recipient.startswith(("C", "G")):
            channel = self.client.conversations_open(users=row.recipient)["channel"]["id"]
        oldest = ((row.first_try_at or row.due_at) - timedelta(minutes=1)).timestamp()
        # a file carries no metadata: it is known by its name
        upload = {
            drafts.INVITE: invite_filename(row.transition_id or 0),
            "doc": export.filename_tail(row.id),
        }.get(row.kind, "")
        cursor = None
        for _ in range(HISTORY_PAGES):
            resp = self.client.conversations_history(
                channel=channel,
                oldest=f"{oldest:.6f}",
                limit=200,
                include_all_metadata=True,
                cursor=cursor,
            )
            for m in resp.get("messages", []):
                meta = m.get("metadata") or {}
                if (
                    meta.get("event_type") == METADATA_TYPE
                    and (meta.get("event_payload") or {}).get("key") == row.key
                ) or (upload and deliver.carries_upload(m, upload)):
                    return channel, m.get("ts")
            cursor = (resp.get("response_metadata") or {}).get("next_cursor")
            if not resp.get("has_more") or not cursor:
                return None
        raise RuntimeError(f"more than {HISTORY_PAGES * 200} messages since the first try")

    def render(self, row: Outbox, context: Context) -> tuple[dict[str, Any] | None, str]:
        """The chat.postMessage arguments of a row in the recipient's language, or why not."""
        payload = json.loads(row.payload or "{}")
        if row.kind == "digest":
            from handoff.bot.digest import build as build_digest

            answer, _ = build_digest(self.services, payload["scope"], self.services.settings.lang)
            return answer, "" if answer else "nothing to report"
        person = context.people.get(row.recipient)
        lang = self.services.lang_of(person)
        if row.kind == "digest_failed":
            return digest_messages.digest_failed(payload["channel"], payload["error"], lang), ""
        t = context.transitions.get(row.transition_id) if row.transition_id else None
        if t is None:
            return None, "no transition"
        tasks = context.tasks.get(t.id, [])
        if row.kind == "welcome":
            return blocks.welcome(t, tasks, payload["role"], lang), ""
        if row.kind == "delivery_failed":
            return blocks.delivery_failed(t, payload, lang), ""
        if row.kind in NOTICES:
            return nudges.notice(t, tasks, row.kind, payload, lang), ""
        if row.kind == "survey":  # the check-ins go on after the transition closed
            return metrics_messages.survey_message(t, payload.get("item", ""), lang), ""
        if row.kind == "doc":
            return {"file": self.export(t, tasks, context.documents[t.id], row, payload, lang)}, ""
        after_close = drafts.outlives_close(row.kind, str(payload.get("item") or ""))
        if t.state in TERMINAL and not (after_close and t.state == "closed"):
            return None, f"transition {t.state}"
        if row.kind in NUDGES:
            task = next((k for k in tasks if k.id == payload.get("task")), None)
            if task is None or task.done_at is not None:
                return None, "task done"
            return nudges.nudge(t, task, task.id, row.kind, lang), ""
        if row.kind in drafts.KINDS:
            return deliver.render(
                row_kind=row.kind,
                payload=payload,
                recipient=row.recipient,
                t=t,
                tasks=tasks,
                doc=context.documents.get(t.id) or Document(),
                people=context.people,
                lang=lang,
                emails=lambda users: deliver.lookup_emails(self.client, users),
                now=self.services.clock(),
            )
        if row.kind == "escalation":
            today = local_today(self.services.clock(), person.tz if person else "")
            overdue = [
                k
                for k in tasks
                if k.role == Role.DEPARTING and k.done_at is None and k.due_on < today
            ]
            if not overdue:
                return None, "nothing overdue"
            return nudges.escalation(t, overdue, lang), ""
        if row.kind == "flag":
            return digest_messages.flag_message(t, payload["flag"], lang), ""
        if row.kind == "not_ready":
            r = readiness(context.documents[t.id])
            if r.ready:
                return None, "ready meanwhile"
            title = text(catalog(lang).milestone_title(row.milestone, t.planned))
            return kb.not_ready(t, title, r, lang), ""
        log.error("outbox %s has unknown kind %s", row.key, row.kind)
        return None, f"unknown kind {row.kind}"

    def export(
        self, t: Transition, tasks: list[Task], doc: Document, row: Outbox, payload: dict, lang: str
    ) -> dict[str, Any]:
        """The account summary as a Markdown file, with a short message, for one person."""
        with session(self.services.engine) as s:
            known = repo.people(s, user_ids=[t.departing_owner, t.new_owner, t.manager])
            recorded = knowledge_store.metrics(s, transition_id=t.id)
        names = {u: p.name for u, p in known.items() if p.name}
        person = known.get(row.recipient)
        summary = export.prepare(
            t,
            doc,
            tasks,
            names,
            lang,
            now=self.services.clock(),
            metrics=recorded,
            tz=person.tz if person else None,
        )
        by = user_ref(payload.get("by")) or "Handoff"
        return {
            "content": export.markdown(summary, lang),
            "filename": export.filename(t.account, row.id),
            "title": text(knowledge(lang).doc_heading(t.account)),
            "initial_comment": kb.doc_text(t, readiness(doc), by, lang),
        }


def retry_after(exc: SlackApiError) -> timedelta | None:
    """Slack's Retry-After of a 429, if any."""
    if exc.response.status_code != 429:
        return None
    try:
        return timedelta(seconds=int(exc.response.headers.get("Retry-After", "1")))
    except (TypeError, ValueError):
        return timedelta(seconds=1)


def _item(row: Outbox) -> str:
    """The item a row's payload names ("" when none)."""
    return str(json.loads(row.payload or "{}").get("item") or "")
