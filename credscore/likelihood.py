"""Claim likelihoods in model space, evaluated on grids (vectorized).

For a quantity with model-space truth x, a claim c by source s with statement
interval [l_c, u_c] has the mixture likelihood

.. math::

    p(c \\mid x) = \\rho_s P_{acc}(c \\mid x, \\sigma_c) + (1 - \\rho_s) P_{wild}(c),
    \\qquad P_{acc} = F\\left(\\frac{u_c - x}{\\sigma_c}\\right) - F\\left(\\frac{l_c - x}{\\sigma_c}\\right),

with F the normal (or Student-t) CDF, and a density when l_c = u_c. A wild
claim is a number drawn uniformly, in model space, over the quantity's
plausible range (the support of the default flat prior: the claims' extent
widened by a factor 100 each way on log quantities, by ten spans on linear
ones), unrelated to the truth. It is measured over the same event as the
accurate component (the probability of the stated interval, or the density
at the stated point), so the mixture weights are probabilities, and a lone
claim keeps its prior reliability: with nothing to check it against, the data
cannot tell whether it is accurate. This is the "good / bad source" mixture of robust
data fusion (e.g. Zhao et al. 2012, PVLDB 5(6); Dong, Berti-Equille &
Srivastava 2009, PVLDB 2(1)) applied to interval-censored numbers (rounding as
censoring: Heitjan & Rubin 1991, *Ann. Statist.* 19(4)).

:class:`ClaimModel` holds the per-claim arrays (evidence claims only, sorted
by quantity); :func:`log_terms` evaluates log p(c | x) for many claims at once
on a 2-D block of grid points.
"""

from __future__ import annotations

import math

import attrs
import numpy as np
from scipy import special

from ._segments import segment_count, segment_max, segment_min, segment_quantile
from .claims import LOWER, RANGE, UPPER, ClaimSet
from .priors import DEFAULT_LOG_SIGMA, QuantityPrior, SourcePriors, resolve_source_priors

__all__ = ["ClaimModel", "build_claim_model", "log_terms"]

#: Default flat-prior margin on log quantities (natural-log units: a factor 100).
PRIOR_LOG_MARGIN = math.log(100.0)
#: Default flat-prior margin on linear quantities, in spans of the claims.
PRIOR_LINEAR_MARGIN = 10.0

# claim shapes
SHAPE_POINT, SHAPE_INTERVAL, SHAPE_UPPER, SHAPE_LOWER = 0, 1, 2, 3
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
_MAD = 1.482602218505602


@attrs.frozen(eq=False)
class ClaimModel:
    """Evidence claims in model space, sorted by quantity, with their priors.

    Per claim (position p = 0..m-1, sorted by quantity): ``claim`` (index in
    the ClaimSet), ``quantity`` (code), ``shape`` (point, interval, upper,
    lower), ``lo``/``hi``/``centre`` (model space), ``sigma`` and ``df`` of the
    accurate error, ``log_rho``/``log_1mrho`` (mixture weights) and
    ``log_wild`` (the wild component's log probability of the statement) and
    ``weight`` (the power of the claim's likelihood: 1, or less for a claim
    whose evidence it shares with dependent sources; ``None`` means all 1).
    Per quantity: ``starts`` (first position; length n+1), the prior
    (``prior_lo``, ``prior_hi``, ``prior_mean``, ``prior_sd``; NaN mean for
    flat) and the wild component's uniform range (``wild_lo``, ``wild_hi``).
    """

    n_quantities: int
    claim: np.ndarray
    quantity: np.ndarray
    shape: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    centre: np.ndarray
    sigma: np.ndarray
    df: np.ndarray
    log_rho: np.ndarray
    log_1mrho: np.ndarray
    log_wild: np.ndarray
    starts: np.ndarray
    prior_lo: np.ndarray
    prior_hi: np.ndarray
    prior_mean: np.ndarray
    prior_sd: np.ndarray
    wild_lo: np.ndarray
    wild_hi: np.ndarray
    weight: np.ndarray | None = None

    def with_weights(self, log_rho: np.ndarray, log_1mrho: np.ndarray, sigma: np.ndarray | None = None) -> "ClaimModel":
        """A copy with new mixture weights (and error scales), wild terms recomputed.

        Claims whose interval is narrower than 1e-3 of their error scale are
        treated as points (the relative error of that is below 1e-7).
        """
        sigma = self.sigma if sigma is None else sigma
        shape = np.where((self.shape == SHAPE_INTERVAL) & (self.hi - self.lo < 1e-3 * sigma), SHAPE_POINT, self.shape)
        shape = np.where((self.shape == SHAPE_POINT) & (self.hi - self.lo >= 1e-3 * sigma), SHAPE_INTERVAL, shape)
        log_wild = _log_wild(shape, self.lo, self.hi, self.wild_lo[self.quantity], self.wild_hi[self.quantity])
        return attrs.evolve(self, log_rho=log_rho, log_1mrho=log_1mrho, sigma=sigma, shape=shape, log_wild=log_wild)

    @property
    def counts(self) -> np.ndarray:
        """Number of evidence claims per quantity."""
        return np.diff(self.starts)


