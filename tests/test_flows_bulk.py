"""flows.bulk: CSV parsing, row checks with line numbers, and wave staging. Pure, no Slack."""

from __future__ import annotations

from datetime import date

import pytest

from handoff.flows import bulk
from handoff.flows.start import Person
from handoff.messages import bulk as texts

TODAY = date(2026, 11, 30)  # a Monday
HEADER = "account,departing_owner,new_owner,manager,kind,handoff_date"
PEOPLE = {u: Person(u) for u in ("U0DANA", "U0NOAH", "U0MAYA", "U0OTTO")}
PEOPLE["U0BOT"] = Person("U0BOT", is_bot=True)


def row(account: str = "Acme", date_text: str = "2027-03-01", new: str = "U0NOAH", **kw) -> str:
    cells = {
        "account": account,
        "departing_owner": "U0DANA",
        "new_owner": new,
        "manager": "U0MAYA",
        "kind": "rep_to_rep",
        "handoff_date": date_text,
    }
    cells.update(kw)
    return ",".join(cells.values())


def preview(text: str, *, wave_size: int = 3, taken=(), by_email=None) -> bulk.Preview:
    parsed = bulk.parse_csv(text)
    rows = bulk.resolve(parsed.rows, by_email or {})
    parsed = bulk.Parsed(rows=rows, errors=parsed.errors, total=parsed.total)
    return bulk.check(parsed, people=PEOPLE, today=TODAY, taken=set(taken), wave_size=wave_size)


def lines(p: bulk.Preview) -> list[str]:
    return [texts.error_text(e, "en", slack=False) for e in p.errors]


def test_a_clean_file_stages_every_row_in_file_order():
    p = preview("\n".join([HEADER, row("Acme"), row("Beta", new="U0OTTO")]) + "\n")
    assert p.ok and p.total == 2
    assert [s.request.account for s in p.staged] == ["Acme", "Beta"]
    assert [s.line for s in p.staged] == [2, 3]


def test_column_order_is_free_and_optional_columns_are_read():
    text = (
        "strategic,handoff_date,kind,manager,new_owner,departing_owner,account,planned,"
        "digest_channel\n"
        "true,2026-12-10,team_to_team,U0MAYA,U0NOAH,U0DANA,Acme,unplanned,C0DIGEST\n"
    )
    (s,) = preview(text).staged
    req = s.request
    assert (req.strategic, req.planned, req.kind, req.digest_channel) == (
        True,
        False,
        "team_to_team",
        "C0DIGEST",
    )


@pytest.mark.parametrize("sep", [";", "\t"])
def test_a_semicolon_or_tab_separated_file_is_read_like_a_comma_separated_one(sep):
    lines_ = [
        HEADER.replace(",", sep),
        sep.join(["Acme, Inc", "U0DANA", "U0NOAH", "U0MAYA", "rep_to_rep", "2027-03-01"]),
        sep.join(["Beta", "U0DANA", "U0OTTO", "U0MAYA", "rep_to_rep", "2027-03-01"]),
    ]
    p = preview("\ufeff" + "\r\n".join(lines_) + "\r\n")  # as Excel writes it
    assert p.ok, lines(p)
    assert [s.request.account for s in p.staged] == ["Acme, Inc", "Beta"]


def test_a_semicolon_header_with_a_wrong_column_names_that_column():
    p = preview("account;colour\nAcme;red\n")
    assert lines(p)[0].startswith("line 1: colour: unknown column")


def test_an_unknown_column_rejects_the_file_on_line_1():
    p = preview(HEADER + ",colour\n" + row() + ",red\n")
    assert not p.staged
    assert lines(p) == [
        "line 1: colour: unknown column (allowed: account, departing_owner, new_owner, manager, "
        "kind, planned, handoff_date, digest_channel, strategic)"
    ]


def test_a_trailing_unnamed_empty_column_from_a_spreadsheet_is_ignored():
    text = f"{HEADER},digest_channel,\n{row()},C0DIGEST,\n{row('Beta', new='U0OTTO')},,\n"
    p = preview(text)
    assert p.ok, lines(p)
    assert [s.request.digest_channel for s in p.staged] == ["C0DIGEST", None]


def test_an_unnamed_column_with_values_is_named_by_its_position():
    text = f"account,,{HEADER.removeprefix('account,')}\n"
    cells = row().split(",")
    text += ",".join([cells[0], "", *cells[1:]]) + "\n"
    text += ",".join([cells[0] + "2", "a note", *cells[1:]]) + "\n"
    p = preview(text)
    assert not p.staged
    assert lines(p) == [
        "line 1: file: column 2 has no name in the header but has values (first on line 3); "
        "name the column or delete it"
    ]


def test_a_missing_required_column_is_named():
    p = preview("account,departing_owner,new_owner,manager,kind\nAcme,U0DANA,U0NOAH,U0MAYA,x\n")
    assert lines(p) == ["line 1: handoff_date: this required column is missing"]


