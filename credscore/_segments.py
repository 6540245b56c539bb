"""Segment reductions over ragged groups (claims grouped by quantity or source).

Every function takes a value array and integer group codes 0..n-1 in any
order and works without a Python loop over groups.
"""

from __future__ import annotations

import numpy as np

from . import kernel as _kernel

__all__ = ["segment_sum", "segment_count", "segment_quantile", "segment_max", "segment_min", "distinct_per_group"]


def segment_sum(values: np.ndarray, codes: np.ndarray, n: int) -> np.ndarray:
    """Sum of ``values`` per group."""
    return np.bincount(codes, weights=values, minlength=n)


def segment_count(codes: np.ndarray, n: int) -> np.ndarray:
    """Number of members per group."""
    return np.bincount(codes, minlength=n)


def segment_max(values: np.ndarray, codes: np.ndarray, n: int, empty: float = -np.inf) -> np.ndarray:
    """Maximum of ``values`` per group (``empty`` for groups with no member)."""
    out = np.full(n, empty, dtype=float)
    np.maximum.at(out, codes, values)
    return out


def segment_min(values: np.ndarray, codes: np.ndarray, n: int, empty: float = np.inf) -> np.ndarray:
    """Minimum of ``values`` per group (``empty`` for groups with no member)."""
    out = np.full(n, empty, dtype=float)
    np.minimum.at(out, codes, values)
    return out


def segment_quantile(
    values: np.ndarray, codes: np.ndarray, n: int, q: float = 0.5, weights: np.ndarray | None = None
) -> np.ndarray:
    """Weighted quantile per group (the lower weighted quantile; the median by default).

    With unit weights and q = 0.5 the result is the lower median for even
    group sizes averaged with the upper one (the usual median). Groups with no
    member (or zero total weight) give NaN.
    """
    values = np.asarray(values, dtype=float)
    if weights is None:
        # unweighted: compiled selection per group (same values as the sorted path below)
        out = _kernel.segment_order_stat(values, codes, n, q) if len(codes) and codes.max() < n else None
        if out is not None:
            return out
        weights = np.ones_like(values)
    keep = weights > 0  # zero-weight members take no part (and must not break ties)
    if not keep.all():
        values, codes, weights = values[keep], codes[keep], weights[keep]
    # sorted by code, then value (compiled: a counting sort by code, then small sorts)
    order = _kernel.order_by_code_value(values, codes, n) if len(codes) and codes.max() < n else None
    if order is None:
        order = np.lexsort((values, codes))
    v, c, w = values[order], codes[order], weights[order]
    total = np.bincount(c, weights=w, minlength=n)
    cum = np.cumsum(w)
    start = np.concatenate(([0.0], np.cumsum(total)[:-1]))
    within = cum - start[c]  # cumulative weight inside the group, inclusive
    target = q * total[c]
    # first position in each group where the cumulative weight reaches the target
    hit = within >= target - 1e-12 * total[c]
    first = np.full(n, len(v), dtype=np.int64)
    idx = np.flatnonzero(hit)
    np.minimum.at(first, c[idx], idx)
    out = np.full(n, np.nan)
    ok = (total > 0) & (first < len(v))
    out[ok] = v[first[ok]]
    # exact tie at the target (even count, unweighted median): average with the next value
    at = first[ok]
    tie = np.isclose(within[at], target[at], rtol=0, atol=1e-12 * np.maximum(total[ok], 1)) & (at + 1 < len(v))
    tie &= np.where(at + 1 < len(v), c[np.minimum(at + 1, len(v) - 1)] == c[at], False)
    okidx = np.flatnonzero(ok)
    out[okidx[tie]] = 0.5 * (v[at[tie]] + v[at[tie] + 1])
    return out


def distinct_per_group(groups: np.ndarray, items: np.ndarray, n_groups: int, n_items: int) -> np.ndarray:
    """Number of distinct ``items`` per group (e.g. quantities per source): in one compiled pass over
    the pairs when the kernel is on, else via one int64 key."""
    out = _kernel.distinct_per_group(groups, items, n_groups, n_items) if len(groups) else None
    if out is not None:
        return out
    key = np.unique(groups.astype(np.int64) * int(n_items) + items.astype(np.int64))
    return np.bincount(key // int(n_items), minlength=n_groups)
