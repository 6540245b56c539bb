"""The compiled per-quantity pass (credscore.kernel) against its numpy reference.

Every case is fitted twice, with the kernel and with ``credscore.kernel.ENABLED = False``
(the numpy implementation in credscore.posterior), and the two must agree: densities
and log evidence to 1e-10 relative, P(accurate) to 1e-10, moments to 1e-9 sd, mode and
quantiles to 1e-6 posterior sd.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import credscore
from credscore import ClaimSet, ErrorScale, Reliability, SourcePriors, kernel
from credscore.likelihood import build_claim_model
from credscore.posterior import compute_posteriors

from strategies import claim_cases

pytestmark = pytest.mark.skipif(not kernel.available(), reason="numba is not installed")

SETTINGS = settings(max_examples=int(os.environ.get("CREDSCORE_KERNEL_EXAMPLES", "40")), deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _both(fn, monkeypatch):
    """fn() with the kernel, then with the numpy reference."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", credscore.GridResolutionWarning)
        monkeypatch.setattr(kernel, "ENABLED", True)
        fast = fn()
        monkeypatch.setattr(kernel, "ENABLED", False)
        ref = fn()
        monkeypatch.setattr(kernel, "ENABLED", True)
    return fast, ref


def _assert_posteriors_match(a, b):
    """Same grids and densities; except where a retry's choice tied to rounding (two modes equally
    high, two claims of a symmetric pair carrying equal bumps): numpy and the kernel then settle on
    different, equally valid grids, which must give the same log evidence and (in
    _assert_estimates_match) the same estimates to the grids' own accuracy."""
    same = (a.size == b.size) & (a.attempts == b.attempts) & np.isclose(a.start, b.start, rtol=1e-12, atol=0)
    assert np.all(same | (b.attempts > 1)), "different first grids"
    assert np.array_equal(a.resolved, b.resolved)
    np.testing.assert_allclose(a.log_evidence[same], b.log_evidence[same], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(a.log_evidence, b.log_evidence, rtol=1e-8, atol=1e-8)
    for i in np.flatnonzero(same):
        qa = a.density[a.offset[i] : a.offset[i] + a.size[i]]
        qb = b.density[b.offset[i] : b.offset[i] + b.size[i]]
        assert np.max(np.abs(qa - qb)) <= 1e-10 * np.max(qb)
    return same


def _assert_estimates_match(ra, rb, same):
    """Moments to 1e-9 sd and quantiles to 1e-6 sd on the same grid (on two equally valid grids:
    1e-4 sd, the grids' own accuracy on split posteriors)."""
    ea, eb = ra.estimates, rb.estimates
    sd = np.asarray(eb["sd"], dtype=float)
    tol = np.maximum(sd, 1e-300)
    moment_rel = np.where(same, 1e-9, 1e-4)
    quantile_rel = np.where(same, 1e-6, 1e-4)
    for col, rel in (("mean", moment_rel), ("sd", moment_rel), ("median", quantile_rel), ("low", quantile_rel),
                     ("high", quantile_rel)):
        diff = np.abs(np.asarray(ea[col], dtype=float) - np.asarray(eb[col], dtype=float))
        assert np.all(diff <= rel * tol), (col, diff / tol)
    # the mode: the same, or (two modes equally high to rounding: a split of equal weight, where a
    # difference of one unit in the last place of the density picks the other) just as high
    ma, mb = np.asarray(ea["mode"], dtype=float), np.asarray(eb["mode"], dtype=float)
    for i in np.flatnonzero(np.abs(ma - mb) > 1e-6 * tol):
        if rb.posterior.atoms is not None and rb.posterior.atoms.total[i] > 0:
            raise AssertionError(("mode", i, ma[i], mb[i]))
        x, d = rb.posterior.grid(int(i))
        log_scale = ea["scale"][i] == "log"
        at = [np.interp(np.log(m) if log_scale else m, x, d) for m in (ma[i], mb[i])]
        assert abs(at[0] - at[1]) <= 1e-3 * max(at), ("mode", i, ma[i], mb[i], at)
    np.testing.assert_allclose(ra.claims["p_accurate"], rb.claims["p_accurate"], rtol=0, atol=1e-8)


def _fuse(case, **kw):
    cs = ClaimSet.from_records(case["records"])
    return lambda: credscore.fuse(cs, case["priors"], learn_reliability=False, diagnostics=False, **kw)


@SETTINGS
@given(case=claim_cases(kinds=("point",), max_claims=12))
def test_point_claims_match_reference(case, monkeypatch_session):
    """Point claims (the kernel's own case): normal and Student-t errors, both scales."""
    ra, rb = _both(_fuse(case), monkeypatch_session)
    same = _assert_posteriors_match(ra.posterior, rb.posterior)
    _assert_estimates_match(ra, rb, same)


@SETTINGS
@given(case=claim_cases(max_claims=10))
def test_mixed_kinds_match_reference(case, monkeypatch_session):
    """Ranges, bounds and approximate values: quantities the kernel does not cover fall back to numpy."""
    ra, rb = _both(_fuse(case), monkeypatch_session)
    same = _assert_posteriors_match(ra.posterior, rb.posterior)
    _assert_estimates_match(ra, rb, same)


@SETTINGS
@given(scale=st.sampled_from(["log", "linear"]), gap=st.floats(3.0, 40.0), n1=st.integers(1, 6),
       n2=st.integers(1, 6), df=st.sampled_from([None, 3.0]), seed=st.integers(0, 2**16))
def test_bimodal_splits_match_reference(scale, gap, n1, n2, df, seed, monkeypatch_session):
    """Two groups of sources stating values ``gap`` error scales apart: two modes, retries, two-centre maps."""
    rng = np.random.default_rng(seed)
    sigma = 0.05 if scale == "log" else 1.0
    base = 1000.0 if scale == "log" else 50.0
    recs = []
    for k in range(n1 + n2):
        off = (0.0 if k < n1 else gap * sigma) + rng.normal(0, sigma / 3)
        v = base * math.exp(off) if scale == "log" else base + off
        recs.append({"quantity": "q", "source": f"s{k}", "value": v, "precision": 0, "scale": scale})
    priors = SourcePriors(default=Reliability(0.8, 5.0), error=ErrorScale(sigma, df=df))
    case = {"records": recs, "priors": priors}
    ra, rb = _both(_fuse(case), monkeypatch_session)
    same = _assert_posteriors_match(ra.posterior, rb.posterior)
    _assert_estimates_match(ra, rb, same)


@pytest.fixture(scope="module")
def monkeypatch_session():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_many_quantities_with_stated_se_match_reference(monkeypatch_session):
    """The benchmark's workload in small: 2,000 quantities of 10 claims with stated se, 3 % gross errors."""
    rng = np.random.default_rng(1)
    nq, per = 2000, 10
    q = np.repeat(np.arange(nq), per)
    truth = rng.normal(0, 10, nq)
    se = np.exp(rng.uniform(np.log(0.1), np.log(3), nq * per))
    y = truth[q] + rng.normal(0, 1, nq * per) * se
    gross = rng.random(nq * per) < 0.03
    y[gross] += rng.normal(0, 30, gross.sum())
    cs = ClaimSet.from_arrays(np.char.add("q", q.astype(str)), np.char.add("s", (q % 7).astype(str)), y, se=se,
                              scales="linear")
    model = build_claim_model(cs)
    assert kernel.eligible_quantities(model).all()
    (pa, acc_a, r1a, r2a), (pb, acc_b, r1b, r2b) = _both(
        lambda: compute_posteriors(model, residuals=True), monkeypatch_session)
    _assert_posteriors_match(pa, pb)
    np.testing.assert_allclose(acc_a, acc_b, rtol=0, atol=1e-10)
    np.testing.assert_allclose(r1a, r1b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(r2a, r2b, rtol=1e-9, atol=1e-12)
    # most of them are the kernel's: one attempt on the first grid
    assert np.mean(pa.attempts == 1) > 0.95
    probs = [0.5, 0.05, 0.95]
    e = np.zeros(pa.n, dtype=bool)  # (exp=True, the log-scale summaries, is exercised by the fits above)
    (ma, sa, mo_a, qa), (mb, sb, mo_b, qb) = _both(lambda: pa.summaries(probs, e), monkeypatch_session)
    assert np.all(np.abs(ma - mb) <= 1e-9 * sb)
    assert np.all(np.abs(sa - sb) <= 1e-9 * sb)
    assert np.all(np.abs(mo_a - mo_b) <= 1e-6 * sb)
    assert np.all(np.abs(qa - qb) <= 1e-6 * sb[:, None])


def test_eligibility_is_per_quantity():
    """A quantity with a range claim goes to numpy; its neighbours of points stay compiled."""
    recs = [{"quantity": "a", "source": "s1", "value": 10.0, "precision": 0, "scale": "linear", "se": 1.0},
            {"quantity": "a", "source": "s2", "value": 11.0, "precision": 0, "scale": "linear", "se": 1.0},
            {"quantity": "b", "source": "s1", "low": 5.0, "high": 9.0, "scale": "linear"},
            {"quantity": "b", "source": "s2", "value": 7.0, "precision": 0, "scale": "linear", "se": 1.0}]
    model = build_claim_model(ClaimSet.from_records(recs))
    assert kernel.eligible_quantities(model).tolist() == [True, False]


def test_vectorised_exp_is_accurate():
    """The branch-free exp of the kernel agrees with libm's to a few units in the last place."""
    t = np.concatenate([np.linspace(-700, 700, 100_001), [-1e-300, 0.0, 1e-300, 40.0, -40.0]])
    e = np.empty_like(t)
    kv = np.empty_like(t)
    pb = np.empty(len(t), dtype=np.int64)
    kernel._exp_array(t, e, kv, kv.view(np.int64), pb, pb.view(np.float64))
    np.testing.assert_allclose(e, np.exp(t), rtol=4e-16, atol=0)
    # below e^-708 the result is subnormal, and below e^-745.2 it is 0, as libm's
    t = np.array([-708.5, -720.0, -740.0, -745.0, -746.0, -800.0, -1e300, -np.inf])
    e = np.empty_like(t)
    kv = np.empty_like(t)
    pb = np.empty(len(t), dtype=np.int64)
    kernel._exp_array(t, e, kv, kv.view(np.int64), pb, pb.view(np.float64))
    np.testing.assert_allclose(e, np.exp(t), rtol=1e-12, atol=1e-322)
    assert np.all(e[-3:] == 0.0)


def test_environment_switch_forces_numpy():
    code = "import credscore.kernel as k; print(k.enabled())"
    env = dict(os.environ, CREDSCORE_KERNEL="numpy")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
