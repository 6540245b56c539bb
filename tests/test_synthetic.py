"""The synthetic generator: seeded, scenario knobs, explicit overrides, structure of the claims."""

import numpy as np
import pytest

from credscore.datasets.synthetic import DEFAULTS, SCENARIOS, make_synthetic


def test_seeded_and_reproducible():
    a, b = make_synthetic("peers", n_claims=2000, seed=3), make_synthetic("peers", n_claims=2000, seed=3)
    np.testing.assert_array_equal(a.claims.value, b.claims.value)
    np.testing.assert_array_equal(a.truth, b.truth)
    c = make_synthetic("peers", n_claims=2000, seed=4)
    assert not np.array_equal(a.claims.value, c.claims.value)


def test_peers_structure():
    d = make_synthetic("peers", n_claims=5000, seed=1)
    cs = d.claims
    assert len(cs) == 5000 and cs.n_quantities == 500 and cs.n_sources == 100
    # ten distinct sources per quantity, each claim stating its source's sd
    pairs = np.unique(cs.quantity * cs.n_sources + cs.source)
    assert len(pairs) == 5000
    sd = dict(zip(d.sources["source"], d.sources["error_sd"]))
    np.testing.assert_allclose(cs.se, [sd[s] for s in cs.sources[cs.source]])
    assert int(np.sum(d.sources["wild"])) == SCENARIOS["peers"]["wild_sources"] == 10
    # gross errors only from the wild sources, at about their rate
    wild_src = np.asarray(d.sources["wild"])[cs.source]
    assert not np.any(d.wild & ~wild_src)
    assert 0.2 < d.wild[wild_src].mean() < 0.4


def test_explicit_arguments_override_the_scenario():
    d = make_synthetic("peers", n_claims=1000, wild_sources=0, seed=2)
    assert not np.any(d.sources["wild"]) and not d.wild.any()
    d = make_synthetic(n_quantities=7, claims_per_quantity=3, n_sources=5)
    assert len(d.claims) == 21 and d.claims.n_sources <= 5
    assert DEFAULTS["n_sources"] == 100


def test_copiers_repeat_source_zero():
    d = make_synthetic(n_quantities=300, n_sources=12, claims_per_quantity=8, copiers=3, seed=5)
    cs = d.claims
    src = list(cs.sources)
    val = {}
    for q, s, v in zip(cs.quantity, cs.source, cs.value):
        val[(q, src[s])] = v
    copied = [(q, s) for (q, s) in val if s in {"s9", "s10", "s11"} and (q, "s0") in val]
    assert copied and all(val[(q, s)] == val[(q, "s0")] for q, s in copied)


def test_log_scale_and_long_tail():
    d = make_synthetic(n_quantities=200, scale="log", truth_mean=8.0, truth_sd=1.0, error_sd=(0.05, 0.2),
                       long_tail=1.2, seed=6)
    assert d.claims.log_scale.all() and np.all(d.claims.value > 0) and np.all(d.truth > 0)
    counts = np.bincount(d.claims.source, minlength=d.claims.n_sources)
    assert counts.max() > 5 * np.median(counts)  # a few sources make most claims


@pytest.mark.parametrize("kwargs, message", [
    (dict(scenario="nope"), r"^`scenario` must be one of 'peers', 'hedged_log', 'copied_wrong', 'long_tail', "
                            r"'biased', 'crowd', 'misspecified'; got 'nope'\.$"),
    (dict(claims_per_quantity=0), r"^`claims_per_quantity` must be between 1 and `n_sources`\.$"),
    (dict(scale="cubic"), r"^`scale` must be 'linear' or 'log'; got 'cubic'\.$"),
])
def test_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_synthetic(**kwargs)
