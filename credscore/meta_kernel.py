"""Compiled per-group iterations of the grouped random-effects fit (numba, parallel over groups).

The same iterations as the vectorised numpy reference in :mod:`credscore.meta_estimation`
(:func:`~credscore.meta_estimation._scoring`: accelerated, safeguarded Fisher scoring for the
(RE)ML τ² after Viechtbauer 2005; :func:`~credscore.meta_estimation._solve_qgen`: the root of
the generalised Q statistic, for the Paule–Mandel estimate and the Q-profile interval of
Viechtbauer 2007), run group by group over claims sorted into CSR segments. Every per-group sum
is accumulated in claim order, as :func:`numpy.bincount` does, so each group takes the same
steps as in the reference; ``tests/test_meta_kernel.py`` holds the two to 1e-12.

References
----------
Viechtbauer, W. (2005). Bias and efficiency of meta-analytic variance estimators in the
random-effects model. *Journal of Educational and Behavioral Statistics*, 30(3), 261-293.

Viechtbauer, W. (2007). Confidence intervals for the amount of heterogeneity in meta-analysis.
*Statistics in Medicine*, 26(1), 37-52.
"""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(cache=True, inline="always", error_model="numpy")
def _weighted_mean(yc, v, a, b, x):
    """Σ w and the w-weighted mean of one group's claims a..b−1, w = 1 / (v + τ²) at τ² = x."""
    sw = 0.0
    swy = 0.0
    for k in range(a, b):
        w = 1.0 / (v[k] + x)
        sw += w
        swy += w * yc[k]
    mu = swy / sw
    return sw, mu


@numba.njit(cache=True, inline="always", error_model="numpy")
def _terms(yc, v, a, b, x, reml):
    """(ypy, E, F, yp3y) of one group at τ² = x (as ``_Claims.likelihood_terms``)."""
    sw, mu = _weighted_mean(yc, v, a, b, x)
    sw2 = 0.0
    sw3 = 0.0
    ypy = 0.0
    swe2 = 0.0
    swe = 0.0
    for k in range(a, b):
        w = 1.0 / (v[k] + x)
        r = yc[k] - mu
        w2 = w * w
        sw2 += w2
        sw3 += w2 * w
        e = w * r
        t = e * e
        ypy += t
        swe2 += t * w
        swe += e * w
    yp3y = swe2 - swe * swe / sw
    if reml:
        return ypy, sw - sw2 / sw, sw2 - 2.0 * sw3 / sw + (sw2 / sw) ** 2, yp3y
    return ypy, sw, sw2, yp3y


@numba.njit(cache=True, parallel=True, error_model="numpy")
def scoring_csr(yc, v, starts, tau2, start_ok, scale, reml, tol, maxiter):
    """(RE)ML τ² per group: returns (tau2, converged, iterations); see ``_scoring``."""
    G = len(start_ok)
    x_out = tau2.copy()
    conv = np.empty(G, dtype=np.bool_)
    its = np.zeros(G, dtype=np.int64)
    for g in numba.prange(G):
        if not start_ok[g]:
            conv[g] = True
            continue
        a, b = starts[g], starts[g + 1]
        x = tau2[g]
        lo, hi = 0.0, np.inf
        seen = False
        sc = scale[g]
        w1, w2 = np.inf, np.inf
        it = 0
        done = False
        for _ in range(maxiter):
            ypy, e, f, p3 = _terms(yc, v, a, b, x, reml)
            s = ypy - e
            up = s > 0
            if up:
                lo = x
            else:
                hi = x
            seen = seen or up
            at_zero = (x == 0) and not up
            dg = 2.0 * e * p3 - f * ypy
            step = ypy * s / dg if (dg > 0 and ypy > 0) else s / f
            size = tol * (sc + x)
            small = abs(step) <= size
            c_main = max(x + step, 0.0)
            c_fish = max(x + s / f, 0.0)
            ok_main = (c_main > lo or (c_main == 0 and not seen)) and c_main < hi
            ok_fish = (c_fish > lo or (c_fish == 0 and not seen)) and c_fish < hi
            bisect = 0.5 * (lo + hi) if math.isfinite(hi) else 2.0 * x + sc
            width = hi - lo
            slow = math.isfinite(width) and width > 0.5 * w2 and not small and it >= 6
            w2, w1 = w1, width
            if ok_main or small:
                xn = c_main
            elif ok_fish:
                xn = c_fish
            else:
                xn = bisect
            if slow:
                xn = bisect
            if (not seen) and (not small) and x > 0 and it >= 4:
                xn = 0.0
            if at_zero:
                xn = 0.0
            done = at_zero or small or (seen and hi - lo <= size)
            x = xn
            it += 1
            if done:
                break
        x_out[g] = x
        conv[g] = done
        its[g] = it
    return x_out, conv, its


