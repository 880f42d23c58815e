"""The knowledge-transfer document: its nine sections, their fields, validation and scoring.

Pure: a document is plain values (see `Document`); storage and Slack live elsewhere.

Completeness. Each section scores the weighted share of its *required* items that are filled
(optional fields never lower a score). The relationship map's items are: at least one
stakeholder with every required field (weight 3, as the share of complete stakeholders), an
economic sponsor, a champion (1 each), and its required politics fields. The document's score is
the weighted mean of its sections; sections the playbook leans on most when the new owner meets
the customer (relationships, objectives, risks) weigh 2, the others 1. Scores are rounded down,
so 95 % means at least 95 %. The document is *ready* at >= 95 % with every section reviewed by
the new owner after its last change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

READY_AT = 95
TEXT_MAX = 3000  # Slack's plain_text_input limit
LINE_MAX = 150


class Type(StrEnum):
    """How a field is entered."""

    TEXT = "text"  # multi-line text
    LINE = "line"  # one line of text
    SELECT = "select"
    MULTI = "multi"  # several options
    NUMBER = "number"
    DATE = "date"


@dataclass(frozen=True)
class Field:
    """One item of a section."""

    key: str
    type: Type = Type.TEXT
    required: bool = False
    weight: int = 1
    options: tuple[str, ...] = ()
    low: int = 0
    high: int = 100

    @property
    def max_length(self) -> int:
        """The longest text accepted."""
        return LINE_MAX if self.type is Type.LINE else TEXT_MAX


@dataclass(frozen=True)
class Section:
    """One of the nine sections."""

    key: str
    fields: tuple[Field, ...]
    weight: int = 1

    def field(self, key: str) -> Field:
        """The field called key."""
        for f in self.fields:
            if f.key == key:
                return f
        raise KeyError(key)


def _t(key: str, required: bool = False, weight: int = 1) -> Field:
    return Field(key, Type.TEXT, required, weight)


def _s(key: str, options: tuple[str, ...], required: bool = False) -> Field:
    return Field(key, Type.SELECT, required, options=options)


YES_PARTLY_NO = ("yes", "partly", "no")
TREND = ("improving", "stable", "declining")
LEVEL = ("low", "medium", "high")
CHANNELS = ("email", "phone", "slack", "video")
CADENCE = ("weekly", "biweekly", "monthly", "quarterly", "ad_hoc")

STAKEHOLDER_ROLES = ("economic_sponsor", "champion", "decision_maker", "user", "other")
STAKEHOLDER: tuple[Field, ...] = (
    Field("name", Type.LINE, True),
    Field("title", Type.LINE, True),
    _s("role", STAKEHOLDER_ROLES, True),
    _s("style", ("direct", "collaborative", "formal", "casual"), True),
    _s("channel", CHANNELS, True),
    _s("meeting_frequency", CADENCE),
    Field("response_time", Type.LINE),
    _t("triggers"),
    _s("motivation", ("career", "results", "recognition")),
    _s("stance", ("advocate", "neutral", "skeptic"), True),
    Field("trust", Type.NUMBER, True, low=1, high=5),
    _t("access"),
    _s("reference", ("yes", "maybe", "no")),
    _s("authority", ("final", "shared", "influence", "no_say")),
)
STAKEHOLDERS_MAX = 40

SECTIONS: tuple[Section, ...] = (
    Section(
        "profile",
        (
            _t("background", True),
            _t("business_model", True),
            _t("goals_challenges", True),
            _t("metrics", True),
            _t("org_structure", True),
        ),
    ),
    Section(
        "relationships",
        (
            _t("power", True),
            _t("alliances"),
            _t("trust_map"),
            _t("agendas"),
            _t("whom_for_what", True),
        ),
        weight=2,
    ),
    Section(
        "product",
        (
            _t("solutions", True),
            _t("integrations", True),
            _t("usage", True),
            _t("feature_requests"),
        ),
    ),
    Section(
        "history",
        (
            _t("purchase", True),
            _t("why_us", True),
            _t("contract_terms", True),
            _t("implementation", True),
            _t("relationship"),
            _t("challenges"),
            _t("wins"),
        ),
    ),
    Section(
        "objectives",
        (
            _t("goals", True, 2),
            _t("success_criteria", True, 2),
            _t("timeline", True),
            _t("progress"),
            _t("strategy"),
            _t("our_role", True),
            _s("alignment", YES_PARTLY_NO, True),
        ),
        weight=2,
    ),
    Section(
        "current",
        (
            _t("initiatives", True),
            _t("priorities", True),
            _t("open_issues", True),
        ),
    ),
    Section(
        "opportunities",
        (
            Field("renewal_date", Type.DATE, True),
            _s("renewal_health", ("green", "yellow", "red"), True),
            Field("renewal_likelihood", Type.NUMBER, True, low=0, high=100),
            _t("renewal_strategy", True),
            _t("pricing"),
            _t("expansion"),
            _t("pipeline"),
            _t("strategic"),
        ),
    ),
    Section(
        "risks",
        (
            Field("health_score", Type.NUMBER, True, low=0, high=100),
            _s("health_trend", TREND, True),
            _s("engagement", LEVEL),
            _s("satisfaction", LEVEL),
            _t("competition"),
            _t("concerns", True),
            _t("mitigations", True),
            _t("red_flags", True),
        ),
        weight=2,
    ),
    Section(
        "communication",
        (
            _s("cadence", CADENCE, True),
            _s("business_reviews", ("monthly", "quarterly", "half_yearly", "yearly", "none"), True),
            _s("level", ("executive", "working", "both")),
            Field("channels", Type.MULTI, True, options=CHANNELS),
            _s("formality", ("formal", "casual")),
            _t("reports"),
            _t("escalation", True),
        ),
    ),
)
BY_KEY: dict[str, Section] = {s.key: s for s in SECTIONS}
SECTION_KEYS: tuple[str, ...] = tuple(BY_KEY)


def section(key: str) -> Section:
    """The section called key (KeyError for an unknown one)."""
    return BY_KEY[key]


@dataclass
class Document:
    """One transition's knowledge: section → field → value, stakeholders, reviews.

    Values: str for text, line and select; list[str] for multi; int for number; ISO date str for
    date. Missing means empty.
    """

    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    stakeholders: list[dict[str, Any]] = field(default_factory=list)
    changed: dict[str, datetime] = field(default_factory=dict)  # section → last change
    reviewed: dict[str, datetime] = field(default_factory=dict)  # section → review by new owner

    def get(self, section_key: str, field_key: str) -> Any:
        """A field's value, or '' when empty."""
        value = self.values.get(section_key, {}).get(field_key)
        return "" if value is None else value

    def is_reviewed(self, section_key: str) -> bool:
        """Reviewed by the new owner, and not changed since."""
        seen = self.reviewed.get(section_key)
        if seen is None:
            return False
        changed = self.changed.get(section_key)
        return changed is None or changed <= seen


