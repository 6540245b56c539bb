"""Registry, the :class:`Method` protocol and the helpers every method shares."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import attrs
import numpy as np

from .._segments import segment_count, segment_quantile, segment_sum
from ..claims import ClaimSet
from ..results import Table

__all__ = ["Method", "MethodResult", "Prepared", "available", "get", "register", "prepare", "claim_se",
           "cluster_values", "within_pairs", "check_positive", "check_int", "check_fraction"]

_REGISTRY: dict[str, type] = {}


def register(name: str) -> Callable[[type], type]:
    """Class decorator: add a :class:`Method` subclass to the registry under ``name``."""

    def deco(cls: type) -> type:
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"a method named {name!r} is already registered.")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return deco


def available() -> list[str]:
    """Names of the registered methods, in registration order."""
    return list(_REGISTRY)


def get(name: str) -> type:
    """The method class registered under ``name``.

    Raises
    ------
    ValueError
        For an unknown name, listing the known ones.
    """
    if name not in _REGISTRY:
        raise ValueError(f"`name` must be one of {', '.join(repr(k) for k in _REGISTRY)}; got {name!r}.")
    return _REGISTRY[name]


@attrs.frozen(eq=False)
class MethodResult:
    """What :meth:`Method.fit` returns.

    Attributes
    ----------
    method : str
        Registry name of the method.
    estimates : Table
        One row per quantity: ``quantity, scale, n_statements, estimate,
        median`` (= ``estimate``, the column name :func:`credscore.fuse`
        uses), ``low, high`` (interval bounds, natural units; NaN where the
        method has none).
    sources : Table
        One row per source: ``source, weight`` (the learned source quality,
        larger is better; NaN where the method learns none).
    n_iter : int
        Iterations run (0 for closed-form methods).
    """

    method: str
    estimates: Table
    sources: Table
    n_iter: int = 0


@attrs.frozen(eq=False)
class Prepared:
    """The numbers a method sees: one row per distinct statement (evidence claim).

    Attributes
    ----------
    claims : ClaimSet
    q, s : ndarray of int
        Quantity and source codes.
    x : ndarray of float
        Model-space centre of each statement (see :mod:`credscore.methods`).
    se : ndarray of float
        Stated standard error in model space (NaN where not stated).
    half : ndarray of float
        Half-width of the statement interval in model space (inf for bounds).
    nq, ns : int
    """

    claims: ClaimSet
    q: np.ndarray
    s: np.ndarray
    x: np.ndarray
    se: np.ndarray
    half: np.ndarray
    nq: int
    ns: int
    natural: np.ndarray = attrs.field(default=None)


def _as_claimset(claims: Any) -> ClaimSet:
    from ..fusion import _as_claimset as conv

    return conv(claims)


def prepare(claims: Any) -> Prepared:
    """Validate claims and compute each distinct statement's model-space centre.

    Raises
    ------
    TypeError
        If ``claims`` is not a ClaimSet or a list of records / Claims.
    ValueError
        If the claims are empty or a statement has no finite centre.
    """
    cs = _as_claimset(claims)
    if len(cs) == 0:
        raise ValueError("`claims` must not be empty.")
    ev = np.flatnonzero(cs.is_evidence)
    logq = cs.log_scale[cs.quantity[ev]]
    lo_all, hi_all = cs.model_bounds
    lo, hi = lo_all[ev], hi_all[ev]
    v = cs.value[ev]
    with np.errstate(divide="ignore", invalid="ignore"):
        vm = np.where(logq, np.log(np.where(logq & (v > 0), v, 1.0)), v)
        vm = np.where(logq & ~(v > 0), np.nan, vm)
        mid = 0.5 * (lo + hi)
    fin_lo, fin_hi = np.isfinite(lo), np.isfinite(hi)
    x = np.where(np.isfinite(vm), vm, np.where(fin_lo & fin_hi, mid, np.where(fin_lo, lo, hi)))
    # a stated value on a bound claim is the bound itself
    bound = ~(fin_lo & fin_hi)
    x = np.where(bound, np.where(fin_lo, lo, hi), x)
    if not np.all(np.isfinite(x)):
        bad = int(cs.row[ev[np.flatnonzero(~np.isfinite(x))[0]]])
        raise ValueError(f"claim in row {bad} has no finite value, range or bound.")
    half = np.where(fin_lo & fin_hi, 0.5 * (hi - lo), np.inf)
    # the centre in natural units, exact where it is a stated number (no log/exp round trip)
    with np.errstate(over="ignore"):
        natural = np.where(logq, np.exp(np.where(logq, x, 0.0)), x)
    stated = ~bound & np.isfinite(vm)
    natural = np.where(stated, v, natural)
    return Prepared(claims=cs, q=cs.quantity[ev], s=cs.source[ev], x=x, se=cs.model_se[ev], half=half,
                    nq=cs.n_quantities, ns=cs.n_sources, natural=natural)


def claim_se(p: Prepared) -> np.ndarray:
    """Model-space standard error of every statement, filling the missing ones.

    The rule, in order: the stated ``se``; else the half-width of the
    statement interval over √3 (the sd of a uniform error over the rounding),
    when finite and positive; else the median stated (or filled) se of the
    other statements; else 1.
    """
    se = np.where(np.isfinite(p.se) & (p.se > 0), p.se, np.nan)
    fill = np.isnan(se) & np.isfinite(p.half) & (p.half > 0)
    se[fill] = p.half[fill] / np.sqrt(3.0)
    known = ~np.isnan(se)
    se[~known] = float(np.median(se[known])) if known.any() else 1.0
    return se


def spread(p: Prepared, x: np.ndarray | None = None) -> np.ndarray:
    """Robust spread per quantity: 1.4826 × median absolute deviation of the centres (0 if they agree)."""
    x = p.x if x is None else x
    med = segment_quantile(x, p.q, p.nq)
    return 1.4826 * segment_quantile(np.abs(x - med[p.q]), p.q, p.nq)


def scale_per_quantity(p: Prepared) -> np.ndarray:
    """Normalising scale per quantity: the standard deviation of its centres (1 where it is 0)."""
    n = segment_count(p.q, p.nq)
    m = segment_sum(p.x, p.q, p.nq) / n
    var = segment_sum((p.x - m[p.q]) ** 2, p.q, p.nq) / n
    sd = np.sqrt(var)
    return np.where(sd > 1e-12 * np.maximum(np.abs(m), 1.0), sd, 1.0)


def cluster_values(p: Prepared, tolerance: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge a quantity's statements that agree to a tolerance into one value (a "fact").

    Centres are binned on a grid of width ``w_q = max(tolerance × spread_q,
    2 × h_q)`` per quantity, where ``spread_q`` is the robust spread of the
    quantity's centres (:func:`spread`) and ``h_q`` the finest half-width of
    its statements' rounding (the precision they are written with); equal
    centres always merge. The rule is order-free, so permuting claims does
    not change the facts.

    Returns
    -------
    fact : ndarray of int
        The fact of each statement.
    fact_q : ndarray of int
        The quantity of each fact.
    fact_x : ndarray of float
        The value of each fact: the mean centre of its statements.
    """
    h = np.where(np.isfinite(p.half), p.half, np.inf)
    hmin = np.full(p.nq, np.inf)
    np.minimum.at(hmin, p.q, h)
    hmin = np.where(np.isfinite(hmin), hmin, 0.0)
    w = np.maximum(tolerance * spread(p), 2.0 * hmin)
    wq = w[p.q]
    with np.errstate(divide="ignore", invalid="ignore"):
        key = np.where(wq > 0, np.floor(p.x / np.where(wq > 0, wq, 1.0) + 0.5), p.x)
    order = np.lexsort((key, p.q))
    qs, ks = p.q[order], key[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (qs[1:] != qs[:-1]) | (ks[1:] != ks[:-1])
    ids_sorted = np.cumsum(new) - 1
    fact = np.empty(len(order), dtype=np.int64)
    fact[order] = ids_sorted
    nf = int(ids_sorted[-1]) + 1
    fact_q = qs[new]
    fact_x = segment_sum(p.x, fact, nf) / segment_count(fact, nf)
    return fact, fact_q, fact_x


def within_pairs(groups: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """All ordered pairs (i, j) of items in the same group, i == j included, without a Python loop."""
    groups = np.asarray(groups)
    order = np.argsort(groups, kind="stable")
    gs = groups[order]
    counts = np.bincount(gs, minlength=n_groups)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    sizes = counts[gs]
    left = np.repeat(np.arange(len(gs)), sizes)
    rank = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    right = starts[gs][left] + rank
    return order[left], order[right]


def argmax_per_group(score: np.ndarray, groups: np.ndarray, n: int, *tiebreak: np.ndarray) -> np.ndarray:
    """Index of the highest-scoring item per group (ties: the smallest ``tiebreak`` keys, in order)."""
    order = np.lexsort(tuple(reversed(tiebreak)) + (-score, groups))
    g = groups[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = g[1:] != g[:-1]
    out = np.full(n, -1, dtype=np.int64)
    out[g[first]] = order[first]
    return out


# --------------------------------------------------------------- validation
def check_positive(name: str, value: Any, allow_zero: bool = False) -> float:
    """A hyperparameter as a float, raising ``"`name` must be positive ..."`` unless finite and > 0 (or ≥ 0)."""
    v = float(value)
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"`{name}` must be {'non-negative' if allow_zero else 'positive'} and finite; got {value!r}.")
    return v


def check_int(name: str, value: Any, minimum: int = 1) -> int:
    """A hyperparameter as an int, raising ``"`name` must be an integer of at least ..."`` otherwise."""
    if isinstance(value, bool) or int(value) != value or value < minimum:
        raise ValueError(f"`{name}` must be an integer of at least {minimum}; got {value!r}.")
    return int(value)


def check_fraction(name: str, value: Any, low: float = 0.0, high: float = 1.0, closed_low: bool = False) -> float:
    """A hyperparameter as a float inside (low, high) (or [low, high)), raising a ValueError otherwise."""
    v = float(value)
    if not ((low <= v if closed_low else low < v) and v < high):
        raise ValueError(f"`{name}` must be in the interval {'[' if closed_low else '('}{low:g}, {high:g}); got {value!r}.")
    return v


class Method:
    """Base class: ``Method(**hyperparameters).fit(claims) -> MethodResult``.

    Subclasses are attrs classes with keyword-only hyperparameters and
    implement ``_fit(p)`` returning ``(estimate, low, high, weight,
    n_iter)`` in model space (``low``/``high``/``weight`` may be None).
    """

    name: ClassVar[str] = "method"

    def fit(self, claims: Any) -> MethodResult:
        """Estimate every quantity of ``claims`` (ClaimSet, records or Claims)."""
        p = prepare(claims)
        est, low, high, weight, n_iter = self._fit(p)
        return finish(self.name, p, est, low, high, weight, n_iter)

    def _fit(self, p: Prepared):  # pragma: no cover - abstract
        raise NotImplementedError


def finish(name: str, p: Prepared, est, low=None, high=None, weight=None, n_iter: int = 0) -> MethodResult:
    """Build the result tables, transforming model-space numbers back to natural units."""
    cs = p.claims
    logq = cs.log_scale
    nan = np.full(p.nq, np.nan)

    def back(a):
        a = nan if a is None else np.asarray(a, dtype=float)
        with np.errstate(over="ignore"):
            return np.where(logq, np.exp(np.where(logq, a, 0.0)), a)

    e, lo, hi = back(est), back(low), back(high)
    if logq.any():  # an estimate equal to a stated number (in model space) is that number exactly
        est_m = np.asarray(est, dtype=float)
        hit = np.abs(p.x - est_m[p.q]) <= 1e-12 * np.maximum(np.abs(p.x), 1.0)
        hit &= logq[p.q]
        e = e.copy()
        e[p.q[hit]] = p.natural[hit]
    if low is not None and high is not None:  # keep the point inside its interval under rounding
        lo, hi = np.fmin(lo, e), np.fmax(hi, e)
    estimates = Table({
        "quantity": cs.quantities.astype(object),
        "scale": np.where(logq, "log", "linear").astype(object),
        "n_statements": segment_count(p.q, p.nq),
        "estimate": e,
        "median": e.copy(),
        "low": lo,
        "high": hi,
    })
    w = np.full(p.ns, np.nan) if weight is None else np.asarray(weight, dtype=float)
    sources = Table({"source": cs.sources.astype(object), "weight": w,
                     "n_statements": segment_count(p.s, p.ns)})
    return MethodResult(method=name, estimates=estimates, sources=sources, n_iter=int(n_iter))
