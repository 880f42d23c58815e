"""/handoff bulk: the upload modal, its preview, and creating the transitions after the ack."""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handoff.bot import importer
from handoff.bot.dispatch import Dispatcher
from handoff.bot.ids import Ids
from handoff.bot.scheduler import plan
from handoff.bot.services import Services
from handoff.flows.bulk import Preview, RowError
from handoff.flows.calendar import local_today
from handoff.messages import bulk as views
from handoff.storage import repo
from handoff.storage.db import session

log = logging.getLogger(__name__)
MAX_BYTES = 5 * 1024 * 1024
STAGING_SECONDS = 3600
PROGRESS_EVERY = 100


class FileProblem(Exception):
    """The uploaded file cannot be read; `code` is a bulk.j2 reason."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class _Entry:
    checked: importer.Checked | None  # None once a submit has claimed it
    at: float


class Staging:
    """Checked files by preview view id, in memory for an hour; a preview is claimed once, so a
    double submit creates nothing twice (the open-account unique index guards other replicas)."""

    def __init__(self, ttl: float = STAGING_SECONDS) -> None:
        self._ttl = ttl
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}

    def put(self, view_id: str, checked: importer.Checked) -> None:
        """Remember a checked file for its preview."""
        with self._lock:
            self._expire()
            self._entries[view_id] = _Entry(checked, time.monotonic())

    def claim(self, view_id: str) -> tuple[bool, importer.Checked | None]:
        """(first claim?, the checked file if this instance still has it)."""
        with self._lock:
            self._expire()
            entry = self._entries.get(view_id)
            if entry is not None and entry.checked is None:
                return False, None
            self._entries[view_id] = _Entry(None, time.monotonic())
            return True, entry.checked if entry else None

    def drop(self, view_id: str) -> None:
        """Forget a checked file whose preview never showed (the modal was closed)."""
        with self._lock:
            entry = self._entries.get(view_id)
            if entry is not None and entry.checked is not None:
                del self._entries[view_id]

    def _expire(self) -> None:
        cutoff = time.monotonic() - self._ttl
        for key in [k for k, e in self._entries.items() if e.at < cutoff]:
            del self._entries[key]


def download(client: WebClient, file_id: str) -> str:
    """files.info, then url_private_download with the bot token; the text of a UTF-8 CSV."""
    try:
        info = client.files_info(file=file_id)["file"]
    except (SlackApiError, OSError) as exc:
        log.warning("files.info %s failed: %s", file_id, exc)
        raise FileProblem("download_failed") from exc
    url = info.get("url_private_download") or info.get("url_private")
    if not url:
        raise FileProblem("download_failed")
    proxies = {"http": client.proxy, "https": client.proxy} if client.proxy else {}
    opener = urllib.request.build_opener(urllib.request.ProxyHandler(proxies))
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {client.token}"})
    try:
        with opener.open(request, timeout=client.timeout) as answer:
            raw = answer.read(MAX_BYTES + 1)
    except OSError as exc:
        log.warning("download of %s failed: %s", file_id, exc)
        raise FileProblem("download_failed") from exc
    if len(raw) > MAX_BYTES:
        raise FileProblem("file_too_large")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise FileProblem("not_utf8") from None


@dataclass(frozen=True)
class Upload:
    """What the upload modal was submitted with."""

    file_id: str | None
    file_name: str
    valid_only: bool


def submitted(view: dict[str, Any]) -> Upload:
    """The upload modal's file (id and name) and the valid-only choice."""
    values = view.get("state", {}).get("values", {})
    element = next(iter((values.get(views.FILE_BLOCK) or {}).values()), {})
    files = element.get("files") or []
    options = next(iter((values.get(views.OPTIONS_BLOCK) or {}).values()), {})
    chosen = options.get("selected_options") or []
    valid_only = any(o.get("value") == "valid_only" for o in chosen)
    first = files[0] if files else {}
    name = first.get("name") or first.get("title") or first.get("id") or ""
    return Upload(first.get("id"), name, valid_only)


