"""Segment reductions: the compiled paths give exactly what the numpy sorted paths give."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credscore import _segments, kernel

pytestmark = pytest.mark.skipif(not kernel._HAVE_NUMBA, reason="numba not installed")


def _numpy(fn, *args, **kw):
    old = kernel.ENABLED
    kernel.ENABLED = False
    try:
        return fn(*args, **kw)
    finally:
        kernel.ENABLED = old


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 12), st.integers(1, 300), st.integers(0, 3), st.sampled_from([0.0, 0.1, 0.25, 1 / 3, 0.5, 0.9, 1.0]),
       st.integers(0, 2**32 - 1))
def test_unweighted_quantile_selection_equals_sorted(n, m, decimals, q, seed):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, n, m)
    values = np.round(rng.normal(size=m) * 10, decimals)  # rounding makes ties within groups
    got = _segments.segment_quantile(values, codes, n, q)
    want = _numpy(_segments.segment_quantile, values, codes, n, q)
    assert np.array_equal(got, want, equal_nan=True)


def test_unweighted_median_pinned_and_large_group():
    # groups 0: [3, 1, 2] -> 2; 1: [4, 1] -> 2.5 (even: the two middle ones averaged); 2: empty -> NaN
    got = _segments.segment_quantile(np.array([3.0, 4.0, 1.0, 2.0, 1.0]), np.array([0, 1, 0, 0, 1]), 3)
    np.testing.assert_array_equal(got, [2.0, 2.5, np.nan])
    # one group larger than the insertion-sort cutoff goes through the partition
    rng = np.random.default_rng(1)
    v = rng.permutation(np.arange(1000.0))
    assert _segments.segment_quantile(v, np.zeros(1000, dtype=np.int64), 1)[0] == 499.5
    assert _segments.segment_quantile(v, np.zeros(1000, dtype=np.int64), 1, q=0.1)[0] == 99.5  # rank 100 exactly: tie
    assert _segments.segment_quantile(v, np.zeros(1000, dtype=np.int64), 1, q=0.1005)[0] == 100.0
    assert _segments.segment_quantile(v[:999], np.zeros(999, dtype=np.int64), 1)[0] == np.median(v[:999])
