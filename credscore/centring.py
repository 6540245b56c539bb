"""The uncertainty of the bias centre: why intervals do not shrink to nothing with many claims.

Each source's bias is learned per attribute, and biases are identified only up
to one shift shared by every quantity of the attribute: add δ to every truth
and to every source's bias and the claims are explained exactly as well.
:func:`credscore.learning.learn_model` fixes the shift by assuming that the
typical source is unbiased (the claim-weighted median of the biases is 0).
That assumption is about the population of sources; the sources at hand are a
sample of it, and the median of their true biases is not 0 but a draw with
variance

    v_a ≈ (π / 2) · s_b² · Σ_p n_p² / (Σ_p n_p)²

(the sampling variance of a weighted median of normal draws: s_b² the spread of
the biases of attribute a's sources, n_p their claims; Σ n_p² / (Σ n_p)² is
1 / S_eff, the inverse effective number of sources). Every estimate of the
attribute that rests on bias-corrected claims is off by that same draw, so its
uncertainty does not shrink with the number of claims, only with the number of
independent sources: it is the "consensus slack" between what the sources
collectively support and the truth.

The estimates table reports intervals of the posterior whose continuous part
(the bias-corrected evidence) is convolved with N(0, v_a); atoms (sources that
state the truth exactly, which carries no bias) are left where they are.
``result.posterior`` stays the posterior given the centre.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from .posterior import GridPosterior

__all__ = ["centre_variance", "centre_variance_of", "centre_variance_of_attributes", "convolved_quantiles", "with_centre_uncertainty"]

_BISECTIONS = 60
_MIN_RATIO = 1e-3  # below this v / sd², the widening changes no printed digit: skip the quantity


def centre_variance(pair_attribute: np.ndarray, bias: np.ndarray, n: np.ndarray, n_attributes: int) -> np.ndarray:
    """Per attribute: the sampling variance of the bias centre (model units²).

    Parameters
    ----------
    pair_attribute : ndarray of int
        Attribute of each source × attribute pair.
    bias, n : ndarray
        Learned bias and counted claims of each pair.
    n_attributes : int

    Returns
    -------
    ndarray
        (π / 2) s_b² Σ n_p² / (Σ n_p)², with s_b² the claim-weighted variance of the biases.

    Examples
    --------
    Ten equally active sources with biases of spread 2: the centre is uncertain by about
    2 × 1.25 / √10 ≈ 0.79.

    >>> import numpy as np
    >>> b = np.linspace(-1, 1, 10)
    >>> b *= 2 / b.std()  # spread 2
    >>> v = centre_variance(np.zeros(10, int), b, np.full(10, 50.0), 1)
    >>> round(float(np.sqrt(v[0])), 3)
    0.793
    """
    a = np.asarray(pair_attribute, dtype=np.int64)
    w = np.where(np.isfinite(bias) & (n > 0), n, 0.0)
    b = np.where(w > 0, bias, 0.0)
    tot = np.bincount(a, weights=w, minlength=n_attributes)
    tot2 = np.bincount(a, weights=w * w, minlength=n_attributes)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(a, weights=w * b, minlength=n_attributes) / tot
        var_b = np.bincount(a, weights=w * (b - mean[a]) ** 2, minlength=n_attributes) / tot
        v = 0.5 * np.pi * var_b * tot2 / (tot * tot)
    return np.where(np.isfinite(v) & (tot > 0), v, 0.0)


def convolved_quantiles(post: GridPosterior, idx: np.ndarray, var: np.ndarray, probs, sd: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Quantiles (model space) of posteriors whose continuous part is convolved with N(0, var).

    Parameters
    ----------
    post : GridPosterior
    idx : ndarray of int
        Quantities.
    var : ndarray
        Per quantity of ``idx``: the variance of the shift.
    probs : sequence of float
    sd : ndarray
        Per quantity of ``idx``: the posterior sd (model space); quantities with
        ``var < 1e-3 sd²`` are not computed.

    Returns
    -------
    which : ndarray of int
        The quantities (a subset of ``idx``) whose quantiles were computed.
    q : ndarray, shape (len(which), len(probs))
        Their quantiles; a quantile held by an atom is the atom's position exactly.

    Notes
    -----
    The continuous part is taken as piecewise linear in x between the grid's nodes
    (error O(h²) in the node spacing h, whatever ``s``), convolved with the normal in
    closed form (:func:`_convolved_cdf`); the atoms add their steps unconvolved. The
    CDF is inverted by bisection (60 halvings of a bracket of the nodes ± 10 s).
    """
    idx = np.asarray(idx, dtype=np.int64)
    var, sd = np.asarray(var, dtype=float), np.asarray(sd, dtype=float)
    keep = (var > 0) & ((var >= _MIN_RATIO * sd * sd) | ~np.isfinite(sd))
    which = idx[keep]
    probs = np.asarray(probs, dtype=float)
    out = np.full((len(which), len(probs)), np.nan)
    if not len(which):
        return which, out
    s_of = np.zeros(post.n)
    s_of[which] = np.sqrt(var[keep])
    pos = np.empty(post.n, dtype=np.int64)
    pos[which] = np.arange(len(which))
    for b in post.blocks(which):
        x = b.x
        dens = post.density_x(b)  # p(x) at the nodes, continuous part normalised to 1
        # piecewise-linear p between nodes: p = p0 + beta (x - x0) on each cell, its mass normalised
        dx = np.diff(x, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            beta = np.where(dx > 0, np.diff(dens, axis=1) / dx, 0.0)
        mass = 0.5 * (dens[:, 1:] + dens[:, :-1]) * dx
        norm = post.continuous_weight(b.part) / np.maximum(mass.sum(axis=1), 1e-300)
        cell = (dens[:, :-1], beta, x[:, :-1], x[:, 1:], norm[:, None])
        ax, ap = _padded_atoms(post.atoms, b.part)
        s = s_of[b.part]
        lo = np.minimum(x[:, 0], np.min(np.where(ap > 0, ax, np.inf), axis=1, initial=np.inf)) - 10 * s
        hi = np.maximum(x[:, -1], np.max(np.where(ap > 0, ax, -np.inf), axis=1, initial=-np.inf)) + 10 * s
        for j, p in enumerate(probs):
            a, z = lo.copy(), hi.copy()
            for _ in range(_BISECTIONS):  # fixed count: vectorised over the block's quantities
                mid = 0.5 * (a + z)
                f = _convolved_cdf(mid, s, cell)
                if ax.shape[1]:
                    f = f + np.sum(ap * (ax <= mid[:, None]), axis=1)
                below = f < p
                a, z = np.where(below, mid, a), np.where(below, z, mid)
            y = z
            if ax.shape[1]:  # the quantile sits on an atom when the bracket closed on one
                near = (ap > 0) & (np.abs(ax - y[:, None]) <= 1e-9 * np.maximum(1.0, np.abs(ax)) + (z - a)[:, None])
                y = np.where(near.any(axis=1), ax[np.arange(len(y)), np.argmax(near, axis=1)], y)
            out[pos[b.part], j] = y
    return which, out


def _convolved_cdf(y: np.ndarray, s: np.ndarray, cell) -> np.ndarray:
    """P(X + S ≤ y), X with the piecewise-linear density of ``cell`` and S ~ N(0, s²), per row.

    On a cell [x0, x1] with density p0 + β (x − x0), the part of the cell more than 8 s left of
    y counts whole (Φ = 1 to 6e-16), the part more than 8 s right of it not at all, and on the
    rest, with z = (y − x) / s, ∫ p Φ((y − x)/s) dx = s [(p0 + β (y − x0)) I0 − β s I1] between its
    ends, where I0 = z Φ + φ and I1 = ((z² − 1) Φ + z φ) / 2 are antiderivatives of Φ and z Φ.
    """
    p0, beta, x0, x1, norm = cell
    yy, ss = y[:, None], s[:, None]
    xa = np.clip(yy - 8.0 * ss, x0, x1)  # left of it: whole
    left = (xa - x0) * (p0 + 0.5 * beta * (xa - x0))
    z0, z1 = np.clip((yy - x0) / ss, -8.0, 8.0), np.clip((yy - x1) / ss, -8.0, 8.0)

    def i0(z):
        return z * special.ndtr(z) + np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)

    def i1(z):
        return 0.5 * ((z * z - 1.0) * special.ndtr(z) + z * np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi))

    near = ss * ((p0 + beta * (yy - x0)) * (i0(z0) - i0(z1)) - beta * ss * (i1(z0) - i1(z1)))
    return norm[:, 0] * np.sum(left + near, axis=1)


