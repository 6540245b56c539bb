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
from ._base import register
from .investment import Investment

__all__ = ["PooledInvestment"]


def _pooled_belief(g, t: np.ndarray, power: float) -> np.ndarray:
    h = segment_sum((t / g.per_source)[g.ls], g.lf, g.nf)
    gh = h**power
    total = segment_sum(gh, g.fq, g.nq)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total[g.fq] > 0, h * gh / total[g.fq], 0.0)


@register("pooled_investment")
@attrs.frozen(kw_only=True)
class PooledInvestment(Investment):
    """PooledInvestment (Pasternack & Roth 2010).

    Parameters
    ----------
    g : float
        Exponent of the growth function G(x) = x^g (paper: 1.4), > 0.
    tolerance, max_iter, tol
        See :class:`~credscore.methods._discrete.FactFinder`.
    """

    g: float = 1.4

    def _belief(self, g, t):
        return _pooled_belief(g, t, self.g)
