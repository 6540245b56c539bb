"""Numbers and dates as people write them (issue 14 items 2 and 5): digit groups, decimal commas, date formats."""

import datetime as dt
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credscore import ClaimError, ClaimSet, parse_number
from credscore.claims import date_to_days

DAY = date_to_days("2024-10-18")


def rec(**kw):
    base = {"quantity": "q", "source": "a", "value": 3}
    base.update(kw)
    return base


# ------------------------------------------------------------ digit groups
@pytest.mark.parametrize(
    "text, value, half",
    [
        ("10,000", 10000.0, 5000.0),
        ("1,234,567", 1234567.0, 0.5),
        ("1,000.5", 1000.5, 0.05),
        ("10 000", 10000.0, 5000.0),
        ("10\u202f000", 10000.0, 5000.0),
        ("1'000", 1000.0, 500.0),
        ("1_000", 1000.0, 500.0),
        ("1 234.5", 1234.5, 0.05),
        ("3.141", 3.141, 0.0005),  # a decimal that does not end in 0 is a decimal
        ("0.500", 0.5, 0.0005),  # no thousands group starts with 0
        ("1000.000", 1000.0, 0.0005),
        ("\u22125", -5.0, 0.5),  # typographic minus
        ("5 €", 5.0, 0.5),
        ("-$5", -5.0, 0.5),
    ],
)
def test_valid_digit_groups_and_decimals_keep_their_value_and_precision(text, value, half):
    v, h = parse_number(text)
    assert v == pytest.approx(value, rel=1e-15)
    assert h == pytest.approx(half, rel=1e-12)


COMMA = "',' must separate groups of three digits, as in 10,000; for a decimal comma pass decimal=','"


@pytest.mark.parametrize(
    "text, reason",
    [
        ("1,5", COMMA),
        ("1,2,3", COMMA),
        ("1,23,456", COMMA),
        ("12,5 million", COMMA),
        ("1 234,5", "mixes the digit separators ' ' and ','; for a decimal comma pass decimal=','"),
        ("1.000,5", "only digits may follow the decimal mark '.'; for a decimal comma pass decimal=','"),
        ("1.234.567", "'.' separates groups of three digits here; to read it so pass decimal=','"),
        ("1.2.3", "more than one decimal mark '.'"),
        ("10 00", "' ' must separate groups of three digits, as in 10 000"),
        (
            "1.000",
            "ambiguous: '.' before three digits is a thousands separator in many languages; "
            "pass decimal=',' to read it as 1000 or decimal='.' to read it as 1.000",
        ),
        (
            "12.500",
            "ambiguous: '.' before three digits is a thousands separator in many languages; "
            "pass decimal=',' to read it as 12500 or decimal='.' to read it as 12.500",
        ),
    ],
)
def test_a_comma_or_dot_that_is_no_valid_separator_is_an_error_that_says_why(text, reason):
    with pytest.raises(ValueError) as info:
        parse_number(text)
    assert str(info.value) == f"could not be parsed as a number: {text!r} ({reason})."


@pytest.mark.parametrize(
    "text, value, half",
    [
        ("1,5", 1.5, 0.05),
        ("1.000", 1000.0, 500.0),
        ("1 234,5", 1234.5, 0.05),
        ("1.234.567", 1234567.0, 0.5),
        ("10.000", 10000.0, 5000.0),
        ("12,50", 12.5, 0.005),
        ("1,3 million", 1.3e6, 5e4),
        ("-0,25", -0.25, 0.005),
    ],
)
def test_decimal_comma(text, value, half):
    v, h = parse_number(text, decimal=",")
    assert v == pytest.approx(value, rel=1e-15)
    assert h == pytest.approx(half, rel=1e-12)


def test_explicit_decimal_point_reads_the_ambiguous_forms_as_decimals():
    assert parse_number("1.000", decimal=".") == (1.0, 0.0005)
    assert parse_number("12.500", decimal=".") == (12.5, 0.0005)
    with pytest.raises(ValueError, match=re.escape("more than one decimal mark '.'")):
        parse_number("1.234.567", decimal=".")


def test_decimal_comma_rejects_a_decimal_point_and_bad_decimal_marks():
    with pytest.raises(ValueError, match=re.escape("('.' must separate groups of three digits, as in 10.000).")):
        parse_number("1.5", decimal=",")
    with pytest.raises(ValueError, match=re.escape("more than one decimal mark ','")):
        parse_number("1,2,3", decimal=",")
    with pytest.raises(ValueError, match=re.escape("`decimal` must be '.', ',' or None; got ';'.")):
        parse_number("1", decimal=";")


def test_numbers_that_are_not_text_ignore_the_decimal_option():
    assert parse_number(1.125, decimal=",") == (1.125, 0.0005)
    assert parse_number(1000, decimal=",") == (1000.0, 500.0)
    assert parse_number(1.5) == (1.5, 0.05)


@given(st.integers(0, 10**15), st.sampled_from([",", " ", "\u202f", "'"]))
def test_any_integer_grouped_in_threes_reads_back(n, sep):
    text = f"{n:,}".replace(",", sep)
    assert parse_number(text)[0] == n
    assert parse_number(text.replace(",", "."), decimal=",")[0] == n  # the same groups with a decimal comma


@given(st.integers(1, 999), st.integers(0, 999))
def test_a_comma_before_fewer_or_more_than_three_digits_is_refused(head, tail):
    for digits in (str(tail)[:2] or "0", f"{tail:04d}"):
        with pytest.raises(ValueError, match="must separate groups of three digits"):
            parse_number(f"{head},{digits}")


