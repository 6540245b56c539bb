"""Random-effects meta-analysis, vectorized over many independent groups.

This module pools estimates ``y`` with known standard errors ``se`` under the
normal-normal random-effects model

.. math::

    y_i = \\mu + u_i + e_i, \\qquad u_i \\sim N(0, \\tau^2), \\qquad
    e_i \\sim N(0, v_i), \\qquad v_i = \\mathrm{se}_i^2,

and reproduces the numbers reported by R's ``metafor::rma.uni`` for an
intercept-only model (``rma(yi, vi, method=..., test=...)``), together with
``confint()`` (Q-profile interval for :math:`\\tau^2`) and ``predict()``
(prediction interval).

Two public functions share one implementation:

* :func:`random_effects` fits a single set of studies;
* :func:`random_effects_grouped` fits many independent groups at once.  All
  sums are segment reductions (:func:`numpy.bincount` with weights) and the
  iterative estimators (REML, ML, PM and the Q-profile interval) iterate on all
  groups simultaneously, each group leaving the iteration as soon as it has
  converged.  There is no Python loop over groups.

The implementation follows the published formulas (see References); no code
was taken from metafor or any other package.

References
----------
DerSimonian, R., & Laird, N. (1986). Meta-analysis in clinical trials.
*Controlled Clinical Trials*, 7(3), 177-188.

Paule, R. C., & Mandel, J. (1982). Consensus values and weighting factors.
*Journal of Research of the National Bureau of Standards*, 87(5), 377-385.

Higgins, J. P. T., & Thompson, S. G. (2002). Quantifying heterogeneity in a
meta-analysis. *Statistics in Medicine*, 21(11), 1539-1558.

Knapp, G., & Hartung, J. (2003). Improved tests for a random effects
meta-regression with a single covariate. *Statistics in Medicine*, 22(17),
2693-2710.

Viechtbauer, W. (2005). Bias and efficiency of meta-analytic variance
estimators in the random-effects model. *Journal of Educational and
Behavioral Statistics*, 30(3), 261-293.

Viechtbauer, W. (2007). Confidence intervals for the amount of heterogeneity
in meta-analysis. *Statistics in Medicine*, 26(1), 37-52.
"""

from __future__ import annotations

import warnings
from typing import Any

import attrs
import numpy as np
from scipy import special

from .exceptions import ConvergenceWarning

__all__ = ["MetaResult", "random_effects", "random_effects_grouped"]

_METHODS = ("FE", "DL", "REML", "ML", "PM")
_METHOD_ALIASES = {"EE": "FE", "CE": "FE", "FIXED": "FE", "EQUAL": "FE"}
_CIS = ("z", "knha")

# metafor's default tolerance for the "is the likelihood larger at tau^2 = 0?"
# check after Fisher scoring (.Machine$double.eps^0.25).
_LL0_TOL = np.finfo(float).eps ** 0.25

_FIELDS_NUMERIC = (
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "statistic",
    "pvalue",
    "tau2",
    "tau2_se",
    "tau2_ci_low",
    "tau2_ci_high",
    "tau",
    "Q",
    "Q_df",
    "Q_pvalue",
    "I2",
    "H2",
    "pi_low",
    "pi_high",
    "k",
    "converged",
    "iterations",
)


