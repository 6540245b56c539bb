"""Claim × claim agreement: the pair kernels (see :mod:`credscore.agreement` for the definitions).

Closed forms for normal points and for a bound against a point or interval;
everything else is integrated numerically. With normal errors the integral is
compiled (:mod:`credscore.agreement_kernel`): Gauss–Hermite about the pair's
Gaussian approximation when both statements are narrow (width < 2σ), else
Gauss–Legendre on the panels of :func:`_normal_breaks`. :func:`_quad_normal`
is the numpy reference the kernels are held to. Student-t errors use
:func:`_quad_chunk` (numpy, the likelihood's own terms).

References
----------
Bhattacharyya, A. (1943). On a measure of divergence between two statistical
populations defined by their probability distributions. *Bull. Calcutta
Math. Soc.* 35, 99-109.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
from scipy import special

from .likelihood import SHAPE_INTERVAL, SHAPE_LOWER, SHAPE_POINT, SHAPE_UPPER, ClaimModel, log_accurate
from .loo import rows_of

_K_NORMAL = 12.0  # window half-width in error sds: sqrt(φ) beyond it is below exp(-36)
_GL_NODES = 16
_GH_NODES = 32  # Gauss–Hermite nodes for pairs of one-bell densities
_T_STEPS = (3.0, 12.0, 48.0, 192.0, 768.0, 3072.0)  # panel breaks for heavy-tailed errors
_CELLS = 1 << 20  # pair × node (or claim × grid) cells per chunk
_SQRT2 = math.sqrt(2.0)


# ----------------------------------------------------------------- pairs
def quantity_pairs(model: ClaimModel, qidx: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All unordered pairs (i < j) of claims of the same quantity.

    Parameters
    ----------
    model : ClaimModel
    qidx : array of int, optional
        Quantities (default: all).

    Returns
    -------
    i, j : ndarray of int64
        Model positions of the two claims (i < j).
    q : ndarray of int64
        Their quantity.

    Examples
    --------
    >>> import credscore
    >>> from credscore.likelihood import build_claim_model
    >>> cs = credscore.ClaimSet.from_records([{"quantity": "a", "source": s, "value": v}
    ...                                       for s, v in (("x", 1), ("y", 2), ("z", 3))])
    >>> i, j, q = quantity_pairs(build_claim_model(cs))
    >>> list(zip(i.tolist(), j.tolist()))
    [(0, 1), (0, 2), (1, 2)]
    """
    qidx = np.arange(model.n_quantities) if qidx is None else np.asarray(qidx, dtype=np.int64)
    n = model.counts[qidx].astype(np.int64)
    # claims of the selected quantities, with their local index k and the quantity size n
    rows = rows_of(model, qidx)
    owner = np.repeat(np.arange(len(qidx)), n)
    k = rows - model.starts[qidx][owner]
    partners = n[owner] - 1 - k
    i = np.repeat(rows, partners)
    first = np.concatenate(([0], np.cumsum(partners)[:-1]))
    j = i + 1 + (np.arange(len(i)) - np.repeat(first, partners))
    return i, j, model.quantity[i].astype(np.int64)


def _effective_shape(model: ClaimModel, rows: np.ndarray) -> np.ndarray:
    """Claim shapes, with intervals open at one end treated as the corresponding bound."""
    s = model.shape[rows].astype(np.int8)
    lo, hi = model.lo[rows], model.hi[rows]
    s = np.where((s == SHAPE_INTERVAL) & ~np.isfinite(lo), SHAPE_UPPER, s)
    s = np.where((s == SHAPE_INTERVAL) & ~np.isfinite(hi), SHAPE_LOWER, s)
    return s


def _G(z: np.ndarray) -> np.ndarray:
    """∫_{-∞}^z Φ(t) dt = z Φ(z) + φ(z)."""
    return z * special.ndtr(z) + np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)


