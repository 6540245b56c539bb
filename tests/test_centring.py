"""The bias centre's uncertainty (credscore.centring) and the centring of learned biases."""

import numpy as np
import pytest
from scipy import stats

import credscore
from credscore import ClaimSet
from credscore.centring import centre_variance, convolved_quantiles


def _biased_draw(seed, nq=60, ns=8, bias_sd=3.0):
    """ns sources with biases N(0, bias_sd²) and noise N(0, 1), each stating every quantity."""
    rng = np.random.default_rng(seed)
    truth = rng.normal(50, 10, nq)
    bias = rng.normal(0, bias_sd, ns)
    v = truth[None, :] + bias[:, None] + rng.normal(0, 1, (ns, nq))
    cs = ClaimSet.from_arrays(np.tile(np.arange(nq).astype(str), ns), np.repeat([f"s{k}" for k in range(ns)], nq),
                              np.round(v.ravel(), 2), precision=0.005, scales="linear")
    return cs, truth, bias


def test_centre_variance_closed_form():
    b = np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 3.0])
    w = np.array([1.0, 2.0, 3.0, 1.0, 2.0, 3.0])
    attr = np.array([0, 0, 0, 1, 1, 1])
    v = centre_variance(attr, b, w, 2)
    for a in (0, 1):
        m = attr == a
        mean = np.average(b[m], weights=w[m])
        var_b = np.average((b[m] - mean) ** 2, weights=w[m])
        s_eff = w[m].sum() ** 2 / (w[m] ** 2).sum()
        assert v[a] == pytest.approx(np.pi / 2 * var_b / s_eff, rel=1e-12)
    # shifting every bias changes nothing; no claims, no variance
    np.testing.assert_allclose(centre_variance(attr, b + 7.0, w, 2), v, rtol=1e-12)
    assert centre_variance(attr, b, np.zeros(6), 2).tolist() == [0.0, 0.0]


def test_convolved_quantiles_of_a_normal_posterior():
    # four normal point claims with a stated se and a flat prior: a normal posterior; convolved
    # with N(0, v) its quantiles are mean ± z sqrt(sd² + v)
    recs = [{"quantity": "q", "source": f"s{k}", "value": x, "precision": 0, "se": 2.0}
            for k, x in enumerate([10.0, 12.0, 11.0, 13.5])]
    r = credscore.fuse(ClaimSet.from_records(recs, scales="linear"), learn_reliability=False, diagnostics=False)
    e = r.estimates
    mean, sd = float(e["mean"][0]), float(e["sd"][0])
    for v in (0.25, 1.0, 9.0):
        which, q = convolved_quantiles(r.posterior, np.array([0]), np.array([v]), [0.05, 0.5, 0.95], np.array([sd]))
        assert which.tolist() == [0]
        z = stats.norm.ppf([0.05, 0.5, 0.95])
        # (the claims' wild component gives the posterior slightly heavier tails than a normal)
        np.testing.assert_allclose(q[0], mean + z * np.sqrt(sd * sd + v), atol=2e-3 * sd)
    # a vanishing shift gives back the posterior's own quantiles, to the piecewise-linear reading of
    # the density between the grid's nodes (the posterior's own quantiles use a quintic one)
    which, q = convolved_quantiles(r.posterior, np.array([0]), np.array([1e-10]), [0.05, 0.5, 0.95], np.array([0.0]))
    own = [float(e[c][0]) for c in ("low", "median", "high")]
    np.testing.assert_allclose(q[0], own, atol=1e-3 * sd)


def test_atoms_are_not_shifted():
    # ten sources state 500 exactly beside one noisy claim: the exact truth carries no bias, so an
    # interval held by the atom stays on it however uncertain the centre
    recs = [{"quantity": "q", "source": f"s{k}", "value": 500, "precision": 0.5} for k in range(10)]
    recs.append({"quantity": "q", "source": "odd", "value": 530, "precision": 0.5})
    r = credscore.fuse(ClaimSet.from_records(recs, scales="linear"), learn_reliability=False, diagnostics=False)
    x, p = r.posterior.atoms_of(0)
    assert p.max() > 0.97
    which, q = convolved_quantiles(r.posterior, np.array([0]), np.array([100.0]), [0.05, 0.95], np.array([1.0]))
    np.testing.assert_array_equal(q[0], [x[np.argmax(p)]] * 2)


def test_learned_biases_stay_centred():
    # the frozen-median centring pushed all eight biases to about +27 and every estimate 27.7 off
    cs, truth, bias = _biased_draw(0)
    r = credscore.fuse(cs, diagnostics=False)
    learned = np.asarray(r.sources["bias"], float)
    offset = np.mean(np.asarray(r.estimates["median"], float) - truth)
    assert abs(np.median(learned)) < 1.0
    assert abs(offset) < 3.0
    assert np.corrcoef(learned, bias)[0, 1] > 0.95


def test_intervals_include_the_centre_uncertainty_calibrated():
    """Calibration by simulation: the estimates of one draw share the draw's bias offset (the
    median of its eight sources' true biases), which more claims never remove. Over 30 draws the
    90 % intervals cover 0.86 of the truths (without the centre's uncertainty: 0.54)."""
    cover, sds = [], []
    for seed in range(30):
        cs, truth, _ = _biased_draw(seed)
        e = credscore.fuse(cs, diagnostics=False).estimates
        lo, hi = np.asarray(e["low"], float), np.asarray(e["high"], float)
        cover.append(np.mean((lo <= truth) & (truth <= hi)))
        sds.append(float(e["centre_sd"][0]))
    assert 0.8 <= np.mean(cover) <= 0.97
    # the reported centre sd is the theory's 1.25 × 3 / √8 ≈ 1.33, give or take the draws
    assert 0.8 < np.median(sds) < 1.6
