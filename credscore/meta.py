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

The module holds the public API and argument checking; the estimation lives in
:mod:`credscore.meta_estimation` (compiled iterations in
:mod:`credscore.meta_kernel`) and the result class in :mod:`credscore.meta_result`.
"""

from __future__ import annotations

import warnings

import numpy as np

from .exceptions import ConvergenceWarning
from .meta_estimation import _LL0_TOL, _ActiveSet, _Claims, _fit, _per_df, _scoring, _solve_qgen  # noqa: F401
from .meta_result import _FIELDS_NUMERIC, MetaResult  # noqa: F401

__all__ = ["MetaResult", "random_effects", "random_effects_grouped"]

_METHODS = ("FE", "DL", "REML", "ML", "PM")
_METHOD_ALIASES = {"EE": "FE", "CE": "FE", "FIXED": "FE", "EQUAL": "FE"}
_CIS = ("z", "knha")


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