def unreadable(preview: Preview) -> bool:
    """Nothing could be read as rows (download, encoding, header, size): no preview to show."""
    too_many = any(e.code == "too_many_rows" for e in preview.errors)
    return bool(preview.errors) and (preview.total == 0 or too_many)


def _problem_preview(code: str) -> Preview:
    return Preview(staged=[], errors=[RowError(1, "file", code)], total=0)


def register(app: Any, services: Services, dispatcher: Dispatcher) -> None:
    """Register the bulk modal's submissions (the /handoff bulk command opens it)."""
    staging = Staging()

    def check(client: WebClient, user: str, team: str, file_id: str) -> importer.Checked:
        with session(services.engine) as s:
            me = repo.people(s, user_ids=[user]).get(user)
        today = local_today(services.clock(), me.tz if me else "")
        try:
            data = download(client, file_id)
            return importer.check_file(
                services,
                client,
                data,
                team_id=team,
                today=today,
                wave_size=services.settings.wave_size,
            )
        except FileProblem as exc:
            return importer.Checked(preview=_problem_preview(exc.code))
        except importer.LookupFailed as exc:
            log.warning("bulk check by %s: %s", user, exc)
            return importer.Checked(preview=_problem_preview("lookup_failed"))

    @app.view(Ids.BULK_VIEW.value)
    def bulk_submitted(ack: Ack, body: dict, view: dict, client: WebClient) -> None:
        user = body["user"]["id"]
        team = (body.get("team") or {}).get("id") or body["user"].get("team_id", "")
        lang = services.lang_for(user)
        upload = submitted(view)
        if not upload.file_id:
            ack(response_action="errors", errors=views.file_errors(lang))
            return
        # Slack waits 3 s for the answer: show "Checking …" now, the preview once it is ready
        ack(response_action="update", view=views.checking_view(upload.file_name, lang))
        try:
            checked = check(client, user, team, upload.file_id)
        except Exception:
            log.exception("bulk check of %s by %s failed", upload.file_id, user)
            checked = importer.Checked(preview=_problem_preview("check_failed"))
        if unreadable(checked.preview):
            errors = checked.preview.errors
            _show(client, view["id"], views.check_failed_view(upload.file_name, errors, lang))
            return
        meta = json.dumps(
            {"file": upload.file_id, "valid_only": upload.valid_only, "team": team, "user": user}
        )
        staging.put(view["id"], checked)  # before the preview shows, so Create finds it
        wave = services.settings.wave_size
        preview = views.preview_view(
            checked.preview, lang, wave, valid_only=upload.valid_only, meta=meta
        )
        if not _show(client, view["id"], preview):
            staging.drop(view["id"])

    def claim(user: str, view: dict, meta: dict) -> tuple[bool, importer.Checked | None] | None:
        """The preview's checked file, claimed once (Staging.claim); None, and nothing claimed,
        when the one pressing is not the one who uploaded the file."""
        if meta.get("user", user) != user:  # a preview shown before uploaders were kept: theirs
            log.warning("bulk: %s pressed %s's preview %s", user, meta.get("user"), view.get("id"))
            return None
        return staging.claim(view["id"])

    def create(
        client: WebClient, user: str, meta: dict, checked: importer.Checked | None, valid_only: bool
    ) -> None:
        """Create what a claimed preview staged."""
        if checked is None:  # staged on another replica, or before a restart: check again
            checked = check(client, user, meta.get("team", ""), meta.get("file", ""))
        run(client, user, meta.get("team", ""), checked, valid_only, services.lang_for(user))

    @app.view(Ids.BULK_PREVIEW.value)
    def preview_submitted(ack: Ack, body: dict, view: dict, client: WebClient) -> None:
        user = body["user"]["id"]
        lang = services.lang_for(user)
        meta = json.loads(view.get("private_metadata") or "{}")
        claimed = claim(user, view, meta)
        if claimed is None:
            ack()
            return
        first, checked = claimed
        if not first:
            ack(response_action="update", view=views.already_view(lang))
            return
        count = len(checked.preview.staged) if checked else 0
        ack(response_action="update", view=views.started_view(count, lang))
        create(client, user, meta, checked, bool(meta.get("valid_only")))

    @app.action(Ids.BULK_VALID_ROWS.value)
    def valid_rows_pressed(ack: Ack, body: dict, client: WebClient) -> None:
        """'Import the N valid rows' in a preview with errors: what valid-only would create."""
        ack()
        user, view = body["user"]["id"], body.get("view") or {}
        lang = services.lang_for(user)
        meta = json.loads(view.get("private_metadata") or "{}")
        claimed = claim(user, view, meta)
        if claimed is None:
            return
        first, checked = claimed
        if not first:
            _show(client, view["id"], views.already_view(lang))
            return
        count = len(checked.preview.staged) if checked else 0
        _show(client, view["id"], views.started_view(count, lang))
        create(client, user, meta, checked, True)

    def run(
        client: WebClient,
        user: str,
        team: str,
        checked: importer.Checked,
        valid_only: bool,
        lang: str,
    ) -> None:
        """Create the staged transitions, keeping a DM about the progress up to date."""
        preview = checked.preview
        dm = _post(client, user, views.progress_message(0, len(preview.staged), lang))
        if not preview.staged or (not preview.ok and not valid_only):
            _update(client, dm, views.result_message(0, preview.errors, lang))
            return
        now = services.clock()
        with session(services.engine) as s:
            me = repo.people(s, user_ids=[user]).get(user)

        def progress(done: int, total: int) -> None:
            if done < total:
                _update(client, dm, views.progress_message(done, total, lang))

        outcome = importer.create(
            services,
            checked,
            team_id=team,
            creator=user,
            today=local_today(now, me.tz if me else ""),
            now=now,
            progress=progress,
            batch=PROGRESS_EVERY,
        )
        _update(client, dm, views.result_message(outcome.created, outcome.failures, lang))
        log.info("bulk import by %s: %s created", user, outcome.created)
        plan(services, services.clock())
        dispatcher.tick()


