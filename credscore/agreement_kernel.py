"""Compiled pair quadrature for claim × claim agreement (normal errors).

The same integral as the numpy reference :func:`credscore.agreement_pairs._quad_normal`
(Gauss–Legendre on panels broken at each statement's edges ± 3σ, and ± 8σ inside wide
intervals, within the pair's common window of edges ± 12σ), evaluated pair by pair in a
numba kernel parallel over pairs: no pair × node arrays, one pass over the panels of each
pair. The integrand is the Bhattacharyya coefficient sqrt(p_i p_j) of the normalised accurate
likelihoods (Bhattacharyya 1943), or F_bound · p_other when one claim is a bound.

Held to the numpy reference to 1e-10 (the reference's own accuracy) by ``tests/test_agreement_kernel.py``.

References
----------
Bhattacharyya, A. (1943). On a measure of divergence between two statistical populations
defined by their probability distributions. *Bull. Calcutta Math. Soc.* 35, 99-109.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .likelihood import SHAPE_INTERVAL, SHAPE_LOWER, SHAPE_POINT, SHAPE_UPPER

_K = 12.0
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)
_NB = 14  # window edges + 6 breaks per claim


@numba.njit(cache=True, inline="always", error_model="numpy")
def _ndtr(z):
    return 0.5 * math.erfc(-z * _INV_SQRT2)


@numba.njit(cache=True, inline="always", error_model="numpy")
def _acc(shape, c, lo, hi, sig, x):
    """P_acc at x, points and intervals normalised to densities (as ``_normal_acc``)."""
    if shape == SHAPE_POINT:
        z = (x - c) / sig
        return math.exp(-0.5 * z * z) * _INV_SQRT2PI / sig
    if shape == SHAPE_INTERVAL:
        s = 1.0 / sig if x < 0.5 * (lo + hi) else -1.0 / sig
        return abs(_ndtr(s * (x - lo)) - _ndtr(s * (x - hi))) / (hi - lo)
    if shape == SHAPE_UPPER:
        return _ndtr((hi - x) / sig)
    return _ndtr((x - lo) / sig)


@numba.njit(cache=True, inline="always", error_model="numpy")
def _breaks(shape, lo, hi, sig, out, k):
    """Window (returned) and the six panel breaks of one claim written to out[k:k+6]."""
    wlo = -np.inf if shape == SHAPE_UPPER else lo - _K * sig
    whi = np.inf if shape == SHAPE_LOWER else hi + _K * sig
    a = lo if math.isfinite(lo) else hi
    b = hi if math.isfinite(hi) else lo
    wide = (b - a) > 16 * sig
    narrow = (b - a) < 2 * sig
    out[k] = a - 3 * sig
    out[k + 1] = a - 3 * sig if narrow else a + 3 * sig
    out[k + 2] = b + 3 * sig if narrow else b - 3 * sig
    out[k + 3] = b + 3 * sig
    out[k + 4] = a + 8 * sig if wide else a - 3 * sig
    out[k + 5] = b - 8 * sig if wide else a - 3 * sig
    return wlo, whi


@numba.njit(cache=True, inline="always", error_model="numpy")
def _panels(si, ci, li, hi_i, gi, sj, cj, lj, hj, gj, t, v):
    """Gauss–Legendre on the panels of both claims inside their common window (``_quad_normal``)."""
    br = np.empty(_NB)
    wli, whi_ = _breaks(si, li, hi_i, gi, br, 1)
    wlj, whj = _breaks(sj, lj, hj, gj, br, 7)
    wlo = max(wli, wlj)
    whi = min(whi_, whj)
    if not whi > wlo:
        return 0.0
    br[0] = wlo
    br[_NB - 1] = whi
    for k in range(_NB):  # clip (NaN breaks clip like np.clip: stay NaN and sort last)
        if br[k] < wlo:
            br[k] = wlo
        elif br[k] > whi:
            br[k] = whi
    br.sort()
    bound = si >= SHAPE_UPPER or sj >= SHAPE_UPPER
    acc = 0.0
    for k in range(_NB - 1):
        h = 0.5 * (br[k + 1] - br[k])
        if not h > 0:
            continue
        m = 0.5 * (br[k + 1] + br[k])
        s = 0.0
        for r in range(len(t)):
            x = m + h * t[r]
            pi = _acc(si, ci, li, hi_i, gi, x)
            pj = _acc(sj, cj, lj, hj, gj, x)
            f = pi * pj if bound else math.sqrt(pi * pj)
            s += v[r] * f
        acc += h * s
    return acc


@numba.njit(cache=True, inline="always", error_model="numpy")
def _bell(si, ci, li, hi_i, gi, sj, cj, lj, hj, gj, t, v):
    """Gauss–Hermite about the Gaussian approximation of sqrt(p_i p_j) (variances σ² + w²/12)."""
    wi = hi_i - li
    wj = hj - lj
    vi = gi * gi + wi * wi / 12.0
    vj = gj * gj + wj * wj / 12.0
    s2 = 2.0 / (1.0 / vi + 1.0 / vj)
    mu = 0.5 * s2 * (ci / vi + cj / vj)
    sc = math.sqrt(2.0 * s2)
    acc = 0.0
    for r in range(len(t)):
        x = mu + sc * t[r]
        pi = _acc(si, ci, li, hi_i, gi, x)
        pj = _acc(sj, cj, lj, hj, gj, x)
        acc += v[r] * math.sqrt(pi * pj)
    return sc * acc


@numba.njit(cache=True, parallel=True, error_model="numpy")
def quad_normal_kernel(shape_i, c_i, lo_i, hi_i, sig_i, shape_j, c_j, lo_j, hi_j, sig_j, t, v):
    """Gauss–Legendre panel integral of each pair (arrays over pairs; ``t, v`` nodes and weights)."""
    n = len(shape_i)
    out = np.empty(n)
    for p in numba.prange(n):
        out[p] = _panels(shape_i[p], c_i[p], lo_i[p], hi_i[p], sig_i[p],
                         shape_j[p], c_j[p], lo_j[p], hi_j[p], sig_j[p], t, v)
    return out


@numba.njit(cache=True, parallel=True, error_model="numpy")
def bell_kernel(shape_i, c_i, lo_i, hi_i, sig_i, shape_j, c_j, lo_j, hi_j, sig_j, t, v):
    """Gauss–Hermite integral of each pair of narrow statements (``t, v``: nodes, weights × exp(t²))."""
    n = len(shape_i)
    out = np.empty(n)
    for p in numba.prange(n):
        out[p] = _bell(shape_i[p], c_i[p], lo_i[p], hi_i[p], sig_i[p],
                       shape_j[p], c_j[p], lo_j[p], hi_j[p], sig_j[p], t, v)
    return out


@numba.njit(cache=True, parallel=True, error_model="numpy")
def pair_quad_kernel(i, j, si, sj, centre, lo, hi, sigma, t8, v8, t16, v16, t32, v32, tl, vl):
    """Agreement integral of pairs (i, j) of normal-error claims, gathering from the model arrays:
    Gauss–Hermite with 8 / 16 / 32 nodes when both statements are points or intervals and the wider
    is at most σ/2 / σ / below 2σ wide, else Gauss–Legendre panels."""
    n = len(i)
    out = np.empty(n)
    for p in numba.prange(n):
        a, b = i[p], j[p]
        sa, sb = si[p], sj[p]
        ga, gb = sigma[a], sigma[b]
        # integrate about the centre of the sharper statement (a bound's centre is its edge, never the
        # origin when the other is a point or interval): x − c loses |c|·eps/σ to cancellation otherwise
        # (two points at 65,537 with σ = 0.01 met at 1 − 4e-10 instead of 1; a point at 1 under a bound
        # at 131,074 integrated about the bound came to 1 + 3e-10)
        o = centre[a] if sa <= SHAPE_INTERVAL and (sb > SHAPE_INTERVAL or ga <= gb) else centre[b]
        ca, la, ha = centre[a] - o, lo[a] - o, hi[a] - o
        cb, lb, hb = centre[b] - o, lo[b] - o, hi[b] - o
        ra = (hi[a] - lo[a]) / ga
        rb = (hi[b] - lo[b]) / gb
        r = max(ra, rb)
        if sa <= SHAPE_INTERVAL and sb <= SHAPE_INTERVAL and ra < 2.0 and rb < 2.0:
            if r <= 0.5:
                out[p] = _bell(sa, ca, la, ha, ga, sb, cb, lb, hb, gb, t8, v8)
            elif r <= 1.0:
                out[p] = _bell(sa, ca, la, ha, ga, sb, cb, lb, hb, gb, t16, v16)
            else:
                out[p] = _bell(sa, ca, la, ha, ga, sb, cb, lb, hb, gb, t32, v32)
        else:
            out[p] = _panels(sa, ca, la, ha, ga, sb, cb, lb, hb, gb, tl, vl)
    return out
