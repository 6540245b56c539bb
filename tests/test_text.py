"""Hedged phrases (issue 14 item 12): parse_claim_text, Claim.from_text, the readers' `text` column, read-back."""

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credscore import ClaimError, ClaimSet, parse_number
from credscore.claims import APPROX_WIDENING, Claim
from credscore.text import HEDGES, MAGNITUDE_WORDS, format_claim_text, parse_claim_text


def read(text, **kw):
    d = parse_claim_text(text, **kw)
    return d["kind"], d["value"], d["low"], d["high"], d["precision"]


# --------------------------------------------------- what the tool prints
@pytest.mark.parametrize(
    "text, expected",
    [
        ("~5000", ("approx", 5000.0, None, None, 500.0)),
        ("≤ 10,000", ("upper", 10000.0, None, None, None)),
        ("≥ 20", ("lower", 20.0, None, None, None)),
        ("5,000-6,000", ("range", None, 5000.0, 6000.0, None)),
        ("3–4", ("range", None, 3.0, 4.0, None)),
        ("\u22125", ("point", -5.0, None, None, 0.5)),
        ("\u22125–\u22123", ("range", None, -5.0, -3.0, None)),
        ("-5--3", ("range", None, -5.0, -3.0, None)),
        ("~1.23457e+06", ("approx", 1234570.0, None, None, 5.0)),
        ("≤ 1e+07", ("upper", 1e7, None, None, None)),
        ("11,000", ("point", 11000.0, None, None, 500.0)),
    ],
)
def test_the_tools_printed_forms_read_back(text, expected):
    assert read(text) == expected


# ------------------------------------------------------------------ hedges
@pytest.mark.parametrize("kind", ["upper", "lower", "approx"])
def test_every_listed_hedge_gives_its_kind(kind):
    for hedge in HEDGES[kind]:
        got = read(f"{hedge} 12,000 soldiers")
        assert got[:2] == (kind, 12000.0), hedge
        if not hedge[-1].isalpha():  # symbols and abbreviations may touch the number
            assert read(f"{hedge}12,000")[:2] == (kind, 12000.0), hedge


@pytest.mark.parametrize(
    "text, expected",
    [
        ("up to 10,000 soldiers", ("upper", 10000.0, None, None, None)),
        ("at most 5", ("upper", 5.0, None, None, None)),
        ("as many as 12,000", ("upper", 12000.0, None, None, None)),
        ("no more than 7", ("upper", 7.0, None, None, None)),
        ("<=3", ("upper", 3.0, None, None, None)),
        ("10,000 or fewer", ("upper", 10000.0, None, None, None)),
        ("more than 62 countries", ("lower", 62.0, None, None, None)),
        ("over 20", ("lower", 20.0, None, None, None)),
        ("over -5", ("lower", -5.0, None, None, None)),
        ("at least 1.5 million", ("lower", 1.5e6, None, None, None)),
        (">= 4", ("lower", 4.0, None, None, None)),
        ("10,000+", ("lower", 10000.0, None, None, None)),
        ("10,000 or more troops", ("lower", 10000.0, None, None, None)),
        ("About 10,000", ("approx", 10000.0, None, None, 5000.0)),
        ("around $3bn", ("approx", 3e9, None, None, 5e8)),
        ("some 500", ("approx", 500.0, None, None, 50.0)),
        ("roughly 1.2 million", ("approx", 1.2e6, None, None, 5e4)),
        ("nearly 500 people", ("approx", 500.0, None, None, 50.0)),
        ("~ 40", ("approx", 40.0, None, None, 5.0)),
        ("approximately 7", ("approx", 7.0, None, None, 0.5)),
        ("closer to 12,000", ("approx", 12000.0, None, None, 500.0)),
        ("10,000 or so", ("approx", 10000.0, None, None, 5000.0)),
        ("between 5 and 6 million", ("range", None, 5e6, 6e6, None)),
        ("between 5,000-6,000", ("range", None, 5000.0, 6000.0, None)),
        ("from 3 to 4 brigades", ("range", None, 3.0, 4.0, None)),
        ("15,000 to 20,000", ("range", None, 15000.0, 20000.0, None)),
        ("15,000 – 20,000", ("range", None, 15000.0, 20000.0, None)),
        ("$3-4bn", ("range", None, 3e9, 4e9, None)),
        ("3-4m", ("range", None, 3e6, 4e6, None)),
        ("2e3-5e3", ("range", None, 2000.0, 5000.0, None)),
        ("about 5,000-6,000", ("range", None, 5000.0, 6000.0, None)),
        ("up to 5,000-6,000", ("upper", 6000.0, None, None, None)),
        ("more than 5-6 thousand", ("lower", 5000.0, None, None, None)),
        ("10k", ("point", 10000.0, None, None, 5000.0)),
        ("1.2 million", ("point", 1.2e6, None, None, 5e4)),
        ("$3bn", ("point", 3e9, None, None, 5e8)),
        ("1e-5", ("point", 1e-5, None, None, 5e-6)),
        ("10 m", ("point", 10.0, None, None, 5.0)),  # a spaced single letter is a unit, not "million"
        ("10kg", ("point", 10.0, None, None, 5.0)),
        ("5%", ("point", 5.0, None, None, 0.5)),
    ],
)
def test_news_phrases(text, expected):
    got = read(text)
    assert got[0] == expected[0]
    for a, b in zip(got[1:], expected[1:]):
        assert (a is None and b is None) or a == pytest.approx(b, rel=1e-12)


