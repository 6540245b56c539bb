"""Simulation-based calibration of credscore.fuse.

Quantities are drawn from the model itself: each quantity's truth x (model
space) from an explicit normal prior N(m, s²), passed to fuse as
``QuantityPrior(mean, sd)`` (the default flat prior's support depends on the
claims, so it cannot be sampled from); 2-12 claims per quantity by sources of
known reliability r_s (``Reliability(mean=r_s, ...)``, so that the plug-in ρ
is the true ρ); accurate claims are x + N(0, σ_c²) with the stated ``se``
(σ_c, converted to natural units), exact points (``precision=0``).

(a) ρ = 1, the exact model: the 90 % intervals must cover the truth 90 % of
    the time, within 3 binomial standard errors.
(b) reliabilities in [0.6, 1.0], wild claims uniform over the fixed range
    m ± 8 s (the model's wild range is the claims' extent ± a margin: slightly
    misspecified): coverage within 0.90 ± max(3 binomial SEs, 0.02).
(c) misspecified wild claims (the truth × 3, a consistent inflation; or
    Cauchy errors around the truth): coverage is reported, not asserted.

Half the quantities are on a log scale, half on a linear one (a and b). One
fuse() call per scenario, with every quantity at once.
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
import pytest

from credscore import GridResolutionWarning, QuantityPrior, Reliability, SourcePriors, fuse

LEVEL = 0.9
N_SOURCES = 30
SEED = 20240917


def simulate(rng, n_q, *, rho_range=(1.0, 1.0), wild="uniform", log_share=0.5):
    """Claims, priors and truths for ``n_q`` quantities drawn from the model.

    ``wild``: 'uniform' (uniform over m ± 8 s, model space), 'inflated'
    (the truth × 3, i.e. x + ln 3 on log quantities, x + 3 s on linear ones)
    or 'cauchy' (x + 3 σ_c · Cauchy).
    """
    r_s = rng.uniform(*rho_range, N_SOURCES) if rho_range[0] < 1.0 else np.ones(N_SOURCES)
    priors = SourcePriors(
        default=Reliability(1.0, 10),
        sources={f"src{j}": Reliability(float(r_s[j]), 20.0) for j in range(N_SOURCES)},
    )
    is_log = rng.random(n_q) < log_share
    # prior of each quantity (model space) and its truth
    m = np.where(is_log, np.log(10.0) * rng.uniform(1.0, 7.0, n_q), rng.uniform(-100.0, 100.0, n_q))
    s = np.where(is_log, rng.uniform(0.3, 1.5, n_q), rng.uniform(1.0, 20.0, n_q))
    x = m + s * rng.standard_normal(n_q)
    k = rng.integers(2, 13, n_q)

    q_of = np.repeat(np.arange(n_q), k)
    n_c = len(q_of)
    src = rng.integers(0, N_SOURCES, n_c)
    lg = is_log[q_of]
    sig = np.where(lg, rng.uniform(0.05, 0.6, n_c), s[q_of] * rng.uniform(0.05, 0.8, n_c))
    y = x[q_of] + sig * rng.standard_normal(n_c)
    accurate = rng.random(n_c) < r_s[src]
    if wild == "uniform":
        y_wild = m[q_of] + s[q_of] * rng.uniform(-8.0, 8.0, n_c)
    elif wild == "inflated":
        y_wild = x[q_of] + np.where(lg, math.log(3.0), 3.0 * s[q_of])
    elif wild == "cauchy":
        # clipped at 200 prior sds (keeps exp() finite; a Cauchy draw beyond is as wild either way)
        y_wild = x[q_of] + np.clip(3.0 * sig * rng.standard_cauchy(n_c), -200.0 * s[q_of], 200.0 * s[q_of])
    else:
        raise ValueError(wild)
    y = np.where(accurate, y, y_wild)
    value = y.copy()
    value[lg] = np.exp(y[lg])
    se = np.where(lg, sig * value, sig)  # se / value = σ_c on log quantities

    records = [
        {"quantity": f"q{i}", "source": f"src{j}", "value": float(v), "se": float(e), "precision": 0,
         "scale": "log" if l else "linear"}
        for i, j, v, e, l in zip(q_of.tolist(), src.tolist(), value.tolist(), se.tolist(), lg.tolist())
    ]
    qpriors = {
        f"q{i}": QuantityPrior(mean=float(math.exp(m[i]) if is_log[i] else m[i]), sd=float(s[i])) for i in range(n_q)
    }
    truth = np.where(is_log, np.exp(x), x)
    return records, priors, qpriors, truth, is_log, float(np.mean(~accurate))


def coverage(records, priors, qpriors, truth, is_log, level=LEVEL):
    """Coverage of the equal-tailed ``level`` intervals (all, log, linear), and run facts."""
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GridResolutionWarning)
        res = fuse(records, priors, level=level, quantity_priors=qpriors, learn_reliability=False)
    secs = time.perf_counter() - t0
    idx = np.array([res.claimset.quantity_index(f"q{i}") for i in range(len(truth))])
    low, high = np.asarray(res.estimates["low"])[idx], np.asarray(res.estimates["high"])[idx]
    hit = (low <= truth) & (truth <= high)
    resolved = np.asarray(getattr(res.posterior, "resolved", np.ones(res.claimset.n_quantities, bool)))[idx]
    info = {
        "secs": secs, "n_claims": len(records), "unresolved": int((~resolved).sum()),
        "cov_unresolved": float(hit[~resolved].mean()) if (~resolved).any() else float("nan"),
        "grid_warnings": sum(issubclass(w.category, GridResolutionWarning) for w in caught),
    }
    return float(hit.mean()), float(hit[is_log].mean()), float(hit[~is_log].mean()), info


def _report(record_property, name, n, cov, cov_log, cov_lin, info, wild_share, level=LEVEL):
    se = math.sqrt(level * (1 - level) / n)
    msg = (f"[calibration {name}] {n} quantities, {info['n_claims']} claims ({wild_share:.1%} wild): "
           f"coverage of {level:.0%} intervals {cov:.4f} (log {cov_log:.4f}, linear {cov_lin:.4f}); "
           f"binomial SE {se:.4f} ({(cov - level) / se:+.1f} SE); "
           f"{info['unresolved']} unresolved grids (their coverage {info['cov_unresolved']:.3f}); "
           f"fuse {info['secs']:.2f} s")
    print("\n" + msg)
    record_property(f"coverage_{name}", round(cov, 4))
    record_property(f"coverage_{name}_log", round(cov_log, 4))
    record_property(f"coverage_{name}_linear", round(cov_lin, 4))
    record_property(f"unresolved_{name}", info["unresolved"])
    return se


@pytest.mark.parametrize("level", [0.9, 0.5])
def test_calibration_exact_model(record_property, level):
    """(a) ρ = 1: the model is exact; the intervals cover ``level`` ± 3 binomial SEs."""
    n = 5000
    rng = np.random.default_rng(SEED)
    recs, priors, qp, truth, is_log, wild_share = simulate(rng, n)
    cov, cov_log, cov_lin, info = coverage(recs, priors, qp, truth, is_log, level)
    se = _report(record_property, f"exact_{level:.0%}", n, cov, cov_log, cov_lin, info, wild_share, level)
    assert wild_share == 0.0
    assert abs(cov - level) <= 3 * se, cov
    # each half on its own (wider band: fewer quantities)
    for c, share in ((cov_log, is_log.mean()), (cov_lin, 1 - is_log.mean())):
        assert abs(c - level) <= 3 * math.sqrt(level * (1 - level) / (n * share)), c
    assert info["unresolved"] == 0


def test_calibration_mixture(record_property):
    """(b) reliabilities in [0.6, 1]; wild claims uniform on m ± 8 s (slightly misspecified)."""
    n = 5000
    rng = np.random.default_rng(SEED + 1)
    recs, priors, qp, truth, is_log, wild_share = simulate(rng, n, rho_range=(0.6, 1.0), wild="uniform")
    cov, cov_log, cov_lin, info = coverage(recs, priors, qp, truth, is_log)
    se = _report(record_property, "mixture", n, cov, cov_log, cov_lin, info, wild_share)
    assert 0.1 < wild_share < 0.3
    assert abs(cov - LEVEL) <= max(3 * se, 0.02), cov


@pytest.mark.parametrize("wild", ["inflated", "cauchy"])
def test_calibration_misspecified_wild_report(record_property, wild):
    """(c) wild claims from another distribution than the model's: reported, not asserted."""
    n = 2000
    rng = np.random.default_rng(SEED + 2 + (wild == "cauchy"))
    recs, priors, qp, truth, is_log, wild_share = simulate(rng, n, rho_range=(0.6, 1.0), wild=wild)
    cov, cov_log, cov_lin, info = coverage(recs, priors, qp, truth, is_log)
    _report(record_property, f"misspecified_{wild}", n, cov, cov_log, cov_lin, info, wild_share)
    assert 0.0 <= cov <= 1.0