# ------------------------------------------------------------- the readers
def test_readers_name_row_and_field_for_a_bad_digit_group(tmp_path):
    with pytest.raises(ClaimError, match=r"^record 1, field `value`: could not be parsed as a number: '1,5' \(',' must"):
        ClaimSet.from_records([rec(), rec(value="1,5")])
    with pytest.raises(ClaimError, match=r"^record 0, field `low`: could not be parsed as a number: '1,2,3' "):
        ClaimSet.from_records([rec(value=None, low="1,2,3", high="4")])
    path = tmp_path / "c.csv"
    path.write_text("quantity,source,value\nq,a,3\nq,b,\"1 234,5\"\n", encoding="utf-8")
    with pytest.raises(ClaimError, match=r"^line 3, field `value`: could not be parsed as a number: '1 234,5' \(mixes"):
        ClaimSet.from_csv(path)


def test_readers_accept_decimal_comma(tmp_path):
    records = [rec(value="1,5"), rec(value="1.000", source="b"), rec(value="1 234,5", source="c", se="0,5")]
    cs = ClaimSet.from_records(records, decimal=",")
    assert cs.value.tolist() == [1.5, 1000.0, 1234.5]
    assert cs.precision.tolist() == [0.05, 500.0, 0.05]
    assert cs.se[2] == 0.5
    path = tmp_path / "c.csv"
    path.write_text('quantity;source;value\nq;a;1,5\nq;b;"1.000"\n', encoding="utf-8")
    assert ClaimSet.from_csv(path, decimal=",").value.tolist() == [1.5, 1000.0]
    with pytest.raises(ClaimError, match=r"^line 2, field `value`: could not be parsed as a number: '1,5'"):
        ClaimSet.from_csv(path)


def test_dataframe_reader_accepts_decimal_comma():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"quantity": ["q", "q"], "source": ["a", "b"], "value": ["1,5", 2.25]})
    assert ClaimSet.from_dataframe(df, decimal=",").value.tolist() == [1.5, 2.25]
    with pytest.raises(ClaimError, match=r"^row 0, field `value`: could not be parsed as a number: '1,5'"):
        ClaimSet.from_dataframe(df)


def test_readers_reject_an_unknown_decimal_mark():
    with pytest.raises(ClaimError, match=re.escape("`decimal` must be '.', ',' or None; got ';'.")):
        ClaimSet.from_records([rec()], decimal=";")


def test_valid_thousands_groups_keep_working_in_the_readers():
    cs = ClaimSet.from_records([rec(value="10,000"), rec(value="1,234,567", source="b")])
    assert cs.value.tolist() == [10000.0, 1234567.0]
    assert cs.precision.tolist() == [5000.0, 0.5]


# ------------------------------------------------------------------- dates
@pytest.mark.parametrize(
    "text",
    [
        "2024-10-18",
        " 2024-10-18 ",
        "2024-10-18T12:00",
        "2024-10-18 12:00:00",
        "2024-10-18T23:59:59.123456",
        "2024-10-18T12:00Z",
        "2024-10-18T12:00:00+02:00",
        "18 Oct 2024",
        "18 oct. 2024",
        "18 October 2024",
        "18th October 2024",
        "Oct 18, 2024",
        "October 18, 2024",
        "OCTOBER 18 2024",
    ],
)
def test_dates_people_paste_are_read(text):
    assert date_to_days(text) == DAY


def test_every_month_name_and_abbreviation():
    names = "January February March April May June July August September October November December".split()
    for i, name in enumerate(names, start=1):
        day = date_to_days(dt.date(2024, i, 5))
        assert date_to_days(f"5 {name} 2024") == day
        assert date_to_days(f"{name[:3]} 5, 2024") == day
    assert date_to_days("5 Sept 2024") == date_to_days("2024-09-05")


FORMATS = (
    "the accepted formats are: 2024-10-18; 2024-10-18T12:00 or 2024-10-18 12:00:00; 18 Oct 2024; "
    "18 October 2024; Oct 18, 2024; October 18, 2024."
)


@pytest.mark.parametrize(
    "text",
    ["2024-10-18garbage", "2024-10-18T", "2024-10-18 noon", "20241018", "18/10/2024", "yesterday", "18 Octember 2024", "Oct 2024", ""],
)
def test_other_date_text_is_refused_with_the_accepted_formats(text):
    with pytest.raises(ValueError) as info:
        date_to_days(text)
    assert str(info.value) == f"could not be parsed as a date: {text!r}; {FORMATS}"


def test_impossible_dates_are_refused():
    with pytest.raises(ValueError, match=re.escape("is not a valid date: '2024-02-30' (day is out of range for month).")):
        date_to_days("2024-02-30")
    with pytest.raises(ValueError, match=re.escape("is not a valid date: '2024-10-18T25:00' (hour must be in 0..23).")):
        date_to_days("2024-10-18T25:00")


def test_date_errors_name_row_and_field():
    with pytest.raises(ClaimError) as info:
        ClaimSet.from_records([rec(), rec(date="2024-10-18garbage")])
    assert str(info.value) == f"record 1, field `date`: could not be parsed as a date: '2024-10-18garbage'; {FORMATS}"
    cs = ClaimSet.from_records([rec(date="Oct 18, 2024"), rec(date="2024-10-18 12:00:00")])
    assert cs.date.tolist() == [DAY, DAY]
