"""KDEm: kernel density estimation with source weights.

Wan, Chen, Han, Cheng & Zhang (2016), "From truth discovery to trustworthy
opinion discovery: an uncertainty-aware quantitative modeling approach",
KDD. Each quantity's claims define a weighted kernel density f_i = Σ_s c_s
K_h(· − x_is) / Σ_s c_s; a source's weight is c_s = −log(Σ_i D_is / Σ_{s'}
Σ_i D_is'), D_is = ‖Φ(x_is) − f_i‖² the squared distance, in the kernel's
feature space, between the claim and the density (alternated with the
densities until the weights settle). The truth is the highest mode of f_i,
found by weighted mean-shift started from every claim.

Numbers: model-space centres (log on log-scale quantities) normalised per
quantity (mean 0, standard deviation 1; 1 where the claims agree); Gaussian
kernel of bandwidth ``bandwidth`` in those units (default: Silverman's
1.06 n^(−1/5) per quantity). Source weights are c_s. No interval.

Examples
--------
>>> from credscore.methods import get
>>> res = get("kdem")().fit([{"quantity": "t", "source": s, "value": v, "scale": "linear"}
...                          for s, v in [("a", 10.0), ("b", 10.1), ("c", 9.9), ("d", 30.0)]])
>>> round(float(res.estimates["estimate"][0]), 1)
10.0
"""

from __future__ import annotations

import attrs
import numpy as np

from .._segments import segment_count, segment_sum
from ._base import Method, Prepared, argmax_per_group, check_int, check_positive, register, scale_per_quantity, within_pairs
from .crh import loss_weights

__all__ = ["KDEm"]


@register("kdem")
@attrs.frozen(kw_only=True)
class KDEm(Method):
    """KDEm (Wan et al. 2016).

    Parameters
    ----------
    bandwidth : float or None
        Kernel bandwidth in normalised units (> 0); None: 1.06 n^(−1/5).
    max_iter : int
        Weight iterations.
    tol : float
        Stop when no source weight moves more than ``tol``.
    shift_iter : int
        Mean-shift steps for the modes.
    """

    bandwidth: float | None = None
    max_iter: int = 20
    tol: float = 1e-6
    shift_iter: int = 50

    def __attrs_post_init__(self) -> None:
        if self.bandwidth is not None:
            check_positive("bandwidth", self.bandwidth)
        check_int("max_iter", self.max_iter)
        check_positive("tol", self.tol)
        check_int("shift_iter", self.shift_iter)

    def _fit(self, p: Prepared):
        n_q = segment_count(p.q, p.nq)
        centre = segment_sum(p.x, p.q, p.nq) / n_q
        sd = scale_per_quantity(p)
        z = (p.x - centre[p.q]) / sd[p.q]
        h = np.full(p.nq, float(self.bandwidth)) if self.bandwidth is not None else 1.06 * n_q ** -0.2
        i, j = within_pairs(p.q, p.nq)
        hp = h[p.q[i]]
        kij = np.exp(-0.5 * ((z[i] - z[j]) / hp) ** 2)  # kernel up to 1/(√(2π) h)
        k0 = 1.0
        c = np.ones(p.ns)
        it = 0
        for it in range(1, int(self.max_iter) + 1):
            cw = c[p.s]
            wn = cw / segment_sum(cw, p.q, p.nq)[p.q]  # normalised weight of each claim in its density
            cross = segment_sum(wn[j] * kij, i, len(z))  # <Φ(x_i), f>
            self_f = segment_sum(wn[i] * wn[j] * kij, p.q[i], p.nq)  # ‖f‖²
            dist = np.maximum(k0 - 2.0 * cross + self_f[p.q], 0.0)
            c_new = loss_weights(dist, p.s, p.ns)
            done = np.max(np.abs(c_new - c)) <= self.tol
            c = c_new
            if done:
                break
        cw = c[p.s]
        wn = cw / segment_sum(cw, p.q, p.nq)[p.q]
        y = z.copy()  # mean-shift from every claim
        for _ in range(int(self.shift_iter)):
            k = wn[j] * np.exp(-0.5 * ((y[i] - z[j]) / hp) ** 2)
            y_new = segment_sum(k * z[j], i, len(z)) / np.maximum(segment_sum(k, i, len(z)), 1e-300)
            moved = np.max(np.abs(y_new - y))
            y = y_new
            if moved < 1e-9:
                break
        dens = segment_sum(wn[j] * np.exp(-0.5 * ((y[i] - z[j]) / hp) ** 2), i, len(z))
        best = argmax_per_group(np.round(dens, 12), p.q, p.nq, np.round(y, 9))
        return centre + sd * y[best], None, None, c, it
