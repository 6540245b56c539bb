"""Majority vote over rounded values.

The voting baseline of truth discovery (Li et al. 2016, "A survey on truth
discovery", SIGKDD Explorations 17(2)). Numbers: a quantity's statements are
merged into values by :func:`credscore.methods._base.cluster_values`
(centres that agree to ``tolerance`` × their robust spread, or to the
precision they are written with); the value stated most often wins (ties:
the smaller value). No interval, no source weights.

Examples
--------
>>> from credscore.methods import get
>>> res = get("majority")().fit([{"quantity": "t", "source": s, "value": v}
...                              for s, v in [("a", 5.0), ("b", 7.0), ("c", 7.0)]])
>>> float(res.estimates["estimate"][0])
7.0
"""

from __future__ import annotations

import attrs
import numpy as np

from .._segments import segment_count
from ._base import Method, Prepared, argmax_per_group, check_positive, cluster_values, register

__all__ = ["Majority"]


@register("majority")
@attrs.frozen(kw_only=True)
class Majority(Method):
    """Most frequent value after merging agreeing centres.

    Parameters
    ----------
    tolerance : float
        Values closer than ``tolerance`` × the quantity's robust spread merge (≥ 0).
    """

    tolerance: float = 0.1

    def __attrs_post_init__(self) -> None:
        check_positive("tolerance", self.tolerance, allow_zero=True)

    def _fit(self, p: Prepared):
        fact, fq, fx = cluster_values(p, self.tolerance)
        votes = segment_count(fact, len(fq)).astype(float)
        best = argmax_per_group(votes, fq, p.nq, fx)
        return fx[best], None, None, None, 0
