"""bulk.j2: English and German have the same macros, and every reason code renders in both."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from handoff.flows.bulk import RowError
from handoff.messages import bulk as texts
from handoff.messages.i18n import text
from tests.test_flows_bulk import HEADER, preview, row

ROOT = Path(__file__).resolve().parents[1]
BULK_CODES = {
    "csv_invalid", "not_utf8", "file_too_large", "file_empty", "too_many_rows",
    "download_failed", "column_unknown", "column_twice", "column_missing", "column_unnamed",
    "field_count",
    "value_missing", "person_invalid", "kind_invalid", "planned_invalid", "date_invalid",
    "channel_invalid", "strategic_invalid", "account_twice", "no_wave", "lookup_failed",
    "create_failed", "account_taken", "over_wave", "check_failed",
}  # fmt: skip


def macros(lang: str) -> set[str]:
    c = texts.catalog(lang)
    return {n for n in dir(c) if not n.startswith("_") and callable(getattr(c, n))}


def codes() -> set[str]:
    """The bulk codes, and every code validate_start can give (read from its source)."""
    start = (ROOT / "handoff" / "flows" / "start.py").read_text()
    return BULK_CODES | set(re.findall(r'errors\[[^\]]+\] = "(\w+)"', start))


def test_english_and_german_have_the_same_macros():
    assert macros("en") == macros("de")


@pytest.mark.parametrize("lang", ["en", "de"])
def test_every_reason_code_renders(lang):
    known = {"field_count", "column_unnamed"}
    for code in sorted(codes()):
        detail = "7|8" if code in known else "x"
        try:
            out = texts.error_text(RowError(3, "kind", code, detail), lang, slack=True)
        except Exception as exc:  # an unknown key in the reason table
            raise AssertionError(f"{lang}: no text for {code}") from exc
        assert out.startswith("line 3: kind: ") and len(out) > 20


@pytest.mark.parametrize("lang", ["en", "de"])
def test_every_macro_renders_within_slack_limits(lang):
    c = texts.catalog(lang)
    samples = {
        "reason": ("value_missing", ""),
        "error_line": (2, "kind", "why"),
        "summary": (10, 8, 2),
        "waves_heading": (3,),
        "wave_line": (1, "Mon 4 Jan 2027", 3),
        "moved_heading": (2,),
        "moved_line": (5, "Acme", "Mon 4 Jan 2027", "Mon 11 Jan 2027"),
        "errors_heading": (2,),
        "warnings_heading": (1,),
        "checking_text": ("accounts.csv",),
        "check_failed": ("accounts.csv",),
        "more": (4,),
        "valid_only_note": (8,),
        "valid_rows_offer": (8,),
        "valid_rows_button": (8,),
        "progress": (100, 1000),
        "result": (5, 1),
        "started_text": (5,),
    }
    for name in macros(lang):
        out = text(getattr(c, name)(*samples.get(name, ())))
        assert out and "{{" not in out and "None" not in out and len(out) < 3000, name


@pytest.mark.parametrize(
    ("lang", "button", "note"),
    [
        ("en", "Import the valid row", "or import only the valid row;"),
        ("de", "Die gültige Zeile importieren", "oder importieren Sie nur die gültige Zeile;"),
    ],
)
def test_a_preview_with_errors_offers_its_valid_rows_in_each_language(lang, button, note):
    content = "\n".join([HEADER, row("Acme"), row("Bad", kind="x")]) + "\n"
    view = texts.preview_view(preview(content), lang, 3, valid_only=False, meta="{}")
    (actions,) = [b for b in view["blocks"] if b["type"] == "actions"]
    assert actions["elements"][0]["text"]["text"] == button
    assert note in json.dumps(view["blocks"], ensure_ascii=False)
    assert "submit" not in view


def test_german_reasons_quote_values_with_low_and_high_quotation_marks():
    for code in sorted(codes()):
        detail = "7|8" if code in ("field_count", "column_unnamed") else "Wert"
        out = texts.error_text(RowError(3, "kind", code, detail), "de", slack=False)
        assert '"' not in out, out
        if "„" in out:
            assert "„Wert“" in out, out