@attrs.frozen(eq=False, repr=False)
class MetaResult:
    """Result of a random-effects (or fixed-effect) meta-analysis.

    For :func:`random_effects_grouped` every numeric field is a
    :class:`numpy.ndarray` of length ``G`` (one entry per group code).  For
    :func:`random_effects` every numeric field is a plain Python scalar
    (``float``; ``int`` for ``k``, ``Q_df`` and ``iterations``; ``bool`` for
    ``converged``).

    Attributes
    ----------
    estimate : float or ndarray
        Pooled estimate :math:`\\hat\\mu` (inverse-variance weighted mean with
        weights :math:`1/(v_i + \\hat\\tau^2)`).
    se : float or ndarray
        Standard error of ``estimate`` (Knapp-Hartung adjusted when
        ``ci="knha"``).
    ci_low, ci_high : float or ndarray
        Confidence interval for the pooled estimate at ``level``.
    statistic : float or ndarray
        ``estimate / se``: a z statistic (``ci="z"``) or a t statistic with
        ``k - 1`` degrees of freedom (``ci="knha"``).
    pvalue : float or ndarray
        Two-sided p-value of ``statistic``.
    tau2 : float or ndarray
        Between-study variance :math:`\\hat\\tau^2` (0 for ``"FE"``; never
        negative).
    tau2_se : float or ndarray
        Standard error of ``tau2`` as metafor reports it (NaN for ``"FE"`` and
        for groups with ``k == 1``).
    tau2_ci_low, tau2_ci_high : float or ndarray
        Q-profile confidence interval for :math:`\\tau^2` (Viechtbauer, 2007)
        at ``level`` (NaN for ``"FE"`` and for ``k == 1``).
    tau : float or ndarray
        :math:`\\sqrt{\\hat\\tau^2}`.
    Q : float or ndarray
        Cochran's heterogeneity statistic (fixed-effect weights :math:`1/v_i`).
    Q_df : int or ndarray
        Degrees of freedom of ``Q``, ``k - 1``.
    Q_pvalue : float or ndarray
        Upper-tail chi-square p-value of ``Q`` (1 when ``k == 1``, as metafor).
    I2 : float or ndarray
        :math:`I^2` in percent (Higgins & Thompson, 2002), as metafor computes
        it (see :func:`random_effects_grouped`).
    H2 : float or ndarray
        :math:`H^2` as metafor computes it.
    pi_low, pi_high : float or ndarray
        Prediction interval for the true effect in a new study.
    k : int or ndarray
        Number of studies in the group.
    method : str
        Estimator of :math:`\\tau^2`: ``"FE"``, ``"DL"``, ``"REML"``, ``"ML"``
        or ``"PM"``.
    ci : str
        ``"z"`` or ``"knha"``.
    level : float
        Confidence level of all intervals.
    converged : bool or ndarray
        Whether every iterative step for the group (the tau² estimator and
        both Q-profile bounds) met its convergence criterion.  Always ``True``
        for ``"FE"`` and ``"DL"`` apart from the Q-profile bounds.
    iterations : int or ndarray
        Iterations used by the tau² estimator (0 for ``"FE"`` and ``"DL"``).
    """

    estimate: Any
    se: Any
    ci_low: Any
    ci_high: Any
    statistic: Any
    pvalue: Any
    tau2: Any
    tau2_se: Any
    tau2_ci_low: Any
    tau2_ci_high: Any
    tau: Any
    Q: Any
    Q_df: Any
    Q_pvalue: Any
    I2: Any
    H2: Any
    pi_low: Any
    pi_high: Any
    k: Any
    method: str
    ci: str
    level: float
    converged: Any
    iterations: Any

    @property
    def is_grouped(self) -> bool:
        """``True`` when the fields are per-group arrays."""
        return isinstance(self.estimate, np.ndarray) and self.estimate.ndim == 1

    def to_dataframe(self):
        """Return the result as a :class:`pandas.DataFrame`.

        One row per group (one row in total for a single-group result), one
        column per field; ``method``, ``ci`` and ``level`` are repeated on
        every row.

        Returns
        -------
        pandas.DataFrame

        Raises
        ------
        ImportError
            If pandas is not installed (it is an optional dependency of
            credscore: ``pip install credscore[pandas]``).
        """
        from .results import require_pandas

        pd = require_pandas()
        cols = {name: np.atleast_1d(getattr(self, name)) for name in _FIELDS_NUMERIC}
        n = len(cols["estimate"])
        cols["method"] = np.repeat(self.method, n)
        cols["ci"] = np.repeat(self.ci, n)
        cols["level"] = np.repeat(self.level, n)
        df = pd.DataFrame(cols)
        df.index.name = "group"
        return df

    def summary(self) -> str:
        """Return a readable multi-line text summary.

        For a single-group result this mirrors the layout of metafor's
        ``print.rma.uni``; for a grouped result it gives the number of groups,
        the settings and convergence counts.

        Returns
        -------
        str
        """
        pct = f"{100 * self.level:g}%"
        if self.is_grouped:
            G = len(self.estimate)
            nconv = int(np.sum(self.converged))
            return (
                f"Grouped meta-analysis: {G} groups, {int(np.sum(self.k))} studies; "
                f"method={self.method}, ci={self.ci}, level={pct}; "
                f"converged {nconv}/{G}"
            )
        model = "Fixed-effect" if self.method == "FE" else "Random-effects"
        lines = [f"{model} meta-analysis (k = {self.k}; method: {self.method}; ci: {self.ci})", ""]
        if self.method != "FE":
            tau2_ci = (
                f"[{pct} Q-profile CI: {self.tau2_ci_low:.4f}, {self.tau2_ci_high:.4f}]"
                if np.isfinite(self.tau2_ci_low)
                else ""
            )
            lines.append(f"tau^2 = {self.tau2:.4f} (SE = {self.tau2_se:.4f}) {tau2_ci}".rstrip())
            lines.append(f"tau   = {self.tau:.4f}")
        lines.append(f"I^2   = {self.I2:.2f}%")
        lines.append(f"H^2   = {self.H2:.2f}")
        lines.append("")
        lines.append(f"Test for heterogeneity: Q(df = {self.Q_df}) = {self.Q:.4f}, p = {self.Q_pvalue:.4g}")
        lines.append("")
        stat = "zval" if self.ci == "z" else "tval"
        lines.append(f"{'estimate':>10} {'se':>8} {stat:>9} {'pval':>10} {'ci.lb':>9} {'ci.ub':>9}")
        lines.append(
            f"{self.estimate:>10.4f} {self.se:>8.4f} {self.statistic:>9.4f} "
            f"{self.pvalue:>10.4g} {self.ci_low:>9.4f} {self.ci_high:>9.4f}"
        )
        lines.append("")
        lines.append(f"{pct} prediction interval: [{self.pi_low:.4f}, {self.pi_high:.4f}]")
        if not self.converged:
            lines.append("WARNING: the iterative fit did not converge.")
        return "\n".join(lines)

    def __repr__(self) -> str:
        if self.is_grouped:
            return f"<MetaResult: {self.summary()}>"
        return (
            f"MetaResult(method={self.method!r}, ci={self.ci!r}, k={self.k}, "
            f"estimate={self.estimate:.4f}, se={self.se:.4f}, "
            f"ci=[{self.ci_low:.4f}, {self.ci_high:.4f}], tau2={self.tau2:.4f}, "
            f"I2={self.I2:.2f}, Q={self.Q:.4f})"
        )

    def __str__(self) -> str:
        return self.summary()


