"""credscore.formatting and the text output built on it: numbers as people read them (issue 14, items 14, 15, 20)."""

import math
import re
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import credscore
from credscore import parse_number
from credscore.formatting import (
    HEAVY_TAIL_FACTOR,
    estimate_resolution,
    format_claim,
    format_estimate,
    format_estimate_parts,
    format_number,
    format_probability,
    format_signed,
    moments_meaningful,
    plural,
)

NAN = float("nan")

# (median, low, high, unit) -> printed
ESTIMATES = [
    # counts: two significant digits of the half-width (1,316 -> hundreds)
    ((10621.7, 9419.08, 12051.5, "soldiers"), "10,600 [9,400, 12,100] soldiers"),
    # never fewer than two significant digits of the number itself
    ((3.4641, 0.170983, 70.1825, "brigades"), "3.5 [0.17, 70] brigades"),
    ((88.61, 0.482923, 1464.45, "people"), "89 [0.48, 1,460] people"),
    # money: words for millions and billions
    ((1.60591e7, 1.49693e6, 1.86705e9, "USD/year"), "16 million [1.5 million, 1.87 billion] USD/year"),
    ((997575.0, 102962.0, 5.75249e7, "projectiles"), "1.0 million [100,000, 58 million] projectiles"),
    ((4.2e14, 3.9e14, 4.6e14, None), "420 trillion [390 trillion, 460 trillion]"),
    # temperatures, negative values, an interval across zero
    ((21.437, 19.8, 23.1, "°C"), "21.4 [19.8, 23.1] °C"),
    ((-3.27, -4.91, -1.6, "°C"), "-3.3 [-4.9, -1.6] °C"),
    ((0.3, -1.2, 1.9, None), "0.30 [-1.2, 1.9]"),
    ((0.0, -0.05, 0.05, None), "0.000 [-0.050, 0.050]"),
    # tiny and huge magnitudes: plain decimals down to 1e-4, exponents only outside [1e-4, 1e15)
    ((0.000123456, 0.0001, 0.00015, None), "0.000123 [0.000100, 0.000150]"),
    ((1.234e-300, 1.0e-300, 1.5e-300, None), "1.23e-300 [1.00e-300, 1.50e-300]"),
    ((2.5e20, 2.0e20, 3.1e20, None), "2.50e20 [2.00e20, 3.10e20]"),
    ((-1e307, -1.5e307, 1e307, None), "-1.0e307 [-1.5e307, 1.0e307]"),  # not 1.00e307: reads like a group
    ((1.5, 1.4, 1.6, None), "1.50 [1.40, 1.60]"),
    ((1.5004, 1.5, 1.501, None), "1.50040 [1.50000, 1.50100]"),
    # a zero-width interval: the number's own digits; NaN and infinite bounds
    ((5.0, 5.0, 5.0, "days"), "5 [5, 5] days"),
    ((NAN, 1.0, 2.0, None), "n/a [1.00, 2.00]"),
    ((1.0, -math.inf, math.inf, None), "1 [-∞, ∞]"),
]


@pytest.mark.parametrize(("args", "expected"), ESTIMATES)
def test_format_estimate_table(args, expected):
    assert format_estimate(*args) == expected


NUMBERS = [
    ((10900.0,), {}, "10,900"),
    ((10621.7,), {"sig": 3}, "10,600"),
    ((8e6,), {}, "8 million"),
    ((1.15e8,), {"unit": "USD/year"}, "115 million USD/year"),
    ((1.3e6,), {}, "1.3 million"),
    ((3e9,), {}, "3 billion"),
    ((1234567.0,), {}, "1,234,567"),  # more than three decimals in millions: digits
    ((1.60591e7,), {"sig": 2, "unit": "USD/year"}, "16 million USD/year"),
    ((3.4641,), {"sig": 2, "unit": "brigades"}, "3.5 brigades"),
    ((-5.0,), {}, "-5"),
    ((-0.000123,), {}, "-0.000123"),
    ((0.0001,), {}, "0.0001"),
    ((9.99e-5,), {}, "9.99e-5"),
    ((1e15,), {}, "1e15"),
    ((999.5e12,), {}, "999.5 trillion"),
    ((9.96,), {"sig": 2}, "10"),  # a carry drops the extra zero
    ((999999.7,), {"sig": 2}, "1.0 million"),
    ((0.0,), {}, "0"),
    ((-0.0,), {}, "0"),
    ((NAN,), {}, "n/a"),
    ((None,), {}, "n/a"),
    ((math.inf,), {}, "∞"),
]


