"""Everything a human reads about a bulk import: CLI lines, the modal views, the progress DM."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    InputBlock,
    Option,
    PlainTextObject,
)
from slack_sdk.models.blocks.block_elements import FileInputElement
from slack_sdk.models.views import View

from handoff.flows.bulk import Preview, RowError
from handoff.messages.blocks import SECTION_TEXT, context, message, section
from handoff.messages.i18n import environment, fmt_date, text
from handoff.messages.text import escape
from handoff.settings import LANGS

UPLOAD_CALLBACK = "handoff_bulk"
PREVIEW_CALLBACK = "bulk.preview"
DONE_CALLBACK = "bulk.done"
VALID_ROWS_ACTION = "bulk.valid_rows"
FILE_BLOCK, OPTIONS_BLOCK, VALID_ROWS_BLOCK = "file", "options", "valid_rows"
SLACK_LINES = 25  # errors, moves and waves listed in Slack before "…and N more"
_BOLD = re.compile(r"\*([^*\n]+)\*")


@cache
def catalog(lang: str) -> Any:
    """The macros of the language's bulk.j2, callable from Python."""
    return environment(lang if lang in LANGS else "en").get_template("bulk.j2").module


def _plain(mrkdwn: str) -> str:
    """Template text without *bold* marks, for the terminal (only for texts without user input)."""
    return _BOLD.sub(r"\1", mrkdwn)


def error_text(e: RowError, lang: str, *, slack: bool) -> str:
    """`line N: <column>: <reason>`; user-written values are escaped for Slack."""
    c = catalog(lang)
    detail = escape(e.detail) if slack else e.detail
    reason = text(c.reason(e.code, detail))
    return text(c.error_line(e.line, escape(e.column) if slack else e.column, reason))


def _sections(
    preview: Preview, lang: str, wave_size: int, *, slack: bool
) -> list[tuple[str, list[str]]]:
    """(heading, lines) for waves, moved dates, warnings and errors; empty ones left out."""
    c = catalog(lang)
    esc: Callable[[str], str] = escape if slack else str
    waves = [
        text(c.wave_line(n, fmt_date(week, lang), count))
        for n, (week, count) in enumerate(preview.waves(), start=1)
    ]
    moved = [
        text(
            c.moved_line(
                s.line,
                esc(s.request.account),
                fmt_date(s.original_date, lang),
                fmt_date(s.request.handoff_date, lang),
            )
        )
        for s in preview.staged
        if s.moved
    ]
    warnings = [error_text(e, lang, slack=slack) for e in preview.warnings]
    errors = [error_text(e, lang, slack=slack) for e in preview.errors]
    parts = [
        (text(c.waves_heading(wave_size)), waves),
        (text(c.moved_heading(len(moved))), moved),
        (text(c.warnings_heading(len(warnings))), warnings),
        (text(c.errors_heading(len(errors))), errors),
    ]
    return [(heading, lines) for heading, lines in parts if lines]


def _verdict(preview: Preview, lang: str, valid_only: bool, *, slack: bool = False) -> str:
    c = catalog(lang)
    if not preview.staged:
        return text(c.nothing_valid())
    if preview.errors and not valid_only and slack:  # the preview offers the valid rows
        return text(c.valid_rows_offer(len(preview.staged)))
    if preview.errors and not valid_only:
        return text(c.blocked_note())
    if preview.errors:
        return text(c.valid_only_note(len(preview.staged)))
    return ""


def summary_text(preview: Preview, lang: str) -> str:
    """'*1000* rows: *990* can be created, *10* have errors.'"""
    bad = preview.total - len(preview.staged)
    return text(catalog(lang).summary(preview.total, len(preview.staged), max(bad, 0)))


def preview_lines(preview: Preview, lang: str, wave_size: int, *, valid_only: bool) -> list[str]:
    """The preview for the terminal: every wave, every moved date, every error."""
    lines = [_plain(summary_text(preview, lang))]
    for heading, items in _sections(preview, lang, wave_size, slack=False):
        lines += ["", _plain(heading), *(f"  {i}" for i in items)]
    verdict = _verdict(preview, lang, valid_only)
    return lines + (["", verdict] if verdict else [])


def _chunk(heading: str, items: Sequence[str], lang: str) -> str:
    """A heading and as many lines as fit into one section (at most SLACK_LINES); the rest
    counted."""
    out, shown = heading, 0
    for item in items[:SLACK_LINES]:
        if len(out) + len(item) + 60 > SECTION_TEXT:
            break
        out += "\n" + item
        shown += 1
    hidden = len(items) - shown
    return out + ("\n" + text(catalog(lang).more(hidden)) if hidden else "")


