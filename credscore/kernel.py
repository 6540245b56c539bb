"""The compiled per-quantity pass (numba), beside its numpy reference in :mod:`credscore.posterior`.

One compiled function does, per quantity, what the first attempt of
:func:`credscore.posterior.compute_posteriors` does with numpy blocks: the
one-centre sinh grid x(u) = c + a sinh(u) over the prior's support, the claims'
mixture log-likelihood on it, the Jacobian, the resolution check (the local sd
at the grid maximum spans at least two steps), normalisation and the log
evidence, the anchor check (no claim centre the grid does not resolve could
carry a bump holding more than e^-23 of the mass), the density-cut check, and
per claim P(accurate | data) with the residual statistics E[a (y − x)],
E[a (y − x)²]. A second compiled function computes every summary the
estimates table needs (mean and sd of x or of exp(x), mode, quantiles) from
the stored density in one pass per quantity, with the grid map evaluated once.

The kernel covers the common case: quantities whose claims are all points
(normal or Student-t errors) with a one-centre grid that passes its checks at
the first attempt. Everything else (intervals, bounds, a second centre, a
finer grid, atoms) goes to the numpy implementation, chosen by vectorised
masks. The numpy implementation is the reference: ``CREDSCORE_KERNEL=numpy``
in the environment, or ``credscore.kernel.ENABLED = False``, forces it, and
``tests/test_kernel.py`` holds the kernel to it.

The mathematics is that of :mod:`credscore.posterior`: the trapezoid rule in
the stretched coordinate (Trefethen & Weideman 2014, *SIAM Review* 56(3)),
Gregory end corrections (Press et al., *Numerical Recipes*, 3rd ed.,
eq. 4.1.14), quintic Hermite CDF and Newton inversion. numba compiles on
first use and caches the machine code on disk (``cache=True``: in
``__pycache__`` beside this file, or under ``NUMBA_CACHE_DIR``).
"""

from __future__ import annotations

import math
import os

import numpy as np

from . import _hermite

__all__ = ["ENABLED", "available", "enabled"]

#: Module switch: False forces the numpy reference (default: True unless ``CREDSCORE_KERNEL=numpy``).
ENABLED = os.environ.get("CREDSCORE_KERNEL", "").strip().lower() not in ("numpy", "off", "0", "false")

try:  # numba is a runtime dependency; without it (or with an unusable one) numpy is used
    import numba
    from numba import njit, prange

    _HAVE_NUMBA = True
except Exception:  # pragma: no cover - exercised only without numba
    _HAVE_NUMBA = False

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
_MASS_TAIL = 23.0
#: Quantities with more claims than this go to the numpy path (the kernel holds claims × grid per thread).
MAX_CLAIMS = 4096
_LN2HI = 6.93147180369123816490e-01  # ln 2 split so that n * _LN2HI is exact (fdlibm's e_exp.c constants)
_LN2LO = 1.90821492927058770002e-10
_LOG2E = 1.4426950408889634
_MAGIC = 6755399441055744.0  # 1.5 * 2**52: adding it rounds to an integer held in the low bits
_MAGIC_BITS = int(np.array([_MAGIC]).view(np.int64)[0])


def available() -> bool:
    """Whether the compiled kernel can run (numba imports)."""
    return _HAVE_NUMBA


def enabled() -> bool:
    """Whether the compiled kernel is used (numba available and not switched off)."""
    return _HAVE_NUMBA and bool(ENABLED)


def _chunk_bounds(n: int, per: int) -> np.ndarray:
    return np.arange(0, n + per, per).clip(max=n)


