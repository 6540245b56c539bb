"""The posterior predictive interval of one more report (credscore.predictive)."""

import numpy as np
import pytest
from scipy import stats

from credscore import ClaimSet, Reliability, SourcePriors, fuse


def test_normal_claims_give_the_closed_form_predictive():
    # stated standard errors (no exact component), reliability 1 (no wild one): the posterior is
    # N(m, v) and one more report of a typical source (median se) is N(m, v + se_med²)
    rng = np.random.default_rng(0)
    se = np.array([0.5, 1.0, 1.0, 2.0, 1.5])
    y = 10 + se * rng.standard_normal(5)
    cs = ClaimSet.from_arrays(["q"] * 5, [f"s{i}" for i in range(5)], y, se=se, scales="linear")
    res = fuse(cs, SourcePriors(default=Reliability(1.0)), learn_reliability=False, diagnostics=False)
    p = res.predictive(level=0.8)
    w = 1 / se**2
    m, v = np.sum(w * y) / np.sum(w), 1 / np.sum(w)
    lo, hi = stats.norm.ppf([0.1, 0.9], m, np.sqrt(v + np.median(se) ** 2))
    assert p["report_low"][0] == pytest.approx(lo, abs=1e-6)
    assert p["report_high"][0] == pytest.approx(hi, abs=1e-6)
    assert p["level"][0] == 0.8


def test_it_covers_an_independent_report_where_the_credible_interval_cannot():
    # the "gold" is one more source's report, as in a benchmark whose truth is taken from a website
    rng = np.random.default_rng(1)
    n_q, n_s = 400, 6
    truth = rng.uniform(0, 100, n_q)
    q = np.repeat(np.arange(n_q), n_s)
    s = np.tile(np.arange(n_s), n_q)
    y = truth[q] + rng.standard_normal(len(q))
    reference = truth + rng.standard_normal(n_q)
    res = fuse(ClaimSet.from_arrays(q.astype(str), s.astype(str), y, scales="linear"), diagnostics=False)
    order = np.argsort(np.array(res.claimset.quantities, dtype=int))
    p = res.predictive()
    lo, hi, rl, rh = (p[c][order] for c in ("low", "high", "report_low", "report_high"))
    credible = np.mean((lo <= reference) & (reference <= hi))
    report = np.mean((rl <= reference) & (reference <= rh))
    assert credible < 0.7
    assert 0.86 <= report <= 0.94
    assert np.all(rl <= lo) and np.all(hi <= rh)


def test_an_end_on_a_stated_value_comes_back_as_stated():
    # sources that state the exact figure on every other quantity: one more report is that figure
    # with high probability, so both ends are the stated value itself (not a float next to it)
    rng = np.random.default_rng(2)
    recs = [{"quantity": "q", "source": f"s{i}", "value": 554.25, "precision": 0.005, "scale": "linear"}
            for i in range(6)]
    for k in range(40):
        v = float(np.round(700 + 50 * rng.standard_normal(), 2))
        recs += [{"quantity": f"o{k}", "source": f"s{i}", "value": v, "precision": 0.005, "scale": "linear"}
                 for i in range(6)]
        recs.append({"quantity": f"o{k}", "source": "noisy", "value": float(np.round(v + 3 * rng.standard_normal(), 2)),
                     "precision": 0.005, "scale": "linear"})
    res = fuse(recs, diagnostics=False)
    # the typical report is exact with probability 6/7 (the noisy source's claims count too): at
    # 80 % both ends fall on the atom, which holds 0.85 of one more report's probability
    p = res.predictive(level=0.8)
    i = list(res.claimset.quantities).index("q")
    assert p["report_low"][i] == 554.25 and p["report_high"][i] == 554.25
    # a wider level reaches into the noisy reports
    wide = res.predictive(level=0.999)
    assert wide["report_low"][i] < 554.25 < wide["report_high"][i]
