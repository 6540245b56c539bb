"""Tests for credscore.meta (random-effects meta-analysis)."""

from __future__ import annotations

import csv
import doctest
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import credscore.meta as meta
from credscore.meta import MetaResult, random_effects, random_effects_grouped

BCG = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "bcg" / "claims.csv"
METHODS = ("FE", "DL", "REML", "ML", "PM")
CIS = ("z", "knha")


@pytest.fixture(scope="module")
def bcg():
    if not BCG.exists():
        pytest.skip(f"BCG reference data not found at {BCG} (shared data directory absent)")
    with BCG.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    y = np.array([float(r["value"]) for r in rows])
    se = np.array([float(r["se"]) for r in rows])
    return y, se


def r4(x):
    return round(float(x), 4)


# ---------------------------------------------------------------------------
# metafor reference values (BCG, log risk ratios), as published
# ---------------------------------------------------------------------------


def test_bcg_reml(bcg):
    res = random_effects(*bcg, method="REML")
    assert r4(res.estimate) == -0.7145
    assert r4(res.se) == 0.1798
    assert r4(res.ci_low) == -1.0669
    assert r4(res.ci_high) == -0.3622
    assert r4(res.statistic) == -3.9744
    assert r4(res.tau2) == 0.3132
    assert r4(res.tau2_se) == 0.1664
    assert r4(res.tau) == 0.5597
    assert round(res.I2, 2) == 92.22
    assert round(res.H2, 2) == 12.86
    assert r4(res.Q) == 152.2330
    assert res.Q_df == 12
    assert res.k == 13
    assert res.converged


def test_bcg_dl(bcg):
    res = random_effects(*bcg, method="DL")
    assert r4(res.estimate) == -0.7141
    assert r4(res.se) == 0.1787
    assert r4(res.ci_low) == -1.0644
    assert r4(res.ci_high) == -0.3638
    assert r4(res.statistic) == -3.9952
    assert r4(res.tau2) == 0.3088
    assert r4(res.tau2_ci_low) == 0.1197
    assert r4(res.tau2_ci_high) == 1.1115
    assert r4(res.I2) == 92.1173
    assert r4(res.H2) == 12.6861
    assert r4(res.Q) == 152.2330
    # exponentiated (metafor tests): 0.4896 [0.3449, 0.6950]
    assert r4(math.exp(res.estimate)) == 0.4896
    assert r4(math.exp(res.ci_low)) == 0.3449
    assert r4(math.exp(res.ci_high)) == 0.6950


def test_bcg_fe(bcg):
    res = random_effects(*bcg, method="FE")
    assert r4(res.estimate) == -0.4303
    assert r4(res.ci_low) == -0.5097
    assert r4(res.ci_high) == -0.3509
    assert r4(res.statistic) == -10.6247
    assert r4(res.Q) == 152.2330
    assert res.Q_df == 12
    assert res.tau2 == 0.0
    assert math.isnan(res.tau2_se) and math.isnan(res.tau2_ci_low)


def test_bcg_reml_knha_exponentiated(bcg):
    res = random_effects(*bcg, method="REML", ci="knha")
    assert round(math.exp(res.estimate), 2) == 0.49
    assert round(math.exp(res.ci_low), 2) == 0.33
    assert round(math.exp(res.ci_high), 2) == 0.73
    assert round(math.exp(res.pi_low), 2) == 0.14
    assert round(math.exp(res.pi_high), 2) == 1.76
    # tau2 / I2 / H2 / Q do not depend on the test (metafor README)
    assert r4(res.tau2) == 0.3132
    assert round(res.I2, 2) == 92.22


def test_bcg_q_profile_same_for_all_re_methods(bcg):
    for m in ("DL", "REML", "ML", "PM"):
        res = random_effects(*bcg, method=m)
        assert r4(res.tau2_ci_low) == 0.1197
        assert r4(res.tau2_ci_high) == 1.1115


