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
from ._base import register
from ._discrete import FactFinder, normalise

__all__ = ["Sums"]


@register("sums")
@attrs.frozen(kw_only=True)
class Sums(FactFinder):
    """Sums / Hubs and Authorities (Pasternack & Roth 2010).

    Parameters
    ----------
    tolerance, max_iter, tol
        See :class:`~credscore.methods._discrete.FactFinder`.
    """

    def _trust(self, g, b, t):
        return normalise(segment_sum(b[g.lf], g.ls, g.ns))

    def _belief(self, g, t):
        return normalise(segment_sum(t[g.ls], g.lf, g.nf))
