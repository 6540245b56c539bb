"""Huge and tiny magnitudes (issue 14, item 1): linear quantities are modelled in units of a power
of two (credscore.rescale), so finite claims give finite answers and a change of units by 2**j
changes every answer by exactly 2**j."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import credscore
from credscore import ClaimSet, QuantityPrior
from credscore.rescale import SAFE_EXPONENT, exponents

KINDS = ("point", "point", "approx", "range", "upper", "lower")


def _fuse(records, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return credscore.fuse(records, **kw)


@pytest.mark.parametrize("values", [(1e307, -1e307), (1e200, -1e200), (1e-300, -2e-300)])
def test_issue_cases_are_finite(values):
    """The three cases of the issue gave NaN (overflow in the prior span) or sd = inf."""
    res = _fuse([{"quantity": "q", "source": s, "value": v} for s, v in zip("ab", values)])
    e = res.estimate("q")
    for name in ("median", "low", "high", "mean", "sd", "mode"):
        assert np.isfinite(getattr(e, name)), name
    assert e.low < 0 < e.high  # the two claims straddle 0, and so does the interval
    assert e.low >= 2.5 * min(values) and e.high <= 2.5 * max(values)
    assert np.all(np.isfinite(res.claims["p_accurate"]))
    assert res.claims["status"].tolist() == ["accurate", "accurate"]


def test_ordinary_magnitudes_are_not_rescaled():
    cs = ClaimSet.from_records([
        {"quantity": "t", "source": "a", "value": 1.75 * 2.0**63, "scale": "linear", "unit": "K"},
        {"quantity": "u", "source": "a", "value": -(2.0**-65), "scale": "linear", "unit": "m"},
        {"quantity": "v", "source": "a", "value": 2.0**64, "scale": "linear", "unit": "s"},
        {"quantity": "w", "source": "a", "value": 1e300},  # log scale: never rescaled
    ])
    assert exponents(cs).tolist() == [0, 0, SAFE_EXPONENT + 1, 0]


def test_quantities_of_one_attribute_share_their_units():
    """Error scales and biases are learned per attribute: its quantities are rescaled alike."""
    cs = ClaimSet.from_records([
        {"quantity": "a", "source": "s", "value": 1e100, "scale": "linear", "attribute": "x"},
        {"quantity": "b", "source": "s", "value": 3e90, "scale": "linear", "attribute": "x"},
        {"quantity": "c", "source": "s", "value": 3e90, "scale": "linear", "attribute": "y"},
    ])
    k = exponents(cs)
    assert k[0] == k[1] == np.frexp(1e100)[1] and k[2] == np.frexp(3e90)[1]


@st.composite
def extreme_case(draw):
    scale = draw(st.sampled_from(["linear", "log"]))
    e = draw(st.integers(-299, 299))
    n = draw(st.integers(1, 5))
    recs = []
    for i in range(n):
        kind = draw(st.sampled_from(KINDS))
        lo = 10 if scale == "log" else -999
        m = sorted(draw(st.integers(lo, 999)) for _ in range(2))  # three significant digits
        a, b = (float(f"{x}e{e - 2}") for x in m)
        rec = {"quantity": "q", "source": f"s{i % 3}", "kind": kind, "scale": scale}
        if kind in ("point", "approx"):
            rec["precision"] = 0
        if kind == "range":
            if not a < b:
                continue
            rec.update(low=a, high=b)
        else:
            if kind == "approx" and a == 0:
                continue
            rec["value"] = a
        recs.append(rec)
    if not recs:
        recs.append({"quantity": "q", "source": "s0", "value": float(f"1.5e{e}"), "scale": scale})
    return recs


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extreme_case())
def test_finite_claims_give_finite_answers(records):
    """Magnitudes 1e-300 to 1e300, linear and log scale, every kind: every figure is finite."""
    res = _fuse(records)
    e = res.estimate("q")
    vals = [e.median, e.low, e.high, e.mean, e.sd, e.mode, *e.interval(0.5), *e.interval(kind="hpd")]
    assert np.all(np.isfinite(vals)), vals
    assert e.low <= e.median <= e.high
    x, p = e.grid()
    assert np.all(np.isfinite(x)) and np.all(np.isfinite(p))
    for col in ("p_accurate", "p_exact"):
        assert np.all(np.isfinite(res.claims[col].astype(float))), col
    assert np.all(np.isfinite(res.sources["error_scale"].astype(float)))


def _base_records():
    """Two quantities of one attribute stated by shared sources (so learning runs), every kind."""
    return [
        {"quantity": "q1", "source": "a", "value": 3.25},
        {"quantity": "q1", "source": "b", "value": 3.5},
        {"quantity": "q1", "source": "c", "kind": "range", "low": 2.75, "high": 4.0},
        {"quantity": "q1", "source": "d", "value": -7.0},
        {"quantity": "q2", "source": "a", "value": -1.5, "se": 0.25},
        {"quantity": "q2", "source": "b", "kind": "upper", "value": 1.0},
        {"quantity": "q2", "source": "c", "kind": "approx", "value": -1.25},
        {"quantity": "q2", "source": "d", "kind": "lower", "value": -2.5},
    ]


def _times(records, j):
    out = []
    for r in records:
        r = dict(r, scale="linear", attribute="x", **({} if r.get("kind") == "range" else {"precision": 0}))
        for f in ("value", "low", "high", "se"):
            if f in r:
                r[f] = float(np.ldexp(r[f], j))
        out.append(r)
    return out


@settings(max_examples=12, deadline=None)
@given(st.integers(SAFE_EXPONENT + 4, 1000), st.integers(-2000, 2000), st.booleans())
def test_a_power_of_two_change_of_units_scales_every_answer_exactly(j, d, tiny):
    """Multiplying every stated number by 2**d multiplies estimates, intervals, moments, error
    scales and biases by exactly 2**d (and leaves the probabilities unchanged)."""
    lo_tiny, hi_tiny = -980, -SAFE_EXPONENT - 40  # both magnitudes beyond 2**±64, subnormals avoided
    j = max(-j - 40, lo_tiny) if tiny else j
    j2 = int(np.clip(j + d, lo_tiny, hi_tiny)) if tiny else int(np.clip(j + d, SAFE_EXPONENT + 4, 1000))
    d = j2 - j
    priors = {"q1": QuantityPrior(low=float(np.ldexp(-20.0, j)), high=float(np.ldexp(20.0, j)))}
    priors2 = {"q1": QuantityPrior(low=float(np.ldexp(-20.0, j2)), high=float(np.ldexp(20.0, j2)))}
    r1 = _fuse(_times(_base_records(), j), quantity_priors=priors)
    r2 = _fuse(_times(_base_records(), j2), quantity_priors=priors2)
    for col in ("median", "low", "high", "mean", "sd", "mode"):
        np.testing.assert_array_equal(r2.estimates[col], np.ldexp(r1.estimates[col], d), err_msg=col)
    # tau2 is a variance in natural units: beyond ~1e308 it is too large for a float (inf), below ~1e-308
    # subnormal (fewer digits): compared where it is a normal float
    t1, t2 = (np.asarray(r.estimates["tau2"], float) for r in (r1, r2))
    with np.errstate(over="ignore"):
        want = np.ldexp(t1, 2 * d)
    tiny_ = np.finfo(float).tiny
    ok = np.isfinite(t1) & np.isfinite(want) & (np.abs(t1) >= tiny_) & (np.abs(want) >= tiny_)
    np.testing.assert_array_equal(t2[ok], want[ok])
    for col in ("error_scale", "bias"):
        np.testing.assert_array_equal(r2.sources[col], np.ldexp(r1.sources[col], d), err_msg=col)
    for col in ("p_accurate", "p_exact", "influence", "residual"):
        np.testing.assert_array_equal(r2.claims[col], r1.claims[col], err_msg=col)
    assert r2.claims["status"].tolist() == r1.claims["status"].tolist()
    p1, p2 = r1.predictive(), r2.predictive()
    for col in ("report_low", "report_high"):
        np.testing.assert_array_equal(p2[col], np.ldexp(p1[col], d), err_msg=col)
    np.testing.assert_array_equal(r2.check().claims["pit"], r1.check().claims["pit"])
    e1, e2 = r1.estimate("q2"), r2.estimate("q2")
    assert e2.interval(0.5) == tuple(float(np.ldexp(v, d)) for v in e1.interval(0.5))
    np.testing.assert_array_equal(e2.grid()[0], np.ldexp(e1.grid()[0], d))


def test_rescaled_fit_matches_the_fit_in_ordinary_units():
    """Claims at 2**200 times ordinary numbers give 2**200 times the ordinary answer (to the few
    non-equivariant floors of the default error scale: 1e-9 relative)."""
    r0 = _fuse(_times(_base_records(), 0))
    r1 = _fuse(_times(_base_records(), 200))
    assert exponents(r1.claimset).tolist() == [203, 203]
    for col in ("median", "low", "high", "mean", "sd"):
        np.testing.assert_allclose(r1.estimates[col], np.ldexp(r0.estimates[col], 200), rtol=1e-9, err_msg=col)
    np.testing.assert_allclose(r1.claims["p_accurate"], r0.claims["p_accurate"], rtol=1e-9)


def test_drift_trajectory_of_a_rescaled_quantity():
    recs = [{"quantity": "q", "source": s, "value": v * 1e250, "date": d, "scale": "linear"}
            for s, v, d in (("a", 1.0, "2024-01-01"), ("b", 2.0, "2024-02-01"), ("c", 3.0, "2024-03-01"))]
    res = _fuse(recs, dynamics="drift")
    t = res.trajectory("q")
    for col in ("median", "low", "high", "mean", "sd"):
        assert np.all(np.isfinite(t[col].astype(float))), col
    assert 0.5e250 < t["median"][0] < 1.6e250 and 2.4e250 < t["median"][-1] < 3.5e250
    e = res.estimate("q", date="2024-02-01")
    assert 1e250 < e.median < 3e250 and np.isfinite(e.mode) and e.low < e.median < e.high
    assert np.isfinite(res.timeline.quantities["drift_scale"][0])