def _log_wild(shape, lo, hi, wlo, whi) -> np.ndarray:
    """log P_wild of each statement under the uniform distribution on [wlo, whi]."""
    width = whi - wlo
    inside = np.minimum(hi, whi) - np.maximum(lo, wlo)
    with np.errstate(divide="ignore"):
        point = -np.log(width)
        covered = np.log(np.maximum(inside, 0.0) / width)
    return np.where(shape == SHAPE_POINT, point, covered)


def build_claim_model(
    claims: ClaimSet,
    priors: SourcePriors | None = None,
    quantity_priors: dict | None = None,
) -> ClaimModel:
    """Translate a ClaimSet and its priors into the model-space arrays.

    Relayed repeats of one statement are left out (their evidence is carried
    by the first occurrence). Mixture weights are the prior means of the
    sources' reliabilities; error scales are the stated ``se`` when given,
    else the source's :class:`~credscore.priors.ErrorScale`.
    """
    priors = priors or SourcePriors()
    nq = claims.n_quantities
    ev = np.flatnonzero(claims.is_evidence)
    order = ev[np.argsort(claims.quantity[ev], kind="stable")]
    q = claims.quantity[order]
    lo_all, hi_all = _read_bounds(claims)
    lo, hi = lo_all[order], hi_all[order]
    kind = claims.kind[order]
    shape = np.select([kind == UPPER, kind == LOWER], [SHAPE_UPPER, SHAPE_LOWER], SHAPE_INTERVAL).astype(np.int8)
    centre = np.where(shape == SHAPE_UPPER, hi, np.where(shape == SHAPE_LOWER, lo, 0.5 * (lo + hi)))
    logq = claims.log_scale[q]

    sp = resolve_source_priors(priors, claims)
    s = claims.source[order]
    a, b = sp["a"][s], sp["b"][s]
    rho = a / (a + b)
    with np.errstate(divide="ignore"):
        log_rho, log_1mrho = np.log(rho), np.log1p(-rho)

    # --- error scales: stated se, else the source's sigma, else the default
    se_m = claims.model_se[order]
    counts = segment_count(q, nq)
    given = np.where(np.isnan(se_m), sp["sigma"][s], se_m)
    default_sigma = np.full(len(order), DEFAULT_LOG_SIGMA)
    need = ~logq & np.isnan(given)  # linear claims with neither se nor a source sigma
    if need.any():
        default_sigma[need] = _linear_default_sigma(centre, lo, hi, q, nq)[q[need]]
    sigma = np.where(np.isnan(given), default_sigma, given)
    df = sp["df"][s]

    # --- quantity priors
    fin_lo = np.where(np.isfinite(lo), lo, centre)
    fin_hi = np.where(np.isfinite(hi), hi, centre)
    qmin, qmax = segment_min(fin_lo, q, nq), segment_max(fin_hi, q, nq)
    smax = segment_max(sigma, q, nq)
    span = qmax - qmin + 6 * smax
    prior_lo = np.where(claims.log_scale, qmin - PRIOR_LOG_MARGIN, qmin - PRIOR_LINEAR_MARGIN * span)
    prior_hi = np.where(claims.log_scale, qmax + PRIOR_LOG_MARGIN, qmax + PRIOR_LINEAR_MARGIN * span)
    wild_lo, wild_hi = prior_lo.copy(), prior_hi.copy()
    prior_mean = np.full(nq, np.nan)
    prior_sd = np.full(nq, np.nan)
    for name, qp in (quantity_priors or {}).items():  # once per user-given prior
        if not isinstance(qp, QuantityPrior):
            raise TypeError(f"`quantity_priors[{name!r}]` must be a QuantityPrior; got {qp!r}.")
        i = claims.quantity_index(name)
        g = np.log if claims.log_scale[i] else (lambda v: v)
        with np.errstate(divide="ignore"):
            if qp.low is not None:
                prior_lo[i] = g(qp.low) if not (claims.log_scale[i] and qp.low <= 0) else prior_lo[i]
            if qp.high is not None:
                prior_hi[i] = g(qp.high)
            if qp.mean is not None:
                prior_mean[i], prior_sd[i] = g(qp.mean), qp.sd
                if qp.low is None:
                    prior_lo[i] = min(prior_lo[i], prior_mean[i] - 12 * qp.sd)
                if qp.high is None:
                    prior_hi[i] = max(prior_hi[i], prior_mean[i] + 12 * qp.sd)

    starts = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    model = ClaimModel(
        n_quantities=nq, claim=order, quantity=q, shape=shape, lo=lo, hi=hi, centre=centre, sigma=sigma,
        df=df, log_rho=log_rho, log_1mrho=log_1mrho, log_wild=np.zeros(len(order)), starts=starts,
        prior_lo=prior_lo, prior_hi=prior_hi, prior_mean=prior_mean, prior_sd=prior_sd,
        wild_lo=wild_lo, wild_hi=wild_hi,
    )
    return model.with_weights(log_rho, log_1mrho, sigma)