# ---------------------------------------------------------------------------
# argument checking
# ---------------------------------------------------------------------------


def _check_options(method, ci, level, tol, maxiter):
    m = method.upper() if isinstance(method, str) else method
    m = _METHOD_ALIASES.get(m, m)
    if m not in _METHODS:
        allowed = ", ".join(f"'{x}'" for x in _METHODS)
        raise ValueError(f"`method` must be one of {allowed}; got {method!r}.")
    c = ci.lower() if isinstance(ci, str) else ci
    if c not in _CIS:
        allowed = ", ".join(f"'{x}'" for x in _CIS)
        raise ValueError(f"`ci` must be one of {allowed}; got {ci!r}.")
    try:
        lev = float(level)
    except (TypeError, ValueError):
        lev = float("nan")
    if not (0.0 < lev < 1.0):
        raise ValueError("`level` must be in the open interval (0, 1).")
    try:
        tol_f = float(tol)
    except (TypeError, ValueError):
        tol_f = float("nan")
    if not (np.isfinite(tol_f) and tol_f > 0):
        raise ValueError(f"`tol` must be a finite positive number; got {tol!r}.")
    if isinstance(maxiter, bool) or not isinstance(maxiter, (int, np.integer)) or maxiter < 1:
        raise ValueError(f"`maxiter` must be a positive integer; got {maxiter!r}.")
    return m, c, lev, tol_f, int(maxiter)