@pytest.mark.parametrize(("args", "kwargs", "expected"), NUMBERS)
def test_format_number_table(args, kwargs, expected):
    assert format_number(*args, **kwargs) == expected


@pytest.mark.parametrize("sig", [0, -1, 1.5, True])
def test_format_number_sig_error(sig):
    with pytest.raises(ValueError, match=r"^`sig` must be a positive integer; got "):
        format_number(1.0, sig=sig)


CLAIMS = [
    (("point", 10900, None, None), "10,900"),
    (("approx", 10000, None, None), "around 10,000"),
    (("upper", 10000, None, None), "up to 10,000"),
    (("lower", 62, None, None), "more than 62"),
    (("range", None, 5000, 6000), "5,000–6,000"),
    (("range", NAN, 3.0, 4.0), "3–4"),
    (("range", None, -5.0, 3.0), "-5 to 3"),
    (("upper", 8e6, None, None), "up to 8 million"),
    (("approx", 1.3e6, None, None), "around 1.3 million"),
    (("point", 12.5, None, None), "12.5"),
    (("point", -2.25, None, None), "-2.25"),
]


@pytest.mark.parametrize(("args", "expected"), CLAIMS)
def test_format_claim_table(args, expected):
    assert format_claim(*args) == expected


def test_format_claim_unit_and_error():
    assert format_claim("upper", 1.15e8, None, None, unit="USD/year") == "up to 115 million USD/year"
    with pytest.raises(ValueError, match=r"^`kind` must be one of 'point', 'approx', 'range', 'upper', 'lower'; got 'x'\.$"):
        format_claim("x", 1.0, None, None)


def test_small_helpers():
    assert plural(1, "claim") == "1 claim"
    assert plural(0, "claim") == "0 claims"
    assert plural(1200, "claim") == "1,200 claims"
    assert plural(2, "quantity", "quantities") == "2 quantities"
    assert format_probability(0.4878) == "0.49" and format_probability(NAN) == ""
    assert format_signed(0.181) == "+0.18" and format_signed(-1e-5) == "0.00" and format_signed(NAN) == ""
    assert estimate_resolution(10621.7, 9419.08, 12051.5) == 100.0
    assert estimate_resolution(3.4641, 0.170983, 70.1825) == pytest.approx(0.1)
    assert math.isnan(estimate_resolution(NAN, 1.0, 2.0))


# ------------------------------------------------------------------ item 15: moments only where meaningful
def test_moments_meaningful_rule():
    z = 1.6448536269514722  # normal quantile of 0.95: a 90% interval of a normal is mean ± z sd
    lo, hi = 90.0, 110.0
    implied = (hi - lo) / (2 * z)
    ok = moments_meaningful(100.0, [implied, HEAVY_TAIL_FACTOR * implied * 0.999, HEAVY_TAIL_FACTOR * implied * 1.001],
                            lo, hi, 0.9)
    assert ok.tolist() == [True, True, False]
    assert moments_meaningful(120.0, 1.0, lo, hi).tolist() is False  # a mean outside the interval
    assert moments_meaningful([NAN, 100.0], [1.0, math.inf], lo, hi).tolist() == [False, False]
    # the level sets the implied sd: the same interval at 50% implies a wider sd
    assert moments_meaningful(100.0, 20.0, lo, hi, 0.5) and not moments_meaningful(100.0, 20.0, lo, hi, 0.9)


@pytest.fixture(scope="module")
def heavy():
    """Claims 100, 100, 5000: the interval is [54, 144], the sd in the thousands."""
    return credscore.fuse([{"quantity": "q", "source": s, "value": v, "unit": "boats"}
                           for s, v in zip("abc", [100, 100, 5000])])


def test_heavy_tail_moments_are_not_shown(heavy):
    e = heavy.estimate("q")
    assert e.sd > 10 * (e.high - e.low)  # the case of the issue: the tail dominates the moments
    text = repr(e)
    assert re.fullmatch(r"Estimate\('q': median \d+ boats, 90% interval \[\d+, \d+\]; mean and sd not shown: "
                        r"a heavy tail dominates them\)", text), text
    assert "sd" not in text.split(";")[0]
    table = heavy.estimates.to_text()
    row = table.splitlines()[1]
    assert row.count("heavy tail") == 2
    assert format(e.sd, ",.0f") not in table and f"{e.sd:.4g}" not in table