@pytest.mark.parametrize(
    "text, low, high",
    [
        ("dozens of people", 12, 100),
        ("hundreds", 100, 1000),
        ("thousands of troops", 1000, 10000),
        ("Tens of thousands", 10000, 100000),
        ("hundreds of thousands of refugees", 1e5, 1e6),
        ("millions", 1e6, 1e7),
        ("tens of millions of dollars", 1e7, 1e8),
        ("billions", 1e9, 1e10),
    ],
)
def test_order_of_magnitude_words_are_soft_ranges(text, low, high):
    assert read(text) == ("range", None, low, high, None)


def test_a_hedge_bounds_an_order_of_magnitude_word_on_one_side():
    assert read("up to tens of thousands") == ("upper", 100000.0, None, None, None)
    assert read("more than hundreds") == ("lower", 100.0, None, None, None)
    assert read("about thousands") == ("range", None, 1000.0, 10000.0, None)
    assert set(MAGNITUDE_WORDS) >= {"hundreds", "thousands", "tens of thousands"}


def test_decimal_comma_in_phrases():
    assert read("1,5-2,5", decimal=",") == ("range", None, 1.5, 2.5, None)
    assert read("~1.000", decimal=",") == ("approx", 1000.0, None, None, 500.0)
    assert read("up to 10,000", decimal=",")[:2] == ("upper", 10.0)


# ------------------------------------------------------------------ errors
UNREADABLE = (
    "could not be read as a claim: {!r}; write a number, optionally hedged, e.g. 'about 5,000', "
    "'up to 10,000', 'more than 20', '5,000-6,000', 'between 3 and 4 million', 'thousands'."
)


@pytest.mark.parametrize(
    "text, message",
    [
        ("", UNREADABLE.format("")),
        ("ten", UNREADABLE.format("ten")),
        ("5 and 6", UNREADABLE.format("5 and 6")),
        ("from 5 and 6", UNREADABLE.format("from 5 and 6")),
        ("between 5 to 6", UNREADABLE.format("between 5 to 6")),
        ("Pyongyang sent 10,000", UNREADABLE.format("Pyongyang sent 10,000")),
        ("5 or 6", "'5 or 6' states more than one number; give one number, range or bound per claim."),
        ("3 brigades of 5,000", "'3 brigades of 5,000' states more than one number; give one number, range or bound per claim."),
        ("about 10,000 or more", "'about 10,000 or more' is hedged both as 'approx' ('about') and as 'lower' ('or more')."),
        ("6,000-5,000", "'6,000-5,000' reads as a range whose low end 6000 exceeds its high end 5000."),
        (
            "up to 1,5",
            "could not be parsed as a number: '1,5' (',' must separate groups of three digits, as in 10,000; "
            "for a decimal comma pass decimal=',').",
        ),
        ("inf", UNREADABLE.format("inf")),
    ],
)
def test_unreadable_phrases_raise_claim_error(text, message):
    with pytest.raises(ClaimError) as info:
        parse_claim_text(text)
    assert str(info.value) == message


def test_a_phrase_must_be_text():
    with pytest.raises(ClaimError, match=r"^must be text, got int\.$"):
        parse_claim_text(5000)


# ------------------------------------------------------------- from_text
def test_claim_from_text():
    c = Claim.from_text("troops", "Zelensky", "up to 10,000 soldiers", reported_by="DW", unit="soldiers")
    assert (c.kind, c.value, c.low, c.high, c.precision, c.reported_by, c.unit) == (
        "upper", 10000.0, None, None, None, "DW", "soldiers"
    )
    c = Claim.from_text("troops", "officials", "around 10,000")
    assert (c.kind, c.value, c.precision) == ("approx", 10000.0, 5000.0)
    c = Claim.from_text("troops", "TV", "3–4 thousand")
    assert (c.kind, c.value, c.low, c.high) == ("range", None, 3000.0, 4000.0)
    assert Claim.from_text("x", "s", "12.50").precision == 0.005  # written precision survives a float value
    assert Claim.from_text("x", "s", "12.50", precision=0).precision == 0
    assert Claim.from_text("x", "s", "1,5", decimal=",").value == 1.5