if _HAVE_NUMBA:

    @njit(cache=True, error_model="numpy", inline="always")
    def _gregory(k, g):
        if g >= 6:
            if k == 0 or k == g - 1:
                return 3.0 / 8.0
            if k == 1 or k == g - 2:
                return 7.0 / 6.0
            if k == 2 or k == g - 3:
                return 23.0 / 24.0
            return 1.0
        if k == 0 or k == g - 1:
            return 0.5
        return 1.0

    @njit(cache=True, error_model="numpy", inline="always")
    def _exp_into(t, e, kv, kb, pb, pw, g):
        """e[k] = exp(t[k]) for t clipped to [-746, 700] (callers clip above at 40), branch-free so that LLVM vectorises it:
        Cody-Waite reduction by ln 2 and a degree-13 Taylor polynomial (relative error below 3e-16;
        Muller, *Elementary Functions*, 3rd ed., ch. 11). ``kv``/``kb`` and ``pb``/``pw`` are float and
        int64 views of two scratch buffers (the exponent is built in the float's bits)."""
        for k in range(g):
            x = min(max(t[k], -746.0), 700.0)
            kf = x * _LOG2E + _MAGIC
            kv[k] = kf
            n = kf - _MAGIC
            r = x - n * _LN2HI - n * _LN2LO
            p = 1.0 / 6227020800.0
            p = p * r + 1.0 / 479001600.0
            p = p * r + 1.0 / 39916800.0
            p = p * r + 1.0 / 3628800.0
            p = p * r + 1.0 / 362880.0
            p = p * r + 1.0 / 40320.0
            p = p * r + 1.0 / 5040.0
            p = p * r + 1.0 / 720.0
            p = p * r + 1.0 / 120.0
            p = p * r + 1.0 / 24.0
            p = p * r + 1.0 / 6.0
            p = p * r + 0.5
            p = p * r + 1.0
            p = p * r + 1.0
            e[k] = p
        for k in range(g):  # 2^n as 2^(n // 2) 2^(n - n // 2): subnormal results (t < -708) come out
            nn = kb[k] - _MAGIC_BITS   # right and t <= -746 gives 0, as libm's exp does
            h1 = nn >> 1
            pb[k] = (h1 + 1023) << 52
            kb[k] = (nn - h1 + 1023) << 52
        for k in range(g):
            e[k] *= pw[k] * kv[k]

    @njit(cache=True, error_model="numpy", inline="always")
    def _claim_term(x, centre, inv, alpha, dfi, tconst, b, wild):
        """(log p(c | x), P(accurate | x)) of a point claim; alpha = log ρ + log(1/σ) − log √(2π) − b;
        ``dfi`` the Student-t degrees of freedom (0: normal) and ``tconst`` its constant."""
        z = (x - centre) * inv
        if dfi == 0.0:
            t = -0.5 * z * z
        else:
            t = tconst - (dfi + 1.0) / 2.0 * math.log1p(z * z / dfi)
        t += alpha
        if not wild:  # no wild component: log(ρ P_acc), certainly accurate
            return t, 1.0
        excess = 0.0
        if t > 700.0:
            excess = t - 700.0
            t = 700.0
        e = math.exp(t)
        d = e + 1.0
        return math.log(d) + b + excess, e / d

    @njit(cache=True, error_model="numpy")
    def _log_post_at(x, s0, s1, centre, inv, alpha, dfi, tconst, b, wild, weight, pmean, psd):
        lp = 0.0
        if not math.isnan(pmean):
            zz = (x - pmean) / psd
            lp = -0.5 * zz * zz
        for c in range(s0, s1):
            tm, _ = _claim_term(x, centre[c], inv[c], alpha[c], dfi[c], tconst[c], b[c], wild[c])
            lp += weight[c] * tm
        return lp

    @njit(cache=True, error_model="numpy", inline="always")
    def _u_at(x, c0, a0, c1, a1, w0, w1, two):
        if two:
            return w0 * math.asinh((x - c0) / a0) + w1 * math.asinh((x - c1) / a1)
        return w0 * math.asinh((x - c0) / a0)

    @njit(cache=True, error_model="numpy", inline="always")
    def _dudx_at(x, c0, a0, c1, a1, w0, w1, two):
        if two:
            return w0 / math.hypot(a0, x - c0) + w1 / math.hypot(a1, x - c1)
        return w0 / math.hypot(a0, x - c0)

    @njit(cache=True, error_model="numpy")
    def _x_two(u, c0, a0, c1, a1, w0, w1):
        """Inverse of the two-centre map at u: Newton safeguarded by the bracket of the one-centre
        inverses (as posterior._x_of_u)."""
        g0 = c0 + a0 * math.sinh(u)
        g1 = c1 + a1 * math.sinh(u)
        lo, hi = min(g0, g1), max(g0, g1)
        x = w0 * g0 + w1 * g1
        scale = min(a0, a1)
        for _ in range(60):
            f = w0 * math.asinh((x - c0) / a0) + w1 * math.asinh((x - c1) / a1) - u
            if f < 0:
                lo = x
            else:
                hi = x
            d = f / (w0 / math.hypot(a0, x - c0) + w1 / math.hypot(a1, x - c1))
            small = abs(d) <= 1e-13 * max(abs(x), scale)
            xn = x - d
            if not small and (xn <= lo or xn >= hi or not math.isfinite(xn)):
                xn = 0.5 * (lo + hi)
            x = xn
            if small or f == 0:
                break
        return x

    @njit(cache=True, error_model="numpy", parallel=True)
    def _grid_pass(qsel, starts, centre, sigma, inv, alpha, dfi, tconst, b, wild, weight,
                   prior_lo, prior_hi, prior_mean, prior_sd, c1, s, stretch, g_first, robust, residuals, per,
                   n_att, u0_out, du_out, le_out, size_out, att_out, res_out, map_out, dens_out,
                   acc_out, r1_out, r2_out):
        """Every grid attempt of compute_posteriors, per quantity: map, likelihood, checks, retries
        (re-centre and tighten an unresolved mode, a second centre at a missed bump, the finer grid
        for a cut density), then the outputs of the accepted grid."""
        n = len(qsel)
        nchunks = (n + per - 1) // per
        maxc = 0
        for i in range(n):
            q = qsel[i]
            maxc = max(maxc, starts[q + 1] - starts[q])
        G = max(g_first, robust)
        for ch in prange(nchunks):
            lq = np.empty(G)
            xs = np.empty(G)
            wq = np.empty(G)
            accb = np.empty((max(maxc, 1), G))
            exc = np.empty(max(maxc, 1))
            tt = np.empty(G)
            ee = np.empty(G)
            dd = np.empty(G)
            prod = np.empty(G)
            lsum = np.empty(G)
            kv = np.empty(G)
            kb = kv.view(np.int64)
            pb = np.empty(G, dtype=np.int64)
            pw = pb.view(np.float64)
            for i in range(ch * per, min(n, (ch + 1) * per)):
                q = qsel[i]
                s0, s1 = starts[q], starts[q + 1]
                pm, ps = prior_mean[q], prior_sd[q]
                plo, phi = prior_lo[q], prior_hi[q]
                ca = c1[q]
                aa = stretch * s[q]
                cb, ab = ca, aa
                wa, wb = 1.0, 0.0
                two = False
                g = g_first
                tiny = 1e-12 * (phi - plo)
                u0 = du = le = z = 0.0
                res_ok = False
                anc_ok = False
                for att in range(n_att):
                    last = att == n_att - 1
                    if last:
                        g = robust
                    u0 = _u_at(plo, ca, aa, cb, ab, wa, wb, two)
                    u1 = _u_at(phi, ca, aa, cb, ab, wa, wb, two)
                    du = (u1 - u0) / (g - 1)
                    # nodes, and the Jacobian dx/du started in the product of the claims' factors
                    loga = 0.0
                    if two:
                        for k in range(g):
                            x = _x_two(u0 + du * k, ca, aa, cb, ab, wa, wb)
                            xs[k] = x
                            prod[k] = 1.0 / _dudx_at(x, ca, aa, cb, ab, wa, wb, True)
                    else:  # x = c + a sinh(u), dx/du = a cosh(u): one vectorised exp per node
                        loga = math.log(aa)
                        for k in range(g):
                            tt[k] = u0 + du * k
                        _exp_into(tt, ee, kv, kb, pb, pw, g)
                        for k in range(g):
                            eu = ee[k]
                            ieu = 1.0 / eu
                            xs[k] = ca + aa * (0.5 * (eu - ieu))
                            prod[k] = 0.5 * (eu + ieu)
                    for k in range(g):
                        lsum[k] = 0.0
                        lq[k] = 0.0
                    if not math.isnan(pm):
                        for k in range(g):
                            zz = (xs[k] - pm) / ps
                            lq[k] = -0.5 * zz * zz
                    # the claims' terms: weight * (log(1 + e^t) + b), P(accurate) = e^t / (1 + e^t); for unit
                    # weights the logs are taken of products of (1 + e^t), 16 factors at a time
                    bsum = 0.0
                    nprod = 0
                    for cc in range(s0, s1):
                        ce, iv, al, df_, tc, wt = centre[cc], inv[cc], alpha[cc], dfi[cc], tconst[cc], weight[cc]
                        row = cc - s0
                        if df_ == 0.0:
                            for k in range(g):
                                zc = (xs[k] - ce) * iv
                                tt[k] = al - 0.5 * zc * zc
                        else:
                            for k in range(g):
                                zc = (xs[k] - ce) * iv
                                tt[k] = al + tc - (df_ + 1.0) / 2.0 * math.log1p(zc * zc / df_)
                        if not wild[cc]:  # no wild component: log(rho P_acc), certainly accurate
                            for k in range(g):
                                lsum[k] += wt * tt[k]
                                accb[row, k] = 1.0
                            continue
                        # log(1 + e^t) = (t - 40) + log(1 + e^40) to rounding when t > 40: clipped there,
                        # each factor stays below e^40.1 and 16 of them cannot overflow
                        for k in range(g):
                            t_ = tt[k]
                            tcl = min(t_, 40.0)
                            lsum[k] += wt * (t_ - tcl)
                            tt[k] = tcl
                        _exp_into(tt, ee, kv, kb, pb, pw, g)
                        for k in range(g):
                            d = ee[k] + 1.0
                            dd[k] = d
                            accb[row, k] = ee[k] / d
                        if wt == 1.0:
                            if nprod == 16:
                                for k in range(g):
                                    lsum[k] += math.log(prod[k])
                                    prod[k] = 1.0
                                nprod = 0
                            for k in range(g):
                                prod[k] *= dd[k]
                            nprod += 1
                            bsum += b[cc]
                        else:
                            bb = b[cc]
                            for k in range(g):
                                lsum[k] += wt * (math.log(dd[k]) + bb)
                    for k in range(g):
                        lq[k] += lsum[k] + math.log(prod[k]) + (bsum + loga)
                    j = 0
                    mx = -np.inf
                    for k in range(g):
                        if lq[k] > mx:
                            mx = lq[k]
                            j = k
                    if not math.isfinite(mx):
                        break  # numpy's business
                    jm = max(j - 1, 0)
                    jp = min(j + 1, g - 1)
                    curv = -(lq[jm] - 2.0 * lq[j] + lq[jp])
                    res_ok = not (curv > 0.25)
                    z = 0.0
                    qmax = 0.0
                    for k in range(g):
                        tt[k] = lq[k] - mx
                    _exp_into(tt, wq, kv, kb, pb, pw, g)
                    for k in range(g):
                        v = wq[k]
                        z += _gregory(k, g) * v
                        qmax = max(qmax, v)
                    z *= du
                    le = mx + math.log(z)
                    cut = (max(wq[0] / z, wq[g - 1] / z) > 1e-10 * (qmax / z)) and (g < robust)
                    # anchor check: the unresolved claim centre carrying the largest bump
                    # (claims whose bumps tie to rounding, as two claims of a symmetric pair do: the first,
                    # as numpy's stable sort takes it)
                    anc_ok = True
                    best = 0.0
                    ax = 0.0
                    asig = 0.0
                    for cc in range(s0, s1):
                        exc[cc - s0] = -np.inf
                        xc = centre[cc]
                        if not (xc > plo and xc < phi):
                            continue
                        spacing = du / _dudx_at(xc, ca, aa, cb, ab, wa, wb, two)
                        if spacing > 0.5 * sigma[cc]:
                            lp = _log_post_at(xc, s0, s1, centre, inv, alpha, dfi, tconst, b, wild, weight, pm, ps)
                            excess = lp + math.log(sigma[cc]) + _LOG_SQRT_2PI - (le - _MASS_TAIL)
                            exc[cc - s0] = excess
                            if excess > 0 and (anc_ok or excess > best):
                                anc_ok = False
                                best = excess
                    if not anc_ok:
                        for cc in range(s0, s1):
                            if exc[cc - s0] >= best - 1e-12 * max(1.0, abs(best)):
                                ax = centre[cc]
                                asig = sigma[cc]
                                break
                    if (res_ok and anc_ok and not cut) or last:
                        size_out[i] = g
                        att_out[i] = att + 1
                        res_out[i] = res_ok and anc_ok
                        break
                    # the retries of compute_posteriors, in its order
                    xb = xs[j]
                    local = du / _dudx_at(xb, ca, aa, cb, ab, wa, wb, two) / math.sqrt(max(curv, 1e-300))
                    if not anc_ok:
                        if not two:
                            cb, ab = ax, stretch * asig
                            wa, wb = 0.5, 0.5
                            two = True
                        g = robust
                    if not res_ok:
                        ca = xb
                        aa = max(min(aa * 0.25, stretch * local), tiny)
                        if not two:
                            cb, ab = ca, aa
                    if cut:
                        g = robust
                if size_out[i] == 0:
                    continue
                if g > dens_out.shape[1]:  # no room for this grid here: the caller runs it again
                    size_out[i] = -g
                    continue
                map_out[i, 0], map_out[i, 1], map_out[i, 2], map_out[i, 3] = ca, cb, aa, ab
                map_out[i, 4], map_out[i, 5] = wa, wb
                u0_out[i], du_out[i], le_out[i] = u0, du, le
                for k in range(g):
                    v = wq[k] / z
                    dens_out[i, k] = v
                    wq[k] = _gregory(k, g) * du * v
                for cc in range(s0, s1):
                    row = cc - s0
                    sa = 0.0
                    sr1 = 0.0
                    sr2 = 0.0
                    ce = centre[cc]
                    for k in range(g):
                        t = wq[k] * accb[row, k]
                        sa += t
                        if residuals:
                            d = ce - xs[k]
                            sr1 += t * d
                            sr2 += t * d * d
                    acc_out[cc] = sa
                    if residuals:
                        r1_out[cc] = sr1
                        r2_out[cc] = sr2


