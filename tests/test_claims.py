"""Claims: number parsing, precision, kinds, scales, relays, validation and round trips."""

import datetime as dt
import math

import numpy as np
import pytest

from credscore import ClaimError, ClaimSet, parse_number
from credscore.claims import APPROX_WIDENING, Claim


def rec(**kw):
    base = {"quantity": "q", "source": "a", "value": 3}
    base.update(kw)
    return {k: v for k, v in base.items() if v is not ...}


# ----------------------------------------------------------------- numbers
@pytest.mark.parametrize(
    "text, value, half",
    [
        ("10,000", 10000.0, 5000.0),
        ("10,900", 10900.0, 50.0),
        ("11,000", 11000.0, 500.0),
        ("1,500", 1500.0, 50.0),
        ("12.5", 12.5, 0.05),
        ("12.50", 12.5, 0.005),
        ("1.3 million", 1.3e6, 5e4),
        ("$115 million", 115e6, 5e5),
        ("8m", 8e6, 5e5),
        ("2.5bn", 2.5e9, 5e7),
        ("1e4", 1e4, 5e3),
        ("-40", -40.0, 5.0),
        ("7", 7.0, 0.5),
        (10000, 10000.0, 5000.0),
        (10900.0, 10900.0, 50.0),
        (0.25, 0.25, 0.005),
    ],
)
def test_parse_number_infers_precision_from_how_the_number_is_written(text, value, half):
    v, h = parse_number(text)
    assert v == pytest.approx(value, rel=1e-15)
    assert h == pytest.approx(half, rel=1e-12)


@pytest.mark.parametrize("bad", ["abc", "", "1.2.3", "ten", True, None])
def test_parse_number_rejects_non_numbers(bad):
    with pytest.raises(ValueError, match="could not be parsed as a number"):
        parse_number(bad)


# ------------------------------------------------------------------- kinds
def test_statement_intervals_for_every_kind():
    cs = ClaimSet.from_records(
        [
            rec(value="10,000"),
            rec(kind="approx", value="10,000"),
            rec(kind="range", value=None, low=15000, high=20000),
            rec(kind="upper", value=10000),
            rec(kind="lower", value=20),
            rec(value=10900, precision=0),
        ]
    )
    assert cs.lower_bound.tolist() == [5000, 4000, 15000, 0, 20, 10900]
    assert cs.upper_bound.tolist() == [15000, 16000, 20000, 10000, math.inf, 10900]
    assert cs.precision[1] == 5000 + APPROX_WIDENING * 10000
    lo, hi = cs.model_bounds
    assert lo[3] == -math.inf and hi[4] == math.inf
    assert hi[0] == pytest.approx(math.log(15000))


def test_kind_defaults_to_range_when_low_and_high_are_given():
    cs = ClaimSet.from_records([{"quantity": "q", "source": "a", "low": 1, "high": 2}])
    assert cs.kind.tolist() == [2]


def test_scale_defaults_to_log_for_positive_quantities_and_can_be_overridden():
    recs = [rec(quantity="pos", value=3), rec(quantity="neg", value=-3), rec(quantity="row", value=3, scale="linear")]
    cs = ClaimSet.from_records(recs)
    assert [cs.scale_of(q) for q in ("pos", "neg", "row")] == ["log", "linear", "linear"]
    cs = ClaimSet.from_records(recs, scales={"pos": "linear"})
    assert cs.scale_of("pos") == "linear"
    assert ClaimSet.from_records(recs[:1], scales="linear").scale_of("pos") == "linear"


def test_log_scale_se_is_relative():
    cs = ClaimSet.from_records([rec(value=200, se=20, precision=0)])
    assert cs.model_se[0] == pytest.approx(0.1)


# ------------------------------------------------------------------ relays
def test_relayed_statement_counts_once_but_every_row_is_kept():
    recs = [
        rec(source="Zelensky", kind="upper", value=10000, reported_by="DW"),
        rec(source="Zelensky", kind="upper", value=10000, reported_by="BBC"),
        rec(source="Kyiv", value=11000),
        rec(source="Zelensky", value=10000),  # a different statement (kind) by the same source
    ]
    cs = ClaimSet.from_records(recs)
    assert len(cs) == 4
    assert cs.evidence.tolist() == [0, 0, 2, 3]
    assert cs.is_evidence.tolist() == [True, False, True, True]
    assert list(cs.reporters) == ["DW", "BBC"]
    assert cs.reporter.tolist() == [0, 1, -1, -1]


