"""The compiled pair quadrature (credscore.agreement_kernel) against the numpy reference (_quad_normal)."""

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from credscore import ClaimSet, ErrorScale, SourcePriors
from credscore.agreement import _effective_shape, _quadrature, all_pair_agreement, pair_agreement, quantity_pairs
from credscore.likelihood import SHAPE_INTERVAL, SHAPE_LOWER, SHAPE_POINT, SHAPE_UPPER, build_claim_model

TOL = 1e-10  # the numpy reference itself is exact to ~1e-10 (identical 1.9σ intervals: 1 + 5e-11)


@st.composite
def claim_arrays(draw, n):
    """n statements in model space: shape, centre, width and error scale drawn over wide ranges,
    across the one-bell boundary (width 2σ) and far beyond it."""
    shape = np.array(draw(st.lists(st.sampled_from([SHAPE_POINT, SHAPE_INTERVAL, SHAPE_INTERVAL, SHAPE_UPPER,
                                                     SHAPE_LOWER]), min_size=n, max_size=n)), dtype=np.int8)
    sigma = np.exp(np.array(draw(st.lists(st.floats(np.log(1e-3), np.log(10.0)), min_size=n, max_size=n))))
    ratio = np.array(draw(st.lists(st.sampled_from([1e-3, 0.1, 0.5, 1.0, 1.9, 2.1, 5.0, 20.0, 200.0]),
                                   min_size=n, max_size=n)))
    centre = np.array(draw(st.lists(st.floats(-20.0, 20.0), min_size=n, max_size=n)))
    width = np.where(shape == SHAPE_INTERVAL, ratio * sigma, 0.0)
    lo, hi = centre - width / 2, centre + width / 2
    lo = np.where(shape == SHAPE_UPPER, -np.inf, lo)
    hi = np.where(shape == SHAPE_LOWER, np.inf, hi)
    return SimpleNamespace(shape=shape, sigma=sigma, centre=centre, lo=lo, hi=hi, df=np.full(n, np.inf))


@settings(max_examples=150, deadline=None)
@given(claim_arrays(8))
def test_kernels_match_numpy_reference(m):
    i, j = np.triu_indices(8, 1)
    proper = (m.shape[i] <= SHAPE_INTERVAL) | (m.shape[j] <= SHAPE_INTERVAL)  # two bounds never integrate
    i, j = i[proper], j[proper]
    si, sj = m.shape[i], m.shape[j]
    fast = _quadrature(m, i, j, si, sj)
    ref = _quadrature(m, i, j, si, sj, compiled=False)
    np.testing.assert_allclose(fast, ref, rtol=0, atol=TOL)
    # and symmetric
    np.testing.assert_allclose(_quadrature(m, j, i, sj, si), fast, rtol=0, atol=TOL)


def test_one_bell_pairs_pinned():
    # two normal points: the closed form sqrt(2 s1 s2 / (s1² + s2²)) exp(-d² / (4 (s1² + s2²)))
    m = SimpleNamespace(shape=np.array([0, 0], dtype=np.int8), sigma=np.array([0.1, 0.3]),
                        centre=np.array([0.0, 0.25]), lo=np.array([0.0, 0.25]), hi=np.array([0.0, 0.25]),
                        df=np.full(2, np.inf))
    v = _quadrature(m, np.array([0]), np.array([1]), m.shape[[0]], m.shape[[1]])[0]
    assert v == pytest.approx(np.sqrt(0.06 / 0.1) * np.exp(-0.0625 / 0.4), abs=1e-13)
    # an interval of width 1σ with itself: 1
    m = SimpleNamespace(shape=np.array([1, 1], dtype=np.int8), sigma=np.array([0.2, 0.2]), centre=np.zeros(2),
                        lo=np.full(2, -0.1), hi=np.full(2, 0.1), df=np.full(2, np.inf))
    assert _quadrature(m, np.array([0]), np.array([1]), m.shape[[0]], m.shape[[1]])[0] == pytest.approx(1.0, abs=1e-12)


@st.composite
def statement(draw):
    kind = draw(st.sampled_from(["point", "approx", "range", "upper", "lower"]))
    c = draw(st.floats(0.5, 1e6))
    if kind == "range":
        f = draw(st.floats(1.001, 3.0))
        return {"kind": kind, "low": c / f, "high": c * f}
    return {"kind": kind, "value": c, "precision": draw(st.sampled_from([0.0, 0.001, 0.05, 0.3])) * c}


@settings(max_examples=60, deadline=None)
@given(st.lists(statement(), min_size=2, max_size=7), st.sampled_from(["log", "linear"]),
       st.sampled_from([None, 0.01, 0.1]), st.sampled_from([np.inf, 4.0]))
# a sharp point far under a bound: integrated about the bound's edge the reference came to 1 + 3e-10
@example([{"kind": "upper", "value": 131074.0, "precision": 0.0}, {"kind": "point", "value": 1.0, "precision": 0.0}],
         "linear", 0.01, np.inf)
def test_pair_agreement_compiled_equals_reference(stmts, scale, err, df):
    recs = [{"quantity": "q", "source": f"s{k}", **s} for k, s in enumerate(stmts)]
    priors = SourcePriors(error=ErrorScale(err, df=df)) if err is not None else None
    m = build_claim_model(ClaimSet.from_records(recs, scales=scale), priors)
    i, j, _ = quantity_pairs(m)
    sh = _effective_shape(m, np.arange(len(m.claim)))
    need = np.flatnonzero(~((sh[i] >= SHAPE_UPPER) & (sh[j] >= SHAPE_UPPER)))
    i, j = i[need], j[need]
    np.testing.assert_allclose(_quadrature(m, i, j, sh[i], sh[j]),
                               _quadrature(m, i, j, sh[i], sh[j], compiled=False), rtol=0, atol=TOL)
    v = pair_agreement(m, i, j)
    assert np.all((v >= 0) & (v <= 1))


def test_all_pair_agreement_of_rounded_numbers_pinned():
    recs = [{"quantity": "t", "source": s, "value": v} for s, v in
            (("a", "10,000"), ("b", "10,900"), ("c", "11,000"), ("d", "1,500"), ("e", "12,000"))]
    m = build_claim_model(ClaimSet.from_records(recs))
    i, j, v = all_pair_agreement(m)
    sh = _effective_shape(m, np.arange(len(m.claim)))
    ref = _quadrature(m, i, j, sh[i], sh[j], compiled=False)
    np.testing.assert_allclose(v, np.clip(ref, 0, 1), rtol=0, atol=TOL)
