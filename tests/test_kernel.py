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
    assert np.array_equal(a.size, b.size)
    assert np.array_equal(a.attempts, b.attempts)
    assert np.array_equal(a.resolved, b.resolved)
    np.testing.assert_allclose(a.start, b.start, rtol=1e-12, atol=0)
    np.testing.assert_allclose(a.log_evidence, b.log_evidence, rtol=1e-10, atol=1e-10)
    for i in range(a.n):
        qa = a.density[a.offset[i] : a.offset[i] + a.size[i]]
        qb = b.density[b.offset[i] : b.offset[i] + b.size[i]]
        assert np.max(np.abs(qa - qb)) <= 1e-10 * np.max(qb)


def _assert_estimates_match(ra, rb):
    ea, eb = ra.estimates, rb.estimates
    sd = np.asarray(eb["sd"], dtype=float)
    tol = np.maximum(sd, 1e-300)
    for col, rel in (("mean", 1e-9), ("sd", 1e-9), ("mode", 1e-6), ("median", 1e-6), ("low", 1e-6), ("high", 1e-6)):
        diff = np.abs(np.asarray(ea[col], dtype=float) - np.asarray(eb[col], dtype=float))
        assert np.all(diff <= rel * tol), (col, diff / tol)
    np.testing.assert_allclose(ra.claims["p_accurate"], rb.claims["p_accurate"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(ea["log_evidence"], eb["log_evidence"], rtol=1e-10, atol=1e-10)


def _fuse(case, **kw):
    cs = ClaimSet.from_records(case["records"])
    return lambda: credscore.fuse(cs, case["priors"], learn_reliability=False, diagnostics=False, **kw)


@SETTINGS
@given(case=claim_cases(kinds=("point",), max_claims=12))
def test_point_claims_match_reference(case, monkeypatch_session):
    """Point claims (the kernel's own case): normal and Student-t errors, both scales."""
    ra, rb = _both(_fuse(case), monkeypatch_session)
    _assert_posteriors_match(ra.posterior, rb.posterior)
    _assert_estimates_match(ra, rb)


@SETTINGS
@given(case=claim_cases(max_claims=10))
def test_mixed_kinds_match_reference(case, monkeypatch_session):
    """Ranges, bounds and approximate values: quantities the kernel does not cover fall back to numpy."""
    ra, rb = _both(_fuse(case), monkeypatch_session)
    _assert_posteriors_match(ra.posterior, rb.posterior)
    _assert_estimates_match(ra, rb)


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
    _assert_posteriors_match(ra.posterior, rb.posterior)
    _assert_estimates_match(ra, rb)


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


def test_environment_switch_forces_numpy():
    code = "import credscore.kernel as k; print(k.enabled())"
    env = dict(os.environ, CREDSCORE_KERNEL="numpy")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