def _check_data(y, se, groups):
    y = np.asarray(y, dtype=float)
    se = np.asarray(se, dtype=float)
    if y.ndim != 1 or se.ndim != 1:
        raise ValueError("`y` and `se` must be one-dimensional.")
    if y.shape[0] != se.shape[0]:
        raise ValueError(f"`y` and `se` must have the same length; got {y.shape[0]} and {se.shape[0]}.")
    if y.shape[0] == 0:
        raise ValueError("`y` and `se` must not be empty.")
    if not np.isfinite(y).all():
        raise ValueError("`y` must contain only finite values.")
    if not (np.isfinite(se).all() and (se > 0).all()):
        raise ValueError("`se` must contain only finite, strictly positive values.")
    if groups is None:
        return y, se, np.zeros(y.shape[0], dtype=np.intp), 1
    groups = np.asarray(groups)
    if groups.ndim != 1:
        raise ValueError("`groups` must be one-dimensional.")
    if groups.shape[0] != y.shape[0]:
        raise ValueError(
            f"`groups` must have the same length as `y`; got {groups.shape[0]} and {y.shape[0]}."
        )
    if groups.dtype.kind in "iu":
        g = groups.astype(np.intp, copy=False)
    else:
        try:
            gf = groups.astype(float)
        except (TypeError, ValueError):
            raise ValueError("`groups` must contain integer group codes.") from None
        if not (np.isfinite(gf).all() and (gf == np.round(gf)).all()):
            raise ValueError("`groups` must contain integer group codes.")
        g = gf.astype(np.intp)
    if g.min() < 0:
        raise ValueError(f"`groups` must contain non-negative group codes; got {g.min()}.")
    return y, se, g, int(g.max()) + 1


# ---------------------------------------------------------------------------
# vectorized core
# ---------------------------------------------------------------------------


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
    zeros = np.zeros(G)

    # --- fixed-effect pass: Q, typical within-study variance ----------------
    Q, D0, sw0, _ = full.qgen(zeros)
    sw0_2, sw0_3 = full.power_sums()
    Q = np.where(multi, Q, 0.0)
    trP0 = sw0 - sw0_2 / sw0
    s2 = np.where(multi, dff / trP0, np.nan)  # "typical" within-study variance
    scale = kf / sw0  # harmonic mean of v: scale of the convergence tolerances
    Q_pvalue = np.where(multi, special.chdtrc(np.where(multi, dff, 1.0), Q), 1.0)
    ss = full.sum(yc * yc)  # sum of squares about the unweighted mean

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
        he = ss / dff - full.sum(v) / kf
        init = np.where(multi, np.maximum(he, 0.0), 0.0)
        tau2, conv, iters = _scoring(full, init, multi, scale, method == "REML", tol, maxiter)
    else:  # PM
        start = multi & (Q > dff)
        tau2, conv, iters = _solve_qgen(full, dff, start, Q, D0, ss, scale, tol, maxiter)
    tau2 = np.where(multi, tau2, 0.0)

    # --- final weighted estimate at tau^2 -------------------------------
    Q_re, _, sw, mu_c = full.qgen(tau2)

    if method in ("REML", "ML"):
        # As metafor: if the (restricted) log-likelihood is larger at tau^2 = 0,
        # the iteration stopped at a local maximum; set tau^2 = 0.
        pos = multi & conv & (tau2 > 0)
        if pos.any():
            t = full._b3
            np.multiply(full.expand(tau2, t), 1.0 / v, out=t)
            np.log1p(t, out=t)
            diff = 0.5 * (full.sum(t) + Q_re - Q)
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
            Q_re, _, sw, mu_c = full.qgen(tau2)
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
        t2_lo, c_lo, _ = _solve_qgen(full, crit_u, lo_start, Q, D0, ss, scale, tol, maxiter)
        t2_hi, c_hi, _ = _solve_qgen(full, crit_l, hi_start, Q, D0, ss, scale, tol, maxiter)
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


