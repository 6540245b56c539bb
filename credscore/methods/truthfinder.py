"""TruthFinder with a numeric implication function.

Yin, Han & Yu (2008), "Truth discovery with multiple conflicting information
providers on the Web", IEEE TKDE 20(6). A source's trustworthiness t(w) is
the mean confidence of the facts it states; a fact's confidence score is
σ(f) = Σ_w −ln(1 − t(w)) over its sources, adjusted by the other values of
the same quantity, σ*(f) = σ(f) + ρ Σ_{f'} σ(f') · imp(f' → f), and
squashed, s(f) = 1 / (1 + exp(−γ σ*(f))). Iteration stops when
1 − cos(t_new, t_old) < ``tol``.

Numbers: statements are merged into values by
:func:`credscore.methods._base.cluster_values`; the implication between two
values of a quantity is their similarity minus ``base_sim``,
imp(f' → f) = exp(−|x_f − x_f'| / d_q) − base_sim, with x in model space
(log on log-scale quantities) and d_q the quantity's robust spread
(1 when its statements agree). The estimate is the most confident value;
source weights are the trustworthiness t(w). No interval.

Examples
--------
>>> from credscore.methods import get
>>> res = get("truthfinder")().fit([{"quantity": "t", "source": s, "value": v}
...                                 for s, v in [("a", 5.0), ("b", 7.0), ("c", 7.0)]])
>>> float(res.estimates["estimate"][0])
7.0
"""

from __future__ import annotations

import attrs
import numpy as np

from .._segments import segment_sum
from ._base import Method, Prepared, check_fraction, check_int, check_positive, register, spread, within_pairs
from ._discrete import fact_graph

__all__ = ["TruthFinder"]


@register("truthfinder")
@attrs.frozen(kw_only=True)
class TruthFinder(Method):
    """TruthFinder (Yin et al. 2008) on numbers.

    Parameters
    ----------
    initial_trust : float
        t0 of every source, in (0, 1) (paper: 0.9).
    rho : float
        Weight of the implication between values, in [0, 1] (paper: 0.5).
    gamma : float
        Dampening factor of the squashing, > 0 (paper: 0.3).
    base_sim : float
        Similarity below which values imply against each other, in [0, 1) (paper: 0.5).
    tolerance : float
        Merging tolerance of :func:`~credscore.methods._base.cluster_values` (≥ 0).
    max_iter : int
    tol : float
        Stop when 1 − cos(t_new, t_old) < tol.
    """

    initial_trust: float = 0.9
    rho: float = 0.5
    gamma: float = 0.3
    base_sim: float = 0.5
    tolerance: float = 0.1
    max_iter: int = 100
    tol: float = 1e-6

    def __attrs_post_init__(self) -> None:
        check_fraction("initial_trust", self.initial_trust)
        check_fraction("rho", self.rho, 0.0, 1.0 + 1e-12, closed_low=True)
        check_positive("gamma", self.gamma)
        check_fraction("base_sim", self.base_sim, 0.0, 1.0, closed_low=True)
        check_positive("tolerance", self.tolerance, allow_zero=True)
        check_int("max_iter", self.max_iter)
        check_positive("tol", self.tol)

    def _fit(self, p: Prepared):
        g = fact_graph(p, self.tolerance)
        d = spread(p)
        d = np.where(d > 0, d, 1.0)
        i, j = within_pairs(g.fq, g.nq)  # ordered pairs of values of one quantity
        other = i != j
        i, j = i[other], j[other]
        imp = np.exp(-np.abs(g.fx[i] - g.fx[j]) / d[g.fq[i]]) - self.base_sim  # imp(f_j -> f_i)
        t = np.full(g.ns, float(self.initial_trust))
        it = 0
        conf = np.zeros(g.nf)
        for it in range(1, int(self.max_iter) + 1):
            tau = -np.log1p(-np.minimum(t, 1.0 - 1e-12))
            sigma = segment_sum(tau[g.ls], g.lf, g.nf)
            sigma_star = sigma + self.rho * segment_sum(sigma[j] * imp, i, g.nf)
            conf = 1.0 / (1.0 + np.exp(-self.gamma * sigma_star))
            t_new = segment_sum(conf[g.lf], g.ls, g.ns) / g.per_source
            cos = float(t_new @ t) / max(float(np.linalg.norm(t_new) * np.linalg.norm(t)), 1e-300)
            t = t_new
            if 1.0 - cos < self.tol:
                break
        return g.best(conf), None, None, t, it
