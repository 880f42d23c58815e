"""Jinja2 catalogues per language, the reader's language, and locale-aware dates."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from handoff.flows.calendar import zone
from handoff.settings import LANGS

TEMPLATES = Path(__file__).resolve().parent / "templates"
DATE_FORMAT = {"en": "EEE d MMM yyyy", "de": "EEE, d. MMM yyyy"}
TIME_FORMAT = {"en": "EEE d MMM yyyy, HH:mm", "de": "EEE, d. MMM yyyy, HH:mm"}


@cache
def environment(lang: str) -> Environment:
    """The Jinja2 environment of one language (StrictUndefined: a missing key fails)."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES / lang),
        undefined=StrictUndefined,
        autoescape=False,  # mrkdwn, not HTML: user text is escaped with messages.text.escape
        keep_trailing_newline=False,
    )


@cache
def catalog(lang: str, name: str = "ui.j2") -> Any:
    """The macros (and top-level sets) of one of the language's templates, callable from Python."""
    return environment(lang if lang in LANGS else "en").get_template(name).module


def knowledge(lang: str) -> Any:
    """The knowledge document's texts (labels, hints, options, modal texts)."""
    return catalog(lang, "knowledge.j2")


def lang_of(*, chosen: str = "", locale: str = "", default: str = "en") -> str:
    """The reader's language: their own choice, then their Slack locale, then the default."""
    for candidate in (chosen, locale.split("-")[0].split("_")[0].lower()):
        if candidate in LANGS:
            return candidate
    return default if default in LANGS else "en"


def fmt_date(day: date, lang: str) -> str:
    """A date for the reader, e.g. 'Mon 14 Dec 2026' or 'Mo., 14. Dez. 2026'."""
    return format_date(day, DATE_FORMAT.get(lang, DATE_FORMAT["en"]), locale=lang)


def fmt_number(value: float, lang: str) -> str:
    """A number for the reader, e.g. '4.25' or '4,25'."""
    return format_decimal(value, format="#,##0.##", locale=lang)


def fmt_datetime(moment: datetime, tz: str | None, lang: str) -> str:
    """An instant in the reader's zone."""
    return format_datetime(
        moment.astimezone(zone(tz)), TIME_FORMAT.get(lang, TIME_FORMAT["en"]), locale=lang
    )


def text(value: Any) -> str:
    """A macro's output as plain str, outer white space removed."""
    return str(value).strip()