def pair_agreement(model: ClaimModel, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Agreement in [0, 1] of claims ``i`` and ``j`` (model positions, elementwise).

    See the module docstring for the definition (Bhattacharyya coefficient of
    the normalised accurate likelihoods; probability that a bound holds).

    Parameters
    ----------
    model : ClaimModel
    i, j : array of int
        Model positions (same length); normally claims of the same quantity.

    Returns
    -------
    ndarray of float

    Examples
    --------
    >>> import credscore
    >>> from credscore.likelihood import build_claim_model
    >>> cs = credscore.ClaimSet.from_records([
    ...     {"quantity": "t", "source": "a", "value": "10,000"},
    ...     {"quantity": "t", "source": "b", "value": "10,900"},
    ...     {"quantity": "t", "source": "c", "value": "11,000"},
    ...     {"quantity": "t", "source": "d", "value": "1,500"},
    ... ])
    >>> m = build_claim_model(cs)
    >>> np.round(pair_agreement(m, np.array([0, 0, 1, 2]), np.array([1, 2, 2, 3])), 2)
    array([0.66, 0.67, 1.  , 0.  ])
    """
    i = np.asarray(i, dtype=np.int64)
    j = np.asarray(j, dtype=np.int64)
    out = np.full(len(i), np.nan)
    if len(i) == 0:
        return out
    si, sj = _effective_shape(model, i), _effective_shape(model, j)
    bi, bj = si >= SHAPE_UPPER, sj >= SHAPE_UPPER
    sgi, sgj = model.sigma[i], model.sigma[j]
    normal = np.isinf(model.df[i]) & np.isinf(model.df[j])
    s2 = np.hypot(sgi, sgj)

    # --- two bounds
    bb = bi & bj
    out[bb & (si == sj)] = 1.0
    opp = bb & (si != sj)
    if opp.any():
        u = np.where(si == SHAPE_UPPER, model.hi[i], model.hi[j])[opp]
        lo = np.where(si == SHAPE_LOWER, model.lo[i], model.lo[j])[opp]
        with np.errstate(invalid="ignore"):
            z = (u - lo) / s2[opp]
        out[opp] = special.ndtr(np.nan_to_num(z, nan=1.0, posinf=np.inf, neginf=-np.inf))

    # --- two normal points: closed form
    pp = (si == SHAPE_POINT) & (sj == SHAPE_POINT) & normal
    if pp.any():
        a, b = sgi[pp] ** 2, sgj[pp] ** 2
        d = model.centre[i][pp] - model.centre[j][pp]
        out[pp] = np.sqrt(2 * sgi[pp] * sgj[pp] / (a + b)) * np.exp(-d * d / (4 * (a + b)))

    # --- a bound and a point or interval, normal errors: closed forms
    mixed = (bi ^ bj) & normal
    if mixed.any():
        k = np.flatnonzero(mixed)
        bnd = np.where(bi[k], i[k], j[k])
        oth = np.where(bi[k], j[k], i[k])
        bshape = np.where(bi[k], si[k], sj[k])
        oshape = np.where(bi[k], sj[k], si[k])
        s = s2[k]
        upper = bshape == SHAPE_UPPER
        edge = np.where(upper, model.hi[bnd], model.lo[bnd])
        sign = np.where(upper, 1.0, -1.0)
        # z > 0 where the bound holds: upper: (u - x), lower: (x - l)
        pt = oshape == SHAPE_POINT
        val = np.empty(len(k))
        val[pt] = special.ndtr(sign[pt] * (edge[pt] - model.centre[oth[pt]]) / s[pt])
        iv = ~pt
        if iv.any():
            lo, hi = model.lo[oth[iv]], model.hi[oth[iv]]
            e, sg, ss = edge[iv], sign[iv], s[iv]
            # upper: (s/w)[G((u-l)/s) - G((u-h)/s)]; lower: (s/w)[G((h-l')/s) - G((l-l')/s)]
            a1 = np.where(sg > 0, (e - lo) / ss, (hi - e) / ss)
            a0 = np.where(sg > 0, (e - hi) / ss, (lo - e) / ss)
            val[iv] = np.clip(ss / (hi - lo) * (_G(a1) - _G(a0)), 0.0, 1.0)
        out[k] = val

    # --- everything else: quadrature
    rest = np.flatnonzero(np.isnan(out))
    if len(rest):
        out[rest] = _quadrature(model, i[rest], j[rest], si[rest], sj[rest])
    return np.clip(out, 0.0, 1.0)


def _gl(n: int) -> tuple[np.ndarray, np.ndarray]:
    t, w = np.polynomial.legendre.leggauss(n)
    return t, w


def _gh(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Hermite nodes and weights for ∫ f(t) dt: weights multiplied by exp(t²)."""
    t, w = np.polynomial.hermite.hermgauss(n)
    return t, w * np.exp(t * t)


def _quadrature(model, i, j, si, sj, compiled: bool = True) -> np.ndarray:
    """Agreement of pairs needing numerical integration (intervals, Student-t errors).

    With normal errors and ``compiled`` (the default), the kernels of
    :mod:`credscore.agreement_kernel`: pairs of narrow statements (points or
    intervals narrower than 2σ, so each density is one bell) by Gauss–Hermite
    about the Gaussian approximation of sqrt(p_i p_j) (variances σ² + w²/12),
    with 8 nodes when both widths are at most σ/2, 16 up to σ and
    :data:`_GH_NODES` up to 2σ (errors below 3e-11, 3e-12 and 7e-12 against
    80 nodes over σ ratios e^±3 and distances up to 10 combined sds), the others by the Gauss–Legendre
    panels of :func:`_quad_normal`, which ``compiled=False`` evaluates in numpy
    (the reference; the kernels agree with it to 1e-10, its own accuracy).
    """
    out = np.empty(len(i))
    heavy = ~(np.isinf(model.df[i]) & np.isinf(model.df[j]))
    light = np.flatnonzero(~heavy)
    if compiled and len(light):
        from .agreement_kernel import pair_quad_kernel

        out[light] = pair_quad_kernel(i[light], j[light], si[light], sj[light], model.centre, model.lo, model.hi,
                                      model.sigma, *_gh(8), *_gh(16), *_gh(_GH_NODES), *_gl(_GL_NODES))
        # a Bhattacharyya coefficient is at most 1 (Cauchy–Schwarz); Gauss–Hermite on two identical
        # sharp points overshot it by 1.1e-10
        out[light] = np.minimum(out[light], 1.0)
        light = light[:0]
    per = max(1, _CELLS // (9 * _GL_NODES))
    for c0 in range(0, len(light), per):
        k = light[c0 : c0 + per]
        out[k] = _quad_normal(*_pair_frame(model, i[k], j[k], si[k], sj[k]), si[k], sj[k])
    hv = np.flatnonzero(heavy)
    per = max(1, _CELLS // ((4 * len(_T_STEPS) + 5) * _GL_NODES))
    for c0 in range(0, len(hv), per):
        k = hv[c0 : c0 + per]
        out[k] = _quad_chunk(*_pair_frame(model, i[k], j[k], si[k], sj[k]), si[k], sj[k], _T_STEPS)
    return out


def _pair_frame(model, i, j, si, sj):
    """The statements of pairs (i, j) about the centre of the sharper statement of each pair (never a
    bound's edge when the other is a point or interval), as a model-like namespace and the pairs' rows
    in it: x − c would lose |c|·eps/σ to cancellation (two points at 65,537 with σ = 0.01 met at
    1 − 2e-10; a point at 1 under a bound at 131,074 came to 1 + 3e-10), and the compiled kernel
    integrates about the same origin."""
    own = (si <= SHAPE_INTERVAL) & ((sj > SHAPE_INTERVAL) | (model.sigma[i] <= model.sigma[j]))
    o = np.where(own, model.centre[i], model.centre[j])
    rows = np.concatenate([i, j])
    oo = np.concatenate([o, o])
    frame = SimpleNamespace(centre=model.centre[rows] - oo, lo=model.lo[rows] - oo, hi=model.hi[rows] - oo,
                            sigma=model.sigma[rows], df=model.df[rows], shape=model.shape[rows])
    n = len(i)
    return frame, np.arange(n), np.arange(n, 2 * n)


def _normal_breaks(model, rows, shape):
    """Window and panel breaks of claims with normal errors: edges ± 3σ, and ± 8σ inside wide intervals."""
    sig, lo, hi = model.sigma[rows], model.lo[rows], model.hi[rows]
    wlo = np.where(shape == SHAPE_UPPER, -np.inf, lo - _K_NORMAL * sig)
    whi = np.where(shape == SHAPE_LOWER, np.inf, hi + _K_NORMAL * sig)
    a = np.where(np.isfinite(lo), lo, hi)
    b = np.where(np.isfinite(hi), hi, lo)
    wide = (b - a) > 16 * sig
    narrow = (b - a) < 2 * sig  # one bell: no inner breaks
    br = [a - 3 * sig, np.where(narrow, a - 3 * sig, a + 3 * sig), np.where(narrow, b + 3 * sig, b - 3 * sig),
          b + 3 * sig, np.where(wide, a + 8 * sig, a - 3 * sig), np.where(wide, b - 8 * sig, a - 3 * sig)]
    return wlo, whi, np.stack(br, axis=1)


def _normal_acc(model, rows, shape, x) -> np.ndarray:
    """P_acc of claims ``rows`` at x (elementwise, normal errors), without cancellation in the tails;
    points and intervals normalised to densities."""
    sig, lo, hi, c = model.sigma[rows], model.lo[rows], model.hi[rows], model.centre[rows]
    out = np.empty(len(x))
    pt = shape == SHAPE_POINT
    z = (x[pt] - c[pt]) / sig[pt]
    out[pt] = np.exp(-0.5 * z * z) / (sig[pt] * math.sqrt(2 * math.pi))
    iv = shape == SHAPE_INTERVAL
    xs, l_, h_, s_ = x[iv], lo[iv], hi[iv], sig[iv]
    # left of the centre Φ((x−l)/σ) − Φ((x−h)/σ), right of it Φ((h−x)/σ) − Φ((l−x)/σ): small terms, no cancellation
    sgn = np.where(xs < 0.5 * (l_ + h_), 1.0, -1.0) / s_
    p = np.abs(special.ndtr(sgn * (xs - l_)) - special.ndtr(sgn * (xs - h_)))
    out[iv] = p / (h_ - l_)
    up = shape == SHAPE_UPPER
    out[up] = special.ndtr((hi[up] - x[up]) / sig[up])
    lw = shape == SHAPE_LOWER
    out[lw] = special.ndtr((x[lw] - lo[lw]) / sig[lw])
    return out


def _quad_normal(model, i, j, si, sj) -> np.ndarray:
    """Gauss–Legendre on the panels of both claims inside their common window; empty panels skipped."""
    n = len(i)
    wlo_i, whi_i, br_i = _normal_breaks(model, i, si)
    wlo_j, whi_j, br_j = _normal_breaks(model, j, sj)
    wlo, whi = np.maximum(wlo_i, wlo_j), np.minimum(whi_i, whi_j)
    empty = ~(whi > wlo)
    wlo, whi = np.where(empty, 0.0, wlo), np.where(empty, 0.0, whi)
    br = np.concatenate([wlo[:, None], br_i, br_j, whi[:, None]], axis=1)
    br = np.sort(np.clip(br, wlo[:, None], whi[:, None]), axis=1)
    half = 0.5 * (br[:, 1:] - br[:, :-1])
    pair, panel = np.nonzero(half > 0)
    t, v = _gl(_GL_NODES)
    mid = 0.5 * (br[pair, panel + 1] + br[pair, panel])
    h = half[pair, panel]
    x = (mid[:, None] + h[:, None] * t).ravel()
    w = (h[:, None] * v).ravel()
    owner = np.repeat(pair, _GL_NODES)
    with np.errstate(under="ignore"):
        pi = _normal_acc(model, i[owner], si[owner], x)
        pj = _normal_acc(model, j[owner], sj[owner], x)
        bound = ((si >= SHAPE_UPPER) | (sj >= SHAPE_UPPER))[owner]
        f = np.where(bound, pi * pj, np.sqrt(pi * pj))
    return np.bincount(owner, weights=w * f, minlength=n)


def _window(model, rows, shape, steps) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integration window and panel breaks of each claim (Student-t errors)."""
    sig, lo, hi, df = model.sigma[rows], model.lo[rows], model.hi[rows], model.df[rows]
    with np.errstate(divide="ignore", invalid="ignore"):
        kt = np.where(np.isinf(df), _K_NORMAL, np.minimum(special.stdtrit(np.where(np.isinf(df), 1.0, df), 1 - 1e-10), 1e4))
    kt = np.maximum(kt, _K_NORMAL)
    wlo = np.where(shape == SHAPE_UPPER, -np.inf, lo - kt * sig)
    whi = np.where(shape == SHAPE_LOWER, np.inf, hi + kt * sig)
    a = np.where(np.isfinite(lo), lo, hi)
    b = np.where(np.isfinite(hi), hi, lo)
    br = [a + 3.0 * sig, b - 3.0 * sig]
    for s in steps:
        br += [a - s * sig, b + s * sig]
    return wlo, whi, np.stack(br, axis=1)


def _quad_chunk(model, i, j, si, sj, steps) -> np.ndarray:
    """Quadrature with the likelihood's own Student-t terms (heavy tails: geometric panel breaks)."""
    wlo_i, whi_i, br_i = _window(model, i, si, steps)
    wlo_j, whi_j, br_j = _window(model, j, sj, steps)
    wlo, whi = np.maximum(wlo_i, wlo_j), np.minimum(whi_i, whi_j)
    empty = ~(whi > wlo)
    wlo, whi = np.where(empty, 0.0, wlo), np.where(empty, 1.0, whi)
    br = np.concatenate([wlo[:, None], br_i, br_j, whi[:, None]], axis=1)
    br = np.sort(np.clip(br, wlo[:, None], whi[:, None]), axis=1)
    t, v = _gl(_GL_NODES)
    mid = 0.5 * (br[:, 1:] + br[:, :-1])
    half = 0.5 * (br[:, 1:] - br[:, :-1])
    x = (mid[:, :, None] + half[:, :, None] * t).reshape(len(i), -1)
    wts = (half[:, :, None] * v).reshape(len(i), -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        li = log_accurate(model, i, x)
        lj = log_accurate(model, j, x)
    bi, bj = si >= SHAPE_UPPER, sj >= SHAPE_UPPER
    # normalise intervals to densities (points are densities already)
    with np.errstate(divide="ignore", invalid="ignore"):
        ni = np.where(si == SHAPE_INTERVAL, np.log(model.hi[i] - model.lo[i]), 0.0)
        nj = np.where(sj == SHAPE_INTERVAL, np.log(model.hi[j] - model.lo[j]), 0.0)
    # proper-proper: sqrt(p_i p_j); bound-proper: F_bound * p_proper
    ai = np.where(bi | bj, 1.0, 0.5)[:, None]
    with np.errstate(invalid="ignore", under="ignore"):
        e = ai * (li - ni[:, None] + lj - nj[:, None])
        val = np.sum(wts * np.exp(np.nan_to_num(e, nan=-np.inf)), axis=1)
    return np.where(empty, 0.0, val)


def _pair_chunks(model: ClaimModel, max_pairs: int = 1 << 21):
    """Yield (i, j, q) pair arrays over all quantities, at most about ``max_pairs`` per chunk."""
    n = model.counts.astype(np.int64)
    npairs = n * (n - 1) // 2
    cum = np.cumsum(npairs)
    start, nq = 0, model.n_quantities
    while start < nq:
        base = cum[start - 1] if start else 0
        stop = max(int(np.searchsorted(cum, base + max_pairs, side="right")), start + 1)
        qidx = np.arange(start, min(stop, nq))
        if cum[qidx[-1]] - base > 0:
            yield quantity_pairs(model, qidx)
        start = stop


def all_pair_agreement(model: ClaimModel, max_pairs: int = 1 << 21) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Agreement of every pair of claims of every quantity: (i, j, value), chunked over quantities.

    Examples
    --------
    >>> import credscore
    >>> from credscore.likelihood import build_claim_model
    >>> cs = credscore.ClaimSet.from_records([
    ...     {"quantity": "a", "source": "x", "value": 100, "precision": 0},
    ...     {"quantity": "a", "source": "y", "value": 100, "precision": 0},
    ...     {"quantity": "b", "source": "x", "value": 5, "precision": 0},
    ... ])
    >>> i, j, v = all_pair_agreement(build_claim_model(cs))
    >>> i.tolist(), j.tolist(), v.tolist()
    ([0], [1], [1.0])
    """
    parts = [(i, j, pair_agreement(model, i, j)) for i, j, _ in _pair_chunks(model, max_pairs)]
    if not parts:
        e = np.zeros(0, dtype=np.int64)
        return e, e.copy(), np.zeros(0)
    return tuple(np.concatenate(p) for p in zip(*parts))  # type: ignore[return-value]