@numba.njit(cache=True, inline="always", error_model="numpy")
def _qgen(yc, v, a, b, x):
    sw, mu = _weighted_mean(yc, v, a, b, x)
    Q = 0.0
    D = 0.0
    for k in range(a, b):
        w = 1.0 / (v[k] + x)
        r = yc[k] - mu
        e = w * r
        Q += e * r
        D += e * e
    return Q, D


@numba.njit(cache=True, parallel=True, error_model="numpy")
def solve_qgen_csr(yc, v, starts, target, start_ok, Q0, D0, ss, scale, tol, maxiter):
    """Root of Qgen(τ²) = target per group: returns (root, converged, iterations); see ``_solve_qgen``."""
    G = len(start_ok)
    x_out = np.zeros(G)
    conv = np.empty(G, dtype=np.bool_)
    its = np.zeros(G, dtype=np.int64)
    for g in numba.prange(G):
        if not start_ok[g]:
            conv[g] = True
            continue
        a, b = starts[g], starts[g + 1]
        t = target[g]
        x, lo, hi = 0.0, 0.0, ss[g] / t
        q, d = Q0[g], D0[g]
        sc = scale[g]
        it = 0
        done = False
        for _ in range(maxiter):
            if q > t:
                lo = x
            else:
                hi = x
            xn = x + q * (q - t) / (t * d)
            if not (xn > lo and xn < hi):
                xn = 0.5 * (lo + hi)
            size = tol * (sc + xn)
            exact = q == t
            done = exact or abs(xn - x) <= size or hi - lo <= size
            if not exact:
                x = xn
            it += 1
            if done:
                break
            q, d = _qgen(yc, v, a, b, x)
        x_out[g] = x
        conv[g] = done
        its[g] = it
    return x_out, conv, its


@numba.njit(cache=True, error_model="numpy")
def csr_scatter(g, starts, yc, v):
    """``yc`` and ``v`` sorted by group ``g`` (counting sort: stable, O(n)); ``starts`` the segment starts."""
    pos = starts[:-1].copy()
    ys = np.empty_like(yc)
    vs = np.empty_like(v)
    for k in range(len(g)):
        p = pos[g[k]]
        ys[p] = yc[k]
        vs[p] = v[k]
        pos[g[k]] = p + 1
    return ys, vs


@numba.njit(cache=True, parallel=True, error_model="numpy")
def final_sums(yc, v, starts, tau2, todo):
    """Per group at τ², w = 1/(v + τ²): (Q, D, sum w, weighted mean, sum w², sum w³, sum log1p(τ²/v),
    sum yc², sum v), each accumulated in claim order as ``_Claims.qgen``, ``power_sums`` and the
    log-likelihood check of ``_fit`` do (D = sum w² r², the negated derivative of Q). Groups with
    ``todo`` False are skipped (their outputs are NaN)."""
    G = len(starts) - 1
    Q = np.empty(G)
    D = np.empty(G)
    sw = np.empty(G)
    mu = np.empty(G)
    sw2 = np.empty(G)
    sw3 = np.empty(G)
    slog = np.empty(G)
    ss = np.empty(G)
    sv = np.empty(G)
    for g in numba.prange(G):
        if not todo[g]:
            Q[g] = D[g] = sw[g] = mu[g] = sw2[g] = sw3[g] = slog[g] = ss[g] = sv[g] = np.nan
            continue
        a, b = starts[g], starts[g + 1]
        x = tau2[g]
        s, sy, s2, s3, sl, syy, svv = 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
        for k in range(a, b):
            w = 1.0 / (x + v[k])
            s += w
            sy += w * yc[k]
            w2 = w * w
            s2 += w2
            s3 += w2 * w
            if x != 0.0:  # log1p(0) = 0
                sl += math.log1p(x * (1.0 / v[k]))
            syy += yc[k] * yc[k]
            svv += v[k]
        m = sy / s
        q = 0.0
        d = 0.0
        for k in range(a, b):
            w = 1.0 / (x + v[k])
            r = yc[k] - m
            e = w * r
            q += e * r
            d += e * e
        Q[g], D[g], sw[g], mu[g], sw2[g], sw3[g], slog[g], ss[g], sv[g] = q, d, s, m, s2, s3, sl, syy, svv
    return Q, D, sw, mu, sw2, sw3, slog, ss, sv
