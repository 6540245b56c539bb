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
from ._base import register
from ._discrete import FactFinder, normalise

__all__ = ["AverageLog"]


@register("average_log")
@attrs.frozen(kw_only=True)
class AverageLog(FactFinder):
    """AverageLog (Pasternack & Roth 2010).

    Parameters
    ----------
    tolerance, max_iter, tol
        See :class:`~credscore.methods._discrete.FactFinder`.
    """

    def _trust(self, g, b, t):
        return normalise(np.log(g.per_source) / g.per_source * segment_sum(b[g.lf], g.ls, g.ns))

    def _belief(self, g, t):
        return normalise(segment_sum(t[g.ls], g.lf, g.nf))
