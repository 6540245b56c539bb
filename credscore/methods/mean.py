"""Arithmetic mean per quantity, with a Student-t confidence interval.

The baseline of every truth-discovery comparison (e.g. Li et al. 2016, "A
survey on truth discovery", SIGKDD Explorations 17(2)). Numbers: the mean of
the statements' model-space centres (the geometric mean on log-scale
quantities); the interval is mean ± t_{n-1} · sd/√n at ``level`` (NaN with
one statement).

Examples
--------
>>> from credscore.methods import get
>>> res = get("mean")().fit([{"quantity": "t", "source": s, "value": v, "scale": "linear"}
...                          for s, v in [("a", 1.0), ("b", 2.0), ("c", 6.0)]])
>>> float(res.estimates["estimate"][0])
3.0
"""

from __future__ import annotations

import attrs
import numpy as np
from scipy import stats

from .._segments import segment_count, segment_sum
from ..results import _check_level
from ._base import Method, Prepared, register

__all__ = ["Mean"]


@register("mean")
@attrs.frozen(kw_only=True)
class Mean(Method):
    """Arithmetic mean of the statements' centres.

    Parameters
    ----------
    level : float
        Confidence level of the t interval, in (0, 1).
    """

    level: float = 0.9

    def __attrs_post_init__(self) -> None:
        _check_level(self.level)

    def _fit(self, p: Prepared):
        n = segment_count(p.q, p.nq).astype(float)
        m = segment_sum(p.x, p.q, p.nq) / n
        ss = segment_sum((p.x - m[p.q]) ** 2, p.q, p.nq)
        with np.errstate(invalid="ignore", divide="ignore"):
            sem = np.sqrt(ss / np.maximum(n - 1, 1) / n)
            t = stats.t.ppf(0.5 + self.level / 2, np.maximum(n - 1, 1))
        half = np.where(n > 1, t * sem, np.nan)
        return m, m - half, m + half, None, 0
