"""Sums (Hubs and Authorities) on numbers.

Pasternack & Roth (2010), "Knowing what to believe (when you already know
something)", COLING, after Kleinberg's Hubs and Authorities: a source's
trust is the sum of the beliefs of the values it states, T(s) = Σ_{f∈F(s)}
B(f), and a value's belief the sum of its sources' trust, B(f) = Σ_{s∈S(f)}
T(s), each normalised by its maximum every iteration.

Numbers: statements are merged into values by
:func:`credscore.methods._base.cluster_values` (model space); the estimate
is the value of highest belief (ties: most sources, then the smaller value);
source weights are T(s). No interval.

Examples
--------
>>> from credscore.methods import get
>>> res = get("sums")().fit([{"quantity": "t", "source": s, "value": v}
...                          for s, v in [("a", 5.0), ("b", 7.0), ("c", 7.0)]])
>>> float(res.estimates["estimate"][0])
7.0
"""

from __future__ import annotations

import attrs
import numpy as np

from .._segments import segment_sum
from ._base import Method, Prepared, check_int, check_positive, register
from ._discrete import changed, fact_graph, normalise

__all__ = ["Sums"]


@register("sums")
@attrs.frozen(kw_only=True)
class Sums(Method):
    """Sums / Hubs and Authorities (Pasternack & Roth 2010).

    Parameters
    ----------
    tolerance : float
        Merging tolerance of :func:`~credscore.methods._base.cluster_values` (≥ 0).
    max_iter : int
        Iterations (the paper runs 20).
    tol : float
        Stop early when no normalised belief moves more than ``tol``.
    """

    tolerance: float = 0.1
    max_iter: int = 20
    tol: float = 1e-9

    def __attrs_post_init__(self) -> None:
        check_positive("tolerance", self.tolerance, allow_zero=True)
        check_int("max_iter", self.max_iter)
        check_positive("tol", self.tol)

    def _fit(self, p: Prepared):
        g = fact_graph(p, self.tolerance)
        b = np.full(g.nf, 0.5)
        t = np.zeros(g.ns)
        it = 0
        for it in range(1, int(self.max_iter) + 1):
            t = normalise(segment_sum(b[g.lf], g.ls, g.ns))
            b_new = normalise(segment_sum(t[g.ls], g.lf, g.nf))
            done = not changed(b_new, b, self.tol)
            b = b_new
            if done:
                break
        return g.best(b), None, None, t, it