def test_claim_from_text_agrees_with_the_same_claim_given_by_fields():
    by_text = ClaimSet.from_claims(
        [Claim.from_text("q", "a", t) for t in ("~10,000", "≤ 10,000", "12.50", "5,000–6,000", "more than 20")]
    )
    by_fields = ClaimSet.from_records(
        [
            {"quantity": "q", "source": "a", "kind": "approx", "value": "10,000"},
            {"quantity": "q", "source": "a", "kind": "upper", "value": "10,000"},
            {"quantity": "q", "source": "a", "value": "12.50"},
            {"quantity": "q", "source": "a", "low": "5,000", "high": "6,000"},
            {"quantity": "q", "source": "a", "kind": "lower", "value": "20"},
        ]
    )
    assert by_text.lower_bound.tolist() == by_fields.lower_bound.tolist()
    assert by_text.upper_bound.tolist() == by_fields.upper_bound.tolist()
    assert by_text.kind.tolist() == by_fields.kind.tolist()
    assert by_text.precision[0] == 5000 + APPROX_WIDENING * 10000


def test_claim_from_text_errors_name_the_text_field():
    with pytest.raises(ClaimError, match=r"^field `text`: could not be read as a claim: 'lots'"):
        Claim.from_text("q", "a", "lots")
    with pytest.raises(ClaimError) as info:
        Claim.from_text("q", "a", "up to 10,000", kind="lower")
    assert str(info.value) == (
        "field `text`: reads as 'upper' ≤ 10,000, but `kind` is 'lower'; "
        "give the claim either as text or as kind/value/low/high, or make them agree."
    )
    with pytest.raises(ClaimError, match=r"^field `text`: reads as 'range' 3–4, but `value` is 3;"):
        Claim.from_text("q", "a", "3-4", value=3)
    assert Claim.from_text("q", "a", "up to 10,000", kind="upper", value="10,000").value == 10000.0


# -------------------------------------------------------- the text column
def test_text_column_in_records():
    cs = ClaimSet.from_records(
        [
            {"quantity": "q", "source": "a", "text": "up to 10,000 soldiers"},
            {"quantity": "q", "source": "b", "text": "~5000"},
            {"quantity": "q", "source": "c", "text": "3–4 thousand"},
            {"quantity": "q", "source": "d", "text": "thousands"},
            {"quantity": "q", "source": "e", "value": "11,000"},
            {"quantity": "q", "source": "f", "text": "more than 1,000", "kind": "lower", "precision": 5},
            {"quantity": "q", "source": "g", "text": "", "value": 7},  # an empty phrase is not given
        ]
    )
    assert cs.kind.tolist() == [3, 1, 2, 2, 0, 4, 0]
    assert cs.lower_bound.tolist() == [0.0, 5000 - 500 - 500, 3000, 1000, 10500, 1000, 6.5]
    assert cs.upper_bound.tolist() == [10000, 5000 + 500 + 500, 4000, 10000, 11500, math.inf, 7.5]


def test_text_column_inconsistent_with_fields_is_an_error():
    bad = [
        ({"text": "up to 10,000", "kind": "point"}, "reads as 'upper' ≤ 10,000, but `kind` is 'point'"),
        ({"text": "up to 10,000", "value": 9000}, "reads as 'upper' ≤ 10,000, but `value` is 9000"),
        ({"text": "5,000-6,000", "value": "5,500"}, "reads as 'range' 5,000–6,000, but `value` is '5,500'"),
        ({"text": "5,000-6,000", "high": 7000}, "reads as 'range' 5,000–6,000, but `high` is 7000"),
    ]
    for fields, message in bad:
        rec = {"quantity": "q", "source": "a", **fields}
        with pytest.raises(ClaimError) as info:
            ClaimSet.from_records([{"quantity": "q", "source": "z", "value": 1}, rec])
        assert str(info.value) == (
            f"record 1, field `text`: {message}; give the claim either as text or as kind/value/low/high, or make them agree."
        )
    with pytest.raises(ClaimError, match=r"^record 0, field `text`: could not be read as a claim: 'many'"):
        ClaimSet.from_records([{"quantity": "q", "source": "a", "text": "many"}])


