"""Random-effects meta-analysis per quantity (DerSimonian–Laird or REML).

Each quantity's statements are treated as studies of one effect with
between-source heterogeneity τ²: the estimate is the mean weighted by
1/(se² + τ²), τ² by the method of moments (DerSimonian & Laird 1986,
"Meta-analysis in clinical trials", Controlled Clinical Trials 7(3)) or
restricted maximum likelihood (Viechtbauer 2005, "Bias and efficiency of
meta-analytic variance estimators in the random-effects model", J. Educ.
Behav. Stat. 30(3)), computed for all quantities at once by
:func:`credscore.meta.random_effects_grouped`; the interval is the Wald
interval of the pooled mean at ``level``.

Numbers: model-space centres and model-space se (relative se on log-scale
quantities); missing se are filled by
:func:`credscore.methods._base.claim_se` (stated se; else the rounding
half-width/√3; else the median se). No source weights.

Examples
--------
>>> from credscore.methods import get
>>> res = get("random_effects")(method="DL").fit([{"quantity": "t", "source": "a", "value": 1.0, "se": 1.0, "scale": "linear"},
...                                               {"quantity": "t", "source": "b", "value": 4.0, "se": 2.0, "scale": "linear"}])
>>> float(res.estimates["estimate"][0])  # tau² = 2: weights 1/3 and 1/6
2.0
"""

from __future__ import annotations

import warnings

import attrs

from ..meta import random_effects_grouped
from ..results import _check_level
from ._base import Method, Prepared, claim_se, register

__all__ = ["RandomEffects"]


@register("random_effects")
@attrs.frozen(kw_only=True)
class RandomEffects(Method):
    """Random-effects pooled mean per quantity.

    Parameters
    ----------
    method : {'REML', 'DL'}
        Estimator of τ².
    level : float
        Level of the interval, in (0, 1).
    """

    method: str = "REML"
    level: float = 0.9

    def __attrs_post_init__(self) -> None:
        if self.method not in ("REML", "DL"):
            raise ValueError(f"`method` must be one of 'REML', 'DL'; got {self.method!r}.")
        _check_level(self.level)

    def _fit(self, p: Prepared):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # non-convergence of a few groups' REML: their estimate stays usable
            r = random_effects_grouped(p.x, claim_se(p), p.q, method=self.method, level=self.level, tau2_ci=False)
        return r.estimate, r.ci_low, r.ci_high, None, 0