def _modal(callback: str, lang: str, blocks: list[Block], submit: str | None, meta: str) -> dict:
    c = catalog(lang)
    from handoff.messages.i18n import catalog as ui

    view = View(
        type="modal",
        callback_id=callback,
        private_metadata=meta or None,
        title=PlainTextObject(text=text(c.modal_title())),
        submit=PlainTextObject(text=submit) if submit else None,
        close=PlainTextObject(text=text(ui(lang).cancel() if submit else c.close_submit())),
        blocks=blocks,
    )
    return view.to_dict()


def upload_modal(lang: str) -> dict[str, Any]:
    """The /handoff bulk modal: one CSV file, and whether to import only the valid rows."""
    c = catalog(lang)
    blocks: list[Block] = [
        context(text(c.modal_intro())),
        InputBlock(
            block_id=FILE_BLOCK,
            label=PlainTextObject(text=text(c.file_label())),
            element=FileInputElement(action_id="value", filetypes=["csv"], max_files=1),
        ),
        InputBlock(
            block_id=OPTIONS_BLOCK,
            label=PlainTextObject(text=text(c.valid_only_option())),
            element=CheckboxesElement(
                action_id="value",
                options=[Option(value="valid_only", text=text(c.valid_only_option()))],
            ),
            optional=True,
        ),
    ]
    return _modal(UPLOAD_CALLBACK, lang, blocks, text(c.check_submit()), "")


def preview_view(
    preview: Preview, lang: str, wave_size: int, *, valid_only: bool, meta: str
) -> dict[str, Any]:
    """The preview that replaces the upload modal; its submit creates the handoffs. With errors
    (and valid-only not chosen) a button offers to create the valid rows instead."""
    blocks: list[Block] = [section(summary_text(preview, lang))]
    for heading, items in _sections(preview, lang, wave_size, slack=True):
        blocks.append(section(_chunk(heading, items, lang)))
    verdict = _verdict(preview, lang, valid_only, slack=True)
    if verdict:
        blocks.append(context(verdict))
    creatable = bool(preview.staged) and (preview.ok or valid_only)
    if preview.staged and not creatable:
        label = text(catalog(lang).valid_rows_button(len(preview.staged)))
        button = ButtonElement(action_id=VALID_ROWS_ACTION, text=label, style="primary")
        blocks.append(ActionsBlock(block_id=VALID_ROWS_BLOCK, elements=[button]))
    submit = text(catalog(lang).create_submit()) if creatable else None
    return _modal(PREVIEW_CALLBACK, lang, blocks, submit, meta)


def checking_view(file_name: str, lang: str) -> dict[str, Any]:
    """What the modal shows at once while the file is downloaded and checked."""
    return note_view(text(catalog(lang).checking_text(escape(file_name))), lang)


def check_failed_view(file_name: str, problems: Sequence[RowError], lang: str) -> dict[str, Any]:
    """The file could not be checked at all (download, encoding, header): why, and what next."""
    c = catalog(lang)
    items = [error_text(e, lang, slack=True) for e in problems]
    blocks: list[Block] = [
        section(_chunk(text(c.check_failed(escape(file_name))), items, lang)),
        context(text(c.check_again())),
    ]
    return _modal(DONE_CALLBACK, lang, blocks, None, "")


def note_view(mrkdwn: str, lang: str) -> dict[str, Any]:
    """A closing modal with one line (import started, already running, file missing)."""
    return _modal(DONE_CALLBACK, lang, [section(mrkdwn)], None, "")


def started_view(count: int, lang: str) -> dict[str, Any]:
    """What the modal shows once creating has started."""
    return note_view(text(catalog(lang).started_text(count)), lang)


def already_view(lang: str) -> dict[str, Any]:
    """What a second submit of the same preview shows."""
    return note_view(text(catalog(lang).already_text()), lang)


def file_errors(lang: str) -> dict[str, str]:
    """The inline error when no file was uploaded."""
    return {FILE_BLOCK: text(catalog(lang).file_missing())}


def progress_message(done: int, total: int, lang: str) -> dict[str, Any]:
    """The DM that is updated while an import runs."""
    line = text(catalog(lang).progress(done, total))
    return message([section(line)], line)


def result_message(created: int, failures: Sequence[RowError], lang: str) -> dict[str, Any]:
    """The final state of the progress DM."""
    line = text(catalog(lang).result(created, len(failures)))
    blocks: list[Block] = [section(line)]
    if failures:
        items = [error_text(e, lang, slack=True) for e in failures]
        blocks.append(section(_chunk("", items, lang).strip()))
    return message(blocks, line)


def result_line(created: int, failed: int, lang: str) -> str:
    """The last line the CLI prints."""
    return text(catalog(lang).result(created, failed)).split(" ", 1)[1]


def progress_line(done: int, total: int, lang: str) -> str:
    """A progress line for the terminal."""
    return text(catalog(lang).progress(done, total))


def dry_run_line(lang: str) -> str:
    """The CLI's last line of a dry run."""
    return text(catalog(lang).dry_run_note())