def _read_bounds(claims: ClaimSet) -> tuple[np.ndarray, np.ndarray]:
    """Statement intervals in model space, point claims widened to the rounding unit they are
    read at (:mod:`credscore.heaping`: sources that round more coarsely than they write)."""
    from .heaping import estimate_heaping

    lo, hi = claims.model_bounds
    heaped = estimate_heaping(claims)
    rows = np.flatnonzero(heaped.level > 0)
    if not len(rows):
        return lo, hi
    v, h = claims.value[rows], heaped.half_width[rows]
    logq = claims.log_scale[claims.quantity[rows]]
    low, high = v - h, v + h
    with np.errstate(divide="ignore", invalid="ignore"):
        lo, hi = lo.copy(), hi.copy()
        lo[rows] = np.where(logq, np.log(np.maximum(low, 0.0)), low)
        hi[rows] = np.where(logq, np.log(high), high)
    return lo, hi


def _linear_default_sigma(centre, lo, hi, q, nq) -> np.ndarray:
    """Default error scale of linear quantities: 1.4826 MAD of the claims' centres, floored at
    their median rounding half-width (and at 1e-3 of the centre when both are zero)."""
    mad = _MAD * _segment_mad(centre, q, nq)
    finite_width = np.where(np.isfinite(hi - lo), hi - lo, 0.0)
    half_med = segment_quantile(0.5 * finite_width, q, nq)
    out = np.maximum(np.nan_to_num(mad, nan=0.0), half_med)
    return np.where(out > 0, out, 1e-3 * np.maximum(np.abs(segment_quantile(centre, q, nq)), 1.0))


def _segment_mad(values: np.ndarray, codes: np.ndarray, n: int) -> np.ndarray:
    med = segment_quantile(values, codes, n)
    return segment_quantile(np.abs(values - med[codes]), codes, n)


def _log1mexp(d: np.ndarray) -> np.ndarray:
    """log(1 - exp(d)) for d <= 0, accurately (Maechler 2012)."""
    with np.errstate(divide="ignore"):
        return np.where(d > -math.log(2.0), np.log(-np.expm1(d)), np.log1p(-np.exp(d)))


def _log_cdf(z: np.ndarray, df: np.ndarray | float) -> np.ndarray:
    if np.all(np.isinf(df)):
        return special.log_ndtr(z)
    normal = special.log_ndtr(z)
    with np.errstate(divide="ignore"):
        t = np.log(special.stdtr(np.where(np.isinf(df), 1.0, df), z))
        t_upper = np.log1p(-special.stdtr(np.where(np.isinf(df), 1.0, df), -z))
    t = np.where(z > 0, t_upper, t)
    return np.where(np.isinf(df), normal, t)


def _log_pdf(z: np.ndarray, df: np.ndarray | float) -> np.ndarray:
    if np.all(np.isinf(df)):
        return -0.5 * z * z - _LOG_SQRT_2PI
    d = np.where(np.isinf(df), 1.0, df)
    t = (special.gammaln((d + 1) / 2) - special.gammaln(d / 2) - 0.5 * np.log(d * math.pi)
         - (d + 1) / 2 * np.log1p(z * z / d))
    return np.where(np.isinf(df), -0.5 * z * z - _LOG_SQRT_2PI, t)


