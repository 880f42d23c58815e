"""`handoff demo`: one whole transition in simulated time, against the built-in Slack emulator.

Everything goes through the real app: signed HTTP requests into the production ASGI server,
Web API calls out to the emulator, the scheduler's tick for every simulated hour.
"""

from __future__ import annotations

import json
import re
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from handoff.bot.parse import slack_unescape
from handoff.demo_samples import SAMPLES, Samples
from handoff.emulator import Call, SlackDriver, SlackEmulator
from handoff.settings import Settings

SECRET = "demo-signing-secret"
TOKEN = "xoxb-demo"
ACCOUNT = "Acme Corp"
CHANNEL, CHANNEL_NAME = "C0CSLEADS", "#cs-leads"  # where the manager digest goes


class InlineExecutor(Executor):
    """Runs each listener at once in the calling thread: deterministic transcripts and tests."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # the future carries it, as a pool would
            future.set_exception(exc)
        return future


class SimClock:
    """A settable clock shared by the app and the emulator."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def set(self, moment: datetime) -> None:
        """Move to a later instant (never back)."""
        with self._lock:
            self.now = max(self.now, moment)


@dataclass(frozen=True)
class Cast:
    """The demo's people."""

    departing: str = "U0DANA"
    new_owner: str = "U0NOAH"
    manager: str = "U0MAYA"


PEOPLE = {
    "U0DANA": ("dana", "Dana Departing", "Europe/Berlin"),
    "U0NOAH": ("noah", "Noah Newowner", "America/New_York"),
    "U0MAYA": ("maya", "Maya Manager", "Europe/Berlin"),
}


class Transcript:
    """Prints every Web API call as readable text, or as JSON lines."""

    def __init__(self, emulator: SlackEmulator, out: TextIO, *, as_json: bool, tz: str) -> None:
        self.emulator, self.out, self.as_json = emulator, out, as_json
        self.tz = ZoneInfo(tz)
        self.seen = 0

    def say(self, line: str) -> None:
        """A narrator line (text mode only)."""
        if not self.as_json:
            print(line, file=self.out)

    def flush(self) -> None:
        """Print the calls made since the last flush."""
        calls = self.emulator.calls
        for call in calls[self.seen :]:
            self.print_call(call)
        self.seen = len(calls)

    def print_call(self, call: Call) -> None:
        """One call: JSON line, or a short readable rendering of what a person sees."""
        if self.as_json:
            at = call.at.astimezone(self.tz).isoformat()
            print(json.dumps({"at": at, "method": call.method, "args": call.args}), file=self.out)
            return
        if call.method in ("users.info", "conversations.open", "auth.test", "views.publish"):
            return
        args = call.args
        stamp = call.at.astimezone(self.tz).strftime("%a %d %b %H:%M")
        if call.method == "chat.postMessage":
            channel = str(args.get("channel", ""))
            where = (
                f"post in {CHANNEL_NAME}" if channel == CHANNEL else f"DM to {self.name(channel)}"
            )
            print(f"  {stamp}  {where}:", file=self.out)
            for line in render(args, self.name).splitlines():
                print(f"  {'':12}  │ {line}", file=self.out)
        elif call.method in ("views.open", "views.push"):
            title = (args.get("view") or {}).get("title", {}).get("text", "")
            print(f"  {stamp}  modal opens: {title}", file=self.out)
        elif call.method == "chat.update":
            last = render(args, self.name).splitlines()[-1:] or [""]
            print(f"  {stamp}  the DM now ends: {last[0]}", file=self.out)
        elif call.method == "files.completeUploadExternal":
            who = self.name(str(args.get("channel_id", "")))
            names = ", ".join(f.get("title", "") for f in args.get("files") or [])
            print(f"  {stamp}  file to {who}: {names}", file=self.out)
            comment = str(args.get("initial_comment") or "")
            for line in render({"text": comment}, self.name).splitlines():
                print(f"  {'':12}  │ {line}", file=self.out)
        elif call.method == "files.getUploadURLExternal":
            return
        elif call.method == "response_url":
            print(f"  {stamp}  (reply) {render(args, self.name)}", file=self.out)
        else:
            print(f"  {stamp}  {call.method}", file=self.out)

    def name(self, user: str) -> str:
        """A user's display name, from the emulator's directory."""
        user = user.removeprefix("D") if user.startswith("DU") else user
        info = PEOPLE.get(user)
        return "@" + info[1].split()[0] if info else user


