"""Bulk import: parse a CSV, check every row, stage the valid ones in waves. Pure: no Slack,
no SQL, no wall clock; people, taken accounts and `today` come in as data."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from handoff.flows.calendar import WorkCalendar
from handoff.flows.plans import Kind, build_plan, steps
from handoff.flows.start import (
    MAX_FUTURE_DAYS,
    PEOPLE_BLOCKS,
    Person,
    StartRequest,
    account_key,
    validate_start,
)

COLUMNS = (
    "account",
    "departing_owner",
    "new_owner",
    "manager",
    "kind",
    "planned",
    "handoff_date",
    "digest_channel",
    "strategic",
)
REQUIRED = ("account", "departing_owner", "new_owner", "manager", "kind", "handoff_date")
MAX_ROWS = 10_000
DELIMITERS = (",", ";", "\t")  # comma first: it wins a tie
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TRUE, FALSE = ("true", "yes", "1"), ("false", "no", "0", "")
WEEK = timedelta(days=7)

Week = tuple[str, int, int]  # (new owner, ISO year, ISO week)


@dataclass(frozen=True)
class RowError:
    """One problem: the line (header = 1), the column at fault, a reason code and its detail."""

    line: int
    column: str
    code: str
    detail: str = ""


@dataclass(frozen=True)
class Row:
    """One data row as written (people still as ids or emails)."""

    line: int
    account: str
    departing_owner: str
    new_owner: str
    manager: str
    kind: str
    planned: bool
    handoff_date: date | None
    digest_channel: str | None
    strategic: bool
    # columns already reported as malformed: the row is never created, but the start form's
    # checks still run on its other columns, so every problem of the row shows at once
    broken: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Parsed:
    """The rows that parsed, the errors of those that did not, and how many data rows there were."""

    rows: list[Row]
    errors: list[RowError]
    total: int


@dataclass(frozen=True)
class Staged:
    """A valid row, people resolved, handoff date possibly moved into a later wave."""

    line: int
    request: StartRequest
    original_date: date

    @property
    def moved(self) -> bool:
        """Whether staging moved the handoff date."""
        return self.request.handoff_date != self.original_date


@dataclass(frozen=True)
class Preview:
    """What an import would create, and what it would not (with reasons)."""

    staged: list[Staged]
    errors: list[RowError]
    total: int
    bad_lines: frozenset[int] = field(default_factory=frozenset)
    warnings: list[RowError] = field(default_factory=list)  # created all the same

    @property
    def ok(self) -> bool:
        """No errors at all."""
        return not self.errors

    def waves(self) -> list[tuple[date, int]]:
        """(Monday of the handoff week, number of handoffs) per week, earliest first."""
        weeks = Counter(monday(s.request.handoff_date) for s in self.staged)
        return sorted(weeks.items())


def monday(day: date | None) -> date:
    """The Monday of the ISO week of a day."""
    assert day is not None
    return day - timedelta(days=day.weekday())


# ---------------------------------------------------------------- parsing


def parse_csv(data: str) -> Parsed:
    """Read the CSV text; header problems reject the whole file, row problems only the row."""
    data = data.removeprefix("\ufeff")
    try:
        records = _records(data, delimiter(data))
        header = next(records, None)
    except csv.Error as exc:
        return Parsed([], [RowError(1, "file", "csv_invalid", str(exc))], 0)
    if header is None or not any(h.strip() for h in header[1]):
        return Parsed([], [RowError(1, "file", "file_empty")], 0)
    columns = [h.strip().lower() for h in header[1]]
    errors = _header_errors(columns)
    if errors:
        return Parsed([], errors, 0)
    rows: list[Row] = []
    unnamed = [i for i, c in enumerate(columns) if not c]  # e.g. a spreadsheet's trailing comma
    filled: dict[int, int] = {}  # unnamed column -> first line with a value in it
    total, line = 0, 1
    try:
        for line, values in records:  # noqa: B007 (line is used after the loop)
            total += 1
            if total > MAX_ROWS:
                return Parsed([], [RowError(line, "file", "too_many_rows", str(MAX_ROWS))], total)
            for i in unnamed:
                if i < len(values) and values[i].strip():
                    filled.setdefault(i, line)
            row, row_errors = _row(line, columns, values)
            errors.extend(row_errors)
            if row is not None:
                rows.append(row)
    except csv.Error as exc:
        errors.append(RowError(line + 1, "file", "csv_invalid", str(exc)))
    if filled:  # data in an unnamed column: what it means is unknown, as for a bad header
        columns_at = sorted(filled.items())
        return Parsed(
            [], [RowError(1, "file", "column_unnamed", f"{i + 1}|{n}") for i, n in columns_at], 0
        )
    return Parsed(rows, errors, total)


def delimiter(data: str) -> str:
    """Comma, semicolon (German Excel) or tab: the one that splits the header line into the
    most known columns."""
    header = next((line for line in data.splitlines() if line.strip()), "")

    def known(candidate: str) -> int:
        cells = next(csv.reader([header], delimiter=candidate), [])
        return sum(c.strip().lower() in COLUMNS for c in cells)

    return max(DELIMITERS, key=known)


def _records(data: str, delimiter: str = ",") -> Iterable[tuple[int, list[str]]]:
    """(first line number, values) per record; blank lines skipped."""
    reader = csv.reader(io.StringIO(data, newline=""), delimiter=delimiter, strict=True)
    while True:
        start = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        if values and any(v.strip() for v in values):
            yield start, values


def _header_errors(columns: list[str]) -> list[RowError]:
    """Unknown, doubled and missing columns; an unnamed column is checked on its values."""
    named = [c for c in columns if c]
    errors = [RowError(1, c, "column_unknown") for c in named if c not in COLUMNS]
    errors += [RowError(1, c, "column_twice") for c, n in Counter(named).items() if n > 1]
    errors += [RowError(1, c, "column_missing") for c in REQUIRED if c not in columns]
    return errors


def _row(line: int, columns: list[str], values: list[str]) -> tuple[Row | None, list[RowError]]:
    if len(values) != len(columns):
        return None, [RowError(line, "row", "field_count", f"{len(columns)}|{len(values)}")]
    raw = {c: v.strip() for c, v in zip(columns, values, strict=True) if c}
    errors: list[RowError] = []
    for column in REQUIRED:
        if not raw.get(column):
            errors.append(RowError(line, column, "value_missing"))
    for column in PEOPLE_BLOCKS:
        value = raw.get(column, "")
        if value and not (USER_ID.match(value) or EMAIL.match(value)):
            errors.append(RowError(line, column, "person_invalid", value))
    kind = raw.get("kind", "")
    if kind and kind not in set(Kind):
        errors.append(RowError(line, "kind", "kind_invalid", kind))
    planned = raw.get("planned", "").lower() or "planned"
    if planned not in ("planned", "unplanned"):
        errors.append(RowError(line, "planned", "planned_invalid", raw["planned"]))
    day = _date(raw.get("handoff_date", ""))
    if raw.get("handoff_date") and day is None:
        errors.append(RowError(line, "handoff_date", "date_invalid", raw["handoff_date"]))
    channel = raw.get("digest_channel", "")
    if channel and not CHANNEL_ID.match(channel):
        errors.append(RowError(line, "digest_channel", "channel_invalid", channel))
    strategic = raw.get("strategic", "").lower()
    if strategic not in TRUE + FALSE:
        errors.append(RowError(line, "strategic", "strategic_invalid", raw["strategic"]))
    row = Row(
        line=line,
        account=" ".join(raw.get("account", "").split()),
        departing_owner=_person(raw.get("departing_owner", "")),
        new_owner=_person(raw.get("new_owner", "")),
        manager=_person(raw.get("manager", "")),
        kind=kind,
        planned=planned != "unplanned",
        handoff_date=day,
        digest_channel=channel or None,
        strategic=strategic in TRUE,
        broken=frozenset(e.column for e in errors),
    )
    return row, errors


def _person(value: str) -> str:
    """Emails compare case-insensitively; user ids stay as written."""
    return value.lower() if "@" in value else value


def _date(value: str) -> date | None:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def emails(rows: Iterable[Row]) -> set[str]:
    """Every email named in the rows (to be resolved to user ids)."""
    return {v for r in rows for v in (r.departing_owner, r.new_owner, r.manager) if EMAIL.match(v)}


# ---------------------------------------------------------------- checking


def resolve(rows: Iterable[Row], by_email: Mapping[str, str | None]) -> list[Row]:
    """Rows with emails replaced by user ids (an unknown email stays as written)."""
    out = []
    for r in rows:
        ids = {c: by_email.get(getattr(r, c)) or getattr(r, c) for c in PEOPLE_BLOCKS}
        out.append(replace(r, **ids))
    return out


def user_ids(rows: Iterable[Row]) -> set[str]:
    """Every user id the (resolved) rows name."""
    return {
        v for r in rows for v in (r.departing_owner, r.new_owner, r.manager) if USER_ID.match(v)
    }


def check(
    parsed: Parsed,
    *,
    people: Mapping[str, Person],
    today: date,
    taken: Collection[str],
    wave_size: int,
    calendar: WorkCalendar | None = None,
    booked: Mapping[Week, int] | None = None,
) -> Preview:
    """Validate the resolved rows like the start modal does, then stage the valid ones in waves.

    `taken` holds the account keys that already have an open transition; `booked` the
    customer-facing milestones the new owners already have per ISO week.
    """
    errors = list(parsed.errors)
    valid: list[Row] = []
    claimed: dict[str, int] = {}  # account key -> line of the valid row that will create it
    for row in parsed.rows:
        key = account_key(row.account)
        codes = validate_start(
            _request(row), people=dict(people), today=today, account_taken=key in taken
        )
        codes = {c: code for c, code in codes.items() if c not in row.broken}
        errors.extend(RowError(row.line, column, code) for column, code in codes.items())
        # only a valid row claims its account, so an invalid one does not block a later fix
        twice = "account" not in row.broken and "account" not in codes and key in claimed
        if twice:
            errors.append(RowError(row.line, "account", "account_twice", str(claimed[key])))
        if not codes and not row.broken and not twice:
            claimed[key] = row.line
            valid.append(row)
    staged, wave_errors, warnings = stage(
        valid, today=today, wave_size=wave_size, calendar=calendar, booked=booked
    )
    errors.extend(wave_errors)
    errors.sort(key=lambda e: (e.line, COLUMNS.index(e.column) if e.column in COLUMNS else -1))
    bad = frozenset(e.line for e in errors)
    return Preview(
        staged=staged, errors=errors, total=parsed.total, bad_lines=bad, warnings=warnings
    )


def _request(row: Row) -> StartRequest:
    return StartRequest(
        account=row.account,
        departing_owner=row.departing_owner,
        new_owner=row.new_owner,
        manager=row.manager,
        kind=row.kind,
        planned=row.planned,
        handoff_date=row.handoff_date,
        digest_channel=row.digest_channel,
        strategic=row.strategic,
    )


# ---------------------------------------------------------------- waves


def customer_weeks(
    *, planned: bool, anchor: date, today: date, strategic: bool, calendar: WorkCalendar
) -> Counter[tuple[int, int]]:
    """How many customer-facing milestones of a plan fall into each ISO week."""
    facing = {s.key for s in steps(planned) if s.customer_facing}
    days = {
        (t.milestone, t.due_on)
        for t in build_plan(
            planned=planned, anchor=anchor, today=today, strategic=strategic, calendar=calendar
        )
        if t.milestone in facing
    }
    return Counter(tuple(d.isocalendar())[:2] for _, d in days)


def stage(
    rows: Iterable[Row],
    *,
    today: date,
    wave_size: int,
    calendar: WorkCalendar | None = None,
    booked: Mapping[Week, int] | None = None,
) -> tuple[list[Staged], list[RowError], list[RowError]]:
    """Stage rows so that no new owner has more than `wave_size` customer-facing milestones in
    any ISO week: (staged rows in file order, errors, warnings).

    An unplanned row (an emergency departure) never moves: it is placed first, at its date, and
    only warned about when it exceeds the limit. Planned rows then move later by whole weeks,
    in file order, around everything already booked.
    """
    cal = calendar or WorkCalendar()
    load: Counter[Week] = Counter(booked or {})
    rows = list(rows)
    staged: list[Staged] = []
    errors: list[RowError] = []
    warnings: list[RowError] = []
    for row in (r for r in rows if not r.planned):
        assert row.handoff_date is not None
        weeks = _weeks(row, row.handoff_date, today, cal)
        if not _fits(load, row.new_owner, weeks, wave_size):
            warnings.append(RowError(row.line, "handoff_date", "over_wave", str(wave_size)))
        _book(load, row.new_owner, weeks)
        staged.append(Staged(line=row.line, request=_request(row), original_date=row.handoff_date))
    limit = today + timedelta(days=MAX_FUTURE_DAYS)
    for row in (r for r in rows if r.planned):
        assert row.handoff_date is not None
        anchor = row.handoff_date
        weeks = _weeks(row, anchor, today, cal)
        while not _fits(load, row.new_owner, weeks, wave_size) and anchor <= limit:
            anchor += WEEK
            weeks = _weeks(row, anchor, today, cal)
        if anchor > limit:
            errors.append(RowError(row.line, "handoff_date", "no_wave", str(wave_size)))
            continue
        _book(load, row.new_owner, weeks)
        request = replace(_request(row), handoff_date=anchor)
        staged.append(Staged(line=row.line, request=request, original_date=row.handoff_date))
    staged.sort(key=lambda s: s.line)
    return staged, errors, warnings


def _weeks(row: Row, anchor: date, today: date, cal: WorkCalendar) -> Counter[tuple[int, int]]:
    return customer_weeks(
        planned=row.planned, anchor=anchor, today=today, strategic=row.strategic, calendar=cal
    )


def _book(load: Counter[Week], owner: str, weeks: Mapping[tuple[int, int], int]) -> None:
    for (year, week), n in weeks.items():
        load[(owner, year, week)] += n


def _fits(
    load: Mapping[Week, int], owner: str, weeks: Mapping[tuple[int, int], int], size: int
) -> bool:
    """A row fits when every week stays within the wave size (a row alone always fits)."""
    return all(
        load.get((owner, y, w), 0) == 0 or load.get((owner, y, w), 0) + n <= size
        for (y, w), n in weeks.items()
    )