def _log_interval(a: np.ndarray, b: np.ndarray, df: np.ndarray | float) -> np.ndarray:
    """log(F(b) - F(a)) for a < b, stable in both tails (by symmetry of F)."""
    flip = a > 0
    a2, b2 = np.where(flip, -b, a), np.where(flip, -a, b)
    lb, la = _log_cdf(b2, df), _log_cdf(a2, df)
    return lb + _log1mexp(np.minimum(la - lb, 0.0))


def log_accurate(model: ClaimModel, rows: np.ndarray, x: np.ndarray) -> np.ndarray:
    """log P_acc(c | x) for claims ``rows`` at grid points ``x`` (shape (len(rows), G))."""
    sig = model.sigma[rows][:, None]
    shape = model.shape[rows]
    df = model.df[rows][:, None]
    out = np.empty_like(x)
    for code in np.unique(shape):  # at most four shapes per block
        sel = shape == code
        xs, s, d = x[sel], sig[sel], df[sel]
        if np.all(np.isinf(d)):
            d = np.inf
        if code == SHAPE_POINT:
            z = (xs - model.centre[rows][sel][:, None]) / s
            out[sel] = _log_pdf(z, d) - np.log(s)
        elif code == SHAPE_INTERVAL:
            out[sel] = _log_interval((model.lo[rows][sel][:, None] - xs) / s, (model.hi[rows][sel][:, None] - xs) / s, d)
        elif code == SHAPE_UPPER:
            out[sel] = _log_cdf((model.hi[rows][sel][:, None] - xs) / s, d)
        else:
            out[sel] = _log_cdf((xs - model.lo[rows][sel][:, None]) / s, d)
    return out


def log_terms(model: ClaimModel, rows: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mixture log-likelihood of claims ``rows`` on grid block ``x``.

    The term of each claim is multiplied by its weight (``model.weight``;
    a power likelihood, as in weighted-likelihood discounting of dependent
    evidence: Hu & Zidek 2002, *Canad. J. Statist.* 30(3)).

    Returns
    -------
    term : ndarray
        weight × log p(c | x), same shape as ``x``.
    accurate : ndarray
        P(claim accurate | x) = ρ P_acc / p(c | x), same shape.
    """
    term, accurate = _log_terms(model, rows, x)
    if model.weight is not None:
        term *= model.weight[rows][:, None]
    return term, accurate


def _log_terms(model: ClaimModel, rows: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mixture log-likelihood of claims ``rows`` on grid block ``x``.

    Returns
    -------
    term : ndarray
        log p(c | x) = log(ρ P_acc + (1 − ρ) P_wild), same shape as ``x``.
    accurate : ndarray
        P(claim accurate | x) = ρ P_acc / p(c | x), same shape.

    Notes
    -----
    With b = log((1 − ρ) P_wild) and t = log(ρ P_acc) − b, the term is
    b + log(1 + e^t) and the probability e^t / (1 + e^t); the common case
    (normal point claims with a wild component) is computed in a handful of
    in-place passes.
    """
    b = model.log_1mrho[rows] + model.log_wild[rows]
    has_wild = np.isfinite(b)
    if not has_wild.all():
        term = log_accurate(model, rows, x)
        term += model.log_rho[rows][:, None]
        accurate = np.ones_like(term)
        if has_wild.any():
            term[has_wild], accurate[has_wild] = _log_terms(model, rows[has_wild], x[has_wild])
        return term, accurate
    shape = model.shape[rows]
    if np.all(shape == SHAPE_POINT) and np.all(np.isinf(model.df[rows])):
        inv = 1.0 / model.sigma[rows]
        alpha = model.log_rho[rows] + np.log(inv) - _LOG_SQRT_2PI - b
        t = x - model.centre[rows][:, None]
        t *= inv[:, None]
        t *= t
        t *= -0.5
        t += alpha[:, None]
    else:
        t = log_accurate(model, rows, x)
        t += (model.log_rho[rows] - b)[:, None]
    big = t > 700.0
    if big.any():
        excess = np.where(big, t - 700.0, 0.0)
        np.minimum(t, 700.0, out=t)
    else:
        excess = None
    e = np.exp(t, out=t)
    d = e + 1.0
    accurate = np.divide(e, d, out=e)
    term = np.log(d, out=d)
    term += b[:, None]
    if excess is not None:
        term += excess
    return term, accurate
