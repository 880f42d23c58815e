"""The handoff's success metrics (PRODUCT.md "Measuring success"): what is recorded, checked.

* ``csat``: the customer's answer to "How smooth was the account transition?", 1–5, at the
  retrospective (target: 4.5 on average).
* ``d30``/``d60``/``d90``: the health score (0–100), how renewal risk and the expansion pipeline
  changed since the handoff, and whether the customer would be a reference.

The values before the handoff come from the knowledge document (risk factors' health score).
"""

from __future__ import annotations

from typing import Any

from handoff.flows.knowledge import Document

ITEMS = ("csat", "d30", "d60", "d90")
NOTE_MAX = 2000
CHOICES: dict[str, tuple[str, ...]] = {
    "score": ("1", "2", "3", "4", "5"),
    "renewal_risk": ("lower", "same", "higher"),
    "pipeline": ("grown", "kept", "lost"),
    "reference": ("yes", "maybe", "no"),
}
FIELDS: dict[str, tuple[str, ...]] = {
    "csat": ("score", "comment"),
    "d30": ("health", "renewal_risk", "pipeline", "reference", "note"),
}
FIELDS["d60"] = FIELDS["d90"] = FIELDS["d30"]
REQUIRED = {"score", "health", "renewal_risk", "pipeline", "reference"}


def clean(item: str, raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Validate a check-in on the server: (values, field → error code)."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in FIELDS[item]:
        value = raw.get(name)
        if value in (None, ""):
            if name in REQUIRED:
                errors[name] = "required"
            continue
        if name in CHOICES:
            if str(value) not in CHOICES[name]:
                errors[name] = "bad_value"
            else:
                values[name] = int(value) if name == "score" else str(value)
        elif name == "health":
            try:
                number = int(str(value).strip())
            except ValueError:
                errors[name] = "out_of_range"
                continue
            if 0 <= number <= 100:
                values[name] = number
            else:
                errors[name] = "out_of_range"
        else:
            text = str(value)
            if len(text) > NOTE_MAX:
                errors[name] = "too_long"
            else:
                values[name] = text
    return values, errors


def baseline_health(doc: Document) -> int | None:
    """The health score the departing owner recorded before the handoff."""
    value = doc.get("risks", "health_score")
    return value if isinstance(value, int) else None