# ---------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------


def random_effects_grouped(
    y,
    se,
    groups,
    method: str = "REML",
    ci: str = "z",
    level: float = 0.95,
    *,
    tol: float = 1e-10,
    maxiter: int = 100,
    tau2_ci: bool = True,
) -> MetaResult:
    """Random-effects meta-analysis of many independent groups at once.

    Each group ``g`` is analysed exactly as :func:`random_effects` would
    analyse ``y[groups == g], se[groups == g]``, but all groups are processed
    together with segment reductions (:func:`numpy.bincount`) and iterative
    estimators run on all groups simultaneously (a group stops iterating when
    it has converged), so the cost is a small multiple of a single weighted
    mean over all claims.

    Parameters
    ----------
    y : array_like, shape (n,)
        Observed effect sizes (finite).
    se : array_like, shape (n,)
        Their standard errors (finite, > 0); sampling variances are ``se**2``.
    groups : array_like of int, shape (n,)
        Group code of each claim, in ``0..G-1`` with ``G = max(groups) + 1``.
        Claims may come in any order; groups may have any size.  A code in
        ``0..G-1`` without claims gives a row of NaN (``k = 0``).
    method : {"REML", "DL", "ML", "PM", "FE"}, default "REML"
        Estimator of the between-study variance tau²:

        * ``"FE"`` (aliases ``"EE"``, ``"CE"``): fixed/equal effect, tau² = 0;
        * ``"DL"``: DerSimonian & Laird (1986) method of moments,
          ``max(0, (Q - (k-1)) / (sum w - sum w²/sum w))``;
        * ``"REML"`` / ``"ML"``: restricted / full maximum likelihood by
          Fisher scoring (Viechtbauer, 2005), started at the Hedges estimate
          as metafor, with steps below 0 projected onto 0;
        * ``"PM"``: Paule & Mandel (1982), the root of the generalized
          ``Q(tau²) = k - 1`` (0 when ``Q(0) <= k - 1``), found by
          bisection-safeguarded Newton steps.

        The case of the name is ignored.
    ci : {"z", "knha"}, default "z"
        ``"z"``: Wald-type normal inference.  ``"knha"``: Knapp & Hartung
        (2003), i.e. the variance of the estimate multiplied by
        ``Q_RE / (k - 1)`` (``Q_RE`` the generalized Q at the estimated tau²;
        *not* truncated at 1, metafor's default) and t quantiles with ``k - 1``
        degrees of freedom.
    level : float, default 0.95
        Confidence level for all intervals, in (0, 1).
    tol : float, keyword-only, default 1e-10
        Relative convergence tolerance on tau² for the iterative estimators
        and the Q-profile bounds: iteration stops when the change is at most
        ``tol * (h + tau²)``, ``h`` the harmonic mean of the group's
        sampling variances.
    maxiter : int, keyword-only, default 100
        Maximum number of iterations of each iterative step.
    tau2_ci : bool, keyword-only, default True
        Compute the Q-profile interval for tau².  It is the most expensive
        part of the fit for large inputs (two root searches); with ``False``
        ``tau2_ci_low``/``tau2_ci_high`` are NaN.

    Returns
    -------
    MetaResult
        Every numeric field is an array of length ``G``.

    Raises
    ------
    ValueError
        For empty input, mismatched lengths, non-finite ``y``, ``se`` not
        finite and positive, negative or non-integer group codes, or an
        invalid ``method``, ``ci``, ``level``, ``tol`` or ``maxiter``.

    Warns
    -----
    ConvergenceWarning
        When some group's iteration did not converge within ``maxiter``
        (see ``converged``), or when ML/REML Fisher scoring stopped at a value
        whose likelihood is below that at tau² = 0 (tau² is then set to 0, as
        metafor does).

    Notes
    -----
    Definitions follow metafor's ``rma.uni`` for an intercept-only model.
    With fixed-effect weights ``w_i = 1/v_i``:

    * ``Q = sum w_i (y_i - ybar_w)²`` (Cochran), ``Q_df = k - 1``;
    * typical within-study variance ``s² = (k-1) sum w / ((sum w)² - sum w²)``;
    * for the random-effects methods ``I2 = 100 tau² / (tau² + s²)`` and
      ``H2 = (tau² + s²) / s²``; for ``"FE"`` ``I2 = max(0, 100 (Q - (k-1)) /
      Q)`` and ``H2 = Q / (k-1)`` (Higgins & Thompson, 2002);
    * ``tau2_se``: DL, the moment formula
      ``sqrt(2(k-1) + 4 tau² tr P + 2 tau⁴ tr P²) / tr P`` with ``P`` built from
      ``1/v_i``; REML ``sqrt(2 / tr P²)`` and ML ``sqrt(2 / sum w²)`` (inverse
      Fisher information, ``w = 1/(v + tau²)``); PM
      ``sqrt(2 k² / (k-1)) / sum w``; NaN for FE;
    * the tau² interval is the Q-profile interval (Viechtbauer, 2007): the
      values of tau² where the generalized Q equals the upper and lower
      ``(1 - level)/2`` chi-square quantiles with ``k - 1`` df; a bound is 0
      when ``Q(0)`` is already below its quantile (both are 0 when the
      interval is empty, as metafor reports).  Unlike metafor, the search is
      not limited to ``tau² <= 100``;
    * the prediction interval is ``estimate ± crit sqrt(se² + tau²)``, with
      ``crit`` the normal (``"z"``) or t_{k-1} (``"knha"``) quantile and ``se``
      the (adjusted) standard error.

    Groups with ``k == 1`` follow metafor: ``estimate = y``, tau² = 0,
    ``Q = 0`` with ``Q_pvalue = 1``, ``I2 = 0`` and ``H2 = 1``; ``tau2_se`` and
    the tau² interval are NaN.  With ``ci="knha"`` and ``k == 1`` (no degrees
    of freedom) ``se`` is the study's ``se`` unadjusted and ``pvalue``, the
    confidence and prediction intervals are NaN.

    References
    ----------
    DerSimonian & Laird (1986); Paule & Mandel (1982); Higgins & Thompson
    (2002); Knapp & Hartung (2003); Viechtbauer (2005, 2007).  Full citations
    in the module docstring.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([0.10, 0.30, 0.35, 0.60, 1.2, 0.9, 1.5])
    >>> se = np.array([0.10, 0.12, 0.15, 0.20, 0.3, 0.25, 0.4])
    >>> groups = np.array([0, 0, 0, 0, 1, 1, 2])
    >>> res = random_effects_grouped(y, se, groups, method="DL")
    >>> res.k
    array([4, 2, 1])
    >>> np.round(res.estimate, 4)
    array([0.2928, 1.023 , 1.5   ])
    >>> np.round(res.tau2, 4)
    array([0.0176, 0.    , 0.    ])
    >>> bool(res.converged.all())
    True
    """
    m, c, lev, tol_f, maxit = _check_options(method, ci, level, tol, maxiter)
    yv, sev, g, G = _check_data(y, se, groups)
    with np.errstate(all="ignore"):
        out = _fit(yv, sev, g, G, m, c, lev, tol_f, maxit, bool(tau2_ci))
    nbad = int((~out["converged"] & (out["k"] > 0)).sum())
    if nbad:
        warnings.warn(
            f"{nbad} group(s) did not converge within maxiter={maxit} iterations; "
            "see `converged`.",
            ConvergenceWarning,
            stacklevel=2,
        )
    return MetaResult(method=m, ci=c, level=lev, **out)


