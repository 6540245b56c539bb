"""The simulated scenarios of issue 11 ("Generality"): seeded, sized, with the structure each documents."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import credscore
from credscore.claims import KINDS, parse_number
from credscore.datasets.synthetic import LAWS, SIMULATED, integer_half_width, make_synthetic

NAMES = list(SIMULATED)


def _columns(d):
    cs = d.claims
    return [cs.quantity, cs.source, cs.kind, cs.value, cs.low, cs.high, cs.precision, d.truth, d.wild]


@pytest.mark.parametrize("name", NAMES)
def test_seeded_and_reproducible(name):
    a, b = make_synthetic(name, n_claims=1500, seed=3), make_synthetic(name, n_claims=1500, seed=3)
    for x, y in zip(_columns(a), _columns(b)):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(a.claims.quantities, b.claims.quantities)
    c = make_synthetic(name, n_claims=1500, seed=4)
    assert len(a.claims) != len(c.claims) or not np.array_equal(a.claims.value, c.claims.value, equal_nan=True)


@pytest.mark.parametrize("name", NAMES)
def test_common_shape(name):
    d = make_synthetic(name, n_claims=3000, seed=1)
    cs = d.claims
    assert d.scenario == name
    assert 0.9 * 3000 <= len(cs) <= 1.1 * 3000  # sizes are settable (about n_claims)
    assert len(d.truth) == len(d.attribute) == cs.n_quantities and np.all(np.isfinite(d.truth))
    assert len(d.sources) == cs.n_sources and np.array_equal(d.sources["source"].astype(str), cs.sources.astype(str))
    assert len(d.wild) == len(d.claim_info) == len(cs)
    for col in ("source", "error_sd", "wild", "understates", "copies"):
        assert col in d.sources
    pairs = cs.quantity.astype(np.int64) * cs.n_sources + cs.source
    assert np.unique(pairs).size == len(cs)  # a source states a quantity once
    if hasattr(cs, "attributes"):  # the claims name their attribute once ClaimSet takes one
        named = np.asarray(cs.attributes)[np.asarray(cs.quantity_attribute)]
        np.testing.assert_array_equal(named.astype(str), d.attribute.astype(str))


@pytest.mark.parametrize("name", [n for n in NAMES if n != "long_tail"])
def test_sizes(name):
    d = make_synthetic(name, n_quantities=40, seed=2)
    assert d.claims.n_quantities == (39 if name == "biased" else 40)  # biased: whole items of 3 attributes
    d = make_synthetic(name, n_claims=800, n_sources=20 if name != "copied_wrong" else 12, seed=2)
    assert d.claims.n_sources <= 20


def test_hedged_log_writes_numbers_as_people_do():
    d = make_synthetic("hedged_log", n_claims=8000, seed=5)
    cs = d.claims
    assert cs.log_scale.all() and np.all(d.truth >= 100) and np.all(d.truth == np.round(d.truth))
    share = np.bincount(cs.kind, minlength=len(KINDS)) / len(cs)
    np.testing.assert_allclose(share, [0.55, 0.15, 0.10, 0.10, 0.10], atol=0.03)
    pt = cs.kind <= 1
    v = cs.value[pt]
    assert np.all(v >= 1) and np.all(v == np.round(v))
    # at most 3 significant figures, and the precision is the one the written integer implies
    digits = np.array([len(str(int(x)).rstrip("0")) for x in v])
    assert digits.max() == 3 and np.mean(digits == 1) > 0.2
    only = cs.kind == 0  # (an approx claim's precision also holds its widening)
    assert all(parse_number(f"{int(x):,}")[1] == p for x, p in zip(cs.value[only][:500], cs.precision[only][:500]))
    rg = cs.kind == KINDS.index("range")
    assert np.all(cs.low[rg] < cs.high[rg]) and np.all(cs.low[rg] >= 1)
    # hedges point the honest way: a non-wild bound usually holds, a non-wild range usually contains the truth
    t = d.truth[cs.quantity]
    up, lo = (cs.kind == KINDS.index("upper")) & ~d.wild, (cs.kind == KINDS.index("lower")) & ~d.wild
    assert np.mean(t[up] <= cs.value[up]) > 0.75 and np.mean(t[lo] >= cs.value[lo]) > 0.75
    assert np.mean((cs.low[rg & ~d.wild] <= t[rg & ~d.wild]) & (t[rg & ~d.wild] <= cs.high[rg & ~d.wild])) > 0.75
    # wild claims: 10 % of the sources at 30 %, the others at 2 %; a factor 3 or more off
    ws = np.asarray(d.sources["wild"])[cs.source]
    assert 0.25 < d.wild[ws].mean() < 0.35 and 0.01 < d.wild[~ws].mean() < 0.03
    c = np.where(pt, cs.value, np.nan)
    assert np.all(np.abs(np.log(c[pt & d.wild] / t[pt & d.wild])) > np.log(2.0))


def test_copiers_state_exactly_the_wrong_sources_values():
    d = make_synthetic("copied_wrong", n_claims=6000, seed=7)
    cs = d.claims
    src = cs.sources.astype(str)
    s0 = int(np.flatnonzero(src == "s0")[0])
    copiers = np.flatnonzero(d.sources["copies"] == "s0")
    assert copiers.size == 6 and set(src[copiers]) == {f"s{i}" for i in range(11, 17)}
    wrong = np.full(cs.n_quantities, np.nan)
    wrong[cs.quantity[cs.source == s0]] = cs.value[cs.source == s0]
    copied = np.asarray(d.claim_info["copied"])
    is_copier = np.isin(cs.source, copiers)
    assert np.array_equal(copied & is_copier, copied)
    np.testing.assert_array_equal(cs.value[copied], wrong[cs.quantity[copied]])
    assert 0.75 < copied[is_copier].mean() < 0.85
    # copiers claim exactly the quantities s0 claims; s0 misses every truth by 10 to 60
    assert np.array_equal(np.unique(cs.quantity[is_copier]), np.unique(cs.quantity[cs.source == s0]))
    miss = np.abs(cs.value[cs.source == s0] - d.truth[cs.quantity[cs.source == s0]])
    assert miss.min() >= 10 and miss.max() <= 60
    # honest exact claims state the truth; the wrong bloc outnumbers them on many quantities
    exact = np.asarray(d.claim_info["exact"])
    np.testing.assert_array_equal(cs.value[exact], d.truth[cs.quantity[exact]])
    n_wrong = np.bincount(cs.quantity, weights=cs.value == wrong[cs.quantity], minlength=cs.n_quantities)
    n_true = np.bincount(cs.quantity, weights=exact, minlength=cs.n_quantities)
    assert np.mean(n_wrong > n_true) > 0.5
    assert np.all(cs.precision == 0.5) and np.all(cs.value == np.round(cs.value))
    assert "s0" in src and not cs.log_scale.any()


def test_copied_wrong_needs_an_honest_source():
    with pytest.raises(ValueError, match=r"^`n_sources` must exceed `copiers` \+ 1 \(the wrong source and at least "
                                         r"one honest one\)\.$"):
        make_synthetic("copied_wrong", n_sources=7, copiers=6)


def test_long_tail_activity():
    d = make_synthetic("long_tail", n_claims=10000, seed=3)
    cs = d.claims
    act = np.bincount(cs.source, minlength=cs.n_sources)
    np.testing.assert_array_equal(act, d.sources["n_claims"])
    assert np.mean(act == 1) > 0.5 and np.mean(act <= 2) > 0.7  # most sources make one or two claims
    assert act.max() > 100 * np.median(act)  # a few make many
    top = np.sort(act)[::-1]
    assert top[: max(1, act.size // 100)].sum() > 0.2 * len(cs)  # the top 1 % of sources make > 20 % of the claims
    ws = np.asarray(d.sources["wild"])[cs.source]
    assert not np.any(d.wild & ~ws) and 0.4 < d.wild[ws].mean() < 0.6
    assert np.all(cs.precision == 0.05)


def test_biased_sources_have_consistent_biases_per_attribute():
    d = make_synthetic("biased", n_claims=15000, seed=4)
    cs = d.claims
    attrs_ = ("temperature", "humidity", "price")
    assert set(d.attribute) == set(attrs_)
    assert all(q.split("|")[1] == a for q, a in zip(cs.quantities, d.attribute))
    np.testing.assert_array_equal(cs.log_scale, d.attribute == "price")
    a = d.attribute[cs.quantity]
    t = d.truth[cs.quantity]
    price = a == "price"
    resid = cs.value - t
    resid[price] = np.log(cs.value[price] / t[price])
    for name in attrs_:
        b = np.asarray(d.sources[f"bias[{name}]"], dtype=float)
        assert abs(np.mean(b == 0) - 0.4) < 0.05 and abs(np.sum(b > 0) - np.sum(b < 0)) <= 1
        m = a == name
        mean_resid = np.bincount(cs.source[m], weights=resid[m], minlength=cs.n_sources) / np.bincount(
            cs.source[m], minlength=cs.n_sources)
        # the claims' mean error per source is its bias (up to noise and clipping)
        sd = np.asarray(d.sources[f"error_sd[{name}]"], dtype=float)
        assert np.corrcoef(mean_resid, b)[0, 1] > 0.97
        assert np.all(np.abs(mean_resid - b) < 5 * sd / np.sqrt(np.bincount(cs.source[m])) + 0.5 * (name == "humidity"))
    np.testing.assert_array_equal(d.claim_info["attribute"], a)


def test_crowd_answers_are_bounded_round_and_coincide_by_chance():
    d = make_synthetic("crowd", n_claims=10000, seed=6)
    cs = d.claims
    v = cs.value
    assert np.all((v >= 0) & (v <= 100)) and np.all(v == np.round(v)) and np.all(cs.precision == 0.5)
    assert np.all((d.truth >= 0) & (d.truth <= 100))
    assert np.mean(v % 5 == 0) > 0.55 and np.mean(v % 10 == 0) > 0.35  # mostly round answers
    # answers coincide on most items, although the truth is a real number that nobody states
    n_unique = np.array([np.unique(v[cs.quantity == q]).size for q in range(200)])
    assert np.mean(n_unique < 10) > 0.9
    # per-worker bias: the non-spammers' mean error tracks it
    spam = np.asarray(d.sources["wild"])
    np.testing.assert_array_equal(d.wild, spam[cs.source])
    err = v - d.truth[cs.quantity]
    n = np.bincount(cs.source, minlength=cs.n_sources)
    mean_err = np.bincount(cs.source, weights=err, minlength=cs.n_sources) / np.maximum(n, 1)
    ok = ~spam & (n >= 30)
    assert np.corrcoef(mean_err[ok], d.sources["bias"][ok])[0, 1] > 0.8
    assert n.max() > 4 * np.median(n)  # some workers rate far more items than others


def test_misspecified_errors_follow_their_laws():
    d = make_synthetic("misspecified", n_claims=20000, seed=8)
    cs = d.claims
    sd = np.asarray(d.sources["error_sd"], dtype=float)[cs.source]
    z = (cs.value - d.truth[cs.quantity]) / sd
    law = np.asarray(d.claim_info["law"])
    assert set(law) == set(LAWS) and set(d.sources["law"]) == set(LAWS)

    def kurt(x):
        return np.mean((x - x.mean()) ** 4) / np.var(x) ** 2 - 3

    assert np.all(np.abs(z[law == "uniform"]) <= np.sqrt(3) + 0.005 / sd[law == "uniform"].min())
    assert kurt(z[law == "uniform"]) < -1.0
    assert 2.0 < kurt(z[law == "laplace"]) < 4.5
    assert kurt(z[law == "scale_mixture"]) > 8
    for name in LAWS:  # every law has median zero
        assert abs(np.median(z[law == name])) < 0.1
    sk = law == "skewed"
    sign = np.asarray(d.sources["skew_sign"], dtype=float)[cs.source[sk]]
    zs = z[sk] * sign
    assert np.mean((zs - zs.mean()) ** 3) / np.std(zs) ** 3 > 1.5  # skewed the way its source leans
    assert not cs.log_scale.any()


@pytest.mark.parametrize("kwargs, message", [
    (dict(scenario="crowd", wild_rate=0.5), r"^`wild_rate` does not apply to scenario 'crowd'; it takes `n_claims`, "
                                            r"`n_quantities`, `n_sources`, `claims_per_quantity` and `seed`\.$"),
    (dict(scenario="long_tail", n_sources=5), r"^`n_sources` does not apply to scenario 'long_tail'; it takes "
                                              r"`n_claims`, `n_quantities` and `seed`\.$"),
    (dict(scenario="hedged_log", n_claims=0), r"^`n_claims` must be an integer >= 1; got 0\.$"),
    (dict(scenario="crowd", n_sources=5), r"^`claims_per_quantity` must be between 1 and `n_sources`\.$"),
])
def test_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_synthetic(**kwargs)


@given(st.integers(0, 10**15))
@settings(max_examples=200, deadline=None)
def test_integer_half_width_reads_integers_as_parse_number_does(v):
    assert integer_half_width(np.array([v]))[0] == parse_number(str(v))[1]


@pytest.mark.parametrize("name", NAMES)
def test_valid_input_for_fuse(name):
    d = make_synthetic(name, n_claims=300, seed=0)
    res = credscore.fuse(d.claims)
    est = res.estimates
    assert len(est) == d.claims.n_quantities
    np.testing.assert_array_equal(np.asarray(est["quantity"]).astype(str), d.claims.quantities.astype(str))
    med, lo, hi = (np.asarray(est[c], dtype=float) for c in ("median", "low", "high"))
    assert np.all(np.isfinite(med)) and np.all(lo <= med) and np.all(med <= hi)
