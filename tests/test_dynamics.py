"""Time-aware statuses (issue 14, item 16): with a drifting value each dated claim is judged against
the value at its own date, and dynamics="auto" lets a truth-free Bayes factor choose static or drift."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import credscore
from credscore import Reliability, SourcePriors
from credscore.datasets import load_seed_case
from credscore.timeline import Drift


@pytest.fixture(scope="module")
def seed_auto():
    claims, priors = load_seed_case()
    return credscore.fuse(claims, priors, dynamics="auto")


def test_seed_1500_on_18_october_is_not_wild_when_the_value_drifts(seed_auto):
    static = credscore.fuse(*load_seed_case())
    c, s = seed_auto.claims, static.claims
    nis = int(np.flatnonzero((np.asarray(c["source"]) == "NIS (South Korea)")
                             & (np.asarray(c["quantity"]) == "nk_troops_in_russia"))[0])
    assert s["status"][nis] == "wild" and s["p_accurate"][nis] < 0.05 and s["holds"][nis] == "contradicted"
    assert c["status"][nis] != "wild" and c["p_accurate"][nis] > 0.4 and c["holds"][nis] == "holds"
    assert str(c["judged_at"][nis]) == "2024-10-18"
    # the trajectory's interval on 18 October contains 1,500
    t = seed_auto.trajectory("nk_troops_in_russia")
    j = [str(d) for d in t["date"]].index("2024-10-18")
    assert t["low"][j] <= 1500 <= t["high"][j]
    # the static estimate is kept in the numeric columns; the choice is recorded and printed
    i = seed_auto.claimset.quantity_index("nk_troops_in_russia")
    assert seed_auto.estimates["median"][i] == static.estimates["median"][i]
    assert seed_auto.estimates["dynamics"][i] == "drift" and seed_auto.estimates["drift_log_bf"][i] > 0
    assert "chosen by the data, Bayes factor" in seed_auto.summary()


def test_auto_keeps_a_fixed_value_where_the_data_do_not_favour_drift(seed_auto):
    e = seed_auto.estimates
    i = seed_auto.claimset.quantity_index("nk_troops_potential")
    assert e["dynamics"][i] == "static" and e["drift_log_bf"][i] <= 0
    rows = np.asarray(seed_auto.claims["quantity"]) == "nk_troops_potential"
    static = credscore.fuse(*load_seed_case())
    np.testing.assert_array_equal(seed_auto.claims["p_accurate"][rows], static.claims["p_accurate"][rows])
    assert all(d is None for d in seed_auto.claims["judged_at"][rows])
    # quantities with one date have no Bayes factor and stay static
    one = np.asarray(e["n_claims"]) == 1
    assert np.all(np.isnan(np.asarray(e["drift_log_bf"], float)[one])) and set(e["dynamics"][one]) == {"static"}


def test_claim_accuracy_at_its_date_matches_a_brute_force_sum():
    """P(accurate) of each claim = Σ over the joint posterior of the two dates' values of
    P(accurate | value at its date), computed here by brute force on a fine grid (Gaussian walk)."""
    recs = [{"quantity": "q", "source": "a", "value": 0.0, "se": 1.0, "precision": 0, "date": "2024-01-01",
             "scale": "linear"},
            {"quantity": "q", "source": "b", "value": 5.0, "se": 1.0, "precision": 0, "date": "2024-01-11",
             "scale": "linear"}]
    tau = 0.4
    res = credscore.fuse(recs, SourcePriors(default=Reliability(0.7, 10)),
                         dynamics=Drift(scale=tau, grid_size=4096))
    m = res.model
    x = np.linspace(m.prior_lo[0], m.prior_hi[0], 1201)
    rho = np.exp(m.log_rho)
    wild = np.exp(m.log_1mrho + m.log_wild)
    acc_part = rho[:, None] * stats.norm.pdf(x[None, :], m.centre[:, None], m.sigma[:, None])
    lik = acc_part + wild[:, None]
    order = np.argsort(res.claimset.date[m.claim])  # model positions in date order
    l1, l2 = lik[order[0]], lik[order[1]]
    K = stats.norm.pdf(x[None, :], x[:, None], tau * np.sqrt(10.0))
    joint = l1[:, None] * K * l2[None, :]
    joint /= joint.sum()
    p1, p2 = joint.sum(axis=1), joint.sum(axis=0)
    want = np.empty(2)
    want[order[0]] = np.sum(p1 * acc_part[order[0]] / l1)
    want[order[1]] = np.sum(p2 * acc_part[order[1]] / l2)
    got = np.empty(2)
    got[np.arange(2)] = np.asarray(res.claims["p_accurate"], float)[m.claim]
    np.testing.assert_allclose(got, want, atol=2e-3)
    # judged against a fixed value, the two claims 5 sds apart are both doubtful; at their dates they agree
    static = credscore.fuse(recs, SourcePriors(default=Reliability(0.7, 10)))
    assert np.all(static.claims["p_accurate"] < 0.7) and np.all(res.claims["p_accurate"] > 0.7)


def test_explicit_drift_judges_every_dated_quantity_and_errors():
    recs = [{"quantity": "q", "source": s, "value": v, "date": d} for s, v, d in
            (("a", "1,000", "2024-01-01"), ("b", "1,100", "2024-02-01"), ("c", "1,050", "2024-03-01"))]
    res = credscore.fuse(recs, dynamics="drift")
    assert res.estimates["dynamics"][0] == "drift" and np.isfinite(res.estimates["drift_log_bf"][0])
    assert [str(d) for d in res.claims["judged_at"]] == ["2024-01-01", "2024-02-01", "2024-03-01"]
    assert "judged_at" not in credscore.fuse(recs).claims
    with pytest.raises(ValueError, match="'static', 'drift', 'auto'"):
        credscore.fuse(recs, dynamics="sometimes")


def test_cli_auto_drift_prints_the_choice(tmp_path, capsys):
    import credscore.__main__ as cli

    p = tmp_path / "claims.csv"
    p.write_text("quantity,source,value,date\n"
                 "troops,a,\"1,500\",2024-10-18\ntroops,b,\"11,000\",2024-11-08\ntroops,c,\"10,900\",2024-11-21\n",
                 encoding="utf-8")
    assert cli.main(["fuse", str(p), "--auto-drift", "--full"]) == 0
    out = capsys.readouterr().out  # a free walk: 1,500 may as well be wild
    assert "(a fixed value: the data do not favour a drifting one, Bayes factor 0.6" in out
    assert cli.main(["fuse", str(p), "--drift", "--full"]) == 0
    out = capsys.readouterr().out  # drift asked for: the claims are judged at their dates
    assert "(the value changes over time (drift model): each claim is judged against the value at its own date" in out
    assert "contradicted" not in out