def eligible_quantities(model) -> np.ndarray:
    """Quantities the compiled first pass covers (bool per quantity): every claim a point with a
    positive finite error scale, a normal or Student-t error, and a finite mixture weight."""
    from .likelihood import SHAPE_POINT

    nq = model.n_quantities
    ok = (model.shape == SHAPE_POINT) & np.isfinite(model.sigma) & (model.sigma > 0) & np.isfinite(model.centre)
    ok &= (model.df > 0) & ~np.isnan(model.df) & np.isfinite(model.log_rho)
    b = model.log_1mrho + model.log_wild
    ok &= ~np.isnan(b) & (b < np.inf)
    if model.weight is not None:
        ok &= np.isfinite(model.weight)
    bad = np.bincount(model.quantity[~ok], minlength=nq) > 0
    bad |= model.counts > MAX_CLAIMS  # the pass keeps a claims × grid block per quantity
    fin = np.isfinite(model.prior_lo) & np.isfinite(model.prior_hi) & (model.prior_hi > model.prior_lo)
    pm = ~np.isnan(model.prior_mean)
    fin &= ~pm | (np.isfinite(model.prior_mean) & (model.prior_sd > 0))
    return ~bad & fin


def grid_pass(model, qsel: np.ndarray, c1: np.ndarray, s: np.ndarray, stretch: float, g: int, robust: int,
              residuals: bool, chunk_cells: int, attempts: int, store_robust: bool = False):
    """Every grid attempt of :func:`credscore.posterior.compute_posteriors` for quantities ``qsel`` (all
    eligible), compiled: the same maps, checks and retries, starting from centres ``c1`` and
    stretches ``stretch * s``.

    Returns (size, attempts, resolved, map (len(qsel), 6: c0, c1, a0, a1, w0, w1), u0, du,
    log_evidence, (density, rows, density of those rows), accurate, r1, r2); ``size`` is 0 where
    the quantity was left to numpy; the per-claim arrays are in model order. The densities are
    rows of ``density`` except for quantities ``qsel[rows]``, whose rows are in the third array.
    """
    from scipy import special

    n = len(model.claim)
    sigma = model.sigma.astype(float)
    inv = 1.0 / sigma
    b = model.log_1mrho + model.log_wild
    wild = np.isfinite(b)
    df = model.df.astype(float)
    student = np.isfinite(df)
    dfi = np.where(student, df, 0.0)
    d = np.where(student, df, 1.0)
    if student.any():
        tconst = np.where(student, special.gammaln((d + 1) / 2) - special.gammaln(d / 2) - 0.5 * np.log(d * math.pi)
                          + _LOG_SQRT_2PI, 0.0)
    else:  # normal errors only: no log-gamma of every claim
        tconst = np.zeros(n)
    alpha = model.log_rho + np.log(inv) - _LOG_SQRT_2PI - np.where(wild, b, 0.0)
    weight = np.ones(n) if model.weight is None else model.weight.astype(float)
    m = len(qsel)
    # densities of the first grid size only, unless the finer one is at most twice as large (the
    # few quantities that end on the finer grid are then run again with room for it)
    G = max(g, robust) if (robust <= 2 * g or store_robust) else g
    size = np.zeros(m, dtype=np.int64)
    att = np.zeros(m, dtype=np.int64)
    res = np.zeros(m, dtype=np.bool_)
    maps = np.empty((m, 6))
    u0, du, le = np.empty(m), np.empty(m), np.empty(m)
    dens = np.empty((m, G))
    acc = np.full(n, np.nan)
    r1 = np.full(n, np.nan)
    r2 = np.full(n, np.nan)
    counts = model.counts[qsel]
    per = max(1, int(chunk_cells // max(g * max(float(np.mean(counts)) if m else 1.0, 1.0), 1)))
    _grid_pass(qsel.astype(np.int64), model.starts.astype(np.int64), model.centre.astype(float), sigma, inv, alpha,
               dfi, tconst, np.where(wild, b, 0.0), wild, weight, model.prior_lo.astype(float),
               model.prior_hi.astype(float), model.prior_mean.astype(float), model.prior_sd.astype(float),
               c1.astype(float), s.astype(float), float(stretch), int(g), int(robust), bool(residuals), int(per),
               int(attempts), u0, du, le, size, att, res, maps, dens, acc, r1, r2)
    again = np.flatnonzero(size < 0)
    if len(again) and not store_robust:
        out = grid_pass(model, qsel[again], c1, s, stretch, g, robust, residuals, chunk_cells, attempts, True)
        size[again], att[again], res[again], maps[again] = out[0], out[1], out[2], out[3]
        u0[again], du[again], le[again] = out[4], out[5], out[6]
        cnt = model.counts[qsel[again]]
        rows = np.arange(int(cnt.sum())) + np.repeat(model.starts[qsel[again]] - (np.cumsum(cnt) - cnt), cnt)
        acc[rows] = out[8][rows]
        r1[rows], r2[rows] = out[9][rows], out[10][rows]
        return size, att, res, maps, u0, du, le, (dens, again, out[7][0]), acc, r1, r2
    return size, att, res, maps, u0, du, le, (dens, None, None), acc, r1, r2

if _HAVE_NUMBA:

    _quintic = njit(cache=True, error_model="numpy", inline="always")(_hermite.quintic)
    _quintic_slope = njit(cache=True, error_model="numpy", inline="always")(_hermite.quintic_slope)

    @njit(cache=True, error_model="numpy", inline="always")
    def _ref_log_p(qk, u, c, a, ex):
        """log p at a node as posterior.GridPosterior.mode computes it (log q − log dx/du [− x])."""
        x = c + a * math.sinh(u)
        lp = (math.log(qk) if qk > 0 else -np.inf) - math.log(math.hypot(a, x - c))
        return lp - x if ex else lp

    @njit(cache=True, error_model="numpy", parallel=True)
    def _summaries(q, qn, d1, d2, cre, cim, start, step, centre, stretch, expm, probs,
                   mean_out, sd_out, mode_out, qs_out):
        n, g = q.shape
        nm = cre.shape[1]
        P = len(probs)
        for i in prange(n):
            h = step[i]
            u0 = start[i]
            c = centre[i]
            a = stretch[i]
            ex = expm[i]
            xs = np.empty(g)
            ch = np.empty(g)  # cosh(u): dx/du = a cosh(u) = hypot(a, x - c)
            for k in range(g):
                eu = math.exp(u0 + h * k)
                ieu = 1.0 / eu
                xs[k] = c + a * (0.5 * (eu - ieu))
                ch[k] = 0.5 * (eu + ieu)
            # ---- moments (of x, or of exp(x))
            if ex:
                shift = -np.inf
                for k in range(g):
                    shift = max(shift, xs[k])
                m1 = 0.0
                m2 = 0.0
                for k in range(g):
                    v = math.exp(xs[k] - shift)
                    wqv = _gregory(k, g) * h * q[i, k] * v
                    m1 += wqv
                    m2 += wqv * v
                sc = math.exp(shift)
                mean_out[i] = m1 * sc
                sd_out[i] = math.sqrt(max(m2 - m1 * m1, 0.0)) * sc
            else:
                m = 0.0
                for k in range(g):
                    m += _gregory(k, g) * h * q[i, k] * xs[k]
                var = 0.0
                for k in range(g):
                    dx = xs[k] - m
                    var += _gregory(k, g) * h * q[i, k] * dx * dx
                mean_out[i] = m
                sd_out[i] = math.sqrt(max(var, 0.0))
            # ---- mode: grid maximum of log p, refined
            j = -1
            best = -np.inf
            qmax = 0.0
            for k in range(g):
                qmax = max(qmax, q[i, k])
            # the grid maximum of log p: a cheap score first, then the reference's expression (nodes
            # x = c + a sinh(u), log p = log q - log hypot(a, x - c) [- x]) on the nodes that come
            # within rounding of the best, so that ties resolve as in numpy (the first node)
            scs = np.empty(g)
            for k in range(g):
                if ex:
                    sc = (math.log(q[i, k]) if q[i, k] > 0 else -np.inf) - math.log(a * ch[k]) - xs[k]
                else:
                    sc = q[i, k] / ch[k]
                scs[k] = sc
                if k == 0 or sc > best:
                    best = sc
            thr = best - 1e-9 * (1.0 + abs(best)) if ex else best * (1.0 - 1e-9)
            best = -np.inf
            for k in range(g):
                if scs[k] >= thr:
                    lp = _ref_log_p(q[i, k], u0 + h * k, c, a, ex)
                    if lp > best or j < 0:
                        best = lp
                        j = k
            jm = max(j - 1, 0)
            jp = min(j + 1, g - 1)
            lpm = _ref_log_p(q[i, jm], u0 + h * jm, c, a, ex)
            lpj = _ref_log_p(q[i, j], u0 + h * j, c, a, ex)
            lpp = _ref_log_p(q[i, jp], u0 + h * jp, c, a, ex)
            den = lpm - 2 * lpj + lpp
            sh = 0.0
            if jm < j and jp > j and den < 0:
                sh = 0.5 * (lpm - lpp) / den
                if math.isnan(sh):
                    sh = 0.0
            t = j + min(max(sh, -0.5), 0.5)
            smooth = max(q[i, 0], q[i, g - 1]) < 1e-10 * qmax
            if not smooth:  # a density cut by the support: its maximum may be a plateau, left to numpy
                mode_out[i] = np.nan
            else:  # Newton on the trigonometric interpolant of q (exact for smooth densities)
                t = float(j)
                # terms below 1e-18 of the largest change nothing: stop the sums at the last one above
                cmax = 0.0
                for mm in range(nm):
                    cmax = max(cmax, abs(cre[i, mm]) + abs(cim[i, mm]))
                last = nm
                while last > 1 and abs(cre[i, last - 1]) + abs(cim[i, last - 1]) < 1e-18 * cmax:
                    last -= 1
                for it in range(8):
                    ang = 2 * math.pi * t / g
                    br, bi = math.cos(ang), math.sin(ang)
                    er, ei = 1.0, 0.0
                    q0 = 0.0
                    q1 = 0.0
                    q2 = 0.0
                    for mm in range(last):
                        om = 2 * math.pi * mm / g
                        re = cre[i, mm] * er - cim[i, mm] * ei  # Re(c e)
                        im = cre[i, mm] * ei + cim[i, mm] * er  # Im(c e)
                        q0 += re
                        if not (g % 2 == 0 and mm == nm - 1):
                            q1 -= om * im  # Re(i om c e)
                        q2 -= om * om * re
                        er, ei = er * br - ei * bi, er * bi + ei * br
                    q1 /= h
                    q2 /= h * h
                    u = u0 + h * t
                    dd1 = q1 / q0 - math.tanh(u)
                    chu = math.cosh(u)
                    dd2 = (q2 * q0 - q1 * q1) / (q0 * q0) - 1.0 / chu ** 2
                    if ex:
                        dd1 -= a * chu
                        dd2 -= a * math.sinh(u)
                    delta = 0.0
                    if dd2 < 0 and q0 > 0:
                        delta = -dd1 / dd2 / h
                        if math.isnan(delta):
                            delta = 0.0
                    delta = min(max(delta, -0.5), 0.5)
                    t = min(max(t + delta, j - 1.0), j + 1.0)
                    if abs(delta) < 1e-10:
                        break
                mode_out[i] = c + a * math.sinh(u0 + t * h)
            # ---- quantiles: quintic Hermite CDF, inverted by safeguarded Newton
            F = np.empty(g)
            F[0] = 0.0
            for k in range(g - 1):
                cell = h * (0.5 * (qn[i, k + 1] + qn[i, k]) + h * (d1[i, k] - d1[i, k + 1]) / 10.0
                            + h * h * (d2[i, k] + d2[i, k + 1]) / 120.0)
                F[k + 1] = F[k] + max(cell, 0.0)
            tot = F[g - 1]
            for k in range(g):
                F[k] = F[k] / tot
            for pi in range(P):
                p = probs[pi]
                cnt = 0
                for k in range(g):
                    if F[k] < p:
                        cnt += 1
                jj = min(max(cnt - 1, 0), g - 2)
                y0, y1 = F[jj], F[jj + 1]
                s0, s1 = qn[i, jj] / tot * h, qn[i, jj + 1] / tot * h
                c0, c1 = d1[i, jj] / tot * h * h, d1[i, jj + 1] / tot * h * h
                dF = y1 - y0
                tq = (p - y0) / dF if dF > 0 else 0.5
                if math.isnan(tq):
                    tq = 0.5
                tq = min(max(tq, 0.0), 1.0)
                lo, hi = 0.0, 1.0
                for it in range(40):
                    val = _quintic(y0, y1, s0, s1, c0, c1, tq) - p
                    if val < 0:
                        lo = tq
                    else:
                        hi = tq
                    der = _quintic_slope(y0, y1, s0, s1, c0, c1, tq)
                    tn = tq - val / der if der != 0 else np.nan
                    if not math.isfinite(tn) or tn <= lo or tn >= hi:
                        tn = 0.5 * (lo + hi)
                    if abs(tn - tq) < 1e-14:
                        tq = tn
                        break
                    tq = tn
                qs_out[i, pi] = c + a * math.sinh(u0 + h * (jj + tq))


def summaries(q: np.ndarray, start: np.ndarray, step: np.ndarray, centre: np.ndarray, stretch: np.ndarray,
              exp: np.ndarray, probs: np.ndarray):
    """Mean, sd, mode and quantiles of one-centre grid densities ``q`` (rows of one grid size), compiled.

    The same computation as :meth:`credscore.posterior.GridPosterior.moments`, ``.mode`` and
    ``.quantiles`` for rows without atoms whose map is x = ``centre`` + ``stretch`` sinh(u), with the
    map evaluated once per row; ``exp[i]`` asks for the moments and mode of exp(x). The spectral
    derivatives and coefficients come from numpy's FFT, as in the reference. The mode of a density
    cut by the prior's support (whose maximum can be a plateau) is NaN: the caller asks numpy.
    """
    from .posterior import _derivatives, _norm

    n, g = q.shape
    h = step[:, None]
    norm = _norm(q, step)[:, None]
    qn = q / norm
    nm = g // 2 + 1
    cre, cim = np.zeros((n, nm)), np.zeros((n, nm))
    d1, d2 = np.empty_like(q), np.empty_like(q)
    smooth = np.maximum(q[:, 0], q[:, -1]) < 1e-10 * np.max(q, axis=1)
    if not smooth.all():  # cut densities: finite differences
        d1[~smooth], d2[~smooth] = _derivatives(qn[~smooth], h[~smooth])
    if smooth.any():
        if smooth.all():  # the usual case: views, not gathered copies of every row
            smooth = slice(None)
        # one FFT per row gives both the spectral derivatives of posterior._derivatives and the
        # trigonometric interpolant's coefficients of posterior._newton_mode
        spec = np.fft.rfft(q[smooth], axis=1)
        k = 2 * np.pi * np.fft.rfftfreq(g)
        ik = 1j * k
        if g % 2 == 0:
            ik[-1] = 0.0
        hs, ns = h[smooth], norm[smooth]
        d1[smooth] = np.fft.irfft(ik * spec, n=g, axis=1) / hs / ns
        d2[smooth] = np.fft.irfft(-(k * k) * spec, n=g, axis=1) / (hs * hs) / ns
        wt = np.full(nm, 2.0 / g)
        wt[0] = 1.0 / g
        if g % 2 == 0:
            wt[-1] *= 0.5
        spec *= wt
        cre[smooth], cim[smooth] = spec.real, spec.imag
    mean, sd, mode = np.empty(n), np.empty(n), np.empty(n)
    qs = np.empty((n, len(probs)))
    _summaries(np.ascontiguousarray(q), qn, d1, d2, cre, cim, start.astype(float), step.astype(float),
               centre.astype(float), stretch.astype(float), np.asarray(exp, dtype=np.bool_),
               np.asarray(probs, dtype=float), mean, sd, mode, qs)
    return mean, sd, mode, qs


if _HAVE_NUMBA:

    @njit(cache=True, error_model="numpy")
    def _exp_array(t, e, kv, kb, pb, pw):
        """:func:`_exp_into` over whole arrays (for the tests)."""
        _exp_into(t, e, kv, kb, pb, pw, len(t))


# ------------------------------------------------------------ segment helpers (O(claims), no sort)
if _HAVE_NUMBA:

    @njit(cache=True, error_model="numpy")
    def _stable_by_code(order, codes, n):
        """``order`` stably re-sorted by ``codes[order]`` (a counting sort: O(len + n))."""
        pos = np.zeros(n + 1, dtype=np.int64)
        for i in range(len(order)):
            pos[codes[order[i]] + 1] += 1
        for g in range(n):
            pos[g + 1] += pos[g]
        out = np.empty(len(order), dtype=np.int64)
        for i in range(len(order)):
            c = codes[order[i]]
            out[pos[c]] = order[i]
            pos[c] += 1
        return out

    @njit(cache=True, error_model="numpy")
    def _order_by_code_value(values, codes, n):
        """An order sorted as np.lexsort((values, codes)) sorts (a counting sort by code, then a sort of
        each group's values; the groups are small). Equal values may come in another order, which
        changes no weighted quantile."""
        order = _stable_by_code(np.arange(len(codes)), codes, n)
        start = 0
        while start < len(order):
            c = codes[order[start]]
            stop = start + 1
            while stop < len(order) and codes[order[stop]] == c:
                stop += 1
            if stop - start > 1:
                seg = order[start:stop].copy()
                idx = np.argsort(values[seg], kind="mergesort")
                for k in range(stop - start):
                    order[start + k] = seg[idx[k]]
            start = stop
        return order

    @njit(cache=True, error_model="numpy")
    def _segment_order_stat(values, codes, n, q):
        """Unweighted quantile per group as :func:`credscore._segments.segment_quantile` defines it
        (the lower one, averaged with the next where the target falls exactly between two), by
        selection: the values gathered by group (a counting pass), then an insertion sort of a small
        group or a partition of a large one (Hoare's selection), never a full sort."""
        pos = np.zeros(n + 1, dtype=np.int64)
        for i in range(len(codes)):
            pos[codes[i] + 1] += 1
        for g in range(n):
            pos[g + 1] += pos[g]
        buf = np.empty(len(codes))
        fill = pos[:-1].copy()
        for i in range(len(codes)):
            c = codes[i]
            buf[fill[c]] = values[i]
            fill[c] += 1
        out = np.full(n, np.nan)
        for g in range(n):
            a, b = pos[g], pos[g + 1]
            k = b - a
            if k == 0:
                continue
            kf = float(k)
            # the first rank whose cumulative count reaches q * k (less 1e-12 k), as the sorted path finds it
            j = int(math.ceil(q * kf - 1e-12 * kf)) - 1
            j = min(max(j, 0), k - 1)
            tie = abs((j + 1) - q * kf) <= 1e-12 * max(kf, 1.0) and j + 1 < k
            seg = buf[a:b]
            if k <= 48:
                for i in range(1, k):  # insertion sort
                    v = seg[i]
                    m = i - 1
                    while m >= 0 and seg[m] > v:
                        seg[m + 1] = seg[m]
                        m -= 1
                    seg[m + 1] = v
                lo = seg[j]
                hi = seg[j + 1] if tie else lo
            else:
                part = np.partition(seg, j)
                lo = part[j]
                hi = lo
                if tie:
                    hi = part[j + 1]
                    for i in range(j + 2, k):
                        if part[i] < hi:
                            hi = part[i]
            out[g] = 0.5 * (lo + hi) if tie else lo
        return out

    @njit(cache=True, error_model="numpy")
    def _distinct_per_group(groups, items, n_groups, n_items):
        by_item = _stable_by_code(np.arange(len(items)), items, n_items)
        last = np.full(n_groups, -1, dtype=np.int64)
        out = np.zeros(n_groups, dtype=np.int64)
        for k in range(len(by_item)):
            i = by_item[k]
            g, it = groups[i], items[i]
            if last[g] != it:
                last[g] = it
                out[g] += 1
        return out


def stable_by_code(order: np.ndarray, codes: np.ndarray, n: int) -> np.ndarray | None:
    """``order[np.argsort(codes[order], kind="stable")]`` by a compiled counting sort (None without
    the kernel)."""
    if not enabled():
        return None
    return _stable_by_code(np.asarray(order, dtype=np.int64), np.asarray(codes, dtype=np.int64), int(n))


def order_by_code_value(values: np.ndarray, codes: np.ndarray, n: int) -> np.ndarray | None:
    """An order sorted as ``np.lexsort((values, codes))`` in O(len) plus small sorts (None without the
    kernel, or with NaN values, whose place numpy's sort defines)."""
    if not enabled() or not len(values) or np.isnan(values).any():
        return None
    return _order_by_code_value(np.asarray(values, dtype=float), np.asarray(codes, dtype=np.int64), int(n))


if _HAVE_NUMBA:

    @njit(cache=True, error_model="numpy")
    def _scatter_rows(out, offsets, src, rows, g):
        for k in range(len(rows)):
            o, r = offsets[k], rows[k]
            for j in range(g):
                out[o + j] = src[r, j]


def scatter_rows(out: np.ndarray, offsets: np.ndarray, src: np.ndarray, rows: np.ndarray, g: int) -> None:
    """``out[offsets[k] : offsets[k] + g] = src[rows[k], :g]`` for every k, in place (compiled: no
    index array of every cell, no copy of the selected rows)."""
    _scatter_rows(out, np.asarray(offsets, dtype=np.int64), src, np.asarray(rows, dtype=np.int64), int(g))


def segment_order_stat(values: np.ndarray, codes: np.ndarray, n: int, q: float) -> np.ndarray | None:
    """Unweighted ``segment_quantile`` by per-group selection in O(len) (None without the kernel, or
    with NaN values, whose place numpy's sort defines)."""
    if not enabled() or not len(values) or np.isnan(values).any():
        return None
    return _segment_order_stat(np.asarray(values, dtype=float), np.asarray(codes, dtype=np.int64), int(n), float(q))


def distinct_per_group(groups: np.ndarray, items: np.ndarray, n_groups: int, n_items: int) -> np.ndarray | None:
    """Number of distinct ``items`` per group in O(len) (None without the kernel)."""
    if not enabled():
        return None
    return _distinct_per_group(np.asarray(groups, dtype=np.int64), np.asarray(items, dtype=np.int64),
                               int(n_groups), int(n_items))