def _show(client: WebClient, view_id: str, view: dict[str, Any]) -> bool:
    """views.update of the modal by its id; False when it is gone (closed meanwhile) or Slack
    would not take it."""
    try:
        client.views_update(view_id=view_id, view=view)
        return True
    except SlackApiError as exc:
        error = exc.response.get("error") if exc.response is not None else ""
        if error == "not_found":
            log.info("bulk: modal %s was closed before its preview was ready", view_id)
        else:
            log.warning("bulk: views.update of %s failed: %s", view_id, error or exc)
        return False
    except OSError as exc:
        log.warning("bulk: views.update of %s failed: %s", view_id, exc)
        return False


def _post(client: WebClient, user: str, msg: dict[str, Any]) -> tuple[str, str] | None:
    """Post the progress DM; (channel, ts), or None when Slack would not take it."""
    try:
        answer = client.chat_postMessage(channel=user, **msg)
        return answer["channel"], answer["ts"]
    except (SlackApiError, OSError) as exc:
        log.warning("bulk progress DM to %s failed: %s", user, exc)
        return None


def _update(client: WebClient, dm: tuple[str, str] | None, msg: dict[str, Any]) -> None:
    """Update the progress DM; a failure costs only the update."""
    if dm is None:
        return
    try:
        client.chat_update(channel=dm[0], ts=dm[1], **msg)
    except (SlackApiError, OSError) as exc:
        log.warning("bulk progress update failed: %s", exc)


def open_bulk_modal(client: WebClient, services: Services, *, trigger_id: str, user: str) -> None:
    """Open the upload modal at once (a trigger_id lives about 3 s)."""
    client.views_open(trigger_id=trigger_id, view=views.upload_modal(services.lang_for(user)))
