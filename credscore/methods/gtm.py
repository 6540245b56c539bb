"""GTM: the Gaussian Truth Model.

Zhao & Han (2012), "A probabilistic model for estimating real-valued truth
from conflicting sources", QDB workshop at VLDB. Claims are normalised per
quantity (z-scores); each truth has a N(μ0, σ0²) prior, each source an error
variance σ_s² with an inverse-gamma(α, β) prior, and a claim is N(truth,
σ_s²). EM: the truth's posterior is normal with precision 1/σ0² + Σ 1/σ_s²
and mean (μ0/σ0² + Σ z/σ_s²) / precision; the MAP source variance is
σ_s² = (2β + Σ [(z − μ)² + v]) / (2(α + 1) + N_s), v the truth's posterior
variance. Truths start at the median.

Numbers: model-space centres (log on log-scale quantities) normalised by
each quantity's mean and standard deviation (1 where they agree). Interval:
the truth's normal posterior at ``level``, transformed back. Source weights
are 1/σ_s².

Examples
--------
>>> from credscore.methods import get
>>> res = get("gtm")().fit([{"quantity": "t", "source": s, "value": v, "scale": "linear"}
...                         for s, v in [("a", 2.0), ("b", 2.0)]])
>>> float(res.estimates["estimate"][0])
2.0
"""

from __future__ import annotations

import attrs
import numpy as np
from scipy import stats

from .._segments import segment_count, segment_quantile, segment_sum
from ..results import _check_level
from ._base import Method, Prepared, check_int, check_positive, register, scale_per_quantity

__all__ = ["GTM"]


@register("gtm")
@attrs.frozen(kw_only=True)
class GTM(Method):
    """Gaussian Truth Model (Zhao & Han 2012).

    Parameters
    ----------
    alpha, beta : float
        Inverse-gamma prior of the source error variances (normalised units), > 0.
    mu0, sigma0 : float
        Normal prior of the (normalised) truths.
    level : float
        Level of the posterior interval, in (0, 1).
    max_iter : int
    tol : float
        Stop when no normalised truth moves more than ``tol``.
    """

    alpha: float = 10.0
    beta: float = 10.0
    mu0: float = 0.0
    sigma0: float = 1.0
    level: float = 0.9
    max_iter: int = 100
    tol: float = 1e-6

    def __attrs_post_init__(self) -> None:
        check_positive("alpha", self.alpha)
        check_positive("beta", self.beta)
        if not np.isfinite(self.mu0):
            raise ValueError(f"`mu0` must be finite; got {self.mu0!r}.")
        check_positive("sigma0", self.sigma0)
        _check_level(self.level)
        check_int("max_iter", self.max_iter)
        check_positive("tol", self.tol)

    def _fit(self, p: Prepared):
        n_q = segment_count(p.q, p.nq)
        centre = segment_sum(p.x, p.q, p.nq) / n_q
        sd = scale_per_quantity(p)
        z = (p.x - centre[p.q]) / sd[p.q]
        n_s = segment_count(p.s, p.ns)
        mu = segment_quantile(z, p.q, p.nq)
        v = np.zeros(p.nq)
        var_s = np.full(p.ns, self.beta / (self.alpha + 1.0))
        prec0 = 1.0 / self.sigma0**2
        it = 0
        for it in range(1, int(self.max_iter) + 1):
            var_s = (2.0 * self.beta + segment_sum((z - mu[p.q]) ** 2 + v[p.q], p.s, p.ns)) / (
                2.0 * (self.alpha + 1.0) + n_s)
            prec = prec0 + segment_sum(1.0 / var_s[p.s], p.q, p.nq)
            mu_new = (self.mu0 * prec0 + segment_sum(z / var_s[p.s], p.q, p.nq)) / prec
            v = 1.0 / prec
            done = np.max(np.abs(mu_new - mu)) <= self.tol
            mu = mu_new
            if done:
                break
        half = stats.norm.ppf(0.5 + self.level / 2) * np.sqrt(v)
        est = centre + sd * mu
        return est, est - sd * half, est + sd * half, 1.0 / var_s, it
