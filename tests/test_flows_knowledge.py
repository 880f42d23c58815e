"""The knowledge document's rules: validation and completeness (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from handoff.flows import knowledge as kn

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)


def sample(f: kn.Field, i: int = 0):
    """A valid value for a field."""
    if f.type is kn.Type.SELECT:
        return f.options[i % len(f.options)]
    if f.type is kn.Type.MULTI:
        return list(f.options[:2])
    if f.type is kn.Type.NUMBER:
        return f.high
    if f.type is kn.Type.DATE:
        return "2027-06-30"
    return f"{f.key} <b> & {i}\nline two"


def person(role: str, i: int = 0) -> dict:
    return {**{f.key: sample(f, i) for f in kn.STAKEHOLDER}, "role": role, "id": i + 1}


def full_document(reviewed: bool = True) -> kn.Document:
    """Every field filled, sponsor and champion in the map, every section reviewed."""
    doc = kn.Document(
        values={s.key: {f.key: sample(f) for f in s.fields} for s in kn.SECTIONS},
        stakeholders=[person("economic_sponsor", 0), person("champion", 1), person("user", 2)],
    )
    for s in kn.SECTIONS:
        doc.changed[s.key] = T0
        if reviewed:
            doc.reviewed[s.key] = T0 + timedelta(hours=1)
    return doc


def test_empty_document_scores_zero_and_is_not_ready():
    doc = kn.Document()
    assert kn.total(doc) == 0
    r = kn.readiness(doc)
    assert not r.ready and len(r.unreviewed) == 9
    assert r.incomplete["relationships"][:3] == ("stakeholders", "sponsor", "champion")
    assert kn.flags(doc) == ["no_sponsor", "no_champion"]


def test_full_reviewed_document_is_ready():
    doc = full_document()
    assert kn.total(doc) == 100
    assert kn.readiness(doc).ready
    assert kn.flags(doc) == []


def test_optional_fields_never_lower_the_score():
    doc = full_document()
    for s in kn.SECTIONS:
        for f in s.fields:
            if not f.required:
                doc.values[s.key].pop(f.key)
    assert kn.total(doc) == 100


def test_weights_goals_count_double_in_objectives():
    doc = kn.Document(values={"objectives": {"goals": "grow"}})
    sec = kn.section("objectives")
    weight = sum(f.weight for f in sec.fields if f.required)
    assert kn.score(doc, "objectives") == int(100 * 2 / weight)
    assert kn.score(kn.Document(values={"objectives": {"timeline": "Q3"}}), "objectives") == int(
        100 / weight
    )


def test_relationship_map_scores_complete_stakeholders_sponsor_and_champion():
    half = person("economic_sponsor")
    half.pop("title")
    doc = kn.Document(
        values={"relationships": {"power": "CFO", "whom_for_what": "IT lead for tech"}},
        stakeholders=[half, person("user", 1)],
    )
    # stakeholders 3 * 1/2, sponsor 1, champion 0, power 1, whom_for_what 1 → 4.5 / 7
    assert kn.score(doc, "relationships") == 64
    assert kn.flags(doc) == ["no_champion"]


def test_ninety_five_percent_but_one_section_unreviewed_is_not_ready():
    doc = full_document()
    doc.reviewed.pop("risks")
    r = kn.readiness(doc)
    assert r.score == 100 and r.unreviewed == ("risks",) and not r.ready


def test_a_change_after_review_undoes_the_review():
    doc = full_document()
    doc.changed["current"] = T0 + timedelta(days=1)
    assert not doc.is_reviewed("current")
    assert kn.readiness(doc).unreviewed == ("current",)


def test_just_below_the_threshold_is_not_ready():
    doc = full_document()
    doc.values["profile"] = {}
    r = kn.readiness(doc)
    assert sum(s.weight for s in kn.SECTIONS) == 12
    assert r.score == 91  # 11 of 12 weights: 91.7, rounded down
    assert not r.ready


@pytest.mark.parametrize(
    ("field", "raw", "error"),
    [
        (kn.Field("x", kn.Type.TEXT), "y" * (kn.TEXT_MAX + 1), "too_long"),
        (kn.Field("x", kn.Type.LINE), "y" * (kn.LINE_MAX + 1), "too_long"),
        (kn.Field("x", kn.Type.SELECT, options=("a",)), "b", "bad_option"),
        (kn.Field("x", kn.Type.MULTI, options=("a",)), ["a", "z"], "bad_option"),
        (kn.Field("x", kn.Type.NUMBER, low=1, high=5), "6", "out_of_range"),
        (kn.Field("x", kn.Type.NUMBER), "3.5", "not_a_number"),
        (kn.Field("x", kn.Type.DATE), "2027-02-30", "bad_date"),
    ],
)
def test_clean_refuses_bad_values(field, raw, error):
    values, errors = kn.clean((field,), {"x": raw})
    assert values == {} and errors == {"x": error}


def test_clean_keeps_text_exactly_as_typed_and_drops_empties():
    typed = "  <@U123> & *bold*\n\n  tail  "
    fields = (kn.Field("a"), kn.Field("b"), kn.Field("n", kn.Type.NUMBER))
    values, errors = kn.clean(fields, {"a": typed, "b": "   ", "n": " 42 "})
    assert values == {"a": typed, "n": 42} and errors == {}


def test_clean_keeps_multi_options_in_their_order():
    f = kn.Field("c", kn.Type.MULTI, options=kn.CHANNELS)
    assert kn.clean((f,), {"c": ["video", "email"]})[0] == {"c": ["email", "video"]}
