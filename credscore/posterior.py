"""Exact grid posteriors of every quantity, and their summaries.

The posterior of a quantity's model-space value x is computed on a uniform
grid, in log space, for many quantities at once in bounded-memory 2-D blocks
(quantities × grid points):

1. **Locate** (O(claims)): a few iteratively reweighted steps of a Gaussian
   approximation of the mixture give a centre m and scale s per quantity.
2. **Fast pass**: a grid of ``grid_size`` points on m ± 10 s. It is accepted
   when the log posterior at both ends is at least 30 below its maximum,
   the mode is resolved (its local curvature scale spans at least two grid
   steps), and no claim centre outside the window has a log posterior within
   30 of the maximum (no separate mode was missed).
3. **Robust pass** for the rest: a ``robust_grid_size`` grid over every
   claim's reach (±8 error scales) within the prior's support, zoomed onto
   the region holding the mass until the mode is resolved.

On a uniform grid that covers the mass the trapezoid rule is spectrally
accurate for smooth densities (Trefethen & Weideman 2014, "The exponentially
convergent trapezoidal rule", *SIAM Review* 56(3)), so means and variances are
exact to rounding; the CDF is integrated cell by cell with an end-point
corrected trapezoid rule (O(h⁴)) and inverted by cubic Hermite interpolation
with the density as slope, so quantiles are accurate to O(h⁴).
"""

from __future__ import annotations

import math
import warnings

import attrs
import numpy as np

from .exceptions import GridResolutionWarning
from .likelihood import SHAPE_INTERVAL, SHAPE_POINT, ClaimModel, log_terms

__all__ = ["GridPosterior", "compute_posteriors", "DEFAULT_GRID_SIZE"]

DEFAULT_GRID_SIZE = 64
DEFAULT_ROBUST_GRID_SIZE = 512
_WINDOW_SDS = 12.0
_TAIL = 30.0  # log-density drop that counts as "no mass"
_CHUNK = 1 << 21  # grid cells per block