# -------------------------------------------------------------- validation
ERRORS = [
    ([rec(value=float("nan"))], r"^record 0, field `value`: must be finite, got nan\.$"),
    ([rec(value="inf")], r"^record 0, field `value`: must be finite, got inf\.$"),
    ([rec(value=None, kind="range", low=5, high=3)], r"^record 0, field `low`: must not exceed `high` \(5 > 3\)\.$"),
    ([rec(value=-3, scale="log")], r"^record 0, field `value`: must be positive on a log-scale quantity \('q'\), got -3\.$"),
    ([rec(value=0, scale="log", precision=0)], r"^record 0, field `value`: must be positive on a log-scale quantity"),
    ([rec(kind="guess")], r"^record 0, field `kind`: must be one of 'point', 'approx', 'range', 'upper', 'lower'; got 'guess'\.$"),
    ([rec(quantity=...)], r"^record 0, field `quantity`: is missing\.$"),
    ([rec(quantity="  ")], r"^record 0, field `quantity`: is missing\.$"),
    ([rec(source=None)], r"^record 0, field `source`: is missing\.$"),
    ([rec(value="abc")], r"^record 0, field `value`: could not be parsed as a number: 'abc'\.$"),
    ([rec(se="n/a")], r"^record 0, field `se`: could not be parsed as a number: 'n/a'\.$"),
    ([rec(date="yesterday")], r"^record 0, field `date`: could not be parsed as a date: 'yesterday'; the accepted formats are: 2024-10-18; "),
    ([], r"^no claims were given; at least one is needed\.$"),
    ([rec(se=0)], r"^record 0, field `se`: must be positive, got 0\.$"),
    ([rec(precision=-1)], r"^record 0, field `precision`: must be non-negative, got -1\.$"),
    ([rec(scale="cubic")], r"^record 0, field `scale`: must be 'log' or 'linear'; got 'cubic'\.$"),
    ([rec(scale="log"), rec(source="b", scale="linear")], r"^record 1, field `scale`: quantity 'q' is declared both 'log' and 'linear'\.$"),
    ([rec(colour="red")], r"^record 0, field `colour`: is not a claim field; the fields are quantity, source"),
    ([rec(kind="upper", value=None)], r"^record 0, field `value`: is missing for a claim of kind 'upper'\.$"),
    ([rec(kind="range", value=None, low=1)], r"^record 0, field `high`: is missing for a claim of kind 'range'\.$"),
    ([rec(low=1, high=2)], r"^record 0, field `low`: is only used by 'range' claims; this claim is 'point'\.$"),
    ([rec(precision=5, scale="log")], r"^record 0, field `precision`: makes the interval reach -2, but quantity 'q' is on a log scale"),
    ([rec(), rec(source="b", value="x1")], r"^record 1, field `value`: could not be parsed as a number: 'x1'\.$"),
    ([rec(source_kind="media"), rec(source_kind="blog")], r"^record 1, field `source_kind`: source 'a' is given kinds 'media' and 'blog'; a source has one kind\.$"),
    (["not a dict"], r"^record 0: must be a mapping of field names to values, got str\.$"),
]


@pytest.mark.parametrize("records, message", ERRORS)
def test_bad_records_raise_claim_error_naming_row_and_field(records, message):
    with pytest.raises(ClaimError, match=message) as info:
        ClaimSet.from_records(records)
    assert isinstance(info.value, ValueError)


def test_claim_error_carries_row_and_field():
    with pytest.raises(ClaimError) as info:
        ClaimSet.from_records([rec(), rec(), rec(value="x")])
    assert (info.value.row, info.value.field) == (2, "value")


def test_scales_argument_is_validated():
    with pytest.raises(ClaimError, match=r"^`scales` must be 'auto', 'log', 'linear' or a mapping; got 'cube'\.$"):
        ClaimSet.from_records([rec()], scales="cube")
    with pytest.raises(ClaimError, match=r"^`scales` for quantity 'q' must be 'log' or 'linear'; got 'x'\.$"):
        ClaimSet.from_records([rec()], scales={"q": "x"})


def test_records_must_be_an_iterable():
    with pytest.raises(ClaimError, match=r"^`records` must be an iterable of mappings, got int\.$"):
        ClaimSet.from_records(3)


