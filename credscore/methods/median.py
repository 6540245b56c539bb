"""Median per quantity.

The robust baseline of truth discovery on numbers (Li et al. 2016, "A survey
on truth discovery", SIGKDD Explorations 17(2)). Numbers: the median of the
statements' model-space centres (the mean of the two middle ones for an even
count); no interval, no source weights.

Examples
--------
>>> from credscore.methods import get
>>> res = get("median")().fit([{"quantity": "t", "source": s, "value": v}
...                            for s, v in [("a", 1.0), ("b", 2.0), ("c", 60.0)]])
>>> float(res.estimates["estimate"][0])
2.0
"""

from __future__ import annotations

import attrs

from .._segments import segment_quantile
from ._base import Method, Prepared, register

__all__ = ["Median"]


@register("median")
@attrs.frozen(kw_only=True)
class Median(Method):
    """Median of the statements' centres (no hyperparameters)."""

    def _fit(self, p: Prepared):
        return segment_quantile(p.x, p.q, p.nq), None, None, None, 0