@attrs.frozen(eq=False)
class GridPosterior:
    """Posterior densities of many quantities on uniform grids (model space).

    Quantity i has ``size[i]`` points ``start[i] + step[i] * k`` and density
    values ``density[offset[i] : offset[i] + size[i]]`` normalised so that
    their trapezoid integral is 1. ``log_evidence[i]`` is the log marginal
    likelihood (up to the constant of the flat prior's width), ``resolved[i]``
    whether the grid met its resolution checks, ``robust[i]`` whether the
    robust pass was needed.
    """

    start: np.ndarray
    step: np.ndarray
    size: np.ndarray
    offset: np.ndarray
    density: np.ndarray
    log_evidence: np.ndarray
    resolved: np.ndarray
    robust: np.ndarray

    @property
    def n(self) -> int:
        """Number of quantities."""
        return int(self.start.shape[0])

    def grid(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Grid points and density of quantity ``i``."""
        k = np.arange(self.size[i])
        d = self.density[self.offset[i] : self.offset[i] + self.size[i]]
        return self.start[i] + self.step[i] * k, d

    def blocks(self, idx: np.ndarray | None = None):
        """Yield ``(indices, x, p)`` 2-D blocks of quantities sharing a grid size."""
        idx = np.arange(self.n) if idx is None else np.asarray(idx)
        for g in np.unique(self.size[idx]):
            sel = idx[self.size[idx] == g]
            k = np.arange(g)
            for c0 in range(0, len(sel), max(1, _CHUNK // int(g))):
                part = sel[c0 : c0 + max(1, _CHUNK // int(g))]
                x = self.start[part][:, None] + self.step[part][:, None] * k
                p = self.density[self.offset[part][:, None] + k]
                yield part, x, p

    # ------------------------------------------------------------ summaries
    def moments(self, idx: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and sd in model space."""
        idx = np.arange(self.n) if idx is None else np.asarray(idx)
        mean, sd = np.empty(len(idx)), np.empty(len(idx))
        pos = _positions(idx)
        for part, x, p in self.blocks(idx):
            w = _trap_weights(p.shape[1], self.step[part])
            m = np.sum(w * p * x, axis=1)
            v = np.sum(w * p * (x - m[:, None]) ** 2, axis=1)
            mean[pos(part)], sd[pos(part)] = m, np.sqrt(np.maximum(v, 0.0))
        return mean, sd

    def mode(self, idx: np.ndarray | None = None) -> np.ndarray:
        """Posterior mode (grid maximum refined by a parabola through log densities)."""
        idx = np.arange(self.n) if idx is None else np.asarray(idx)
        out = np.empty(len(idx))
        pos = _positions(idx)
        for part, x, p in self.blocks(idx):
            j = np.argmax(p, axis=1)
            r = np.arange(len(part))
            jm, jp = np.clip(j - 1, 0, p.shape[1] - 1), np.clip(j + 1, 0, p.shape[1] - 1)
            with np.errstate(divide="ignore", invalid="ignore"):
                l0, lm, lp = np.log(p[r, j]), np.log(p[r, jm]), np.log(p[r, jp])
                den = lm - 2 * l0 + lp
                shift = np.where((jm < j) & (jp > j) & (den < 0), 0.5 * (lm - lp) / den, 0.0)
            out[pos(part)] = x[r, j] + np.clip(np.nan_to_num(shift), -0.5, 0.5) * self.step[part]
        return out

    def cdf_nodes(self, p: np.ndarray, step: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """CDF at the nodes and the density's first two derivatives (normalised).

        Each cell is integrated exactly over the quintic Hermite interpolant of
        the density (values and fourth-order finite-difference derivatives).
        """
        h = step[:, None]
        p = p / _norm(p, step)[:, None]
        d1, d2 = _derivatives(p, h)
        cell = h * (0.5 * (p[:, 1:] + p[:, :-1]) + h * (d1[:, :-1] - d1[:, 1:]) / 10.0
                    + h * h * (d2[:, :-1] + d2[:, 1:]) / 120.0)
        cell = np.maximum(cell, 0.0)
        F = np.concatenate([np.zeros((p.shape[0], 1)), np.cumsum(cell, axis=1)], axis=1)
        total = F[:, -1:]
        return F / total, p / total, d1 / total

    def quantiles(self, probs, idx: np.ndarray | None = None) -> np.ndarray:
        """Posterior quantiles in model space, shape (len(idx), len(probs))."""
        probs = np.atleast_1d(np.asarray(probs, dtype=float))
        idx = np.arange(self.n) if idx is None else np.asarray(idx)
        out = np.empty((len(idx), len(probs)))
        pos = _positions(idx)
        for part, x, p in self.blocks(idx):
            F, f, df = self.cdf_nodes(p, self.step[part])
            out[pos(part)] = _invert(F, f, df, self.start[part], self.step[part], probs)
        return out

    def shortest_interval(self, level: float, idx: np.ndarray | None = None, n_candidates: int = 401) -> np.ndarray:
        """Shortest interval holding ``level`` mass (the HPD interval of a unimodal posterior)."""
        idx = np.arange(self.n) if idx is None else np.asarray(idx)
        alphas = np.linspace(0.0, 1.0 - level, n_candidates)
        lo = self.quantiles(alphas, idx)
        hi = self.quantiles(alphas + level, idx)
        j = np.argmin(hi - lo, axis=1)
        r = np.arange(len(idx))
        return np.stack([lo[r, j], hi[r, j]], axis=1)

    def cdf_at(self, values: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Posterior CDF of quantity ``idx[k]`` at ``values[k]`` (model space)."""
        idx = np.asarray(idx)
        values = np.asarray(values, dtype=float)
        out = np.empty(len(idx))
        order = np.argsort(idx, kind="stable")
        uniq, first = np.unique(idx[order], return_index=True)
        for part, x, p in self.blocks(uniq):
            F, f, df = self.cdf_nodes(p, self.step[part])
            rowpos = np.searchsorted(uniq, part)
            for_rows = np.isin(idx, part)
            k = np.flatnonzero(for_rows)
            r = np.searchsorted(part, idx[k]) if np.all(np.diff(part) > 0) else np.array([np.flatnonzero(part == i)[0] for i in idx[k]])
            del rowpos
            h = self.step[part][r]
            u = (values[k] - self.start[part][r]) / h
            j = np.clip(np.floor(u).astype(np.int64), 0, p.shape[1] - 2)
            t = np.clip(u - j, 0.0, 1.0)
            val = _quintic(F[r, j], F[r, j + 1], f[r, j] * h, f[r, j + 1] * h, df[r, j] * h * h, df[r, j + 1] * h * h, t)
            out[k] = np.where(u < 0, 0.0, np.where(u > p.shape[1] - 1, 1.0, np.clip(val, 0.0, 1.0)))
        del first
        return out


def _positions(idx: np.ndarray):
    """Map quantity indices back to their positions in ``idx``."""
    inv = np.empty(int(idx.max()) + 1 if len(idx) else 0, dtype=np.int64)
    inv[idx] = np.arange(len(idx))
    return lambda part: inv[part]


def _trap_weights(g: int, step: np.ndarray) -> np.ndarray:
    w = np.ones(g)
    w[0] = w[-1] = 0.5
    return w[None, :] * step[:, None]


def _norm(p: np.ndarray, step: np.ndarray) -> np.ndarray:
    return np.sum(_trap_weights(p.shape[1], step) * p, axis=1)


def _derivatives(p: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and second derivatives of the density along axis 1.

    Rows whose density vanishes at both ends (below 1e-10 of the maximum: the
    grid holds all the mass) are differentiated spectrally with the FFT, which
    is exact to rounding for smooth densities sampled this finely (Trefethen,
    *Spectral Methods in MATLAB*, 2000, ch. 3). Other rows (a density cut by
    the prior's support) use fourth-order central differences.
    """
    g = p.shape[1]
    d1 = np.gradient(p, axis=1, edge_order=2) / h
    d2 = np.zeros_like(p)
    d2[:, 1:-1] = (p[:, 2:] - 2 * p[:, 1:-1] + p[:, :-2]) / (h * h)
    d2[:, 0], d2[:, -1] = d2[:, 1], d2[:, -2]
    if g >= 5:
        d1[:, 2:-2] = (-p[:, 4:] + 8 * p[:, 3:-1] - 8 * p[:, 1:-3] + p[:, :-4]) / (12 * h)
        d2[:, 2:-2] = (-p[:, 4:] + 16 * p[:, 3:-1] - 30 * p[:, 2:-2] + 16 * p[:, 1:-3] - p[:, :-4]) / (12 * h * h)
    smooth = np.maximum(p[:, 0], p[:, -1]) < 1e-10 * np.max(p, axis=1)
    if smooth.any():
        ps = p[smooth]
        hs = h[smooth] if np.ndim(h) else h
        spec = np.fft.rfft(ps, axis=1)
        k = 2 * np.pi * np.fft.rfftfreq(g)  # per grid step
        ik = 1j * k
        if g % 2 == 0:
            ik[-1] = 0.0  # the Nyquist mode has no odd derivative
        d1[smooth] = np.fft.irfft(ik * spec, n=g, axis=1) / hs
        d2[smooth] = np.fft.irfft(-(k * k) * spec, n=g, axis=1) / (hs * hs)
    return d1, d2


def _quintic(y0, y1, d0, d1, s0, s1, t):
    """Quintic Hermite interpolant on [0, 1] (values, slopes and curvatures scaled to the cell)."""
    t2 = t * t
    t3 = t2 * t
    t4 = t3 * t
    t5 = t4 * t
    return ((1 - 10 * t3 + 15 * t4 - 6 * t5) * y0 + (t - 6 * t3 + 8 * t4 - 3 * t5) * d0
            + (0.5 * t2 - 1.5 * t3 + 1.5 * t4 - 0.5 * t5) * s0 + (0.5 * t3 - t4 + 0.5 * t5) * s1
            + (-4 * t3 + 7 * t4 - 3 * t5) * d1 + (10 * t3 - 15 * t4 + 6 * t5) * y1)


def _quintic_slope(y0, y1, d0, d1, s0, s1, t):
    t2 = t * t
    t3 = t2 * t
    t4 = t3 * t
    return ((-30 * t2 + 60 * t3 - 30 * t4) * y0 + (1 - 18 * t2 + 32 * t3 - 15 * t4) * d0
            + (t - 4.5 * t2 + 6 * t3 - 2.5 * t4) * s0 + (1.5 * t2 - 4 * t3 + 2.5 * t4) * s1
            + (-12 * t2 + 28 * t3 - 15 * t4) * d1 + (30 * t2 - 60 * t3 + 30 * t4) * y1)


def _invert(F, f, df, start, step, probs):
    """Solve F(x) = p per row; F is quintic Hermite between nodes (F' = f, F'' = f')."""
    n, g = F.shape
    r = np.arange(n)[:, None]
    j = np.empty((n, len(probs)), dtype=np.int64)
    for k, pr in enumerate(probs):  # one pass per probability level
        j[:, k] = np.clip(np.sum(F < pr, axis=1) - 1, 0, g - 2)
    h = step[:, None]
    c = (F[r, j], F[r, j + 1], f[r, j] * h, f[r, j + 1] * h, df[r, j] * h * h, df[r, j + 1] * h * h)
    target = np.broadcast_to(probs, j.shape)
    dF = c[1] - c[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(dF > 0, (target - c[0]) / dF, 0.5)
    t = np.clip(t, 0.0, 1.0)
    lo, hi = np.zeros_like(t), np.ones_like(t)
    for _ in range(40):  # Newton safeguarded by bisection
        val = _quintic(*c, t) - target
        lo = np.where(val < 0, t, lo)
        hi = np.where(val >= 0, t, hi)
        der = _quintic_slope(*c, t)
        with np.errstate(divide="ignore", invalid="ignore"):
            tn = t - val / der
        bad = ~np.isfinite(tn) | (tn <= lo) | (tn >= hi)
        tn = np.where(bad, 0.5 * (lo + hi), tn)
        if np.max(np.abs(tn - t), initial=0.0) < 1e-14:
            t = tn
            break
        t = tn
    return start[:, None] + step[:, None] * (j + t)


# ---------------------------------------------------------------- engine


def _locate(model: ClaimModel, iterations: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre and scale per quantity from a reweighted Gaussian approximation (O(claims))."""
    from ._segments import segment_quantile, segment_sum

    nq, q = model.n_quantities, model.quantity
    finite = np.isfinite(model.lo) & np.isfinite(model.hi)
    width = np.where(finite, model.hi - model.lo, 0.0)
    var = model.sigma ** 2 + width ** 2 / 12.0
    w = np.where(finite, 1.0 / var, 0.0)
    has = segment_sum(w, q, nq) > 0
    y = np.where(finite, model.centre, 0.0)
    m = segment_quantile(y, q, nq, weights=np.where(finite, np.sqrt(w), 0.0))
    m = np.where(has, m, 0.5 * (model.prior_lo + model.prior_hi))
    r = np.ones_like(w)
    for _ in range(iterations):
        z2 = (y - m[q]) ** 2 * w
        la = model.log_rho - 0.5 * z2 + 0.5 * np.log(np.where(finite, w, 1.0)) - 0.9189385332046727
        lb = model.log_1mrho + model.log_wild
        with np.errstate(over="ignore", invalid="ignore"):
            r = np.where(np.isfinite(lb), 1.0 / (1.0 + np.exp(np.clip(lb - la, -700, 700))), 1.0)
        sw = segment_sum(r * w, q, nq)
        ok = sw > 1e-300
        m = np.where(ok & has, segment_sum(r * w * y, q, nq) / np.where(ok, sw, 1.0), m)
    sw = segment_sum(r * w, q, nq)
    s = np.where(sw > 0, 1.0 / np.sqrt(np.maximum(sw, 1e-300)), np.nan)
    return m, s, has & np.isfinite(s) & (s > 0)


def _log_prior(model: ClaimModel, qidx: np.ndarray, x: np.ndarray) -> np.ndarray:
    mean, sd = model.prior_mean[qidx][:, None], model.prior_sd[qidx][:, None]
    lp = np.where(np.isnan(mean), 0.0, -0.5 * ((x - np.nan_to_num(mean)) / np.where(np.isnan(sd), 1.0, sd)) ** 2)
    outside = (x < model.prior_lo[qidx][:, None]) | (x > model.prior_hi[qidx][:, None])
    return np.where(outside, -np.inf, lp)


def _evaluate(model: ClaimModel, qidx: np.ndarray, start: np.ndarray, step: np.ndarray, g: int):
    """Log posterior (unnormalised) on uniform grids for quantities ``qidx``, and P(accurate) per claim.

    Returns (logpost (len(qidx), g), accurate (per claim row of these quantities, aligned with
    ``rows``), rows).
    """
    counts = model.counts[qidx]
    rows = _rows_of(model, qidx)
    seg = np.concatenate(([0], np.cumsum(counts)[:-1]))
    k = np.arange(g)
    x_q = start[:, None] + step[:, None] * k
    lp = _log_prior(model, qidx, x_q)
    owner = np.repeat(np.arange(len(qidx)), counts)
    term, acc = log_terms(model, rows, x_q[owner])
    lp = lp + np.add.reduceat(term, seg, axis=0)
    return lp, acc, rows, owner


def _rows_of(model: ClaimModel, qidx: np.ndarray) -> np.ndarray:
    counts = model.counts[qidx]
    first = model.starts[qidx]
    offs = np.repeat(first - np.concatenate(([0], np.cumsum(counts)[:-1])), counts)
    return np.arange(counts.sum()) + offs


def _chunks(counts: np.ndarray, g: int):
    """Split quantities into consecutive chunks of at most ~_CHUNK claim-grid cells."""
    per = max(1, _CHUNK // g)
    cum = np.cumsum(counts)
    bounds = np.searchsorted(cum, np.arange(per, cum[-1] + per, per), side="right") if len(cum) else []
    prev = 0
    for b in bounds:
        b = max(int(b), prev + 1)
        if prev >= len(counts):
            break
        yield prev, min(b, len(counts))
        prev = min(b, len(counts))
    if prev < len(counts):
        yield prev, len(counts)


def _normalise(lp: np.ndarray, step: np.ndarray):
    mx = np.max(lp, axis=1)
    p = np.exp(lp - mx[:, None])
    z = _norm(p, step)
    return p / z[:, None], mx + np.log(z)


def _checks(lp: np.ndarray, step: np.ndarray, at_prior_lo: np.ndarray, at_prior_hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(edges hold no mass, mode resolved) per row."""
    mx = np.max(lp, axis=1)
    edges = ((lp[:, 0] < mx - _TAIL) | at_prior_lo) & ((lp[:, -1] < mx - _TAIL) | at_prior_hi)
    j = np.argmax(lp, axis=1)
    r = np.arange(lp.shape[0])
    g = lp.shape[1]
    jm, jp = np.clip(j - 1, 0, g - 1), np.clip(j + 1, 0, g - 1)
    with np.errstate(invalid="ignore"):
        curv = -(lp[r, jm] - 2 * lp[r, j] + lp[r, jp])  # in units of step²
    # local sd in steps = 1/sqrt(curv); require >= 2 steps (curv <= 0.25); flat tops are fine
    resolved = ~(curv > 0.25) | ~np.isfinite(curv)
    resolved &= np.isfinite(mx)
    return edges, resolved


def _anchor_check(model: ClaimModel, qidx: np.ndarray, lo: np.ndarray, hi: np.ndarray, mx: np.ndarray) -> np.ndarray:
    """True where no claim centre outside [lo, hi] has log posterior above mx - _TAIL."""
    ok = np.ones(len(qidx), dtype=bool)
    rows = _rows_of(model, qidx)
    owner = np.repeat(np.arange(len(qidx)), model.counts[qidx])
    c = model.centre[rows]
    pointlike = (model.shape[rows] == SHAPE_POINT) | (model.shape[rows] == SHAPE_INTERVAL)
    outside = pointlike & ((c < lo[owner]) | (c > hi[owner])) & (c > model.prior_lo[qidx][owner]) & (c < model.prior_hi[qidx][owner])
    if not outside.any():
        return ok
    a_owner = owner[outside]
    a_x = c[outside]
    # every claim of the anchor's quantity, evaluated at the anchor
    counts = model.counts[qidx][a_owner]
    pair_rows = _rows_of(model, qidx[a_owner])
    pair_anchor = np.repeat(np.arange(len(a_x)), counts)
    term, _ = log_terms(model, pair_rows, a_x[pair_anchor][:, None])
    lp = np.bincount(pair_anchor, weights=term[:, 0], minlength=len(a_x))
    lp += _log_prior(model, qidx[a_owner], a_x[:, None])[:, 0]
    bad = lp > mx[a_owner] - _TAIL
    ok[np.unique(a_owner[bad])] = False
    return ok


def compute_posteriors(
    model: ClaimModel,
    grid_size: int = DEFAULT_GRID_SIZE,
    robust_grid_size: int = DEFAULT_ROBUST_GRID_SIZE,
) -> tuple[GridPosterior, np.ndarray]:
    """Grid posterior of every quantity and P(accurate | data) of every evidence claim.

    Parameters
    ----------
    model : ClaimModel
    grid_size : int
        Points of the fast-pass grid.
    robust_grid_size : int
        Points of the robust-pass grid.

    Returns
    -------
    posterior : GridPosterior
    accurate : ndarray
        Posterior probability that each claim of ``model`` (in model order) is accurate.
    """
    nq = model.n_quantities
    start = np.empty(nq)
    step = np.empty(nq)
    size = np.empty(nq, dtype=np.int64)
    logev = np.empty(nq)
    resolved = np.ones(nq, dtype=bool)
    robust = np.zeros(nq, dtype=bool)
    accurate = np.empty(len(model.claim))

    m, s, has = _locate(model)
    lo = np.maximum(m - _WINDOW_SDS * s, model.prior_lo)
    hi = np.minimum(m + _WINDOW_SDS * s, model.prior_hi)
    fast = np.flatnonzero(has & (hi > lo))
    accepted_parts: list = []
    retry_lo, retry_hi = lo.copy(), hi.copy()
    retry = _fast_pass(model, fast, lo, hi, grid_size, accurate, start, step, size, logev, accepted_parts, retry_lo, retry_hi)
    if len(retry):
        _fast_pass(model, retry, retry_lo, retry_hi, grid_size, accurate, start, step, size, logev, accepted_parts, None, None)
    done = np.zeros(nq, dtype=bool)
    for gi, _ in accepted_parts:
        done[gi] = True
    rest = np.flatnonzero(~done)
    robust[rest] = True
    robust_parts = _robust(model, rest, robust_grid_size, accurate, start, step, size, logev, resolved) if len(rest) else []

    # pack densities
    sizes = size
    offset = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
    density = np.empty(int(sizes.sum()))
    for gi, p in accepted_parts + robust_parts:
        density[offset[gi][:, None] + np.arange(p.shape[1])] = p
    if not resolved.all():
        warnings.warn(
            f"{int((~resolved).sum())} quantities have posteriors with narrow, separated modes that the grid of "
            f"{robust_grid_size} points does not resolve; increase `robust_grid_size`.",
            GridResolutionWarning,
            stacklevel=3,
        )
    return GridPosterior(start, step, size, offset, density, logev, resolved, robust), accurate


def _fast_pass(model, fast, lo, hi, grid_size, accurate, start, step, size, logev, accepted_parts, retry_lo, retry_hi):
    """Evaluate fast windows; accept those passing the checks; propose retry windows for the rest."""
    retry = []
    for c0, c1 in _chunks(model.counts[fast], grid_size):
        qidx = fast[c0:c1]
        st = lo[qidx]
        h = (hi[qidx] - lo[qidx]) / (grid_size - 1)
        lp, acc, rows, owner = _evaluate(model, qidx, st, h, grid_size)
        edges, res = _checks(lp, h, lo[qidx] <= model.prior_lo[qidx], hi[qidx] >= model.prior_hi[qidx])
        good = edges & res
        mx = np.max(lp, axis=1)
        if good.any():
            good[good] = _anchor_check(model, qidx[good], lo[qidx][good], hi[qidx][good], mx[good])
        p, le = _normalise(np.where(good[:, None], lp, 0.0), h)
        w = _trap_weights(grid_size, h)
        rg = good[owner]
        accurate[rows[rg]] = np.sum((w * p)[owner[rg]] * acc[rg], axis=1)
        gi = qidx[good]
        start[gi], step[gi], size[gi], logev[gi] = st[good], h[good], grid_size, le[good]
        accepted_parts.append((gi, p[good]))
        if retry_lo is not None:
            # a window that held the mass but was too coarse or too narrow: retry on the pass's own moments
            bad = ~good & ~(edges & res)
            if bad.any():
                pb, _ = _normalise(lp[bad], h[bad])
                x = st[bad][:, None] + h[bad][:, None] * np.arange(grid_size)
                wb = _trap_weights(grid_size, h[bad])
                mu = np.sum(wb * pb * x, axis=1)
                sd = np.sqrt(np.maximum(np.sum(wb * pb * (x - mu[:, None]) ** 2, axis=1), 0.0))
                wide = ~edges[bad]
                sd = np.where(wide, 3.0 * (hi[qidx][bad] - lo[qidx][bad]) / (2 * _WINDOW_SDS), sd)
                qb = qidx[bad]
                ok = np.isfinite(mu) & (sd > 0)
                retry_lo[qb] = np.maximum(mu - _WINDOW_SDS * sd, model.prior_lo[qb])
                retry_hi[qb] = np.minimum(mu + _WINDOW_SDS * sd, model.prior_hi[qb])
                retry.append(qb[ok & (retry_hi[qb] > retry_lo[qb])])
    return np.concatenate(retry) if retry else np.array([], dtype=np.int64)


def _robust(model, qidx_all, g, accurate, start, step, size, logev, resolved):
    """Robust pass: wide window over every claim's reach, zoomed onto the mass."""
    q = model.quantity
    fin_lo = np.where(np.isfinite(model.lo), model.lo, model.centre) - 8 * model.sigma
    fin_hi = np.where(np.isfinite(model.hi), model.hi, model.centre) + 8 * model.sigma
    from ._segments import segment_max, segment_min

    reach_lo = np.maximum(segment_min(fin_lo, q, model.n_quantities), model.prior_lo)
    reach_hi = np.minimum(segment_max(fin_hi, q, model.n_quantities), model.prior_hi)
    # bounds-only quantities reach the prior's edge on their open side
    lo_all = np.where(np.isfinite(model.prior_lo), model.prior_lo, reach_lo)
    hi_all = np.where(np.isfinite(model.prior_hi), model.prior_hi, reach_hi)
    parts = []
    for c0, c1 in _chunks(model.counts[qidx_all], g):
        qidx = qidx_all[c0:c1]
        lo, hi = lo_all[qidx].copy(), hi_all[qidx].copy()
        for it in range(12):
            h = (hi - lo) / (g - 1)
            lp, acc, rows, owner = _evaluate(model, qidx, lo, h, g)
            mx = np.max(lp, axis=1)
            _, res = _checks(lp, h, np.ones(len(qidx), bool), np.ones(len(qidx), bool))
            sig = lp >= (mx - _TAIL - 6.0)[:, None]
            k = np.arange(g)
            first = np.where(sig.any(axis=1), np.argmax(sig, axis=1), 0)
            last = np.where(sig.any(axis=1), g - 1 - np.argmax(sig[:, ::-1], axis=1), g - 1)
            new_lo = lo + h * np.maximum(first - 1, 0)
            new_hi = lo + h * np.minimum(last + 1, g - 1)
            shrink = (new_hi - new_lo) < 0.5 * (hi - lo)
            if it == 11 or not shrink.any():
                break
            lo, hi = np.where(shrink, new_lo, lo), np.where(shrink, new_hi, hi)
            del k
        p, le = _normalise(lp, h)
        w = _trap_weights(g, h)
        accurate[rows] = np.sum((w * p)[owner] * acc, axis=1)
        start[qidx], step[qidx], size[qidx], logev[qidx] = lo, h, g, le
        resolved[qidx] = res
        parts.append((qidx, p))
    return parts