def test_an_empty_file_is_an_error():
    assert lines(preview("")) == [
        "line 1: file: the file is empty; the first line must name the columns"
    ]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"kind": "sales"}, 'line 2: kind: "sales" is not a scenario'),
        ({"handoff_date": "01.03.2027"}, 'line 2: handoff_date: "01.03.2027" is not a date'),
        ({"handoff_date": "2027-02-30"}, 'line 2: handoff_date: "2027-02-30" is not a date'),
        ({"new_owner": "noah"}, 'line 2: new_owner: "noah" is neither a Slack user id'),
        ({"account": ""}, "line 2: account: a value is required"),
        ({"manager": ""}, "line 2: manager: a value is required"),
    ],
)
def test_each_bad_value_is_reported_with_line_and_column(changes, expected):
    p = preview(HEADER + "\n" + row(**changes) + "\n")
    assert not p.staged
    assert len(p.errors) == 1 and lines(p)[0].startswith(expected)


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("planned", "maybe", 'line 2: planned: "maybe" is neither planned nor unplanned'),
        ("strategic", "sometimes", 'line 2: strategic: "sometimes" is neither true nor false'),
        ("digest_channel", "#general", 'line 2: digest_channel: "#general" is not a channel id'),
    ],
)
def test_bad_optional_values_are_reported(column, value, expected):
    p = preview(f"{HEADER},{column}\n{row()},{value}\n")
    assert lines(p)[0].startswith(expected)


def test_a_row_with_the_wrong_number_of_values_is_reported():
    p = preview(HEADER + "\n" + row() + ",extra\n")
    assert lines(p) == ["line 2: row: the header has 6 columns but this row has 7 values"]


def test_the_same_account_twice_points_at_its_first_line():
    p = preview("\n".join([HEADER, row("Acme"), row("Beta"), row(" acme ")]) + "\n")
    assert [s.line for s in p.staged] == [2, 3]
    assert lines(p) == ["line 4: account: the same account as line 2"]


def test_an_invalid_first_row_does_not_claim_its_account():
    text = "\n".join([HEADER, row("Acme", kind="sales"), row("Acme"), row("acme")])
    p = preview(text + "\n")
    assert [s.line for s in p.staged] == [3]  # valid-only creates Acme from line 3
    assert lines(p) == [
        'line 2: kind: "sales" is not a scenario; use sales_to_cs, sales_to_am, rep_to_rep or '
        "team_to_team",
        "line 4: account: the same account as line 3",
    ]


def test_start_checks_are_reused_per_row():
    text = "\n".join(
        [
            HEADER,
            row("Same", new="U0DANA"),
            row("Bot", new="U0BOT"),
            row("Past", date_text="2026-11-01"),
            row("Taken"),
            row("Nobody", new="nobody@example.com"),
        ]
    )
    p = preview(text + "\n", taken={"taken"}, by_email={"nobody@example.com": None})
    assert lines(p) == [
        "line 2: new_owner: the new owner must be someone other than the departing owner",
        "line 3: new_owner: this is a bot, not a person",
        "line 4: handoff_date: a planned handoff date cannot be in the past "
        "(use planned=unplanned for a sudden departure)",
        "line 5: account: this account already has an open handoff",
        "line 6: new_owner: Slack does not know this person",
    ]


def test_emails_resolve_case_insensitively_to_user_ids():
    p = preview(
        HEADER + "\n" + row(new="Noah@Example.com") + "\n", by_email={"noah@example.com": "U0NOAH"}
    )
    assert p.staged[0].request.new_owner == "U0NOAH"
    assert bulk.emails(bulk.parse_csv(HEADER + "\n" + row(new="Noah@Example.com")).rows) == {
        "noah@example.com"
    }


def test_line_numbers_count_physical_lines_of_quoted_multiline_values():
    text = HEADER + '\n"Acme\nInc",U0DANA,U0NOAH,U0MAYA,rep_to_rep,2027-03-01\n' + row(kind="x")
    p = preview(text + "\n")
    assert lines(p)[0].startswith('line 4: kind: "x"')


def test_a_full_week_moves_the_row_later_by_whole_weeks():
    text = "\n".join([HEADER] + [row(f"A{i}") for i in range(4)]) + "\n"
    p = preview(text, wave_size=3)
    assert p.ok
    assert [s.moved for s in p.staged] == [False, False, False, True]
    moved = p.staged[3]
    assert (moved.request.handoff_date - moved.original_date).days % 7 == 0
    assert moved.request.handoff_date > moved.original_date
    assert p.waves() == [(date(2027, 3, 1), 3), (moved.request.handoff_date, 1)]


def test_waves_are_per_new_owner():
    text = "\n".join([HEADER, row("A", new="U0NOAH"), row("B", new="U0OTTO")]) + "\n"
    assert not any(s.moved for s in preview(text, wave_size=1).staged)


def test_waves_cross_the_year_end_through_iso_week_53():
    # customer communication T-14 and joint meeting T-7: 21 Dec (W52) and 28 Dec 2026 (W53)
    text = "\n".join([HEADER, row("A", "2027-01-04"), row("B", "2027-01-04")]) + "\n"
    p = preview(text, wave_size=1)
    assert [s.request.handoff_date for s in p.staged] == [date(2027, 1, 4), date(2027, 1, 18)]
    weeks = bulk.customer_weeks(
        planned=True,
        anchor=date(2027, 1, 4),
        today=TODAY,
        strategic=False,
        calendar=bulk.WorkCalendar(),
    )
    assert set(weeks) == {(2026, 52), (2026, 53)}


