"""Investment on numbers.

Pasternack & Roth (2010), "Knowing what to believe (when you already know
something)", COLING: each source invests its trust equally in the values it
states and earns back in proportion to its share of each value's investment,

    T_i(s) = Σ_{f∈F(s)} B_{i−1}(f) · (T_{i−1}(s)/|F(s)|) / Σ_{r∈S(f)} T_{i−1}(r)/|F(r)|,
    B_i(f) = G(Σ_{s∈S(f)} T_i(s)/|F(s)|),   G(x) = x^g, g = 1.2,

starting from uniform trust; trust and beliefs are normalised by their
maximum every iteration (this leaves the ranking of values unchanged).

Numbers: statements are merged into values by
:func:`credscore.methods._base.cluster_values` (model space); the estimate
is the value of highest belief (ties: most sources, then the smaller value);
source weights are T(s). No interval.

Examples
--------
>>> from credscore.methods import get
>>> res = get("investment")().fit([{"quantity": "t", "source": s, "value": v}
...                                for s, v in [("a", 5.0), ("b", 7.0), ("c", 7.0)]])
>>> float(res.estimates["estimate"][0])
7.0
"""

from __future__ import annotations

import attrs
import numpy as np

from .._segments import segment_sum
from ._base import check_positive, register
from ._discrete import FactFinder, normalise

__all__ = ["Investment", "invest"]


def invest(g, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """One trust update of Investment / PooledInvestment."""
    share = t / g.per_source
    pool = segment_sum(share[g.ls], g.lf, g.nf)
    with np.errstate(invalid="ignore", divide="ignore"):
        ret = np.where(pool[g.lf] > 0, b[g.lf] * share[g.ls] / pool[g.lf], 0.0)
    return segment_sum(ret, g.ls, g.ns)


@register("investment")
@attrs.frozen(kw_only=True)
class Investment(FactFinder):
    """Investment (Pasternack & Roth 2010).

    Parameters
    ----------
    g : float
        Exponent of the belief growth function G(x) = x^g (paper: 1.2), > 0.
    tolerance, max_iter, tol
        See :class:`~credscore.methods._discrete.FactFinder`.
    """

    g: float = 1.2

    def __attrs_post_init__(self) -> None:
        check_positive("g", self.g)
        super().__attrs_post_init__()

    def _start(self, g):
        t = np.ones(g.ns)
        return self._belief(g, t), t

    def _trust(self, g, b, t):
        return normalise(invest(g, b, t))

    def _belief(self, g, t):
        return normalise(segment_sum((t / g.per_source)[g.ls], g.lf, g.nf) ** self.g)
