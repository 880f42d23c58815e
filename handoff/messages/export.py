"""The account summary: the whole knowledge document, the plan and the metrics, as Markdown (a
file, values as typed) or as JSON (for tools)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from handoff.flows import knowledge as kn
from handoff.flows.metrics import baseline_health
from handoff.flows.plans import Role
from handoff.messages.blocks import TaskLike, TransitionLike
from handoff.messages.i18n import catalog, fmt_date, fmt_datetime, knowledge, text
from handoff.messages.metrics import recorded_lines


def slug(account: str) -> str:
    """A file-name-safe form of an account name."""
    return re.sub(r"[^a-z0-9]+", "-", account.lower()).strip("-")[:60] or "account"


def filename(account: str, row_id: int | None = None) -> str:
    """The exported file's name (the outbox row id makes each delivery's file unique)."""
    return slug(account) + filename_tail(row_id)


def filename_tail(row_id: int | None) -> str:
    """How every exported file's name ends: the dispatcher finds a delivery again by it."""
    return f"-account-summary-{row_id}.md" if row_id is not None else "-account-summary.md"


def _value(f: kn.Field, value: Any, lang: str) -> str:
    """A field's value as text: a choice by its option's name, several joined; text, numbers and
    dates exactly as typed (a free-text "none" is not the option "none")."""
    k = knowledge(lang)
    if value is None:
        return ""
    if f.type is kn.Type.MULTI and isinstance(value, list):
        return ", ".join(k.OPTION.get(v, str(v)) for v in value)
    if f.type is kn.Type.SELECT:
        return k.OPTION.get(value, str(value))
    return str(value)


def prepare(
    t: TransitionLike,
    doc: kn.Document,
    tasks: Sequence[TaskLike],
    names: Mapping[str, str],
    lang: str,
    *,
    now: datetime,
    metrics: Mapping[str, Mapping[str, Any]] | None = None,
    tz: str | None = None,
) -> SimpleNamespace:
    """Everything the Markdown template shows, computed once; `metrics` are the recorded ones
    (storage.knowledge.metrics), shown against the health before the handoff."""
    c, k = catalog(lang), knowledge(lang)
    r = kn.readiness(doc)
    sections = []
    for sec in kn.SECTIONS:
        values = doc.values.get(sec.key, {})
        stakeholders = None
        if sec.key == "relationships":
            stakeholders = [
                SimpleNamespace(
                    name=str(p.get("name") or "?"),
                    fields=[
                        SimpleNamespace(
                            label=k.LABEL[f"stakeholder.{f.key}"],
                            value=_value(f, p.get(f.key), lang),
                        )
                        for f in kn.STAKEHOLDER[1:]
                        if kn.filled(p.get(f.key))
                    ],
                )
                for p in doc.stakeholders
            ]
        sections.append(
            SimpleNamespace(
                title=k.TITLE[sec.key],
                score=kn.score(doc, sec.key),
                reviewed=doc.is_reviewed(sec.key),
                stakeholders=stakeholders,
                fields=[
                    SimpleNamespace(
                        label=k.LABEL[f"{sec.key}.{f.key}"],
                        required=f.required,
                        value=_value(f, values.get(f.key), lang),
                    )
                    for f in sec.fields
                ],
            )
        )
    who = {
        Role.DEPARTING.value: names.get(t.departing_owner, t.departing_owner),
        Role.NEW_OWNER.value: names.get(t.new_owner, t.new_owner),
        Role.MANAGER.value: names.get(t.manager, t.manager),
    }
    plan_lines = []
    for seq in sorted({k_.seq for k_ in tasks}):
        group = [k_ for k_ in tasks if k_.seq == seq]
        first = group[0]
        plan_lines.append(
            SimpleNamespace(
                date=fmt_date(first.due_on, lang),
                title=text(c.milestone_title(first.milestone, t.planned)),
                who=", ".join(who.get(k_.role, k_.role) for k_ in group),
                done=all(k_.done_at is not None for k_ in group),
                note="; ".join(getattr(k_, "note", "") for k_ in group if getattr(k_, "note", "")),
            )
        )
    return SimpleNamespace(
        account=t.account,
        kind=text(c.kind_name(t.kind)),
        plan=text(c.plan_name(t.planned)),
        handoff_date=fmt_date(t.handoff_date, lang),
        departing=who[Role.DEPARTING.value],
        new_owner=who[Role.NEW_OWNER.value],
        manager=who[Role.MANAGER.value],
        state=text(c.state_name(t.state)),
        strategic=t.strategic,
        reason=t.reason,
        score=r.score,
        ready=r.ready,
        sections=sections,
        plan_lines=plan_lines,
        metrics=recorded_lines(metrics or {}, baseline_health(doc), lang, markdown=True),
        exported=fmt_datetime(now, tz, lang),
    )


def markdown(summary: SimpleNamespace, lang: str) -> str:
    """The account summary as a Markdown document."""
    return text(catalog(lang, "export.j2").markdown(summary)) + "\n"


def as_json(
    t: TransitionLike,
    doc: kn.Document,
    tasks: Sequence[TaskLike],
    *,
    metrics: Mapping[str, Any] | None = None,
) -> str:
    """The account summary as JSON: raw values and keys, no translation; `metrics` are the
    recorded ones, with `before` (the document's health score before the handoff, or null)."""
    r = kn.readiness(doc)
    body = {
        "account": t.account,
        "kind": t.kind,
        "planned": t.planned,
        "strategic": t.strategic,
        "state": t.state,
        "handoff_date": t.handoff_date.isoformat(),
        "departing_owner": t.departing_owner,
        "new_owner": t.new_owner,
        "manager": t.manager,
        "reason": t.reason,
        "completeness": r.score,
        "ready": r.ready,
        "sections": {
            s.key: {
                "score": kn.score(doc, s.key),
                "reviewed": doc.is_reviewed(s.key),
                "missing": kn.missing(doc, s.key),
                "values": doc.values.get(s.key, {}),
            }
            for s in kn.SECTIONS
        },
        "stakeholders": [{k: v for k, v in p.items() if k != "id"} for p in doc.stakeholders],
        "plan": [
            {
                "milestone": k.milestone,
                "role": k.role,
                "assignee": k.assignee,
                "due_on": k.due_on.isoformat(),
                "done": k.done_at is not None,
            }
            for k in sorted(tasks, key=lambda k: (k.seq, k.role))
        ],
        "metrics": {"before": {"health": baseline_health(doc)}, **(metrics or {})},
    }
    return json.dumps(body, ensure_ascii=False, indent=2)
