"""The knowledge document in Slack: overview, section modals, stakeholders, reviews, export.

Only the people of a transition (departing owner, new owner, manager, creator) may open, edit or
export its knowledge; anything else is refused and logged. Values are validated here, on the
server, whatever Slack already checked. What was typed is saved before Slack is answered, and a
closed modal (notify_on_close) is saved too: nothing typed is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import col, update

from handoff.bot import home
from handoff.bot.dispatch import Dispatcher
from handoff.bot.ids import Ids
from handoff.bot.parse import int_or_none, view_meta
from handoff.bot.services import Services
from handoff.flows import knowledge as kn
from handoff.messages import knowledge as kb
from handoff.messages.i18n import knowledge as texts
from handoff.messages.i18n import text
from handoff.storage import flags
from handoff.storage import knowledge as store
from handoff.storage.db import session
from handoff.storage.models import Stakeholder, Transition

log = logging.getLogger(__name__)


def involved(t: Transition | None, user: str) -> bool:
    """Whether the user is one of the transition's people."""
    return t is not None and user in (t.departing_owner, t.new_owner, t.manager, t.creator)


def _team(body: dict[str, Any]) -> str:
    return (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id") or ""


class Doc:
    """The knowledge listeners of one app instance."""

    def __init__(self, services: Services) -> None:
        self.services = services

    # -- loading and refusing ------------------------------------------------------------------

    def load(
        self, body: dict, tid: int | None, action: str
    ) -> tuple[Transition, kn.Document] | None:
        """The transition and its document, if the user may see them; None (logged) otherwise."""
        user = body["user"]["id"]
        with session(self.services.engine) as s:
            t = s.get(Transition, tid) if tid is not None else None
            if t is not None and t.team_id and _team(body) and t.team_id != _team(body):
                t = None
            if not involved(t, user):
                log.warning(
                    "refused %s by %s for transition %s: not one of its people", action, user, tid
                )
                return None
            return t, store.document(s, transition_id=t.id)

    def begin(
        self, client: WebClient, body: dict, tid: int | None, action: str, key: str | None = None
    ) -> tuple[str, str, Transition, kn.Document] | None:
        """A click's user, language, transition and document; None (told, logged) if the user
        may not see them or the section is unknown."""
        user = body["user"]["id"]
        lang = self.services.lang_for(user)
        loaded = self.load(body, tid, action)
        if loaded is None or (key is not None and key not in kn.BY_KEY):
            self.refuse(client, body, lang, text(texts(lang).not_allowed_doc()))
            return None
        return user, lang, *loaded

    def refuse(self, client: WebClient, body: dict, lang: str, message: str) -> None:
        """Tell the user, in a small modal (works from messages, modals and the App Home)."""
        view = {
            "type": "modal",
            "title": {"type": "plain_text", "text": "Handoff"},
            "close": {"type": "plain_text", "text": text(texts(lang).close())},
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": message}}],
        }
        trigger = body.get("trigger_id")
        try:
            if body.get("view") and body["view"].get("type") == "modal":
                client.views_push(trigger_id=trigger, view=view)
            else:
                client.views_open(trigger_id=trigger, view=view)
        except SlackApiError as exc:
            log.info("could not show the refusal: %s", exc.response.get("error"))

    # -- views ---------------------------------------------------------------------------------

    def overview(self, t: Transition, doc: kn.Document, user: str, lang: str) -> dict[str, Any]:
        return kb.overview_modal(t, doc, user, lang, callback_id=Ids.DOC_OVERVIEW_VIEW.value)

    def section_view(
        self, t: Transition, doc: kn.Document, key: str, lang: str, root: str | None
    ) -> dict[str, Any]:
        return kb.section_modal(
            t, doc, key, lang, callback_id=Ids.DOC_SECTION_VIEW.value, root=root
        )

    def refresh(
        self,
        client: WebClient,
        t: Transition,
        user: str,
        lang: str,
        view_id: str | None,
        doc: kn.Document,
    ) -> None:
        """Show the overview again in `view_id` (a modal further down the stack)."""
        if not view_id:
            return
        try:
            client.views_update(view_id=view_id, view=self.overview(t, doc, user, lang))
        except SlackApiError as exc:  # the user closed it meanwhile: nothing to refresh
            log.info("overview %s not refreshed: %s", view_id, exc.response.get("error"))

    def save_draft(self, t: Transition, key: str, view: dict, user: str) -> dict[str, str]:
        """Store a section's valid values from a view's state; the error codes of the rest."""
        values, errors = kn.clean(kn.section(key).fields, kb.raw_values(view))
        if errors:
            # keep what was there for the fields at fault rather than lose it
            with session(self.services.engine) as s:
                old = store.document(s, transition_id=t.id).values.get(key, {})
            values.update({f: old[f] for f in errors if f in old})
        with session(self.services.engine) as s:
            changed = store.save_section(
                s,
                transition_id=t.id,
                section=key,
                values=values,
                by=user,
                now=self.services.clock(),
            )
            s.commit()
        if changed:
            log.info("transition %s: %s saved section %s", t.id, user, key)
        return errors

    def save_stakeholder(
        self, t: Transition, sid: int | None, values: dict[str, Any], user: str
    ) -> Stakeholder | None:
        """Add (sid None) or replace a stakeholder; None when the one to edit is gone."""
        with session(self.services.engine) as s:
            row = store.save_stakeholder(
                s,
                transition_id=t.id,
                stakeholder_id=sid,
                values=values,
                by=user,
                now=self.services.clock(),
            )
            s.commit()
        return row

    def people(self, t: Transition) -> list[str]:
        return [t.departing_owner, t.new_owner, t.manager, t.creator]

    def changed(
        self,
        client: WebClient,
        t: Transition,
        show: Callable[[kn.Document], None] | None = None,
    ) -> None:
        """After a change: the transition's completeness follows the document, a ready document
        resolves 'unprepared new owner', `show` redraws the open modal from the document as it
        is now, and the Homes of its people refresh."""
        with session(self.services.engine) as s:
            doc = store.document(s, transition_id=t.id)
            r = kn.readiness(doc)
            s.exec(
                update(Transition)
                .where(col(Transition.id) == t.id)
                .values(completeness=r.score, doc_ready=r.ready)
            )
            if r.ready and flags.resolve(
                s, transition_id=t.id, kinds=["unprepared"], now=self.services.clock()
            ):
                log.info("transition %s: the new owner is prepared now", t.id)
            s.commit()
        if show is not None:
            show(doc)
        home.refresh(client, self.services, self.people(t))


def register(app: Any, services: Services, dispatcher: Dispatcher) -> None:
    """Register the knowledge listeners."""
    d = Doc(services)

    @app.action(Ids.DOC_OPEN.value)
    def doc_open(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        begun = d.begin(client, body, int_or_none(action.get("value")), "doc.open")
        if begun is None:
            return
        user, lang, t, doc = begun
        view = d.overview(t, doc, user, lang)
        if (body.get("view") or {}).get("type") == "modal":
            client.views_push(trigger_id=body["trigger_id"], view=view)
        else:
            client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.action(Ids.DOC_SECTION.value)
    @app.action(Ids.HOME_SECTION.value)
    def doc_section(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        if "selected_option" in action:  # the App Home's picker: the transition is the block's
            tid = str(action.get("block_id") or "").removeprefix("t:")
            key = str((action.get("selected_option") or {}).get("value") or "")
        else:
            tid, _, key = str(action.get("value") or "").partition(":")
        begun = d.begin(client, body, int_or_none(tid), "doc.section", key)
        if begun is None:
            return
        user, lang, t, doc = begun
        current = body.get("view") or {}
        if current.get("type") == "modal":
            view = d.section_view(t, doc, key, lang, root=current.get("id"))
            client.views_push(trigger_id=body["trigger_id"], view=view)
        else:
            client.views_open(
                trigger_id=body["trigger_id"], view=d.section_view(t, doc, key, lang, None)
            )

    @app.view(Ids.DOC_SECTION_VIEW.value)
    def section_submitted(ack: Ack, body: dict, view: dict, client: WebClient) -> None:
        user = body["user"]["id"]
        lang = services.lang_for(user)
        meta = view_meta(view)
        key = meta.get("s")
        loaded = d.load(body, int_or_none(meta.get("t")), "doc.section submit")
        if loaded is None or key not in kn.BY_KEY:
            ack(
                response_action="errors",
                errors=_first_block_error(view, texts(lang).not_allowed_doc()),
            )
            return
        t, _ = loaded
        errors = d.save_draft(t, key, view, user)
        if errors:
            log.info("section %s of transition %s by %s rejected: %s", key, t.id, user, errors)
            ack(
                response_action="errors", errors=kb.errors_for(kn.section(key).fields, errors, lang)
            )
            return
        ack()
        d.changed(client, t, lambda doc: d.refresh(client, t, user, lang, meta.get("root"), doc))

    @app.view_closed(Ids.DOC_SECTION_VIEW.value)
    def section_closed(ack: Ack, body: dict, view: dict, client: WebClient) -> None:
        ack()
        user = body["user"]["id"]
        meta = view_meta(view)
        key = meta.get("s")
        loaded = d.load(body, int_or_none(meta.get("t")), "doc.section close")
        if loaded is None or key not in kn.BY_KEY:
            return
        t, _ = loaded
        errors = d.save_draft(t, key, view, user)
        if errors:
            log.info("closed section %s of %s kept without %s", key, t.id, sorted(errors))
        lang = services.lang_for(user)
        d.changed(client, t, lambda doc: d.refresh(client, t, user, lang, meta.get("root"), doc))

    @app.action(Ids.DOC_REVIEW.value)
    def review(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        tid, _, key = str(action.get("value") or "").partition(":")
        begun = d.begin(client, body, int_or_none(tid), "doc.review", key)
        if begun is None:
            return
        user, lang, t, _ = begun
        if user != t.new_owner:
            log.warning("refused review of %s/%s by %s: not the new owner", t.id, key, user)
            d.refuse(client, body, lang, text(texts(lang).only_new_owner_reviews()))
            return
        with session(services.engine) as s:
            store.mark_reviewed(s, transition_id=t.id, section=key, by=user, now=services.clock())
            s.commit()
        log.info("transition %s: %s reviewed section %s", t.id, user, key)
        current = body.get("view") or {}
        view_id = current.get("id") if current.get("type") == "modal" else None
        d.changed(client, t, lambda doc: d.refresh(client, t, user, lang, view_id, doc))

    @app.action(Ids.DOC_STAKEHOLDER_ADD.value)
    def stakeholder_add(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        begun = d.begin(client, body, int_or_none(action.get("value")), "doc.stakeholder.add")
        if begun is None:
            return
        user, lang, t, doc = begun
        section_view = body.get("view") or {}
        d.save_draft(t, "relationships", section_view, user)  # what was typed in the map
        if len(doc.stakeholders) >= kn.STAKEHOLDERS_MAX:
            d.refuse(
                client, body, lang, texts(lang).ERROR["too_many"].format(n=kn.STAKEHOLDERS_MAX)
            )
            return
        client.views_push(
            trigger_id=body["trigger_id"],
            view=kb.stakeholder_modal(
                t.id,
                None,
                lang,
                callback_id=Ids.DOC_STAKEHOLDER_VIEW.value,
                root=section_view.get("id"),
                top=view_meta(section_view).get("root"),
            ),
        )

    @app.action(Ids.DOC_STAKEHOLDER_MENU.value)
    def stakeholder_menu(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        chosen = str((action.get("selected_option") or {}).get("value"))
        verb, tid, sid = (chosen + "::").split(":")[:3]
        begun = d.begin(client, body, int_or_none(tid), f"doc.stakeholder.{verb}")
        if begun is None:
            return
        user, lang, t, doc = begun
        section_view = body.get("view") or {}
        d.save_draft(t, "relationships", section_view, user)
        person = next((p for p in doc.stakeholders if p["id"] == int_or_none(sid)), None)
        if person is None:
            d.refuse(client, body, lang, text(texts(lang).gone()))
            return
        root, top = section_view.get("id"), view_meta(section_view).get("root")
        if verb == "edit":
            view = kb.stakeholder_modal(
                t.id, person, lang, callback_id=Ids.DOC_STAKEHOLDER_VIEW.value, root=root, top=top
            )
        else:  # remove: asked first, one misclick must not lose a whole profile
            view = kb.remove_modal(
                t.id,
                person,
                lang,
                callback_id=Ids.DOC_STAKEHOLDER_REMOVE_VIEW.value,
                root=root,
                top=top,
            )
        client.views_push(trigger_id=body["trigger_id"], view=view)

    @app.view_closed(Ids.DOC_STAKEHOLDER_VIEW.value)
    def stakeholder_closed(ack: Ack, body: dict, view: dict, client: WebClient) -> None:
        ack()
        user = body["user"]["id"]
        meta = view_meta(view)
        loaded = d.load(body, int_or_none(meta.get("t")), "doc.stakeholder close")
        if loaded is None:
            return
        t, doc = loaded
        values, _ = kn.clean(kn.STAKEHOLDER, kb.raw_values(view))
        sid = int_or_none(meta.get("id"))
        if not values or (sid is None and len(doc.stakeholders) >= kn.STAKEHOLDERS_MAX):
            return
        row = d.save_stakeholder(t, sid, values, user)
        log.info("transition %s: kept the stakeholder %s closed by %s", t.id, row and row.id, user)
        lang = services.lang_for(user)
        d.changed(client, t, lambda doc: _redraw_map(d, client, t, lang, meta, doc))

    @app.view(Ids.DOC_STAKEHOLDER_REMOVE_VIEW.value)
    def stakeholder_removed(ack: Ack, body: dict, view: dict, client: WebClient) -> None:
        user = body["user"]["id"]
        lang = services.lang_for(user)
        meta = view_meta(view)
        loaded = d.load(body, int_or_none(meta.get("t")), "doc.stakeholder remove")
        ack()
        if loaded is None:
            return
        t, _ = loaded
        with session(services.engine) as s:
            removed = store.delete_stakeholder(
                s,
                transition_id=t.id,
                stakeholder_id=int_or_none(meta.get("id")) or 0,
                by=user,
                now=services.clock(),
            )
            s.commit()
        if removed:
            log.info("transition %s: %s removed stakeholder %s", t.id, user, meta.get("id"))
        d.changed(client, t, lambda doc: _redraw_map(d, client, t, lang, meta, doc))

    @app.view(Ids.DOC_STAKEHOLDER_VIEW.value)
    def stakeholder_submitted(ack: Ack, body: dict, view: dict, client: WebClient) -> None:
        user = body["user"]["id"]
        lang = services.lang_for(user)
        meta = view_meta(view)
        loaded = d.load(body, int_or_none(meta.get("t")), "doc.stakeholder submit")
        if loaded is None:
            ack(
                response_action="errors",
                errors=_first_block_error(view, texts(lang).not_allowed_doc()),
            )
            return
        t, doc = loaded
        values, errors = kn.clean(kn.STAKEHOLDER, kb.raw_values(view))
        for f in kn.STAKEHOLDER:
            if f.required and f.key not in values and f.key not in errors:
                errors[f.key] = "required"
        if errors:
            ack(response_action="errors", errors=kb.errors_for(kn.STAKEHOLDER, errors, lang))
            return
        sid = int_or_none(meta.get("id"))
        if sid is None and len(doc.stakeholders) >= kn.STAKEHOLDERS_MAX:
            ack(
                response_action="errors",
                errors={"name": texts(lang).ERROR["too_many"].format(n=kn.STAKEHOLDERS_MAX)},
            )
            return
        row = d.save_stakeholder(t, sid, values, user)
        if row is None:
            ack(response_action="errors", errors={"name": text(texts(lang).gone())})
            return
        ack()
        log.info("transition %s: %s saved stakeholder %s", t.id, user, row.id)
        d.changed(client, t, lambda doc: _redraw_map(d, client, t, lang, meta, doc))


def _redraw_map(
    d: Doc, client: WebClient, t: Transition, lang: str, meta: dict, doc: kn.Document
) -> None:
    """Show the relationship map again in its modal (`meta` of the modal stacked on it: `root`
    is the map, `top` the overview under it)."""
    if not meta.get("root"):
        return
    view = d.section_view(t, doc, "relationships", lang, meta.get("top"))
    try:
        client.views_update(view_id=meta["root"], view=view)
    except SlackApiError as exc:
        log.info("relationship map %s not redrawn: %s", meta["root"], exc.response.get("error"))


def _first_block_error(view: dict, message: Any) -> dict[str, str]:
    """An inline error on the first input of a view (for a refusal inside a modal)."""
    for block in view.get("blocks") or []:
        if block.get("type") == "input":
            return {block["block_id"]: text(message)}
    return {}