def _padded_atoms(atoms, part: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The atoms of quantities ``part`` as (len(part), most atoms) arrays, padded with mass 0."""
    if atoms is None or not len(atoms.x):
        return np.zeros((len(part), 0)), np.zeros((len(part), 0))
    counts = atoms.start[part + 1] - atoms.start[part]
    width = int(counts.max(initial=0))
    k = np.arange(width)
    has = k[None, :] < counts[:, None]
    i = np.where(has, atoms.start[part][:, None] + k, 0)
    return np.where(has, atoms.x[i], 0.0), np.where(has, atoms.prob[i], 0.0)


def with_centre_uncertainty(estimates, cs, post: GridPosterior, var_q: np.ndarray, level: float):
    """The estimates :class:`~credscore.results.Table` with intervals that include the bias centre's
    uncertainty ``var_q`` (per quantity, model units²) and its sd in a column ``centre_sd``.

    ``low`` and ``high`` become the quantiles of the convolved posterior (:func:`convolved_quantiles`);
    on linear quantities ``sd`` becomes √(sd² + (1 − atom mass) v); the median, mean and mode are
    unchanged (the shift has mean 0). ``cs`` gives the scales; units are those of ``estimates``.
    """
    from .results import Table

    var_q = np.asarray(var_q, dtype=float)
    logq = np.asarray(cs.log_scale, dtype=bool)
    data = dict(estimates.data)
    data["centre_sd"] = np.sqrt(var_q)
    nq = len(var_q)
    if not np.any(var_q > 0):
        return Table(data)
    sd = np.asarray(data["sd"], dtype=float)
    med = np.asarray(data["median"], dtype=float)
    # the posterior sd in model space: natural sd / median on log quantities (a first-order guess,
    # used only to skip quantities the widening cannot change)
    with np.errstate(invalid="ignore", divide="ignore"):
        sd_model = np.where(logq, sd / np.abs(med), sd)
    which, q = convolved_quantiles(post, np.arange(nq), var_q, [(1 - level) / 2, (1 + level) / 2], sd_model)
    if len(which):
        lg = logq[which]
        if post.atoms is not None:
            back = post.atoms.natural(q, which, logq[which])
        else:
            back = np.where(lg[:, None], np.exp(np.where(lg[:, None], q, 0.0)), q)
        low, high = np.asarray(data["low"], dtype=float).copy(), np.asarray(data["high"], dtype=float).copy()
        low[which], high[which] = back[:, 0], back[:, 1]
        data["low"], data["high"] = low, high
    cont = np.clip(post.continuous_weight(), 0.0, 1.0)
    with np.errstate(invalid="ignore", over="ignore"):
        data["sd"] = np.where(logq, sd, np.sqrt(sd * sd + cont * var_q))
    return Table(data)


def centre_variance_of_attributes(fit, n_attributes: int) -> np.ndarray:
    """Per attribute: :func:`centre_variance` from a learned :class:`~credscore.learning.SourceFit`
    (0 where biases are not learned)."""
    if not np.any(fit.bias):
        return np.zeros(n_attributes)
    n = fit.n if fit.n_noisy is None else fit.n_noisy
    return centre_variance(fit.pair_attribute, fit.bias, n, n_attributes)


def centre_variance_of(fit, cs) -> np.ndarray:
    """Per quantity of ``cs``: :func:`centre_variance_of_attributes` of its attribute."""
    return centre_variance_of_attributes(fit, len(cs.attributes))[cs.quantity_attribute]
