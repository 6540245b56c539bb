"""Learning source reliability across quantities, copy detection, real data (issue 4)."""

import warnings

import numpy as np
import pytest
from scipy import stats

import credscore
from credscore import ClaimSet, ConvergenceWarning, ErrorScale, Reliability, SourcePriors, fuse
from credscore.datasets.synthetic import make_synthetic
from credscore.datasets.truth_discovery import data_directory, evaluate, load_dataset

pytestmark = pytest.mark.filterwarnings("ignore::credscore.GridResolutionWarning")


def _simulate_reliabilities(seed=0, n_sources=40, n_quantities=600, per=8):
    """Sources with known reliabilities; wild claims uniform over a wide range (the model's own wild law)."""
    rng = np.random.default_rng(seed)
    rho = rng.uniform(0.5, 1.0, n_sources)
    truth = rng.normal(0, 10, n_quantities)
    src = np.argsort(rng.random((n_quantities, n_sources)), axis=1)[:, :per]
    q = np.repeat(np.arange(n_quantities), per)
    s = src.ravel()
    se = np.full(q.size, 1.0)
    accurate = rng.random(q.size) < rho[s]
    y = np.where(accurate, truth[q] + rng.normal(size=q.size), truth[q] + rng.uniform(-60, 60, q.size))
    cs = ClaimSet.from_arrays(np.char.add("q", q.astype(str)), np.char.add("s", s.astype(str)), y, se=se,
                              scales="linear")
    order = np.array([int(x[1:]) for x in cs.sources])
    return cs, rho[order], truth


def test_learned_reliabilities_recover_the_simulated_ones():
    cs, rho, _ = _simulate_reliabilities()
    res = fuse(cs, SourcePriors(default=Reliability(0.75, 2)), level=0.9)
    assert res.learning.enabled and res.learning.converged
    src = res.sources
    r = np.asarray(src["reliability"])
    assert stats.spearmanr(r, rho)[0] > 0.8
    assert np.mean(np.abs(r - rho)) < 0.06
    inside = (src["reliability_low"] <= rho) & (rho <= src["reliability_high"])
    # 40 sources, 90 % intervals: expect 36 inside; 3 binomial sds is about 5.7
    assert inside.sum() >= 30, inside.sum()


def test_learning_beats_priors_only_on_unreliable_sources():
    cs, rho, truth = _simulate_reliabilities(seed=1)
    learned = fuse(cs, level=0.9)
    fixed = fuse(cs, level=0.9, learn_reliability=False)
    idx = np.array([int(q[1:]) for q in cs.quantities])
    mae_l = evaluate(learned.estimates["median"], truth[idx])["mae"]
    mae_f = evaluate(fixed.estimates["median"], truth[idx])["mae"]
    assert mae_l <= mae_f * 1.001


