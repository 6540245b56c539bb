"""Inverse-variance weighted mean per quantity (fixed-effect meta-analysis).

The fixed-effect estimate of meta-analysis (Cochran 1954, "The combination
of estimates from different experiments", Biometrics 10(1)): each statement
weighs ``1/se²``; the interval is the estimate ± z · (Σ 1/se²)^(-1/2).
Numbers: model-space centres and model-space se (relative se on log-scale
quantities); missing se are filled by
:func:`credscore.methods._base.claim_se` (stated se; else rounding
half-width/√3; else the median se).

Examples
--------
>>> from credscore.methods import get
>>> res = get("weighted_mean")().fit([{"quantity": "t", "source": "a", "value": 1.0, "se": 1.0, "scale": "linear"},
...                                   {"quantity": "t", "source": "b", "value": 4.0, "se": 2.0, "scale": "linear"}])
>>> float(res.estimates["estimate"][0])
1.6
"""

from __future__ import annotations

import attrs
import numpy as np
from scipy import stats

from .._segments import segment_sum
from ..results import _check_level
from ._base import Method, Prepared, claim_se, register

__all__ = ["WeightedMean"]


@register("weighted_mean")
@attrs.frozen(kw_only=True)
class WeightedMean(Method):
    """Inverse-variance weighted mean.

    Parameters
    ----------
    level : float
        Confidence level of the interval, in (0, 1).
    """

    level: float = 0.9

    def __attrs_post_init__(self) -> None:
        _check_level(self.level)

    def _fit(self, p: Prepared):
        w = 1.0 / claim_se(p) ** 2
        sw = segment_sum(w, p.q, p.nq)
        m = segment_sum(w * p.x, p.q, p.nq) / sw
        half = stats.norm.ppf(0.5 + self.level / 2) / np.sqrt(sw)
        return m, m - half, m + half, None, 0