def test_bcg_pm_solves_generalized_q(bcg):
    y, se = bcg
    res = random_effects(y, se, method="PM")
    w = 1.0 / (se**2 + res.tau2)
    mu = np.sum(w * y) / np.sum(w)
    assert np.sum(w * (y - mu) ** 2) == pytest.approx(len(y) - 1, rel=1e-9)
    assert mu == pytest.approx(res.estimate, rel=1e-12)


# ---------------------------------------------------------------------------
# grouped == looped
# ---------------------------------------------------------------------------


def _ragged(seed):
    rng = np.random.default_rng(seed)
    sizes = np.array([1, 2, 5, 1, 9, 2, 3, 13, 4, 7])
    G = len(sizes)
    g = np.repeat(np.arange(G), sizes)
    n = g.size
    mu = rng.normal(0, 1, G)
    tau = rng.uniform(0, 0.8, G)
    se = rng.uniform(0.05, 0.9, n)
    y = mu[g] + tau[g] * rng.normal(size=n) + se * rng.normal(size=n)
    # one homogeneous group
    y[g == 2] = 0.25
    perm = rng.permutation(n)
    return y[perm], se[perm], g[perm], G


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("ci", CIS)
def test_grouped_equals_looped(method, ci):
    y, se, g, G = _ragged(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", meta.ConvergenceWarning)
        res = random_effects_grouped(y, se, g, method=method, ci=ci)
        for j in range(G):
            one = random_effects(y[g == j], se[g == j], method=method, ci=ci)
            for name in meta._FIELDS_NUMERIC:
                a, b = getattr(res, name)[j], getattr(one, name)
                if isinstance(b, float) and math.isnan(b):
                    assert math.isnan(a), (name, j)
                else:
                    assert a == pytest.approx(b, rel=1e-9, abs=1e-12), (name, j)
    assert res.k.tolist() == [1, 2, 5, 1, 9, 2, 3, 13, 4, 7]
    assert all(isinstance(getattr(res, n), np.ndarray) for n in meta._FIELDS_NUMERIC)


def test_k1_groups():
    res = random_effects([0.3], [0.2], method="REML")
    assert res.estimate == pytest.approx(0.3)
    assert res.se == pytest.approx(0.2)
    assert res.tau2 == 0.0 and res.Q == 0.0 and res.Q_df == 0
    assert res.Q_pvalue == 1.0 and res.I2 == 0.0 and res.H2 == 1.0
    assert math.isnan(res.tau2_se) and math.isnan(res.tau2_ci_low)
    assert res.ci_low == pytest.approx(0.3 - 1.959964 * 0.2, rel=1e-6)
    kh = random_effects([0.3], [0.2], ci="knha")
    assert kh.se == pytest.approx(0.2)
    assert math.isnan(kh.ci_low) and math.isnan(kh.pvalue)


def test_empty_group_code_gives_nan_row():
    res = random_effects_grouped([0.1, 0.2, 0.5], [0.1, 0.1, 0.2], [0, 0, 2])
    assert res.k.tolist() == [2, 0, 1]
    assert math.isnan(res.estimate[1]) and not math.isnan(res.estimate[2])


def test_reml_fixed_point_and_se(bcg):
    y, se = bcg
    res = random_effects(y, se, method="REML")
    w = 1.0 / (se**2 + res.tau2)
    sw = w.sum()
    P = np.diag(w) - np.outer(w, w) / sw
    Py = P @ y
    assert Py @ Py == pytest.approx(np.trace(P), rel=1e-8)  # REML score = 0
    assert res.tau2_se == pytest.approx(math.sqrt(2 / np.sum(P * P)), rel=1e-10)


def test_ml_score_zero(bcg):
    y, se = bcg
    res = random_effects(y, se, method="ML")
    w = 1.0 / (se**2 + res.tau2)
    mu = np.sum(w * y) / w.sum()
    assert np.sum(w**2 * (y - mu) ** 2) == pytest.approx(w.sum(), rel=1e-8)


# ---------------------------------------------------------------------------
# invariants (hypothesis)
# ---------------------------------------------------------------------------

studies = st.integers(min_value=2, max_value=8).flatmap(
    lambda k: st.tuples(
        st.lists(st.floats(-5, 5, allow_nan=False), min_size=k, max_size=k),
        st.lists(st.floats(0.05, 2.0, allow_nan=False), min_size=k, max_size=k),
    )
)
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _fit(y, se, method, ci="z"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", meta.ConvergenceWarning)
        return random_effects(y, se, method=method, ci=ci)


@FAST
@given(studies, st.sampled_from(METHODS), st.randoms(use_true_random=False))
def test_permutation_invariance(data, method, rnd):
    y, se = map(np.array, data)
    perm = list(range(len(y)))
    rnd.shuffle(perm)
    a, b = _fit(y, se, method), _fit(y[perm], se[perm], method)
    for name in ("estimate", "se", "tau2", "Q", "I2", "ci_low", "pi_high", "tau2_ci_high"):
        assert getattr(b, name) == pytest.approx(getattr(a, name), rel=1e-7, abs=1e-9, nan_ok=True), name


@FAST
@given(studies, st.sampled_from(METHODS), st.floats(-50, 50), st.sampled_from(CIS))
def test_shift_invariance(data, method, c, ci):
    y, se = map(np.array, data)
    a, b = _fit(y, se, method, ci), _fit(y + c, se, method, ci)
    for name in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
        assert getattr(b, name) == pytest.approx(getattr(a, name) + c, rel=1e-7, abs=1e-7), name
    for name in ("tau2", "Q", "I2", "se"):
        assert getattr(b, name) == pytest.approx(getattr(a, name), rel=1e-6, abs=1e-8), name


@FAST
@given(studies, st.sampled_from(METHODS), st.floats(0.01, 100))
def test_scale_equivariance(data, method, c):
    y, se = map(np.array, data)
    a, b = _fit(y, se, method), _fit(c * y, c * se, method)
    assert b.estimate == pytest.approx(c * a.estimate, rel=1e-6, abs=1e-8 * c)
    assert b.tau2 == pytest.approx(c * c * a.tau2, rel=1e-6, abs=1e-9 * c * c)
    assert b.Q == pytest.approx(a.Q, rel=1e-7, abs=1e-9)


@FAST
@given(studies, st.sampled_from(METHODS), st.sampled_from(CIS))
def test_basic_inequalities(data, method, ci):
    y, se = map(np.array, data)
    r = _fit(y, se, method, ci)
    assert r.tau2 >= 0
    assert r.ci_low <= r.estimate <= r.ci_high
    assert r.pi_low <= r.ci_low + 1e-12 and r.pi_high >= r.ci_high - 1e-12
    if method == "FE":
        assert r.tau2 == 0
    else:
        assert 0 <= r.tau2_ci_low <= r.tau2_ci_high
    assert 0 <= r.I2 <= 100 and r.H2 >= 1 or method == "FE"


@FAST
@given(
    st.integers(1, 8),
    st.floats(-5, 5),
    st.lists(st.floats(0.05, 2.0), min_size=8, max_size=8),
    st.sampled_from(METHODS),
)
def test_homogeneous_data_gives_zero_tau2(k, value, se, method):
    r = _fit(np.full(k, value), np.array(se[:k]), method)
    assert r.tau2 == 0.0
    assert r.Q == pytest.approx(0.0, abs=1e-20)
    assert r.I2 == 0.0


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(method="XYZ"), "`method` must be one of 'FE', 'DL', 'REML', 'ML', 'PM'; got 'XYZ'."),
        (dict(ci="t"), "`ci` must be one of 'z', 'knha'; got 't'."),
        (dict(level=1.0), "`level` must be in the open interval (0, 1)."),
        (dict(level=0.0), "`level` must be in the open interval (0, 1)."),
        (dict(level=float("nan")), "`level` must be in the open interval (0, 1)."),
        (dict(tol=0.0), "`tol` must be a finite positive number; got 0.0."),
        (dict(maxiter=0), "`maxiter` must be a positive integer; got 0."),
    ],
)
def test_option_errors(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        random_effects([0.1, 0.2], [0.1, 0.1], **kwargs)
    with pytest.raises(ValueError, match=re.escape(message)):
        random_effects_grouped([0.1, 0.2], [0.1, 0.1], [0, 0], **kwargs)


@pytest.mark.parametrize(
    "y, se, message",
    [
        ([0.1, 0.2], [0.1], "`y` and `se` must have the same length; got 2 and 1."),
        ([], [], "`y` and `se` must not be empty."),
        ([0.1, np.nan], [0.1, 0.1], "`y` must contain only finite values."),
        ([0.1, np.inf], [0.1, 0.1], "`y` must contain only finite values."),
        ([0.1, 0.2], [0.1, 0.0], "`se` must contain only finite, strictly positive values."),
        ([0.1, 0.2], [0.1, -1.0], "`se` must contain only finite, strictly positive values."),
        ([0.1, 0.2], [0.1, np.inf], "`se` must contain only finite, strictly positive values."),
        ([[0.1, 0.2]], [[0.1, 0.2]], "`y` and `se` must be one-dimensional."),
    ],
)
def test_data_errors(y, se, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        random_effects(y, se)


@pytest.mark.parametrize(
    "groups, message",
    [
        ([0, 1], "`groups` must have the same length as `y`; got 2 and 3."),
        ([0, -1, 1], "`groups` must contain non-negative group codes; got -1."),
        ([0, 0.5, 1], "`groups` must contain integer group codes."),
        ([0, np.nan, 1], "`groups` must contain integer group codes."),
        (["a", "b", "c"], "`groups` must contain integer group codes."),
    ],
)
def test_group_errors(groups, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        random_effects_grouped([0.1, 0.2, 0.3], [0.1, 0.1, 0.1], groups)


def test_integral_float_groups_accepted():
    a = random_effects_grouped([0.1, 0.2, 0.3], [0.1, 0.1, 0.1], [0.0, 1.0, 1.0])
    b = random_effects_grouped([0.1, 0.2, 0.3], [0.1, 0.1, 0.1], [0, 1, 1])
    np.testing.assert_array_equal(a.estimate, b.estimate)


# ---------------------------------------------------------------------------
# result object, docs
# ---------------------------------------------------------------------------


def test_result_object(bcg):
    res = random_effects(*bcg)
    assert isinstance(res, MetaResult)
    assert isinstance(res.estimate, float) and isinstance(res.k, int)
    assert isinstance(res.converged, bool) and isinstance(res.iterations, int)
    text = res.summary()
    assert "tau^2 = 0.3132" in text and "Q(df = 12) = 152.2330" in text
    assert "estimate=-0.7145" in repr(res)
    with pytest.raises(AttributeError):
        res.estimate = 0.0  # frozen
    grouped = random_effects_grouped(*bcg, np.zeros(13, dtype=int))
    assert "1 groups" in repr(grouped)


def test_to_dataframe(bcg):
    res = random_effects(*bcg)
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="requires pandas"):
            res.to_dataframe()
    else:
        df = res.to_dataframe()
        assert df.shape[0] == 1 and df["estimate"].iloc[0] == res.estimate


def test_tau2_ci_can_be_skipped(bcg):
    res = random_effects(*bcg, tau2_ci=False)
    assert math.isnan(res.tau2_ci_low) and r4(res.tau2) == 0.3132


def test_doctests():
    failures, tests = doctest.testmod(meta, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tests > 0 and failures == 0