def render(args: dict[str, Any], name: Callable[[str], str]) -> str:
    """Block Kit as plain text, roughly as Slack shows it."""
    lines: list[str] = []
    for block in args.get("blocks") or []:
        kind = block.get("type")
        if kind in ("header", "section"):
            lines.append(block.get("text", {}).get("text", ""))
        elif kind == "context":
            lines.extend(e.get("text", "") for e in block.get("elements", []))
        elif kind == "actions":
            lines.append(
                "  ".join(
                    f"[{e.get('text', {}).get('text', '')}]" for e in block.get("elements", [])
                )
            )
        elif kind == "divider":
            lines.append("─" * 40)
    text = "\n".join(lines) if lines else str(args.get("text", ""))
    text = re.sub(r"<@(U[A-Z0-9]+)>", lambda m: name(m.group(1)), text)
    text = text.replace(f"<#{CHANNEL}>", CHANNEL_NAME)
    return slack_unescape(text)


def run_demo(*, kind: str, planned: bool, lang: str, as_json: bool, out: TextIO) -> int:
    """Run the demo and print its transcript; returns the exit status."""
    from handoff.bot.app import build
    from handoff.bot.server import asgi, bind, server
    from handoff.bot.services import Later

    cast = Cast()
    # Monday 7 Dec 2026, 09:00 in Berlin: four weeks before a Monday handoff
    start = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    clock = SimClock(start)
    with (
        tempfile.TemporaryDirectory(prefix="handoff-demo-") as tmp,
        SlackEmulator(clock=clock, token=TOKEN) as emu,
    ):
        emu.add_channel(CHANNEL, CHANNEL_NAME.lstrip("#"))
        for user_id, (handle, real, tz) in PEOPLE.items():
            emu.add_user(
                user_id, handle, real_name=real, tz=tz, locale="de-DE" if lang == "de" else "en-US"
            )
        settings = Settings(
            bot_token=TOKEN,
            signing_secret=SECRET,
            api_url=emu.url,
            database_url=f"sqlite:///{Path(tmp) / 'demo.db'}",
            lang=lang,
            holiday_country="DE",
        )
        # one sender thread: the transcript comes out in the same order on every run
        handoff = build(
            settings, clock=clock, executor=InlineExecutor(), senders=1, later=Later(inline=True)
        )
        sock = bind("127.0.0.1", 0)
        http = server(asgi(handoff, scheduler=False), log_level="warning")
        thread = threading.Thread(target=http.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        try:
            while not http.started:
                threading.Event().wait(0.01)
            port = sock.getsockname()[1]
            driver = SlackDriver(
                emulator=emu, signing_secret=SECRET, target=f"http://127.0.0.1:{port}/slack/events"
            )
            story = Story(
                emu,
                driver,
                handoff,
                clock,
                cast,
                Transcript(emu, out, as_json=as_json, tz="Europe/Berlin"),
                SAMPLES[lang],
            )
            return story.run(kind=kind, planned=planned)
        finally:
            http.should_exit = True
            thread.join(timeout=10)
            handoff.services.engine.dispose()


# the humans are not perfect: Noah lets one task (follow-up, or the unplanned knowledge
# transfer) slide until the reminder,
# Dana snoozes the customer email once before sending it
IGNORE_UNTIL_REMINDER = {("U0NOAH", "follow_up"), ("U0NOAH", "knowledge_transfer")}
SNOOZE_FIRST = {("U0DANA", "customer_comm")}


class Story:
    """The demo's script: who clicks what, day by day."""

    def __init__(
        self,
        emu: SlackEmulator,
        driver: SlackDriver,
        handoff: Any,
        clock: SimClock,
        cast: Cast,
        transcript: Transcript,
        samples: Samples,
    ) -> None:
        self.emu, self.driver, self.handoff, self.clock = emu, driver, handoff, clock
        self.cast, self.t, self.typed = cast, transcript, samples
        self.handled: set[tuple[str, str]] = set()
        self.snoozed: set[tuple[str, str]] = set()

    def run(self, *, kind: str, planned: bool) -> int:
        """Start the transition, then walk it through its whole plan in simulated time."""
        from handoff.bot.scheduler import tick

        c = self.cast
        start = self.clock()
        anchor = start.date() + timedelta(days=28) if planned else start.date()
        self.t.say(
            f"Handoff demo: {kind}, {'planned' if planned else 'unplanned'}. {ACCOUNT} moves "
            f"from Dana (Berlin) to Noah (New York); Maya (Berlin) is their manager.\n"
        )
        self.day_header(start, anchor)
        self.t.say("  Maya types /handoff start and fills in the form")
        resp = self.driver.slash(c.manager, "start")
        if resp.status != 200:
            self.t.say(f"!! /handoff start answered {resp.status}")
            return 1
        resp = self.driver.submit(
            c.manager,
            self.driver.last_view(),
            {
                "account": ACCOUNT,
                "departing_owner": c.departing,
                "new_owner": c.new_owner,
                "manager": c.manager,
                "kind": kind,
                "planned": "planned" if planned else "unplanned",
                "handoff_date": anchor.isoformat(),
                "strategic": ["strategic"],
                "reason": self.typed.reason,
                "digest_channel": CHANNEL,
            },
        )
        if resp.status != 200 or (resp.json() or {}).get("response_action") == "errors":
            self.t.say(f"!! the form was rejected: {resp.body}")
            return 1
        self.t.flush()
        self.act()
        end = datetime.combine(
            anchor + timedelta(days=46 if planned else 30), datetime.min.time(), tzinfo=UTC
        )
        hour = start.replace(minute=0, second=0, microsecond=0)
        day = start.date()
        # a week before the handoff (a week after the start, if unplanned) Maya asks for a digest
        digest_at = datetime.combine(
            anchor + timedelta(days=-7 if planned else 7), datetime.min.time(), tzinfo=UTC
        ) + timedelta(hours=10)
        while hour < end:
            hour += timedelta(hours=1)
            self.clock.set(hour)
            if hour.date() != day:
                day = hour.date()
                self.pending_header = (hour, anchor)
            tick(self.handoff)
            self.act()
            if hour == digest_at:
                self.flush()
                self.t.say(f"  Maya types /handoff digest in {CHANNEL_NAME}")
                self.driver.slash(c.manager, "digest", channel_id=CHANNEL)
                self.flush()
        self.t.say("")
        self.show_reply(
            self.driver.slash(c.new_owner, f"status {ACCOUNT}"), "Noah: /handoff status"
        )
        self.show_reply(self.driver.slash(c.new_owner, f"doc {ACCOUNT}"), "Noah: /handoff doc")
        self.flush()
        return self.summary()

    pending_header: tuple[datetime, date] | None = None

    def day_header(self, moment: datetime, anchor: date) -> None:
        """A line per simulated day on which something happens."""
        days = (moment.date() - anchor).days
        rel = "T" if days == 0 else f"T{days:+d}".replace("-", "−")
        local = moment.astimezone(self.t.tz)
        self.t.say(f"\n── {local.strftime('%a %d %b %Y')} · {rel} " + "─" * 30)

    def flush(self) -> None:
        """Print the day's header before its first call, then the calls."""
        if (
            self.pending_header
            and len(self.emu.calls) > self.t.seen
            and any(
                c.method not in ("users.info", "conversations.open", "auth.test", "views.publish")
                for c in self.emu.calls[self.t.seen :]
            )
        ):
            self.day_header(*self.pending_header)
            self.pending_header = None
        self.t.flush()

    def act(self) -> None:
        """Each person reacts to the nudges they got: Done with a note, sometimes a snooze."""
        self.flush()
        for user in (self.cast.departing, self.cast.new_owner, self.cast.manager):
            for msg in self.emu.messages(user):
                buttons = [
                    e
                    for b in msg.get("blocks", [])
                    if b.get("type") == "actions"
                    for e in b.get("elements", [])
                ]
                survey = next((e for e in buttons if e.get("action_id") == "survey.open"), None)
                if survey is not None and (user, msg["ts"]) not in self.handled:
                    self.handled.add((user, msg["ts"]))
                    self.record(user, msg, survey["value"].split(":")[1])
                    continue
                done = next((e for e in buttons if e.get("action_id") == "task.done"), None)
                if done is None:
                    continue
                kind, milestone = self.nudge_kind(msg)
                key = (user, milestone)
                if key in IGNORE_UNTIL_REMINDER and kind != "reminder":
                    continue
                if key in SNOOZE_FIRST and key not in self.snoozed:
                    self.snoozed.add(key)
                    self.t.say(f"  {self.t.name(user)} clicks Snooze 1 day")
                    self.driver.click_message_button(user, msg, "task.snooze_day")
                    self.flush()
                    continue
                if (user, msg["ts"]) in self.handled:
                    continue
                self.handled.add((user, msg["ts"]))
                self.work_on_document(user, milestone, msg)
                note = self.typed.notes.get(milestone, "")
                self.t.say(f"  {self.t.name(user)} clicks Done" + (f": “{note}”" if note else ""))
                self.driver.click_message_button(user, msg, "task.done")
                self.driver.submit(user, self.driver.last_view(), {"note": note})
                self.flush()

    def record(self, user: str, msg: dict[str, Any], item: str) -> None:
        """Noah records the customer's CSAT, and later the account's health."""
        values = self.typed.survey.get(item)
        if values is None:
            return
        self.t.say(f"  {self.t.name(user)} clicks Record: {', '.join(map(str, values.values()))}")
        self.driver.click_message_button(user, msg, "survey.open")
        self.driver.submit(user, self.driver.last_view(), values)
        self.flush()

    def work_on_document(self, user: str, milestone: str, msg: dict[str, Any]) -> None:
        """Dana fills the knowledge document when planning begins (all but the risks) and adds
        the risks when the customer is about to hear from us; Noah reviews what is there."""
        c = self.cast
        if (user, milestone) in ((c.departing, "planning"), (c.departing, "knowledge_transfer")):
            self.t.say(f"  {self.t.name(user)} opens the knowledge document and fills it in")
            self.driver.click_message_button(user, msg, "doc.open")
            overview = self.driver.last_view()
            for key, values in self.typed.document.items():
                self.fill(user, overview, key, values)
            self.flush()
        elif (user, milestone) in ((c.new_owner, "onboarding"), (c.new_owner, "assign")):
            self.t.say(f"  {self.t.name(user)} reads the document and marks each section reviewed")
            for key in self.typed.document:
                self.driver.click(user, "doc.review", f"{self.tid()}:{key}")
            self.flush()
        elif (user, milestone) == (c.departing, "customer_comm"):
            self.t.say(f"  {self.t.name(user)} adds the missing risk factors; Noah reviews them")
            self.driver.click_message_button(user, msg, "doc.open")
            self.fill(user, self.driver.last_view(), "risks", self.typed.risks)
            self.driver.click(c.new_owner, "doc.review", f"{self.tid()}:risks")
            self.flush()

    def fill(self, user: str, overview: dict[str, Any], key: str, values: dict[str, Any]) -> None:
        """Open a section from the overview, add stakeholders to the map, save."""
        self.driver.click(user, "doc.section", f"{self.tid()}:{key}", view=overview)
        view = self.driver.last_view()
        if key == "relationships":
            for person in self.typed.stakeholders:
                self.driver.click(user, "doc.stakeholder.add", str(self.tid()), view=view)
                self.driver.submit(user, self.driver.last_view(), dict(person))
            view = self.emu.view(view["id"]) or view
        self.driver.submit(user, view, values)

    def tid(self) -> int:
        """The demo's transition id."""
        from sqlmodel import select

        from handoff.storage.db import session
        from handoff.storage.models import Transition

        with session(self.handoff.services.engine) as s:
            return s.exec(select(Transition.id)).one()

    def nudge_kind(self, msg: dict[str, Any]) -> tuple[str, str]:
        """(kind, milestone) of a nudge, from the outbox row that sent it."""
        from sqlmodel import select

        from handoff.storage.db import session
        from handoff.storage.models import Outbox

        with session(self.handoff.services.engine) as s:
            row = s.exec(select(Outbox).where(Outbox.ts == msg["ts"])).first()
        return (row.kind, row.milestone or "") if row else ("", "")

    def show_reply(self, resp: Any, who: str) -> None:
        """Slash-command replies come back in the HTTP response (ephemeral): show it."""
        self.flush()
        if not self.t.as_json:
            self.t.say(f"  {who} (only Noah sees this):")
            body = resp.json() or {}
            for line in render(body, self.t.name).splitlines():
                self.t.say(f"  {'':12}  │ {line}")

    def summary(self) -> int:
        """Final figures; exit status 1 if anything was sent twice or left unsent."""
        from sqlmodel import select

        from handoff.storage.db import session
        from handoff.storage.models import Outbox, Transition

        with session(self.handoff.services.engine) as s:
            rows = s.exec(select(Outbox)).all()
            t = s.exec(select(Transition)).one()
        posted = [c for c in self.emu.calls_to("chat.postMessage") if not c.failed]
        keys = [
            ((c.args.get("metadata") or {}).get("event_payload") or {}).get("key") for c in posted
        ]
        twice = len(keys) - len(set(keys))
        unsent = [r.key for r in rows if r.status == "pending"]
        self.t.say(
            f"\nDone: state {t.state}; {len(posted)} DMs sent, {twice} sent twice, "
            f"{len(unsent)} still pending."
        )
        return 0 if twice == 0 and t.state == "closed" else 1
