"""PooledInvestment on numbers.

Pasternack & Roth (2010), "Knowing what to believe (when you already know
something)", COLING: trust is updated as in Investment
(:mod:`credscore.methods.investment`); a value's belief is its share of its
quantity's pooled investment after a growth function,

    H_i(f) = Σ_{s∈S(f)} T_i(s)/|F(s)|,
    B_i(f) = H_i(f) · G(H_i(f)) / Σ_{f'∈M(f)} G(H_i(f')),   G(x) = x^g, g = 1.4,

where M(f) are the values of f's quantity (mutually exclusive); trust is
normalised by its maximum every iteration.

Numbers: statements are merged into values by
:func:`credscore.methods._base.cluster_values` (model space); the estimate
is the value of highest belief (ties: most sources, then the smaller value);
source weights are T(s). No interval.

Examples
--------
>>> from credscore.methods import get
>>> res = get("pooled_investment")().fit([{"quantity": "t", "source": s, "value": v}
...                                       for s, v in [("a", 5.0), ("b", 7.0), ("c", 7.0)]])
>>> float(res.estimates["estimate"][0])
7.0
"""

from __future__ import annotations

import attrs
import numpy as np

from .._segments import segment_sum
from ._base import Method, Prepared, check_int, check_positive, register
from ._discrete import changed, fact_graph, normalise
from .investment import invest

__all__ = ["PooledInvestment"]


def _pooled_belief(g, t: np.ndarray, power: float) -> np.ndarray:
    h = segment_sum((t / g.per_source)[g.ls], g.lf, g.nf)
    gh = h**power
    total = segment_sum(gh, g.fq, g.nq)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total[g.fq] > 0, h * gh / total[g.fq], 0.0)


@register("pooled_investment")
@attrs.frozen(kw_only=True)
class PooledInvestment(Method):
    """PooledInvestment (Pasternack & Roth 2010).

    Parameters
    ----------
    g : float
        Exponent of the growth function G(x) = x^g (paper: 1.4), > 0.
    tolerance : float
        Merging tolerance of :func:`~credscore.methods._base.cluster_values` (≥ 0).
    max_iter : int
        Iterations (the paper runs 20).
    tol : float
        Stop early when no belief moves more than ``tol``.
    """

    g: float = 1.4
    tolerance: float = 0.1
    max_iter: int = 20
    tol: float = 1e-9

    def __attrs_post_init__(self) -> None:
        check_positive("g", self.g)
        check_positive("tolerance", self.tolerance, allow_zero=True)
        check_int("max_iter", self.max_iter)
        check_positive("tol", self.tol)

    def _fit(self, p: Prepared):
        g = fact_graph(p, self.tolerance)
        t = np.ones(g.ns)
        b = _pooled_belief(g, t, self.g)
        it = 0
        for it in range(1, int(self.max_iter) + 1):
            t = normalise(invest(g, b, t))
            b_new = _pooled_belief(g, t, self.g)
            done = not changed(b_new, b, self.tol)
            b = b_new
            if done:
                break
        return g.best(b), None, None, t, it