def test_meaningful_moments_are_shown():
    res = credscore.fuse([{"quantity": "t", "source": "a", "value": 20.0, "se": 1.0, "precision": 0,
                           "scale": "linear", "unit": "°C"}],
                         credscore.SourcePriors(default=credscore.Reliability(1.0)))
    e = res.estimate("t")
    assert moments_meaningful(e.mean, e.sd, e.low, e.high)
    assert repr(e) == (f"Estimate('t': median {format_estimate_parts(e.median, e.low, e.high)[0]} °C, 90% interval "
                       f"[{format_estimate_parts(e.median, e.low, e.high)[1]}, "
                       f"{format_estimate_parts(e.median, e.low, e.high)[2]}], "
                       f"mean {format_estimate_parts(e.mean, e.low, e.high)[0]}, sd {format_number(e.sd, sig=2)})")
    assert "heavy tail" not in res.estimates.to_text()


# ------------------------------------------------------------------ the seed case: summary, tables, plots
@pytest.fixture(scope="module")
def seed():
    claims, priors = credscore.datasets.load_seed_case()
    return credscore.fuse(claims, priors)


EXPONENT = re.compile(r"\de[+-]?\d")


def test_summary_reads_as_people_write(seed):
    text = seed.summary()
    assert not EXPONENT.search(text)
    assert "(log)" not in text and "(linear)" not in text
    assert "from 1 claims" not in text and "from 1 claim\n" in text
    assert "(8 distinct, 1 relayed repeat)" in text
    for phrase in ("up to 10,000", "around 10,000", "more than 62", "up to 8 million", "around 1.3 million",
                   "up to 115 million", "3–4"):
        assert phrase in text, phrase
    e = seed.estimate("nk_troops_in_russia")
    assert format_estimate(e.median, e.low, e.high, "soldiers") in text
    e = seed.estimate("nk_annual_payment_usd")
    line = next(x for x in text.splitlines() if x.startswith("nk_annual_payment_usd:"))
    # a lone "up to 115 million" is shown as the bound it is (issue 14 item 17), in words, not "1.15e+08"
    assert line.startswith("nk_annual_payment_usd: ≤ 115 million USD/year (p = ")
    assert "billion" not in line


def test_summary_max_claims_counts_the_rest(seed):
    text = seed.summary(max_claims=2)
    assert "    ... (7 more claims)" in text
    short = seed.summary(max_claims=0)
    assert " p=" not in short and "more claim" not in short and "nk_troops_in_russia: " in short
    with pytest.raises(ValueError, match=r"^`max_claims` must be a non-negative integer; got -1\.$"):
        seed.summary(max_claims=-1)


def test_table_text_defaults(seed):
    text = seed.estimates.to_text()
    head = text.splitlines()[0].split()
    assert "median" in head and "low" in head and "high" in head
    for hidden in ("Q", "I2", "H2", "tau2", "log_evidence", "scale", "mode"):
        assert hidden not in head
    assert text.splitlines()[-1].startswith("(not shown: scale, mode, level, log_evidence")
    assert not EXPONENT.search(text)
    row = text.splitlines()[1].split()
    e = seed.estimate("nk_troops_in_russia")
    assert row[0] == "nk_troops_in_russia"
    assert list(format_estimate_parts(e.median, e.low, e.high)) == [row[head.index(c) + 2] for c in ("median", "low", "high")]
    detail = seed.estimates.to_text(detail=True)
    assert {"Q", "I2", "H2", "tau2"} <= set(detail.splitlines()[0].split())
    assert "I2 is the share (%) of their spread" in detail
    # the raw numbers stay in the arrays
    assert seed.estimates["median"][0] == e.median


def test_claims_text_states_claims_as_written(seed):
    text = seed.claims.to_text(max_rows=100)
    head = text.splitlines()[0].split()
    assert "stated" in head and "kind" not in head and "value" not in head
    assert "up to 10,000" in text and "more than 1,000" in text and "3–4" in text
    assert "e+" not in text and "1e4" not in text
    assert " yes " in text  # counted, as a word
    detail = seed.claims.to_text(max_rows=3, detail=True)
    assert {"stated", "kind", "value", "low", "high"} <= set(detail.splitlines()[0].split())


def test_table_text_options():
    t = credscore.Table({"name": np.array(["a", "b"], dtype=object), "x": np.array([1234.5678, NAN]),
                         "n": np.array([1200, 3]), "row": np.array([1200, 3]), "ok": np.array([True, False])})
    lines = t.to_text().splitlines()
    assert lines[1].split() == ["a", "1,230", "1,200", "1200", "yes"]
    assert lines[2].split() == ["b", "3", "3", "no"]
    assert t.to_text(floatfmt=".6g").splitlines()[1].split()[1] == "1234.57"
    assert t.to_text(columns=["x", "name"]).splitlines()[0].split() == ["x", "name"]
    with pytest.raises(KeyError, match="unknown column 'zz'"):
        t.to_text(columns=["zz"])
    assert t.to_text(max_rows=1).splitlines()[-1] == "... (1 more row)"