def test_already_booked_weeks_count_too():
    booked = {("U0NOAH", 2027, 7): 3}  # customer communication of a 1 Mar handoff: W07
    parsed = bulk.parse_csv(HEADER + "\n" + row() + "\n")
    p = bulk.check(parsed, people=PEOPLE, today=TODAY, taken=set(), wave_size=3, booked=booked)
    assert p.staged[0].moved


def test_a_row_that_finds_no_week_within_two_years_is_an_error():
    owners = {("U0NOAH", y, w): 9 for y in (2026, 2027, 2028, 2029) for w in range(1, 54)}
    parsed = bulk.parse_csv(HEADER + "\n" + row() + "\n")
    p = bulk.check(parsed, people=PEOPLE, today=TODAY, taken=set(), wave_size=3, booked=owners)
    assert lines(p) == [
        "line 2: handoff_date: no week within two years has room for this handoff "
        "(at most 3 customer-facing milestones per new owner and week)"
    ]


def test_the_preview_shows_original_and_moved_dates_and_escapes_for_slack():
    text = "\n".join([HEADER, row("A <!channel>"), row("B", kind="<@U1>")]) + "\n"
    p = preview(text, wave_size=3)
    out = texts.preview_lines(p, "en", 3, valid_only=False)
    assert out[0] == "2 rows: 1 can be created, 1 has errors."
    view = texts.preview_view(p, "de", 3, valid_only=False, meta="{}")
    dumped = str(view)
    assert "<!channel>" not in dumped and "<@U1>" not in dumped
    assert "submit" not in view  # errors and not valid-only: nothing to create


def unplanned(account: str, date_text: str = "2026-12-07", new: str = "U0NOAH") -> str:
    return row(account, date_text, new=new) + ",unplanned"


def test_an_unplanned_row_is_never_moved_and_planned_rows_move_around_it():
    # a planned 4 Jan handoff has customer communication and joint meeting in W52/W53 2026; an
    # unplanned start on 21 Dec communicates in W52 (S+2…3) and meets in W52/W53 (S+7)
    text = "\n".join(
        [
            HEADER + ",planned",
            row("Planned", "2027-01-04") + ",planned",
            unplanned("Gone", "2026-12-21"),
        ]
    )
    p = preview(text + "\n", wave_size=1)
    assert p.ok and not p.warnings
    by_account = {s.request.account: s for s in p.staged}
    assert [s.line for s in p.staged] == [2, 3]  # file order
    assert not by_account["Gone"].moved  # placed first although it comes later in the file
    assert by_account["Planned"].moved
    assert by_account["Planned"].request.handoff_date > date(2027, 1, 4)


def test_an_unplanned_row_over_the_wave_limit_is_a_warning_not_an_error():
    text = "\n".join([HEADER + ",planned"] + [unplanned(f"Gone {i}") for i in range(3)])
    p = preview(text + "\n", wave_size=1)
    assert p.ok and [s.moved for s in p.staged] == [False, False, False]
    assert [(w.line, w.column, w.code) for w in p.warnings] == [
        (3, "handoff_date", "over_wave"),
        (4, "handoff_date", "over_wave"),
    ]
    out = texts.preview_lines(p, "en", 1, valid_only=False)
    assert "Warnings (2)" in out
    assert (
        "  line 3: handoff_date: unplanned, so it keeps its date although its new owner then has "
        "more than 1 customer-facing milestones in a week (it will be created all the same; "
        "planned rows move around it)" in out
    )
    view = texts.preview_view(p, "de", 1, valid_only=False, meta="{}")
    assert "*Warnungen* (2)" in str(view) and "submit" in view  # warnings do not block


def test_booked_weeks_warn_an_unplanned_row_too():
    booked = {("U0NOAH", 2026, 50): 3}  # a 7 Dec start communicates on 9/10 Dec: W50
    parsed = bulk.parse_csv(HEADER + ",planned\n" + unplanned("Gone") + "\n")
    p = bulk.check(parsed, people=PEOPLE, today=TODAY, taken=set(), wave_size=3, booked=booked)
    assert not p.staged[0].moved and [w.line for w in p.warnings] == [2]


def test_every_problem_of_a_row_shows_at_once():
    text = HEADER + "\n" + row(new="U0DANA", kind="bad", date_text="2020-01-01") + "\n"
    p = preview(text)
    assert not p.staged
    assert [(e.column, e.code) for e in p.errors] == [
        ("new_owner", "same_owner"),
        ("kind", "kind_invalid"),
        ("handoff_date", "date_past"),
    ]


def test_a_malformed_email_is_not_looked_up():
    parsed = bulk.parse_csv(HEADER + "\n" + row(new="noah@") + "\n" + row("B", new="n@x.io"))
    assert bulk.emails(parsed.rows) == {"n@x.io"}
