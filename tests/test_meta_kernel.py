"""The compiled per-group iterations of the grouped meta-analysis (credscore.meta_kernel) against
the vectorised numpy reference (credscore.meta_estimation with COMPILED = False)."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credscore import meta_estimation
from credscore.meta import _FIELDS_NUMERIC, random_effects_grouped


def _both(*args, **kw):
    out = []
    try:
        for compiled in (True, False):
            meta_estimation.COMPILED = compiled
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out.append(random_effects_grouped(*args, **kw))
    finally:
        meta_estimation.COMPILED = True
    return out


def _same(a, b, tol=1e-12):
    for name in _FIELDS_NUMERIC:
        x, y = np.asarray(getattr(a, name), dtype=float), np.asarray(getattr(b, name), dtype=float)
        np.testing.assert_allclose(x, y, rtol=tol, atol=tol, equal_nan=True, err_msg=name)


@st.composite
def ragged(draw):
    G = draw(st.integers(1, 25))
    sizes = np.array(draw(st.lists(st.integers(0, 9), min_size=G, max_size=G)))
    if sizes.sum() == 0:
        sizes[0] = 1
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(G), sizes)
    tau = rng.choice([0.0, 0.1, 1.0, 5.0], G)[g]
    se = np.exp(rng.uniform(np.log(0.01), np.log(3.0), len(g)))
    y = rng.normal(0, 1, G)[g] + rng.normal(0, 1, len(g)) * np.hypot(se, tau)
    if draw(st.booleans()):  # unsorted labels
        perm = rng.permutation(len(g))
        g, y, se = g[perm], y[perm], se[perm]
    return y, se, g


@settings(max_examples=60, deadline=None)
@given(ragged(), st.sampled_from(["REML", "ML", "PM", "DL"]), st.booleans(), st.sampled_from(["z", "knha"]))
def test_compiled_iterations_equal_reference(data, method, tau2_ci, ci):
    y, se, g = data
    fast, ref = _both(y, se, g, method=method, tau2_ci=tau2_ci, ci=ci)
    _same(fast, ref)
    np.testing.assert_array_equal(fast.iterations, ref.iterations)
    np.testing.assert_array_equal(fast.converged, ref.converged)


@pytest.mark.parametrize("method", ["REML", "PM"])
def test_not_converged_groups_match(method):
    rng = np.random.default_rng(3)
    g = np.repeat(np.arange(200), 6)
    se = np.exp(rng.uniform(-3, 1, len(g)))
    y = rng.normal(0, 2, 200)[g] + rng.normal(0, 1, len(g)) * se
    fast, ref = _both(y, se, g, method=method, maxiter=2)
    assert (~ref.converged).any()
    _same(fast, ref)
    np.testing.assert_array_equal(fast.converged, ref.converged)


def test_metafor_dat_bcg_reml_pinned(monkeypatch):
    # BCG vaccine trials (metafor's dat.bcg, log risk ratios): rma(yi, vi, method="REML")
    # gives tau^2 = 0.3132, estimate -0.7145; held by the compiled path
    yi = np.array([-0.8893, -1.5854, -1.3481, -1.4416, -0.2175, -0.7861, -1.6209, 0.0120, -0.4694, -1.3713,
                   -0.3394, 0.4459, -0.0173])
    vi = np.array([0.3256, 0.1946, 0.4154, 0.0200, 0.0512, 0.0069, 0.2230, 0.0040, 0.0564, 0.0730,
                   0.0124, 0.5325, 0.0714])
    monkeypatch.setattr(meta_estimation, "COMPILED", True)
    r = random_effects_grouped(yi, np.sqrt(vi), np.zeros(13, dtype=int), method="REML")
    assert float(r.tau2[0]) == pytest.approx(0.3132, abs=1e-4)
    assert float(r.estimate[0]) == pytest.approx(-0.7145, abs=1e-4)


@pytest.mark.parametrize("method", ["REML", "ML", "PM"])
def test_bit_identical_on_shuffled_ragged_groups(method):
    # bench_meta's data at 5,000 groups (sizes 1..19, shuffled): includes groups where REML stops at a
    # local maximum and tau^2 is reset to 0, which the compiled path recomputes for those groups only
    rng = np.random.default_rng(0)
    G = 5000
    g = np.repeat(np.arange(G), rng.integers(1, 20, size=G))
    rng.shuffle(g)
    se = rng.uniform(0.05, 1.0, size=g.size)
    y = rng.normal(0.0, 1.0, size=G)[g] + rng.uniform(0.0, 0.5, size=G)[g] * rng.normal(size=g.size) \
        + se * rng.normal(size=g.size)
    fast, ref = _both(y, se, g, method=method, ci="knha")
    for name in _FIELDS_NUMERIC:
        np.testing.assert_array_equal(getattr(fast, name), getattr(ref, name), err_msg=name)
