"""CATD: confidence-aware truth discovery for long-tail data.

Li, Li, Gao, Su, Zhao, Fan & Han (2015), "A confidence-aware approach for
truth discovery on long-tail data", PVLDB 8(4). A source's error variance
is uncertain when it makes few claims; CATD weighs each source by the
reciprocal of the upper end of the (1 − α) chi-square confidence interval of
its variance, w_s = χ²_{α/2}(N_s) / Σ_i (x_is − t_i)², and takes the
weighted mean as the truth, iterating from the median.

Numbers: model-space centres (log on log-scale quantities), residuals
normalised by the standard deviation of each quantity's centres (1 where
they agree). Interval (our addition, from the same model): with w_s the
reciprocal of a conservative variance, the truth has variance std_i² / Σ_s
w_s, giving t ± z · std_i / √(Σ w_s) at ``level``. Source weights are w_s.

Examples
--------
>>> from credscore.methods import get
>>> res = get("catd")().fit([{"quantity": "t", "source": s, "value": v, "scale": "linear"}
...                          for s, v in [("a", 1.0), ("b", 1.0), ("c", 1.0)]])
>>> float(res.estimates["estimate"][0])
1.0
"""

from __future__ import annotations

import attrs
import numpy as np
from scipy import stats

from .._segments import segment_count, segment_quantile, segment_sum
from ..results import _check_level
from ._base import Method, Prepared, check_fraction, check_int, check_positive, register, scale_per_quantity

__all__ = ["CATD"]


@register("catd")
@attrs.frozen(kw_only=True)
class CATD(Method):
    """CATD (Li et al. 2015).

    Parameters
    ----------
    alpha : float
        Significance of the chi-square interval on source variances, in (0, 1) (paper: 0.05).
    level : float
        Level of the interval on the truths, in (0, 1).
    max_iter : int
    tol : float
        Stop when no truth moves more than ``tol`` × its quantity's std.
    """

    alpha: float = 0.05
    level: float = 0.9
    max_iter: int = 100
    tol: float = 1e-6

    def __attrs_post_init__(self) -> None:
        check_fraction("alpha", self.alpha)
        _check_level(self.level)
        check_int("max_iter", self.max_iter)
        check_positive("tol", self.tol)

    def _fit(self, p: Prepared):
        sd = scale_per_quantity(p)
        n_s = segment_count(p.s, p.ns)
        chi = stats.chi2.ppf(self.alpha / 2, np.maximum(n_s, 1))
        t = segment_quantile(p.x, p.q, p.nq)
        w = np.ones(p.ns)
        it = 0
        for it in range(1, int(self.max_iter) + 1):
            r = (p.x - t[p.q]) / sd[p.q]
            ss = segment_sum(r * r, p.s, p.ns)
            w = chi / np.maximum(ss, 1e-12)  # normalised residuals: 1e-12 is agreement
            cw = w[p.s]
            t_new = segment_sum(cw * p.x, p.q, p.nq) / segment_sum(cw, p.q, p.nq)
            done = np.max(np.abs(t_new - t) / sd) <= self.tol
            t = t_new
            if done:
                break
        half = stats.norm.ppf(0.5 + self.level / 2) * sd / np.sqrt(segment_sum(w[p.s], p.q, p.nq))
        return t, t - half, t + half, w, it
