"""credscore.methods: the shared contract, hand-computed examples, and a harness smoke run."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from credscore import ClaimSet
from credscore import methods as M
from credscore.datasets.synthetic import make_synthetic

ALL = M.available()
WITH_INTERVALS = {"mean", "weighted_mean", "catd", "gtm", "random_effects", "credscore"}
WITH_WEIGHTS = {"truthfinder", "sums", "average_log", "investment", "pooled_investment", "crh", "catd", "gtm", "kdem",
                "credscore"}


def make(name, **kw):
    if name == "credscore":
        kw.setdefault("grid_size", 64)
    return M.get(name)(**kw)


def fit_arrays(name, q, s, v, **kw):
    return make(name).fit(ClaimSet.from_arrays(q, s, v, **kw))


def by_quantity(res):
    est = res.estimates
    return {str(q): (e, lo, hi) for q, e, lo, hi in zip(est["quantity"], est["estimate"], est["low"], est["high"])}


# ---------------------------------------------------------------- registry
def test_registry_lists_every_method_of_the_issue():
    assert ALL == ["mean", "median", "trimmed_mean", "weighted_mean", "majority", "truthfinder", "sums", "average_log",
                   "investment", "pooled_investment", "crh", "catd", "gtm", "kdem", "random_effects", "credscore"]
    for name in ALL:
        cls = M.get(name)
        assert cls.name == name
        mod = sys.modules[cls.__module__]
        assert mod.__doc__ and "Numbers" in mod.__doc__  # each module states how numbers are handled


def test_get_unknown_name():
    with pytest.raises(ValueError, match=r"`name` must be one of 'mean', .*; got 'nope'\."):
        M.get("nope")


# ---------------------------------------------------------------- contract
@pytest.fixture(scope="module")
def mixed():
    """Log-scale claims with ranges, bounds, approximations and a relayed duplicate."""
    d = make_synthetic(n_claims=300, n_sources=30, claims_per_quantity=6, seed=3, scale="log", truth_mean=8.0,
                       truth_sd=1.0, error_sd=(0.05, 0.5), wild_sources=3)
    cs = d.claims
    n = len(cs)
    rng = np.random.default_rng(0)
    kind = np.array(["point"] * n, dtype=object)
    kind[rng.random(n) < 0.15] = "approx"
    low = np.full(n, np.nan)
    high = np.full(n, np.nan)
    value = cs.value.copy()
    rng_idx = np.flatnonzero(rng.random(n) < 0.1)
    kind[rng_idx] = "range"
    low[rng_idx], high[rng_idx] = value[rng_idx] * 0.9, value[rng_idx] * 1.2
    value[rng_idx] = np.nan
    up = np.flatnonzero((kind == "point") & (rng.random(n) < 0.05))
    kind[up] = "upper"
    arrays = dict(quantity=cs.quantities[cs.quantity], source=cs.sources[cs.source], value=value, kind=kind,
                  low=low, high=high, se=np.where(rng.random(n) < 0.5, cs.se, np.nan))
    # one relayed duplicate: same statement, another outlet
    for k in arrays:
        arrays[k] = np.append(arrays[k], arrays[k][:1])
    arrays["reported_by"] = np.array([None] * n + ["relay"], dtype=object)
    return arrays


@pytest.mark.parametrize("name", ALL)
def test_permutation_invariance(name, mixed):
    a = by_quantity(make(name).fit(ClaimSet.from_arrays(**mixed, scales="log")))
    perm = np.random.default_rng(1).permutation(len(mixed["quantity"]))
    b = by_quantity(make(name).fit(ClaimSet.from_arrays(**{k: v[perm] for k, v in mixed.items()}, scales="log")))
    assert a.keys() == b.keys()
    for q in a:
        np.testing.assert_allclose(a[q], b[q], rtol=1e-6, equal_nan=True, err_msg=f"{name} {q}")


@pytest.mark.parametrize("name", ALL)
def test_all_agree_gives_the_agreed_value(name):
    q = ["x"] * 4 + ["y"] * 3 + ["z"] * 5
    s = ["a", "b", "c", "d", "a", "b", "c", "a", "b", "c", "d", "e"]
    v = [42.0] * 4 + [-7.5] * 3 + [1234.5] * 5
    res = make(name).fit(ClaimSet.from_arrays(q, s, v, se=0.5))
    est = by_quantity(res)
    rtol = 1e-3 if name == "credscore" else 1e-9  # credscore's posterior lives on a grid
    for qq, want in (("x", 42.0), ("y", -7.5), ("z", 1234.5)):
        assert est[qq][0] == pytest.approx(want, rel=rtol), (name, qq)


@pytest.mark.parametrize("name", ALL)
def test_result_tables_and_ordered_bounds(name, mixed):
    res = make(name).fit(ClaimSet.from_arrays(**mixed, scales="log"))
    est, src = res.estimates, res.sources
    for col in ("quantity", "estimate", "median", "low", "high"):
        assert col in est.columns
    np.testing.assert_array_equal(est["estimate"], est["median"])
    assert np.all(np.isfinite(est["estimate"]))
    lo, e, hi = est["low"], est["estimate"], est["high"]
    has = np.isfinite(lo) & np.isfinite(hi)
    assert np.all(lo[has] <= e[has]) and np.all(e[has] <= hi[has])
    assert has.any() == (name in WITH_INTERVALS)
    assert src.columns[:2] == ("source", "weight") and len(src) == len(np.unique(mixed["source"]))
    assert np.isfinite(src["weight"]).all() == (name in WITH_WEIGHTS)


@pytest.mark.parametrize("name", ALL)
def test_bad_input(name):
    m = make(name)
    with pytest.raises(TypeError, match="`claims` must be a ClaimSet"):
        m.fit(42)
    with pytest.raises(TypeError):
        M.get(name)(no_such_option=1)


@pytest.mark.parametrize("name, kw, match", [
    ("mean", {"level": 1.5}, r"`level` must be in the open interval \(0, 1\)\."),
    ("trimmed_mean", {"proportion": 0.5}, r"`proportion` must be in the interval \[0, 0.5\); got 0.5\."),
    ("majority", {"tolerance": -1}, "`tolerance` must be non-negative"),
    ("truthfinder", {"initial_trust": 1.0}, r"`initial_trust` must be in the interval \(0, 1\)"),
    ("sums", {"max_iter": 0}, "`max_iter` must be an integer of at least 1"),
    ("investment", {"g": 0}, "`g` must be positive"),
    ("crh", {"loss": "hinge"}, "`loss` must be one of 'absolute', 'squared'; got 'hinge'."),
    ("catd", {"alpha": 0}, r"`alpha` must be in the interval \(0, 1\)"),
    ("gtm", {"sigma0": -1}, "`sigma0` must be positive"),
    ("kdem", {"bandwidth": 0}, "`bandwidth` must be positive"),
    ("random_effects", {"method": "ML"}, "`method` must be one of 'REML', 'DL'; got 'ML'."),
])
def test_bad_hyperparameters(name, kw, match):
    with pytest.raises(ValueError, match=match):
        M.get(name)(**kw)


def test_credscore_rejects_unknown_fuse_keyword():
    with pytest.raises(TypeError, match="`grid` is not a keyword of credscore.fuse"):
        M.get("credscore")(grid=3)


# ---------------------------------------------------------------- hand-computed examples
LIN = dict(scales="linear")


def test_mean_t_interval():
    res = fit_arrays("mean", ["t"] * 3, ["a", "b", "c"], [1.0, 2.0, 6.0], **LIN)
    e, lo, hi = by_quantity(res)["t"]
    half = stats.t.ppf(0.95, 2) * math.sqrt(7.0) / math.sqrt(3.0)  # sd² = (4 + 1 + 9)/2
    assert (e, lo, hi) == pytest.approx((3.0, 3.0 - half, 3.0 + half))


def test_median_and_trimmed_mean():
    v = [1.0, 2.0, 3.0, 4.0, 100.0, 7.0]
    q, s = ["t"] * 6, list("abcdef")
    assert by_quantity(fit_arrays("median", q, s, v, **LIN))["t"][0] == 3.5
    res = M.get("trimmed_mean")(proportion=0.2).fit(ClaimSet.from_arrays(q, s, v, **LIN))  # cuts 1 each end
    assert by_quantity(res)["t"][0] == pytest.approx((2 + 3 + 4 + 7) / 4)


def test_weighted_mean_hand_example():
    res = fit_arrays("weighted_mean", ["t", "t"], ["a", "b"], [1.0, 4.0], se=[1.0, 2.0], **LIN)
    e, lo, hi = by_quantity(res)["t"]
    half = stats.norm.ppf(0.95) / math.sqrt(1.25)  # weights 1 and 1/4
    assert (e, lo, hi) == pytest.approx((1.6, 1.6 - half, 1.6 + half))


def test_majority_hand_example():
    res = fit_arrays("majority", ["t"] * 5, list("abcde"), [5.0, 7.0, 7.0, 9.0, 9.0], **LIN)
    assert by_quantity(res)["t"][0] == 7.0  # tie between 7 and 9: the smaller value


def test_truthfinder_one_iteration_by_hand():
    res = M.get("truthfinder")(max_iter=1).fit(ClaimSet.from_arrays(["t"] * 3, ["a", "b", "c"], [5.0, 7.0, 7.0], **LIN))
    tau = -math.log(1 - 0.9)
    s5, s7 = tau, 2 * tau
    imp = math.exp(-2.0 / 1.0) - 0.5  # spread of [5, 7, 7] is 0, so the distance scale is 1
    c5 = 1 / (1 + math.exp(-0.3 * (s5 + 0.5 * s7 * imp)))
    c7 = 1 / (1 + math.exp(-0.3 * (s7 + 0.5 * s5 * imp)))
    np.testing.assert_allclose(res.sources["weight"], [c5, c7, c7])
    assert by_quantity(res)["t"][0] == 7.0


GRAPH = dict(quantity=["t", "t", "t", "u", "u", "u"], source=["a", "b", "c", "a", "b", "c"],
             value=[5.0, 7.0, 7.0, 1.0, 1.0, 2.0], scales="linear")


def test_sums_and_average_log_by_hand():
    # iteration 1: T = (1, 1, 1); B = (1, 2 | 2, 1) / 2; iteration 2: T = (1.5, 2, 1.5) / 2
    for name in ("sums", "average_log"):  # every source states 2 values: AverageLog's log|F| scale cancels
        res = M.get(name)(max_iter=2).fit(ClaimSet.from_arrays(**GRAPH))
        np.testing.assert_allclose(res.sources["weight"], [0.75, 1.0, 0.75])
        assert [by_quantity(res)[q][0] for q in "tu"] == [7.0, 1.0]


def test_investment_by_hand():
    b5 = 0.5**1.2  # B0 = G(H) normalised: H = (0.5, 1 | 1, 0.5)
    ta = b5 * 0.5 / 0.5 + 1.0 * 0.5 / 1.0
    tb = 1.0 * 0.5 / 1.0 + 1.0 * 0.5 / 1.0
    res = M.get("investment")(max_iter=1).fit(ClaimSet.from_arrays(**GRAPH))
    np.testing.assert_allclose(res.sources["weight"], [ta / tb, 1.0, ta / tb])
    assert [by_quantity(res)[q][0] for q in "tu"] == [7.0, 1.0]


def test_pooled_investment_by_hand():
    g = 0.5**1.4
    b_low, b_high = 0.5 * g / (g + 1.0), 1.0 / (g + 1.0)  # H = (0.5, 1) per quantity
    ta = b_low * 0.5 / 0.5 + b_high * 0.5 / 1.0
    tb = b_high * 0.5 / 1.0 * 2
    res = M.get("pooled_investment")(max_iter=1).fit(ClaimSet.from_arrays(**GRAPH))
    np.testing.assert_allclose(res.sources["weight"], [ta / tb, 1.0, ta / tb])


def test_crh_one_iteration_by_hand():
    res = M.get("crh")(max_iter=1).fit(ClaimSet.from_arrays(["t"] * 3, ["a", "b", "c"], [10.0, 11.0, 14.0], **LIN))
    # losses from the median 11: 1/sd, 0, 3/sd (sd cancels); b's zero loss is floored at 1e-12 of the total
    np.testing.assert_allclose(res.sources["weight"], [math.log(4), -math.log(1e-12), math.log(4 / 3)])
    assert by_quantity(res)["t"][0] == 11.0


def test_catd_one_iteration_by_hand():
    res = M.get("catd")(max_iter=1).fit(ClaimSet.from_arrays(["t"] * 3, ["a", "b", "c"], [10.0, 12.0, 14.0], **LIN))
    sd = math.sqrt(8 / 3)
    chi = stats.chi2.ppf(0.025, 1)
    w = np.array([chi * sd**2 / 4, chi / 1e-12, chi * sd**2 / 4])
    np.testing.assert_allclose(res.sources["weight"], w)
    e, lo, hi = by_quantity(res)["t"]
    assert e == pytest.approx(12.0)
    assert hi - e == pytest.approx(stats.norm.ppf(0.95) * sd / math.sqrt(w.sum()))


def test_gtm_one_iteration_by_hand():
    res = M.get("gtm")(max_iter=1).fit(ClaimSet.from_arrays(["t", "t"], ["a", "b"], [1.0, 3.0], **LIN))
    var_s = (2 * 10 + 1.0) / (2 * 11 + 1)  # z = (-1, 1), start at 0
    prec = 1.0 + 2 / var_s
    e, lo, hi = by_quantity(res)["t"]
    assert e == pytest.approx(2.0)
    assert hi - e == pytest.approx(stats.norm.ppf(0.95) / math.sqrt(prec))
    np.testing.assert_allclose(res.sources["weight"], [1 / var_s, 1 / var_s])


def test_kdem_one_iteration_by_hand():
    x = np.array([0.0, 1.0, 5.0])
    res = M.get("kdem")(max_iter=1, bandwidth=0.5).fit(ClaimSet.from_arrays(["t"] * 3, list("abc"), x, **LIN))
    z = (x - x.mean()) / x.std()
    k = np.exp(-0.5 * ((z[:, None] - z[None, :]) / 0.5) ** 2)
    w = np.full(3, 1 / 3)
    dist = 1 - 2 * k @ w + w @ k @ w
    np.testing.assert_allclose(res.sources["weight"], -np.log(dist / dist.sum()))
    assert by_quantity(res)["t"][0] < 1.0  # the mode of the two close claims, not the outlier


def test_random_effects_dl_by_hand():
    res = M.get("random_effects")(method="DL").fit(
        ClaimSet.from_arrays(["t", "t"], ["a", "b"], [1.0, 4.0], se=[1.0, 2.0], **LIN))
    # Q = 1.8, C = 1.25 - 1.0625/1.25 = 0.4, tau² = (1.8 - 1)/0.4 = 2; weights 1/3, 1/6
    assert by_quantity(res)["t"][0] == pytest.approx(2.0)


def test_random_effects_matches_meta_on_bcg_like_data():
    from credscore.meta import random_effects

    y = np.array([-0.89, -1.59, -1.35, -1.44, -0.22, -0.79, -1.62, 0.01, -0.47, -1.37, -0.34, 0.45, -0.02])
    se = np.array([0.57, 0.44, 0.64, 0.14, 0.23, 0.06, 0.47, 0.06, 0.26, 0.27, 0.11, 0.73, 0.27])
    res = M.get("random_effects")().fit(ClaimSet.from_arrays(["g"] * 13, [f"s{i}" for i in range(13)], y, se=se, **LIN))
    assert by_quantity(res)["g"][0] == pytest.approx(random_effects(y, se, method="REML").estimate, rel=1e-8)


def test_relays_count_once():
    q, s, v = ["t"] * 3, ["a", "a", "b"], [10.0, 10.0, 40.0]
    cs = ClaimSet.from_arrays(q, s, v, reported_by=["x", "y", None], **LIN)
    assert by_quantity(M.get("mean")().fit(cs))["t"][0] == 25.0


def test_bound_claims_use_the_bound():
    cs = ClaimSet.from_arrays(["t", "t"], ["a", "b"], [100.0, 400.0], kind=["point", "upper"], scales="log")
    assert by_quantity(M.get("mean")().fit(cs))["t"][0] == pytest.approx(200.0)  # geometric mean of 100 and 400


# ---------------------------------------------------------------- harness smoke run
def test_harness_smoke(tmp_path):
    bench = Path(__file__).resolve().parents[1] / "benchmarks"
    sys.path.insert(0, str(bench))
    try:
        import harness
    finally:
        sys.path.remove(str(bench))
    out = tmp_path / "r.md"
    rows = harness.main(["--sizes", "300", "--datasets", "peers,seed", "--in-process", "--no-peers", "--no-charts",
                         "--out", str(out)])
    ok = [r for r in rows if r["status"] == "ok"]
    assert {r["method"] for r in ok} == set(harness.OWN)
    peers = [r for r in ok if r["dataset"] == "peers"]
    assert all(np.isfinite(r["mae"]) and r["seconds"] >= 0 for r in peers)
    assert "## peers" in out.read_text() and "## seed" in out.read_text()