def test_one_quantity_per_source_gives_the_priors_only_answer():
    rng = np.random.default_rng(3)
    n = 30
    cs = ClaimSet.from_arrays(np.repeat(["a", "b", "c"], n // 3), [f"s{i}" for i in range(n)],
                              rng.normal(5, 1, n), se=rng.uniform(0.5, 1.5, n), scales="linear")
    on = fuse(cs, learn_reliability=True)
    off = fuse(cs, learn_reliability=False)
    assert on.learning.enabled and not off.learning.enabled
    for col in ("mean", "median", "low", "high", "sd"):
        np.testing.assert_allclose(on.estimates[col], off.estimates[col], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(on.claims["p_accurate"], off.claims["p_accurate"], atol=1e-12)


def test_auto_learns_only_when_a_source_spans_quantities():
    one = fuse([{"quantity": "a", "source": "x", "value": 1.0}, {"quantity": "b", "source": "y", "value": 2.0}])
    two = fuse([{"quantity": "a", "source": "x", "value": 1.0}, {"quantity": "b", "source": "x", "value": 2.0}])
    assert not one.learning.enabled and two.learning.enabled
    with pytest.raises(ValueError, match=r"^`learn_reliability` must be True, False or 'auto'; got 'yes'\.$"):
        fuse([{"quantity": "a", "source": "x", "value": 1.0}], learn_reliability="yes")
    with pytest.raises(ValueError, match=r"^`detect_copies` must be True, False or 'auto'; got 1\.5\.$"):
        fuse([{"quantity": "a", "source": "x", "value": 1.0}], detect_copies=1.5)


def test_convergence_diagnostics_and_warning():
    d = make_synthetic("peers", n_claims=3000, seed=4)
    res = fuse(d.claims, detect_copies=False)
    info = res.learning
    assert info.converged and info.iterations == len(info.history) == len(info.max_change)
    assert info.max_change[-1] < 1e-3  # the default tol
    with pytest.warns(ConvergenceWarning, match=r"learning stopped after 2 iterations"):
        res = fuse(d.claims, max_iter=2, detect_copies=False)
    assert not res.learning.converged and res.learning.iterations == 2


def test_peers_workload_outlier_sources_flagged_and_accuracy_near_oracle():
    d = make_synthetic("peers", n_claims=30_000, seed=5)
    res = fuse(d.claims, level=0.95)
    src = res.sources
    wild = np.asarray(d.sources["wild"])
    # the ten outlier sources have the ten lowest reliabilities, and their intervals sit below the others'
    assert set(np.argsort(src["reliability"])[:10]) == set(np.flatnonzero(wild))
    assert np.max(src["reliability_high"][wild]) < np.min(src["reliability"][~wild])
    assert stats.spearmanr(src["error_scale"], d.sources["error_sd"])[0] >= 0.9
    # accuracy within 5 % of the oracle that knows every sd and every gross error, and calibrated 95 % intervals
    cs = d.claims
    keep = ~d.wild
    w = keep / cs.se**2
    oracle = np.bincount(cs.quantity, w * cs.value) / np.bincount(cs.quantity, w)
    e = evaluate(res.estimates["median"], d.truth, res.estimates["low"], res.estimates["high"])
    assert e["mae"] <= 1.05 * evaluate(oracle, d.truth)["mae"]
    assert 0.935 <= e["coverage"] <= 0.965


def _copy_case(copiers: bool):
    """20 honest sources; source 'bad' states truth + 4 (4 sds) on 40 quantities; five more sources either
    copy it exactly (copiers) or state the same value independently on one quantity only."""
    rng = np.random.default_rng(7)
    nq, honest = 60, 20
    truth = rng.normal(0, 10, nq)
    rec = []
    for q in range(nq):
        for s in rng.choice(honest, 6, replace=False):
            rec.append((f"q{q}", f"h{s}", truth[q] + rng.normal(), 1.0))
        if q < 40:
            bad = truth[q] + 4.0
            rec.append((f"q{q}", "bad", bad, 1.0))
            for k in range(5):
                if copiers:
                    rec.append((f"q{q}", f"copy{k}", bad, 1.0))
                elif q == 0:
                    rec.append((f"q{q}", f"ind{k}", bad, 1.0))
                else:
                    rec.append((f"q{q}", f"ind{k}", truth[q] + rng.normal(), 1.0))
    q, s, y, se = map(np.array, zip(*rec))
    return ClaimSet.from_arrays(q, s, y.astype(float), se=se.astype(float), scales="linear"), truth


def test_copiers_of_a_bad_source_do_not_drag_the_estimate():
    cs, truth = _copy_case(copiers=True)
    res = fuse(cs, detect_copies=True)
    dep = res.dependence()
    pairs = dep.pairs(0.9)
    copy_pairs = {frozenset((a, b)) for a, b in zip(pairs["source_a"], pairs["source_b"])}
    assert frozenset(("bad", "copy0")) in copy_pairs and frozenset(("copy0", "copy3")) in copy_pairs
    assert not any(("h" in a and "h" in b) for a, b in zip(pairs["source_a"], pairs["source_b"]))
    idx = np.array([int(x[1:]) for x in cs.quantities])
    err = np.asarray(res.estimates["median"]) - truth[idx]
    bad_q = idx < 40
    undiscounted = fuse(cs, detect_copies=False)
    err_plain = np.asarray(undiscounted.estimates["median"]) - truth[idx]
    # discounted: the six identical claims count about once; without it they drag the estimate up
    assert np.mean(err[bad_q]) < 0.5 * np.mean(err_plain[bad_q])
    assert abs(np.mean(err[bad_q])) < 0.5


def test_the_same_values_from_independent_sources_do_drag():
    cs, truth = _copy_case(copiers=False)
    res = fuse(cs, detect_copies=True)
    dep = res.dependence()
    i = list(dep.sources).index("bad")
    j = list(dep.sources).index("ind0")
    assert dep.score[i, j] < 0.5  # one coincidence amid many disagreements is no copying
    q0 = res.estimate("q0").median
    # six independent sources agree on truth + 4: the estimate moves towards them
    assert q0 - truth[0] > 1.0


def test_dependence_result_object():
    cs, _ = _copy_case(copiers=True)
    dep = fuse(cs, detect_copies=True).dependence()
    lazy = fuse(cs).dependence()  # computed on demand when detection did not run
    assert lazy.score.shape == dep.score.shape and np.nanmax(lazy.score) > 0.9
    assert dep.score.shape == (cs.n_sources, cs.n_sources)
    np.testing.assert_array_equal(dep.score, dep.score.T)
    assert np.all(np.diag(dep.score) == 0)
    assert "Dependence" in repr(dep)
    with pytest.raises(ValueError, match=r"^`which` must be 'score', 'shared' or 'coincide'; got 'x'\.$"):
        dep.to_dataframe("x")


def test_partial_pooling_by_kind():
    """A source with two claims borrows its kind's record."""
    rng = np.random.default_rng(11)
    rec = []
    for q in range(80):
        t = rng.normal(0, 10)
        for k in range(4):
            rec.append({"quantity": f"q{q}", "source": f"good{k}", "value": t + rng.normal(), "se": 1.0,
                        "precision": 0, "scale": "linear", "source_kind": "agency"})
        for k in range(4):
            y = t + rng.normal() if rng.random() < 0.4 else t + rng.uniform(-50, 50)
            rec.append({"quantity": f"q{q}", "source": f"blog{k}", "value": y, "se": 1.0, "precision": 0,
                        "scale": "linear", "source_kind": "blog"})
    for q in range(2):
        for name, kind in (("new agency", "agency"), ("new blog", "blog")):
            rec.append({"quantity": f"q{q}", "source": name, "value": float(rec[8 * q]["value"]), "se": 1.0,
                        "precision": 0, "scale": "linear", "source_kind": kind})
    res = fuse(rec, SourcePriors(default=Reliability(0.6, 4)))
    src = res.sources
    r = dict(zip(src["source"], src["reliability"]))
    assert r["new agency"] > r["new blog"] + 0.2


def _data_available(name):
    return (data_directory() / name).exists()


@pytest.mark.skipif(not _data_available("population"), reason="../shared/data/population is absent (set CREDSCORE_DATA)")
def test_real_population_beats_the_median():
    d = load_dataset("population", file="claims_conflicting.csv")
    res = fuse(d.claims, level=0.9, detect_copies=False)
    e = evaluate(res.estimates["median"], d.truth, res.estimates["low"], res.estimates["high"])
    cs = d.claims
    from credscore._segments import segment_quantile

    med = segment_quantile(cs.value, cs.quantity, cs.n_quantities)
    base = evaluate(med, d.truth)
    assert e["n"] == 277
    assert e["mae"] < 0.5 * base["mae"]  # measured: 2,439 against the median's 10,378
    assert e["coverage"] > 0.85


def test_missing_dataset_has_a_clear_message(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"dataset 'flight' not found at .*; pass `directory=`"):
        load_dataset("flight", tmp_path)
    with pytest.raises(ValueError, match=r"^`name` must be one of 'population', 'flight', 'weather', 'bcg'; got 'x'\.$"):
        load_dataset("x", tmp_path)


def test_loader_keeps_every_row(tmp_path):
    (tmp_path / "population").mkdir()
    (tmp_path / "population" / "claims.csv").write_text(
        "object,source,value,year\na_2000,e1,120000,2000\na_2000,e2,0,2000\nb_2000,e1,1583,2000\n")
    (tmp_path / "population" / "truth.csv").write_text("object,value\na_2000,118000\n")
    d = load_dataset("population", tmp_path)
    assert len(d.claims) == 3
    assert d.claims.kind.tolist() == [0, 3, 0]  # the stated 0 is read as "below 0.5"
    assert d.claims.precision.tolist() == [5000, 0, 0.5]
    assert np.isnan(d.truth[1]) and d.truth[0] == 118000
