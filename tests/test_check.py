"""The truth-free check (credscore.check): leave-one-claim-out log scores and PITs, against closed
forms, by simulation, and on misspecified fits."""

import numpy as np
import pytest
from scipy import stats

from credscore import ClaimSet, Reliability, SourcePriors, fuse


def _normal_case(seed=0, n=6):
    rng = np.random.default_rng(seed)
    se = rng.uniform(0.5, 2.0, n)
    y = 10.0 + se * rng.standard_normal(n)
    cs = ClaimSet.from_arrays(["q"] * n, [f"s{i}" for i in range(n)], y, se=se, scales="linear")
    return cs, y, se


def test_log_score_and_pit_match_the_normal_closed_form():
    # no wild component (reliability 1), stated standard errors, flat prior: the claim given the
    # others is N(m_-i, se_i² + 1 / Σ_{j≠i} se_j⁻²)
    cs, y, se = _normal_case()
    res = fuse(cs, SourcePriors(default=Reliability(1.0)), learn_reliability=False, diagnostics=False)
    chk = res.check()
    w = 1.0 / se**2
    m = (np.sum(w * y) - w * y) / (np.sum(w) - w)
    v = se**2 + 1.0 / (np.sum(w) - w)
    expect_ls = stats.norm.logpdf(y, m, np.sqrt(v))
    expect_pit = stats.norm.cdf(y, m, np.sqrt(v))
    np.testing.assert_allclose(chk.claims["log_score"], expect_ls, atol=1e-6)
    np.testing.assert_allclose(chk.claims["pit"], expect_pit, atol=1e-6)
    np.testing.assert_array_equal(chk.claims["pit_low"], chk.claims["pit_high"])  # no exact atom
    assert chk.n_scored == len(y)
    assert chk.mean_log_score == pytest.approx(np.mean(expect_ls), abs=1e-6)


def _simulated(seed, noise_factor=1.0, n_q=250):
    """Sources with known error scales and 10 % wild claims; ``noise_factor`` multiplies the noise
    the claims actually have over the se they state."""
    rng = np.random.default_rng(seed)
    sd = np.array([1.0, 1.5, 2.0, 1.0, 3.0])
    truth = rng.uniform(0, 100, n_q)
    q = np.repeat(np.arange(n_q), len(sd))
    s = np.tile(np.arange(len(sd)), n_q)
    y = truth[q] + noise_factor * sd[s] * rng.standard_normal(len(q))
    return q, s, y, sd


def test_a_well_specified_learned_fit_is_calibrated_on_held_out_claims():
    q, s, y, sd = _simulated(1)
    wild = np.random.default_rng(2).random(len(y)) < 0.1
    y = np.where(wild, np.random.default_rng(3).uniform(-200, 300, len(y)), y)
    cs = ClaimSet.from_arrays(q.astype(str), s.astype(str), y, scales="linear")
    chk = fuse(cs, diagnostics=False).check()
    assert chk.pit_central == pytest.approx(0.9, abs=3 * chk.pit_central_se + 0.01)
    assert chk.verdict == "calibrated"
    assert chk.pit_ks < 0.05


def test_an_overconfident_fit_is_flagged_without_the_truth():
    # the claims state standard errors three times smaller than their real noise
    q, s, y, sd = _simulated(4, noise_factor=3.0)
    cs = ClaimSet.from_arrays(q.astype(str), s.astype(str), y, se=sd[s], scales="linear")
    chk = fuse(cs, SourcePriors(default=Reliability(1.0)), learn_reliability=False, diagnostics=False).check()
    assert chk.verdict == "overconfident"
    assert chk.pit_central < 0.6
    # and a fit whose stated errors are right is not
    q, s, y, sd = _simulated(4, noise_factor=1.0)
    cs = ClaimSet.from_arrays(q.astype(str), s.astype(str), y, se=sd[s], scales="linear")
    ok = fuse(cs, SourcePriors(default=Reliability(1.0)), learn_reliability=False, diagnostics=False).check()
    assert ok.verdict == "calibrated"
    assert ok.mean_log_score > chk.mean_log_score + 0.5


def test_lone_claims_relays_and_bounds():
    recs = [
        {"quantity": "alone", "source": "a", "value": 5.0},
        {"quantity": "q", "source": "a", "value": 100.0},
        {"quantity": "q", "source": "b", "value": 104.0},
        {"quantity": "q", "source": "c", "value": 98.0, "reported_by": "d"},
        {"quantity": "q", "source": "c", "value": 98.0, "reported_by": "e"},
        {"quantity": "q", "source": "f", "kind": "lower", "value": 90.0},
    ]
    chk = fuse(recs).check()
    ls, pit = chk.claims["log_score"], chk.claims["pit"]
    assert np.isnan(ls[0]) and np.isnan(pit[0])  # nothing predicts a lone claim
    assert np.all(np.isfinite(ls[1:4])) and np.all(np.isfinite(pit[1:4]))
    assert np.isnan(ls[4])  # the relayed repeat is not a claim of its own
    assert np.isfinite(ls[5]) and np.isnan(pit[5])  # a bound: a log score, no PIT
    assert chk.n_scored == 4
    assert "Held-out check of 4 claims" in chk.summary()


def test_scores_do_not_depend_on_claim_order():
    q, s, y, sd = _simulated(6, n_q=40)
    perm = np.random.default_rng(0).permutation(len(y))
    a = fuse(ClaimSet.from_arrays(q.astype(str), s.astype(str), y, se=sd[s], scales="linear"),
             learn_reliability=False, diagnostics=False).check()
    b = fuse(ClaimSet.from_arrays(q[perm].astype(str), s[perm].astype(str), y[perm], se=sd[s][perm], scales="linear"),
             learn_reliability=False, diagnostics=False).check()
    np.testing.assert_allclose(b.claims["log_score"], a.claims["log_score"][perm], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(b.claims["pit"], a.claims["pit"][perm], rtol=1e-9, atol=1e-12)


def test_a_discounted_claim_is_predicted_in_full_by_the_weighted_others():
    # copies discounted to a likelihood power w: the others' posterior has precision Σ_{j≠i} w_j / se_j²,
    # and claim i itself is predicted with its full error se_i
    import attrs

    from credscore.check import claim_scores
    from credscore.posterior import compute_posteriors

    cs, y, se = _normal_case(seed=3, n=5)
    res = fuse(cs, SourcePriors(default=Reliability(1.0)), learn_reliability=False, diagnostics=False)
    w = np.array([1.0, 0.5, 0.5, 0.25, 1.0])
    model = attrs.evolve(res.model, weight=w)  # per model claim
    wm = model.weight
    post = compute_posteriors(model, 128, 512)[0]
    ls, lo, hi = claim_scores(model, post)
    ym, sm = y[model.claim], se[model.claim]
    prec = wm / sm**2
    m = (np.sum(prec * ym) - prec * ym) / (np.sum(prec) - prec)
    v = sm**2 + 1.0 / (np.sum(prec) - prec)
    np.testing.assert_allclose(ls, stats.norm.logpdf(ym, m, np.sqrt(v)), atol=1e-6)
    np.testing.assert_allclose(lo, stats.norm.cdf(ym, m, np.sqrt(v)), atol=1e-6)
