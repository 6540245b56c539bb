"""CRH: conflict resolution on heterogeneous data, continuous loss.

Li, Li, Gao, Zhao, Fan & Han (2014), "Resolving conflicts in heterogeneous
data by truth discovery and source reliability estimation", SIGMOD. Block
coordinate descent on Σ_s w_s Σ_i d(x_is, t_i): given the truths, a
source's weight is w_s = −log(Σ_i d_is / Σ_{s'} Σ_i d_is'); given the
weights, the truth minimises the weighted loss. For continuous data the loss
is the normalised absolute deviation d = |x − t| / std_i (truth: the
weighted median), or the normalised squared loss (truth: the weighted
mean). Truths start at the median.

Numbers: model-space centres (log on log-scale quantities); std_i is the
standard deviation of the quantity's centres (1 where they agree). Source
weights are w_s. No interval.

Examples
--------
>>> from credscore.methods import get
>>> res = get("crh")().fit([{"quantity": q, "source": s, "value": v, "scale": "linear"}
...     for q, s, v in [("t", "a", 10.0), ("t", "b", 10.0), ("t", "c", 14.0), ("u", "a", 3.0), ("u", "b", 3.0), ("u", "c", 1.0)]])
>>> res.estimates["estimate"].tolist()
[10.0, 3.0]
"""

from __future__ import annotations

import attrs
import numpy as np

from .._segments import segment_quantile, segment_sum
from ._base import Method, Prepared, check_int, check_positive, register, scale_per_quantity

__all__ = ["CRH", "loss_weights"]


def loss_weights(loss: np.ndarray, s: np.ndarray, ns: int) -> np.ndarray:
    """w_s = −log(loss_s / Σ loss), with losses floored at 1e-12 of the total (CRH, KDEm)."""
    per = segment_sum(loss, s, ns)
    total = float(per.sum())
    if total <= 0:
        return np.ones(ns)
    return np.maximum(-np.log(np.maximum(per, 1e-12 * total) / total), 1e-12)


@register("crh")
@attrs.frozen(kw_only=True)
class CRH(Method):
    """CRH (Li et al. 2014) for continuous data.

    Parameters
    ----------
    loss : {'absolute', 'squared'}
        Normalised absolute deviation (weighted median) or squared loss (weighted mean).
    max_iter : int
    tol : float
        Stop when no truth moves more than ``tol`` × its quantity's std.
    """

    loss: str = "absolute"
    max_iter: int = 100
    tol: float = 1e-6

    def __attrs_post_init__(self) -> None:
        if self.loss not in ("absolute", "squared"):
            raise ValueError(f"`loss` must be one of 'absolute', 'squared'; got {self.loss!r}.")
        check_int("max_iter", self.max_iter)
        check_positive("tol", self.tol)

    def _fit(self, p: Prepared):
        sd = scale_per_quantity(p)
        t = segment_quantile(p.x, p.q, p.nq)
        w = np.ones(p.ns)
        it = 0
        for it in range(1, int(self.max_iter) + 1):
            r = (p.x - t[p.q]) / sd[p.q]
            w = loss_weights(np.abs(r) if self.loss == "absolute" else r * r, p.s, p.ns)
            cw = w[p.s]
            if self.loss == "absolute":
                t_new = segment_quantile(p.x, p.q, p.nq, 0.5, cw)
            else:
                t_new = segment_sum(cw * p.x, p.q, p.nq) / segment_sum(cw, p.q, p.nq)
            done = np.max(np.abs(t_new - t) / sd) <= self.tol
            t = t_new
            if done:
                break
        return t, None, None, w, it