# ---------------------------------------------------------------------- csv
def test_csv_errors_name_the_file_line(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("quantity,source,value\nq,a,3\nq,b,oops\n")
    with pytest.raises(ClaimError, match=r"^line 3, field `value`: could not be parsed as a number: 'oops'\.$"):
        ClaimSet.from_csv(p)
    p.write_text("quantity,source,valeu\nq,a,3\n")
    with pytest.raises(ClaimError, match=r"^line 1, field `valeu`: `valeu` is not a claim field"):
        ClaimSet.from_csv(p)
    p.write_text("")
    with pytest.raises(ClaimError, match=r"the file is empty"):
        ClaimSet.from_csv(p)
    p.write_text("quantity,source,value\n")
    with pytest.raises(ClaimError, match=r"^no claims were given"):
        ClaimSet.from_csv(p)


def test_csv_keeps_written_precision_and_round_trips(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text(
        "quantity,source,kind,value,low,high,date,reported_by,unit,note\n"
        'troops,Kyiv,point,"11,000",,,2024-11-08,DayFR,soldiers,"a note, with comma"\n'
        "troops,NIS,point,1500,,,2024-10-18,BBC,soldiers,\n"
        "troops,TV,range,,15000,20000,,,soldiers,\n"
        "troops,Z,upper,10000,,,,,soldiers,\n"
        "temp,station,point,-3.5,,,,,C,\n"
    )
    cs = ClaimSet.from_csv(p)
    assert cs.precision.tolist() == [500, 50, 0, 0, 0.05]
    assert cs.date[0] == (dt.date(2024, 11, 8) - dt.date(1970, 1, 1)).days
    assert cs.scale_of("temp") == "linear"
    out = tmp_path / "out.csv"
    cs.to_csv(out)
    back = ClaimSet.from_csv(out)
    for name in ("kind", "value", "low", "high", "precision", "lower_bound", "upper_bound", "date", "log_scale", "evidence"):
        np.testing.assert_array_equal(getattr(back, name), getattr(cs, name), err_msg=name)
    assert back.to_records() == cs.to_records()


def test_records_round_trip_and_claim_objects():
    recs = [
        rec(value="10,000", kind="approx", unit="soldiers", note="n", date=dt.date(2024, 10, 18)),
        rec(source="b", kind="lower", value=20, reported_by="x", source_kind="media"),
        rec(source="c", kind="range", value=None, low=1, high=2, se=0.1),
    ]
    cs = ClaimSet.from_records(recs)
    again = ClaimSet.from_records(cs.to_records())
    np.testing.assert_array_equal(again.lower_bound, cs.lower_bound)
    np.testing.assert_array_equal(again.upper_bound, cs.upper_bound)
    assert again.to_records() == cs.to_records()
    claims = list(cs)
    assert isinstance(claims[0], Claim) and claims[0].kind == "approx" and claims[0].date == dt.date(2024, 10, 18)
    assert ClaimSet.from_claims(claims).to_records() == cs.to_records()


def test_dataframe_missing_values_mean_not_given():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(
        {"quantity": ["q", "q", "r"], "source": ["a", "b", "a"], "value": [3.0, np.nan, 5.0],
         "low": [np.nan, 1.0, np.nan], "high": [np.nan, 2.0, np.nan], "date": [pd.Timestamp("2024-10-18"), pd.NaT, None]}
    )
    cs = ClaimSet.from_dataframe(df)
    assert cs.kind.tolist() == [0, 2, 0]
    assert np.isnan(cs.date[1:]).all()
    df.loc[2, "value"] = np.inf
    with pytest.raises(ClaimError, match=r"^row 2, field `value`: must be finite, got inf\.$"):
        ClaimSet.from_dataframe(df)
    with pytest.raises(ClaimError, match=r"^`df` must be a pandas DataFrame, got list\.$"):
        ClaimSet.from_dataframe([])


def test_claimset_is_immutable():
    cs = ClaimSet.from_records([rec()])
    with pytest.raises(ValueError):
        cs.value[0] = 4.0
    with pytest.raises(AttributeError):
        cs.value = np.array([4.0])


def test_subset_keeps_scales():
    cs = ClaimSet.from_records([rec(value=3), rec(source="b", value=4), rec(quantity="r", value=5)], scales={"q": "linear"})
    sub = cs.subset(cs.quantity == 0)
    assert len(sub) == 2 and sub.scale_of("q") == "linear"
