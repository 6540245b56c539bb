"""AverageLog on numbers.

Pasternack & Roth (2010), "Knowing what to believe (when you already know
something)", COLING: like Sums, but a source's trust is the mean belief of
its values scaled by the log of how many it states, T(s) = log|F(s)| ·
Σ_{f∈F(s)} B(f) / |F(s)|, and B(f) = Σ_{s∈S(f)} T(s); both normalised by
their maximum every iteration. A source stating a single value gets trust
0, as in the paper.

Numbers: statements are merged into values by
:func:`credscore.methods._base.cluster_values` (model space); the estimate
is the value of highest belief (ties: most sources, then the smaller value);
source weights are T(s). No interval.

Examples
--------
>>> from credscore.methods import get
>>> res = get("average_log")().fit([{"quantity": q, "source": s, "value": v}
...     for q, s, v in [("t", "a", 5.0), ("t", "b", 7.0), ("t", "c", 7.0), ("u", "b", 1.0), ("u", "c", 1.0)]])
>>> float(res.estimates["estimate"][0])
7.0
"""

from __future__ import annotations

import attrs
import numpy as np

from .._segments import segment_sum
from ._base import Method, Prepared, check_int, check_positive, register
from ._discrete import changed, fact_graph, normalise

__all__ = ["AverageLog"]


@register("average_log")
@attrs.frozen(kw_only=True)
class AverageLog(Method):
    """AverageLog (Pasternack & Roth 2010).

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
        scale = np.log(g.per_source) / g.per_source
        for it in range(1, int(self.max_iter) + 1):
            t = normalise(scale * segment_sum(b[g.lf], g.ls, g.ns))
            b_new = normalise(segment_sum(t[g.ls], g.lf, g.nf))
            done = not changed(b_new, b, self.tol)
            b = b_new
            if done:
                break
        return g.best(b), None, None, t, it
