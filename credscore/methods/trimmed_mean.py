"""Trimmed mean per quantity.

Tukey's trimmed mean (as :func:`scipy.stats.trim_mean`): with ``n``
statements, ``int(proportion · n)`` of the lowest and of the highest centres
are cut and the rest averaged. Numbers: model-space centres (log on
log-scale quantities); no interval, no source weights.

Examples
--------
>>> from credscore.methods import get
>>> res = get("trimmed_mean")(proportion=0.2).fit([{"quantity": "t", "source": str(i), "value": v, "scale": "linear"}
...     for i, v in enumerate([1.0, 2.0, 3.0, 4.0, 100.0])])
>>> float(res.estimates["estimate"][0])
3.0
"""

from __future__ import annotations

import attrs
import numpy as np

from .._segments import segment_count, segment_sum
from ._base import Method, Prepared, check_fraction, register

__all__ = ["TrimmedMean"]


@register("trimmed_mean")
@attrs.frozen(kw_only=True)
class TrimmedMean(Method):
    """Mean after cutting a share of the extreme centres at each end.

    Parameters
    ----------
    proportion : float
        Share cut from each end, in [0, 0.5).
    """

    proportion: float = 0.1

    def __attrs_post_init__(self) -> None:
        check_fraction("proportion", self.proportion, 0.0, 0.5, closed_low=True)

    def _fit(self, p: Prepared):
        n = segment_count(p.q, p.nq)
        order = np.lexsort((p.x, p.q))
        qs = p.q[order]
        start = np.concatenate(([0], np.cumsum(n)[:-1]))
        rank = np.arange(len(order)) - start[qs]
        cut = np.floor(self.proportion * n).astype(np.int64)
        keep = (rank >= cut[qs]) & (rank < (n - cut)[qs])
        xs = p.x[order]
        m = segment_sum(xs[keep], qs[keep], p.nq) / segment_count(qs[keep], p.nq)
        return m, None, None, None, 0
