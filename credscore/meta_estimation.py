"""Estimation for the grouped random-effects meta-analysis of :mod:`credscore.meta`.

Fixed-effect pass, τ² by DerSimonian–Laird, (RE)ML Fisher scoring (Viechtbauer
2005) or Paule–Mandel, inference for the pooled estimate, and the Q-profile
interval for τ² (Viechtbauer 2007), all vectorised over groups. The per-group
iterations (:func:`_scoring`, :func:`_solve_qgen`) run compiled over groups
sorted into CSR segments (:mod:`credscore.meta_kernel`) unless ``COMPILED`` is
False; the numpy versions here are the reference the kernels are tested against.

References
----------
Viechtbauer, W. (2005). Bias and efficiency of meta-analytic variance
estimators in the random-effects model. *Journal of Educational and
Behavioral Statistics*, 30(3), 261-293.

Viechtbauer, W. (2007). Confidence intervals for the amount of heterogeneity
in meta-analysis. *Statistics in Medicine*, 26(1), 37-52.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import special

from .exceptions import ConvergenceWarning

# metafor's default tolerance for the "is the likelihood larger at tau^2 = 0?"
# check after Fisher scoring (.Machine$double.eps^0.25).
_LL0_TOL = np.finfo(float).eps ** 0.25

#: Run the per-group iterations compiled (numba); False runs the numpy reference.
COMPILED = True


class _Claims:
    """The claims of the (still active) groups, with scratch buffers.

    All per-claim arithmetic is done in place in three preallocated buffers,
    and per-group sums are :func:`numpy.bincount` segment reductions, so one
    pass costs a few reads of the claim arrays and no large allocations.
    """

    __slots__ = ("g", "yc", "v", "G", "n", "_b1", "_b2", "_b3")

    def __init__(self, g, yc, v, G):
        self.g, self.yc, self.v, self.G = g, yc, v, G
        self.n = g.shape[0]
        self._b1 = np.empty(self.n)
        self._b2 = np.empty(self.n)
        self._b3 = np.empty(self.n)

    def sum(self, x):
        return np.bincount(self.g, weights=x, minlength=self.G)

    def expand(self, per_group, out):
        return np.take(per_group, self.g, out=out, mode="clip")

    def subset(self, keep):
        """Claims of the groups with ``keep`` (bool per group), relabelled 0..A-1."""
        mask = keep[self.g]
        newlab = np.cumsum(keep) - 1
        return _Claims(newlab[self.g[mask]], self.yc[mask], self.v[mask], int(keep.sum()))

    def _weights_and_mean(self, x):
        """w = 1/(v + x) in b1, residuals r = yc - mu in b2; returns (sw, mu)."""
        w, r = self._b1, self._b2
        self.expand(x, w)
        w += self.v
        np.reciprocal(w, out=w)
        sw = self.sum(w)
        np.multiply(w, self.yc, out=r)
        mu = self.sum(r) / sw
        self.expand(mu, r)
        np.subtract(self.yc, r, out=r)
        return sw, mu

    def qgen(self, x):
        """Generalized Q at tau^2 = x (per group), its negated derivative, sum w, mean.

        ``Q = sum w r^2`` and ``D = sum w^2 r^2 = -dQ/dx`` with ``w = 1/(v+x)``
        and ``r`` the residuals from the weighted mean (the mean's dependence on
        ``x`` drops out of the derivative because the mean minimizes Q).
        """
        sw, mu = self._weights_and_mean(x)
        w, r, e = self._b1, self._b2, self._b3
        np.multiply(w, r, out=e)  # e = w r
        np.multiply(e, r, out=r)  # w r^2
        Q = self.sum(r)
        np.multiply(e, e, out=e)  # w^2 r^2
        D = self.sum(e)
        return Q, D, sw, mu

    def power_sums(self):
        """sum w^2 and sum w^3 for the weights left in b1 by the last pass."""
        w, t = self._b1, self._b3
        np.multiply(w, w, out=t)
        sw2 = self.sum(t)
        t *= w
        return sw2, self.sum(t)

    def likelihood_terms(self, x, reml):
        """Sums needed for a Fisher-scoring / Newton step of (RE)ML at x.

        Returns ``(ypy, E, F, yp3y)`` per group: ``ypy = y'PPy``, ``E`` its
        expectation under the model at x (``tr P`` for REML, ``sum w`` for
        ML), ``F = -dE/dx`` (``tr PP`` or ``sum w^2``; twice the expected
        information) and ``yp3y = y'PPPy = -1/2 d(ypy)/dx``.  The score is
        ``(ypy - E)/2``.
        """
        sw, _ = self._weights_and_mean(x)
        w, r, t = self._b1, self._b2, self._b3
        np.multiply(w, w, out=t)
        sw2 = self.sum(t)
        if reml:
            t *= w
            sw3 = self.sum(t)
        np.multiply(w, r, out=r)  # e = P y = w r
        np.multiply(r, r, out=t)
        ypy = self.sum(t)  # y'PPy = sum e^2
        t *= w
        swe2 = self.sum(t)  # sum w e^2
        r *= w
        swe = self.sum(r)  # sum w e
        yp3y = swe2 - swe * swe / sw  # y'PPPy = e'Pe
        if reml:
            trP = sw - sw2 / sw
            trPP = sw2 - 2.0 * sw3 / sw + (sw2 / sw) ** 2
            return ypy, trP, trPP, yp3y
        return ypy, sw, sw2, yp3y


class _ActiveSet:
    """Bookkeeping for iterating on all groups at once.

    Holds the claims of the groups still iterating, relabelled ``0..A-1``
    (``idx`` maps local labels to global group codes) plus per-group state
    arrays in the same local order.  Groups that converge are masked out and,
    once they make up a sizeable share, physically dropped (claims and state),
    so the cost of late iterations shrinks with the number of active groups.
    """

    def __init__(self, claims: _Claims, start_ok, **state):
        self.G = claims.G
        self.c = claims
        self.idx = np.arange(claims.G)
        self.active = start_ok.copy()
        self.kc = np.bincount(claims.g, minlength=claims.G)
        self.state = state
        self.compact()

    def any(self):
        return bool(self.active.any())

    def compact(self):
        act = self.active
        n_act = int(self.kc[act].sum())
        if n_act < 0.6 * self.c.n or act.sum() < 0.25 * act.shape[0]:
            self.c = self.c.subset(act)
            self.idx = self.idx[act]
            self.kc = self.kc[act]
            self.state = {k: v[act] for k, v in self.state.items()}
            self.active = np.ones(self.idx.shape[0], dtype=bool)

    def retire(self, done, out):
        """Write the state of groups that are ``done`` to the global ``out`` arrays."""
        done = done & self.active
        if done.any():
            gi = self.idx[done]
            for k, arr in out.items():
                arr[gi] = self.state[k][done]
            self.active &= ~done
            self.compact()

    def flush(self, out):
        """Write the state of all still-active groups (non-converged) to ``out``."""
        if self.active.any():
            gi = self.idx[self.active]
            for k, arr in out.items():
                arr[gi] = self.state[k][self.active]


def _solve_qgen(c: _Claims, target, start_ok, Q0, D0, ss, scale, tol, maxiter):
    """Solve ``Qgen(tau^2) = target`` for all groups with ``start_ok`` at once.

    ``Qgen`` is decreasing in tau^2; groups passed in have ``Qgen(0) = Q0 >
    target``.  Newton steps on ``1/Qgen`` (nearly linear in tau^2; exactly so
    when all sampling variances are equal), safeguarded by bisection on a
    bracket ``[lo, hi]`` whose upper end ``hi = sum (y - ybar)^2 / target``
    satisfies ``Qgen(hi) < target``.  Returns global ``(root, converged,
    iterations)``; groups without ``start_ok`` get 0 and count as converged.
    """
    G = c.G
    out = {"x": np.zeros(G), "it": np.zeros(G, dtype=np.int64), "conv": ~start_ok}
    if not start_ok.any():
        return out["x"], out["conv"], out["it"]
    ws = _ActiveSet(
        c, start_ok, x=np.zeros(G), it=np.zeros(G, dtype=np.int64), conv=np.zeros(G, dtype=bool),
        lo=np.zeros(G), hi=ss / target, t=target, sc=scale, Q=Q0, D=D0,
    )
    for _ in range(maxiter):
        st = ws.state
        q, d, t, xa = st["Q"], st["D"], st["t"], st["x"]
        above = q > t
        lo = np.where(above, xa, st["lo"])
        hi = np.where(above, st["hi"], xa)
        xn = xa + q * (q - t) / (t * d)
        xn = np.where((xn > lo) & (xn < hi), xn, 0.5 * (lo + hi))
        size = tol * (st["sc"] + xn)
        exact = q == t
        done = exact | (np.abs(xn - xa) <= size) | (hi - lo <= size)
        st["x"] = np.where(exact, xa, xn)
        st["lo"], st["hi"] = lo, hi
        st["it"] = st["it"] + 1
        st["conv"] = done
        ws.retire(done, out)
        if not ws.any():
            break
        st = ws.state
        st["Q"], st["D"], _, _ = ws.c.qgen(st["x"])
    ws.flush(out)
    return out["x"], out["conv"], out["it"]


def _scoring(c: _Claims, tau2, start_ok, scale, reml, tol, maxiter):
    """(RE)ML estimate of tau^2 for all groups at once.

    The basic iteration is Fisher scoring as in Viechtbauer (2005) and
    metafor: per group ``tau2 += (y'PPy - tr P) / tr(PP)`` (REML) or
    ``(sum w^2 r^2 - sum w) / sum w^2`` (ML), with ``w = 1/(v + tau2)`` and
    ``P = W - w w'/sum w``, started at the Hedges estimate; a step below 0 is
    projected onto 0 (the boundary maximum, accepted when the score at 0 is
    not positive).

    Fisher scoring converges only linearly, so it is accelerated and
    safeguarded: the preferred step is a Newton step for the root of
    ``g = E/y'PPy - 1`` (E = ``tr P`` for REML, ``sum w`` for ML), which has
    the same root as the score and is exactly linear in tau^2 when all
    sampling variances are equal; each group keeps a bracket ``[lo, hi]`` of
    the score's sign change and falls back to the Fisher scoring step, then
    to bisection, when a step would leave it or when the bracket has not
    halved in two iterations after the sixth (as in Brent-type safeguards).  A group whose score stays
    negative for several steps is evaluated at tau^2 = 0 (the boundary).
    """
    G = c.G
    out = {"x": tau2.copy(), "it": np.zeros(G, dtype=np.int64), "conv": ~start_ok}
    if not start_ok.any():
        return out["x"], out["conv"], out["it"]
    ws = _ActiveSet(
        c, start_ok, x=tau2.copy(), it=np.zeros(G, dtype=np.int64), conv=np.zeros(G, dtype=bool),
        lo=np.zeros(G), hi=np.full(G, np.inf), seen=np.zeros(G, dtype=bool), sc=scale,
        w1=np.full(G, np.inf), w2=np.full(G, np.inf),
    )
    for _ in range(maxiter):
        st = ws.state
        ypy, e, f, p3 = ws.c.likelihood_terms(st["x"], reml)
        xa = st["x"]
        s = ypy - e  # twice the score
        up = s > 0
        lo = np.where(up, xa, st["lo"])
        hi = np.where(up, st["hi"], xa)
        seen = st["seen"] | up  # a point with positive score was evaluated
        at_zero = (xa == 0) & ~up  # boundary maximum at tau^2 = 0
        dg = 2.0 * e * p3 - f * ypy  # ypy^2 * dg/dx
        use_newton = (dg > 0) & (ypy > 0)
        step = np.where(use_newton, ypy * s / dg, s / f)
        size = tol * (st["sc"] + xa)
        small = np.abs(step) <= size
        c_main = np.maximum(xa + step, 0.0)
        c_fish = np.maximum(xa + s / f, 0.0)
        ok_main = ((c_main > lo) | ((c_main == 0) & ~seen)) & (c_main < hi)
        ok_fish = ((c_fish > lo) | ((c_fish == 0) & ~seen)) & (c_fish < hi)
        bisect = np.where(np.isfinite(hi), 0.5 * (lo + hi), 2.0 * xa + st["sc"])
        # force bisection when the bracket did not halve over two iterations
        width = hi - lo
        slow = np.isfinite(width) & (width > 0.5 * st["w2"]) & ~small & (st["it"] >= 6)
        st["w2"], st["w1"] = st["w1"], width
        xn = np.where(ok_main | small, c_main, np.where(ok_fish, c_fish, bisect))
        xn = np.where(slow, bisect, xn)
        # If the score stays negative (no sign change found) for several
        # steps, probe the boundary: either tau^2 = 0 is the maximum, or the
        # probe gives a positive score and hence a bracket.
        probe = ~seen & ~small & (xa > 0) & (st["it"] >= 4)
        xn = np.where(probe, 0.0, xn)
        xn = np.where(at_zero, 0.0, xn)
        done = at_zero | small | (seen & (hi - lo <= size))
        st["x"], st["lo"], st["hi"], st["seen"] = xn, lo, hi, seen
        st["it"] = st["it"] + 1
        st["conv"] = done
        ws.retire(done, out)
        if not ws.any():
            break
    ws.flush(out)
    return out["x"], out["conv"], out["it"]


def _csr(c: _Claims):
    """Claims sorted by group (stable: claim order kept within a group) and the segment starts."""
    from .meta_kernel import csr_scatter

    g = c.g
    starts = np.zeros(c.G + 1, dtype=np.int64)
    np.cumsum(np.bincount(g, minlength=c.G), out=starts[1:])
    yc, v = np.ascontiguousarray(c.yc, dtype=float), np.ascontiguousarray(c.v, dtype=float)
    if g.shape[0] and np.any(g[1:] < g[:-1]):
        yc, v = csr_scatter(np.ascontiguousarray(g, dtype=np.int64), starts, yc, v)
    return yc, v, starts


def _scoring_fast(c: _Claims, csr, tau2, start_ok, scale, reml, tol, maxiter):
    """:func:`_scoring`, compiled per group when :data:`COMPILED`."""
    if not COMPILED:
        return _scoring(c, tau2, start_ok, scale, reml, tol, maxiter)
    from .meta_kernel import scoring_csr

    return scoring_csr(*csr, np.asarray(tau2, dtype=float), start_ok, np.asarray(scale, dtype=float), bool(reml),
                       float(tol), int(maxiter))


def _solve_qgen_fast(c: _Claims, csr, target, start_ok, Q0, D0, ss, scale, tol, maxiter):
    """:func:`_solve_qgen`, compiled per group when :data:`COMPILED`."""
    if not COMPILED:
        return _solve_qgen(c, target, start_ok, Q0, D0, ss, scale, tol, maxiter)
    from .meta_kernel import solve_qgen_csr

    f = lambda a: np.broadcast_to(np.asarray(a, dtype=float), (c.G,)).copy()  # noqa: E731
    return solve_qgen_csr(*csr, f(target), start_ok, f(Q0), f(D0), f(ss), f(scale), float(tol), int(maxiter))


def _per_df(fun, df):
    """Evaluate ``fun`` once per distinct degrees-of-freedom value."""
    u, inv = np.unique(df, return_inverse=True)
    return fun(u)[inv]


def _fit(y, se, g, G, method, ci, level, tol, maxiter, tau2_ci=True):
    """Vectorized fit; returns a dict of per-group arrays."""
    v = se * se
    k = np.bincount(g, minlength=G)
    kf = k.astype(float)
    multi = k >= 2
    empty = k == 0
    df = np.maximum(k - 1, 0)
    dff = df.astype(float)
    alpha = 1.0 - level

    # Mean-centre y within groups for numerical stability (metafor does the
    # same); all tau^2 computations use yc, the estimate is shifted back.
    ybar = np.bincount(g, weights=y, minlength=G) / kf
    yc = y - ybar[g]
    full = _Claims(g, yc, v, G)
    iterate = method in ("REML", "ML", "PM") or (tau2_ci and method != "FE")
    csr = _csr(full) if COMPILED and iterate else None  # claims sorted by group for the kernels
    zeros = np.zeros(G)

    # --- fixed-effect pass: Q, typical within-study variance ----------------
    if csr is not None:  # one compiled pass
        from .meta_kernel import final_sums

        Q, D0, sw0, _, sw0_2, sw0_3, _, ss, sum_v = final_sums(*csr, zeros, np.ones(G, dtype=bool))
    else:
        Q, D0, sw0, _ = full.qgen(zeros)
        sw0_2, sw0_3 = full.power_sums()
        ss = full.sum(yc * yc)  # sum of squares about the unweighted mean
        sum_v = None
    Q = np.where(multi, Q, 0.0)
    trP0 = sw0 - sw0_2 / sw0
    s2 = np.where(multi, dff / trP0, np.nan)  # "typical" within-study variance
    scale = kf / sw0  # harmonic mean of v: scale of the convergence tolerances
    Q_pvalue = np.where(multi, special.chdtrc(np.where(multi, dff, 1.0), Q), 1.0)

    conv = np.ones(G, dtype=bool)
    iters = np.zeros(G, dtype=np.int64)
    tau2_se = np.full(G, np.nan)

    # --- tau^2 ------------------------------------------------------------
    if method == "FE":
        tau2 = zeros
    elif method == "DL":
        tau2 = np.where(multi, np.maximum((Q - dff) / trP0, 0.0), 0.0)
        trPP0 = sw0_2 - 2.0 * sw0_3 / sw0 + (sw0_2 / sw0) ** 2
        tau2_se = np.sqrt((2.0 * dff + 4.0 * tau2 * trP0 + 2.0 * tau2**2 * trPP0) / trP0**2)
    elif method in ("REML", "ML"):
        # starting value: Hedges (HE) estimator, as metafor
        he = ss / dff - (full.sum(v) if sum_v is None else sum_v) / kf
        init = np.where(multi, np.maximum(he, 0.0), 0.0)
        tau2, conv, iters = _scoring_fast(full, csr, init, multi, scale, method == "REML", tol, maxiter)
    else:  # PM
        start = multi & (Q > dff)
        tau2, conv, iters = _solve_qgen_fast(full, csr, dff, start, Q, D0, ss, scale, tol, maxiter)
    tau2 = np.where(multi, tau2, 0.0)

    # --- final weighted estimate at tau^2 -------------------------------
    fast_final = csr is not None and method in ("REML", "ML")  # one compiled pass for all final sums
    if fast_final:
        Q_re, _, sw, mu_c, sw2, sw3, slog, _, _ = final_sums(*csr, tau2, np.ones(G, dtype=bool))
    else:
        Q_re, _, sw, mu_c = full.qgen(tau2)

    if method in ("REML", "ML"):
        # As metafor: if the (restricted) log-likelihood is larger at tau^2 = 0,
        # the iteration stopped at a local maximum; set tau^2 = 0.
        pos = multi & conv & (tau2 > 0)
        if pos.any():
            if fast_final:
                lsum = slog
            else:
                t = full._b3
                np.multiply(full.expand(tau2, t), 1.0 / v, out=t)
                np.log1p(t, out=t)
                lsum = full.sum(t)
            diff = 0.5 * (lsum + Q_re - Q)
            if method == "REML":
                diff = diff + 0.5 * (np.log(sw) - np.log(sw0))
            stuck = pos & (diff > _LL0_TOL)
            if stuck.any():
                warnings.warn(
                    f"Fisher scoring may have stopped at a local maximum in {int(stuck.sum())} "
                    "group(s); tau^2 set to 0 there (as metafor does).",
                    ConvergenceWarning,
                    stacklevel=3,
                )
                tau2 = np.where(stuck, 0.0, tau2)
                if fast_final:
                    redo = final_sums(*csr, tau2, stuck)  # only the groups whose tau^2 changed
                    Q_re, sw, mu_c, sw2, sw3 = (np.where(stuck, redo[k], old) for k, old in
                                                ((0, Q_re), (2, sw), (3, mu_c), (4, sw2), (5, sw3)))
            if not fast_final:
                Q_re, _, sw, mu_c = full.qgen(tau2)
        if not fast_final:
            sw2, sw3 = full.power_sums()
        if method == "REML":
            trPP = sw2 - 2.0 * sw3 / sw + (sw2 / sw) ** 2
            tau2_se = np.sqrt(2.0 / trPP)
        else:
            tau2_se = np.sqrt(2.0 / sw2)
    elif method == "PM":
        tau2_se = np.sqrt(2.0 * kf**2 / dff) / sw
    tau2_se = np.where(multi, tau2_se, np.nan)

    estimate = mu_c + ybar
    var = 1.0 / sw

    # --- inference for the pooled estimate ---------------------------------
    if ci == "z":
        crit = np.full(G, -special.ndtri(alpha / 2))
        se_est = np.sqrt(var)
        statistic = estimate / se_est
        pvalue = 2.0 * special.ndtr(-np.abs(statistic))
    else:
        # Knapp & Hartung (2003): scale the variance by Q_RE/(k-1), t_{k-1};
        # not truncated at 1 (metafor's default).  metafor sets the factor to
        # 0 when Q_RE is below machine epsilon (all y equal).
        s2w = np.where(Q_re <= np.finfo(float).eps, 0.0, Q_re / dff)
        s2w = np.where(multi, s2w, 1.0)
        se_est = np.sqrt(s2w * var)
        df_safe = np.where(multi, dff, 1.0)
        crit = np.where(multi, _per_df(lambda d: -special.stdtrit(d, alpha / 2), df_safe), np.nan)
        statistic = estimate / se_est
        pvalue = np.where(multi, 2.0 * special.stdtr(df_safe, -np.abs(statistic)), np.nan)
    ci_low = estimate - crit * se_est
    ci_high = estimate + crit * se_est
    pi_half = crit * np.sqrt(se_est**2 + tau2)
    pi_low = estimate - pi_half
    pi_high = estimate + pi_half

    # --- I^2 and H^2 as metafor ------------------------------------------
    if method == "FE":
        I2 = np.where(Q > 0, np.maximum(0.0, 100.0 * (Q - dff) / Q), 0.0)
        H2 = Q / dff
    else:
        I2 = 100.0 * tau2 / (s2 + tau2)
        H2 = tau2 / s2 + 1.0
    I2 = np.where(multi, I2, 0.0)
    H2 = np.where(multi, H2, 1.0)

    # --- Q-profile CI for tau^2 (Viechtbauer, 2007) ------------------------
    if method == "FE" or not tau2_ci:
        t2_lo = np.full(G, np.nan)
        t2_hi = np.full(G, np.nan)
    else:
        df_safe = np.where(multi, dff, 1.0)
        crit_u = _per_df(lambda d: special.chdtri(d, alpha / 2), df_safe)
        crit_l = _per_df(lambda d: special.chdtri(d, 1.0 - alpha / 2), df_safe)
        lo_start = multi & (Q > crit_u)
        hi_start = multi & (Q > crit_l)
        t2_lo, c_lo, _ = _solve_qgen_fast(full, csr, crit_u, lo_start, Q, D0, ss, scale, tol, maxiter)
        t2_hi, c_hi, _ = _solve_qgen_fast(full, csr, crit_l, hi_start, Q, D0, ss, scale, tol, maxiter)
        conv = conv & c_lo & c_hi
        t2_lo = np.where(multi, t2_lo, np.nan)
        t2_hi = np.where(multi, t2_hi, np.nan)

    out = dict(
        estimate=estimate,
        se=se_est,
        ci_low=ci_low,
        ci_high=ci_high,
        statistic=statistic,
        pvalue=pvalue,
        tau2=tau2,
        tau2_se=tau2_se,
        tau2_ci_low=t2_lo,
        tau2_ci_high=t2_hi,
        tau=np.sqrt(tau2),
        Q=Q,
        Q_df=df,
        Q_pvalue=Q_pvalue,
        I2=I2,
        H2=H2,
        pi_low=pi_low,
        pi_high=pi_high,
        k=k,
        converged=conv,
        iterations=iters,
    )
    if empty.any():
        for name, arr in out.items():
            if arr.dtype.kind == "f":
                arr[empty] = np.nan
    return out