def test_text_column_in_csv_and_dataframe(tmp_path):
    path = tmp_path / "claims.csv"
    path.write_text(
        'quantity,source,text,date\ntroops,Zelensky,"up to 10,000",2024-10-17\ntroops,officials,"about 10,000",Oct 18, 2024\n',
        encoding="utf-8",
    )
    with pytest.raises(ClaimError, match=r"^line 3 has 5 values, the header has 4\.$"):
        ClaimSet.from_csv(path)  # an unquoted comma in the date: the CSV reader's own check
    path.write_text(
        'quantity,source,text,date\ntroops,Zelensky,"up to 10,000",2024-10-17\ntroops,officials,"about 10,000","Oct 18, 2024"\n'
        "troops,blog,\"1,5\",\n",
        encoding="utf-8",
    )
    with pytest.raises(ClaimError, match=r"^line 4, field `text`: could not be parsed as a number: '1,5'"):
        ClaimSet.from_csv(path)
    cs = ClaimSet.from_csv(path, decimal=",")
    assert cs.kind.tolist() == [3, 1, 0]
    assert cs.value.tolist() == [10.0, 10.0, 1.5]  # with a decimal comma "10,000" is ten
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"quantity": ["q", "q"], "source": ["a", "b"], "text": ["≥ 20", None], "value": [None, 25.0]})
    cs = ClaimSet.from_dataframe(df)
    assert cs.kind.tolist() == [4, 0]
    assert cs.value.tolist() == [20.0, 25.0]


# -------------------------------------------------------------- read-back
FORMS = {
    "point": ("{v}", "{v}{unit}"),
    "approx": ("~{v}", "~ {v}", "about {v}", "around {v}", "some {v}", "roughly {v}", "nearly {v}",
               "approximately {v}", "closer to {v}{unit}", "{v} or so"),
    "upper": ("≤ {v}", "≤{v}", "up to {v}{unit}", "at most {v}", "as many as {v}", "no more than {v}", "<= {v}",
              "{v} or fewer"),
    "lower": ("≥ {v}", "more than {v}{unit}", "over {v}", "at least {v}", ">= {v}", "{v} or more", "{v}+"),
    "range": ("{a}–{b}", "{a}-{b}", "{a} - {b}", "{a} to {b}{unit}", "between {a} and {b}", "from {a} to {b}"),
}
UNITS = ("", " soldiers", " USD", " people a day", " %", "kg")
magnitudes = st.one_of(
    st.integers(-(10**12), 10**12).map(float),
    st.floats(-1e12, 1e12, allow_nan=False, allow_infinity=False),
    st.floats(1e-9, 1e-3),
)


@st.composite
def phrased_claims(draw):
    kind = draw(st.sampled_from(sorted(FORMS)))
    form = draw(st.sampled_from(FORMS[kind]))
    unit = draw(st.sampled_from(UNITS))
    minus = draw(st.sampled_from(["-", "\u2212"]))
    german = draw(st.booleans())

    def written(x):
        s = format_claim_text("point", x)
        if german:
            s = s.translate(str.maketrans({",": ".", ".": ","}))
        return s.replace("-", minus) if s.startswith("-") else s

    if kind == "range":
        a, b = sorted([draw(magnitudes), draw(magnitudes)])
        return kind, (a, b), form.format(a=written(a), b=written(b), unit=unit), german
    v = draw(magnitudes)
    return kind, (v,), form.format(v=written(v), unit=unit), german


@given(phrased_claims())
def test_phrases_read_back_to_the_same_kind_and_numbers(case):
    kind, numbers, text, german = case
    d = parse_claim_text(text, decimal="," if german else None)
    assert d["kind"] == kind, text
    if kind == "range":
        assert (d["low"], d["high"]) == numbers, text
        assert d["value"] is None and d["precision"] is None
    else:
        assert d["value"] == numbers[0], text
        assert d["low"] is None and d["high"] is None
        if kind in ("point", "approx"):
            written = format_claim_text("point", numbers[0])
            assert d["precision"] == parse_number(written)[1], text
        else:
            assert d["precision"] is None


@given(st.sampled_from(["point", "approx", "upper", "lower", "range"]), magnitudes, magnitudes)
def test_format_claim_text_reads_back(kind, x, y):
    low, high = sorted([x, y])
    text = format_claim_text(kind, value=x, low=low, high=high)
    d = parse_claim_text(text)
    assert d["kind"] == kind
    assert (d["low"], d["high"]) == ((low, high) if kind == "range" else (None, None))
    assert d["value"] == (None if kind == "range" else x)


@given(st.sampled_from(["", "~", "≤ ", "≥ "]), magnitudes)
def test_six_significant_figure_output_reads_back(prefix, x):
    """What the result tables print today (``f"{x:,.6g}"``) reads back to that number."""
    text = f"{prefix}{x:,.6g}"
    assert parse_claim_text(text)["value"] == float(f"{x:.6g}")


def test_format_claim_text_rejects_unknown_kinds():
    with pytest.raises(ClaimError, match=re.escape("`kind` must be one of 'point', 'approx', 'range', 'upper', 'lower'; got 'about'.")):
        format_claim_text("about", 5)