def test_forest_title_has_no_exponent(seed):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for q in ("nk_troops_in_russia", "nk_annual_payment_usd", "shells_shipped"):
        ax = seed.plot_forest(q)
        e = seed.estimate(q)
        m, lo, hi = format_estimate_parts(e.median, e.low, e.high)
        assert ax.get_title() == f"{q}\nmedian {m} {e.unit}, 90% credible interval [{lo}, {hi}]"
        assert not EXPONENT.search(ax.get_title())
        plt.close(ax.figure)


# ------------------------------------------------------------------ properties
def _read(text: str) -> float:
    return parse_number(text)[0]


magnitudes = st.floats(-300, 300).map(lambda e: 10.0 ** e)


@st.composite
def intervals(draw):
    """(median, low, high): positive over 1e-300..1e300, or signed, low <= median <= high."""
    if draw(st.booleans()):
        a, b, c = sorted(draw(st.lists(magnitudes, min_size=3, max_size=3)))
    else:
        scale = draw(magnitudes)
        a, b, c = sorted(scale * x for x in draw(st.lists(st.floats(-10, 10), min_size=3, max_size=3)))
    assume(all(math.isfinite(v) for v in (a, b, c)) and math.isfinite(c - a))
    return b, a, c


@settings(max_examples=400, deadline=None)
@given(intervals())
def test_printed_interval_contains_printed_median_and_reads_back(iv):
    median, low, high = iv
    texts = format_estimate_parts(median, low, high)
    assert all(t not in ("n/a", "∞", "-∞") for t in texts)
    back = [_read(t) for t in texts]
    assert back[1] <= back[0] <= back[2], (iv, texts)
    for x, t, b in zip((median, low, high), texts, back):
        res = estimate_resolution(x, low, high)
        assert abs(b - x) <= res / 2 + 4e-16 * abs(x), (x, t, res)
        # at least two significant digits, never exponent notation in [1e-4, 1e15)
        if x != 0 and high > low and res > 0:  # (res underflows to 0 for subnormal half-widths)
            assert round(math.log10(res)) <= Decimal(x).adjusted() - 1
        if 1e-4 <= abs(b) < 1e15:
            assert "e" not in t, t
    assert format_estimate(median, low, high, "units") == f"{texts[0]} [{texts[1]}, {texts[2]}] units"


@settings(max_examples=300, deadline=None)
@given(st.one_of(magnitudes, magnitudes.map(lambda x: -x), st.floats(-1e6, 1e6, allow_nan=False)),
       st.integers(1, 8))
def test_format_number_reads_back(x, sig):
    assume(math.isfinite(x))
    assert _read(format_number(x)) == pytest.approx(x, rel=1e-15, abs=0)
    t = format_number(x, sig=sig)
    if x != 0:
        unit = 10.0 ** (math.floor(math.log10(abs(x))) - sig + 1)
        assert abs(_read(t) - x) <= unit / 2 * (1 + 1e-9) + 4e-16 * abs(x), (x, sig, t)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["point", "approx", "upper", "lower"]), st.one_of(magnitudes, st.integers(-10**9, 10**9).map(float)))
def test_claims_read_back_to_their_numbers(kind, value):
    text = format_claim(kind, value, None, None)
    number = text.split(" ", 1)[1] if kind in ("approx", "upper") else text
    if kind == "upper":
        number = text[len("up to "):]
    if kind == "lower":
        number = text[len("more than "):]
    assert _read(number) == pytest.approx(value, rel=1e-15, abs=0)


claim_numbers = st.one_of(magnitudes, magnitudes.map(lambda x: -x), st.integers(-10**9, 10**9).map(float))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["point", "approx", "upper", "lower", "range"]), claim_numbers, claim_numbers)
def test_claims_as_written_read_back_as_the_same_claim(kind, a, b):
    """Everything format_claim prints reads back (credscore.text) to the same kind and numbers."""
    text_mod = pytest.importorskip("credscore.text")
    lo, hi = sorted((a, b))
    text = format_claim(kind, a, lo, hi, unit="soldiers")
    back = text_mod.parse_claim_text(text)
    assert back["kind"] == kind, text
    if kind == "range":
        assert (back["low"], back["high"]) == (pytest.approx(lo, rel=1e-15, abs=0), pytest.approx(hi, rel=1e-15, abs=0))
    else:
        assert back["value"] == pytest.approx(a, rel=1e-15, abs=0), text