def random_effects(
    y,
    se,
    method: str = "REML",
    ci: str = "z",
    level: float = 0.95,
    *,
    tol: float = 1e-10,
    maxiter: int = 100,
    tau2_ci: bool = True,
) -> MetaResult:
    """Random-effects meta-analysis of one set of studies.

    This is :func:`random_effects_grouped` with a single group; see there for
    the definitions of every quantity (they follow R's ``metafor::rma.uni``).

    Parameters
    ----------
    y : array_like, shape (k,)
        Observed effect sizes (finite).
    se : array_like, shape (k,)
        Their standard errors (finite, > 0).
    method : {"REML", "DL", "ML", "PM", "FE"}, default "REML"
        Estimator of tau²: restricted/full maximum likelihood (Viechtbauer,
        2005), DerSimonian & Laird (1986), Paule & Mandel (1982), or the fixed
        (equal) effect model.
    ci : {"z", "knha"}, default "z"
        Normal inference or Knapp & Hartung (2003) (t with ``k - 1`` df and
        the untruncated variance adjustment).
    level : float, default 0.95
        Confidence level of all intervals, in (0, 1).
    tol : float, keyword-only, default 1e-10
        Relative convergence tolerance of the iterative steps.
    maxiter : int, keyword-only, default 100
        Maximum number of iterations of each iterative step.
    tau2_ci : bool, keyword-only, default True
        Compute the Q-profile interval for tau² (NaN when ``False``).

    Returns
    -------
    MetaResult
        Numeric fields are Python scalars: ``float``, except ``k``, ``Q_df``
        and ``iterations`` (``int``) and ``converged`` (``bool``).

    Raises
    ------
    ValueError
        For empty input, mismatched lengths, non-finite values, ``se <= 0``
        or an invalid option.

    See Also
    --------
    random_effects_grouped : the vectorized version for many groups.

    References
    ----------
    DerSimonian & Laird (1986); Paule & Mandel (1982); Higgins & Thompson
    (2002); Knapp & Hartung (2003); Viechtbauer (2005, 2007).  Full citations
    in the module docstring.

    Examples
    --------
    >>> res = random_effects([0.10, 0.30, 0.35, 0.60], [0.10, 0.12, 0.15, 0.20])
    >>> round(res.estimate, 4), round(res.se, 4)
    (0.2922, 0.0947)
    >>> round(res.tau2, 4), round(res.I2, 2)
    (0.0171, 48.54)
    >>> res.k, res.Q_df
    (4, 3)
    >>> res_kh = random_effects([0.10, 0.30, 0.35, 0.60], [0.10, 0.12, 0.15, 0.20], ci="knha")
    >>> round(res_kh.ci_low, 4), round(res_kh.ci_high, 4)
    (-0.0147, 0.5991)
    """
    m, c, lev, tol_f, maxit = _check_options(method, ci, level, tol, maxiter)
    yv, sev, g, G = _check_data(y, se, None)
    res = random_effects_grouped(
        yv, sev, g, method=m, ci=c, level=lev, tol=tol_f, maxiter=maxit, tau2_ci=tau2_ci
    )
    scalars = {}
    for name in _FIELDS_NUMERIC:
        val = getattr(res, name)[0]
        if name in ("k", "Q_df", "iterations"):
            scalars[name] = int(val)
        elif name == "converged":
            scalars[name] = bool(val)
        else:
            scalars[name] = float(val)
    return MetaResult(method=res.method, ci=res.ci, level=res.level, **scalars)