def filled(value: Any) -> bool:
    """Whether a value counts as filled."""
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list | tuple):
        return bool(value)
    return True


def stakeholder_complete(person: dict[str, Any]) -> bool:
    """Every required stakeholder field is filled."""
    return all(filled(person.get(f.key)) for f in STAKEHOLDER if f.required)


@dataclass(frozen=True)
class Item:
    """One required item of a section: filled or missing."""

    key: str  # a field key, or 'stakeholders' / 'sponsor' / 'champion'
    weight: float
    score: float  # 0..1


def items(doc: Document, section_key: str) -> list[Item]:
    """The required items of a section and how far each is filled."""
    sec = BY_KEY[section_key]
    out: list[Item] = []
    if section_key == "relationships":
        people = doc.stakeholders
        done = sum(1 for p in people if stakeholder_complete(p))
        out.append(Item("stakeholders", 3, done / len(people) if people else 0.0))
        roles = {p.get("role") for p in people}
        out.append(Item("sponsor", 1, 1.0 if "economic_sponsor" in roles else 0.0))
        out.append(Item("champion", 1, 1.0 if "champion" in roles else 0.0))
    values = doc.values.get(section_key, {})
    for f in sec.fields:
        if f.required:
            out.append(Item(f.key, f.weight, 1.0 if filled(values.get(f.key)) else 0.0))
    return out


def score(doc: Document, section_key: str) -> int:
    """A section's completeness, 0..100, rounded down."""
    its = items(doc, section_key)
    total = sum(i.weight for i in its)
    got = sum(i.weight * i.score for i in its)
    return int(100 * got / total + 1e-9) if total else 100


def missing(doc: Document, section_key: str) -> list[str]:
    """The keys of a section's required items that are not (fully) filled."""
    return [i.key for i in items(doc, section_key) if i.score < 1.0]


def total(doc: Document) -> int:
    """The whole document's completeness, 0..100, rounded down."""
    weight = sum(s.weight for s in SECTIONS)
    got = sum(s.weight * score(doc, s.key) for s in SECTIONS)
    return int(got / weight + 1e-9)


def flags(doc: Document) -> list[str]:
    """Warnings about the relationship map: 'no_sponsor', 'no_champion'."""
    roles = {p.get("role") for p in doc.stakeholders}
    return [
        flag
        for flag, role in (("no_sponsor", "economic_sponsor"), ("no_champion", "champion"))
        if role not in roles
    ]


@dataclass(frozen=True)
class Readiness:
    """Whether the new owner is ready to meet the customer, and what is missing if not."""

    score: int
    unreviewed: tuple[str, ...]
    incomplete: dict[str, tuple[str, ...]]  # section → missing required items

    @property
    def ready(self) -> bool:
        """At least READY_AT % and every section reviewed."""
        return self.score >= READY_AT and not self.unreviewed


def readiness(doc: Document) -> Readiness:
    """The document's readiness."""
    return Readiness(
        score=total(doc),
        unreviewed=tuple(k for k in SECTION_KEYS if not doc.is_reviewed(k)),
        incomplete={k: tuple(m) for k in SECTION_KEYS if (m := missing(doc, k))},
    )


def clean(fields: tuple[Field, ...], raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Validate raw modal values server-side: (values to store, field → error code).

    Text is kept exactly as typed; an over-long text is an error, never cut. Unknown options,
    out-of-range numbers and malformed dates are errors. Empty values are dropped.
    """
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in fields:
        value = raw.get(f.key)
        if not filled(value):
            continue
        if f.type in (Type.TEXT, Type.LINE):
            text = str(value)
            if len(text) > f.max_length:
                errors[f.key] = "too_long"
            else:
                values[f.key] = text
        elif f.type is Type.SELECT:
            if value in f.options:
                values[f.key] = value
            else:
                errors[f.key] = "bad_option"
        elif f.type is Type.MULTI:
            chosen = [v for v in value if v in f.options] if isinstance(value, list) else []
            if len(chosen) != len(value if isinstance(value, list) else [value]):
                errors[f.key] = "bad_option"
            else:
                values[f.key] = [o for o in f.options if o in chosen]
        elif f.type is Type.NUMBER:
            try:
                number = int(str(value).strip())
            except ValueError:
                errors[f.key] = "not_a_number"
                continue
            if not f.low <= number <= f.high:
                errors[f.key] = "out_of_range"
            else:
                values[f.key] = number
        elif f.type is Type.DATE:
            try:
                values[f.key] = date.fromisoformat(str(value)).isoformat()
            except ValueError:
                errors[f.key] = "bad_date"
    return values, errors
