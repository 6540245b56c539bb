"""Exact grid posteriors of every quantity, and their summaries.

The posterior of a quantity's model-space value x is computed on a grid in
log space, for many quantities at once, in bounded-memory 2-D blocks
(quantities × grid points). The grid is uniform in a stretched coordinate u,

.. math:: x(u) = c + a \\sinh(u),

fine (spacing ≈ a·du) near the centre c and geometric in the tails, and spans
the whole support of the quantity's prior. A mixture posterior has a sharp
peak where its accurate claims agree and broad shoulders where one of them
may be wild; the sinh grid resolves both with few points. The density in u,
q(u) = p(x(u)) x'(u), is smooth and vanishes at both ends, so the trapezoid
rule in u is spectrally accurate (Trefethen & Weideman 2014, "The
exponentially convergent trapezoidal rule", *SIAM Review* 56(3); the sinh map
is that of Takahasi & Mori 1974 quadrature): means and variances are exact to
rounding. The CDF is integrated cell by cell over the quintic Hermite
interpolant of q, with derivatives from the FFT, and inverted by Newton's
method, so quantiles are accurate to about 1e-6 posterior sd.

Per quantity:

1. **Locate** (O(claims)): a few reweighted steps of a Gaussian approximation
   of the mixture give the centre c and a scale s; the stretch is a = 2.5 s.
2. **Evaluate** on ``grid_size`` points and check: the mode is resolved (its
   local sd spans at least two grid steps) and no claim centre in a region the
   grid does not resolve could carry a bump holding more than 1e-10 of the
   posterior mass (no separate narrow mode was missed).
3. **Retry** what failed, re-centred on the best point found and with a
   smaller stretch, then with ``robust_grid_size`` points; what still fails
   is flagged unresolved (with a :class:`GridResolutionWarning`).
"""

from __future__ import annotations

import math
import warnings

import attrs
import numpy as np

from . import kernel as _kernel
from ._hermite import quintic as _quintic
from ._hermite import quintic_slope as _quintic_slope
from .exceptions import GridResolutionWarning
from ._segments import segment_sum
from .likelihood import SHAPE_INTERVAL, SHAPE_POINT, ClaimModel, log_terms

__all__ = ["GridPosterior", "compute_posteriors", "grid_quantiles", "DEFAULT_GRID_SIZE", "DEFAULT_ROBUST_GRID_SIZE"]

DEFAULT_GRID_SIZE = 128
DEFAULT_ROBUST_GRID_SIZE = 512
_MASS_TAIL = 23.0  # a bump holding less than exp(-23) ≈ 1e-10 of the mass is negligible
_CHUNK = 1 << 17  # claim × grid cells per block (about 1 MB: stays in cache)
_ATTEMPTS = 4
_STRETCH = 2.5  # stretch a in units of the located sd: near-uniform spacing over ±2.5 sd


# ------------------------------------------------------------------ mapping
# A grid is uniform in u, with u(x) = sum_k w_k asinh((x - c_k) / a_k): fine near each
# centre c_k (spacing about a_k du / w_k) and geometric far from all of them.


def _active(w):
    """Centres with a non-zero weight in some row (the second is unused for one-centre maps)."""
    return [k for k in range(w.shape[1]) if k == 0 or np.any(w[:, k] != 0)]


def _u_of_x(x, c, a, w):
    """u(x) for maps with centres c, stretches a, weights w (each (n, K); x (n, m))."""
    out = None
    for k in _active(w):
        term = np.arcsinh((x - c[:, k : k + 1]) / a[:, k : k + 1])
        term *= w[:, k : k + 1]
        out = term if out is None else out + term
    return out


def _dudx(x, c, a, w):
    out = None
    for k in _active(w):
        term = w[:, k : k + 1] / np.hypot(a[:, k : k + 1], x - c[:, k : k + 1])
        out = term if out is None else out + term
    return out


def _x_of_u(u, c, a, w):
    """Inverse of :func:`_u_of_x` (closed form for one centre, safeguarded Newton otherwise)."""
    single = w[:, 1] == 0
    x = c[:, :1] + a[:, :1] * np.sinh(u / w[:, :1])
    multi = np.flatnonzero(~single)
    if len(multi):
        cm, am, wm, um = c[multi], a[multi], w[multi], u[multi]
        # u(x) is a weighted average (weights summing to 1) of increasing terms, so the root lies
        # between the one-centre inverses: an exact bracket
        guesses = [cm[:, k : k + 1] + am[:, k : k + 1] * np.sinh(um) for k in range(c.shape[1])]
        lo, hi = np.minimum.reduce(guesses), np.maximum.reduce(guesses)
        xm = np.sum([wm[:, k : k + 1] * g for k, g in enumerate(guesses)], axis=0)
        scale = am.min(axis=1, keepdims=True)
        rows = np.arange(len(multi))  # the rows still iterating
        for _ in range(60):  # Newton safeguarded by bisection, row by row until each has converged
            c_, a_, w_, u_, x_ = cm[rows], am[rows], wm[rows], um[rows], xm[rows]
            f = _u_of_x(x_, c_, a_, w_) - u_
            lo_ = np.where(f < 0, x_, lo[rows])
            hi_ = np.where(f >= 0, x_, hi[rows])
            d = f / _dudx(x_, c_, a_, w_)
            # a Newton step below the tolerance is taken as it is: at the root, rounding can put it on
            # the bracket's end, and bisecting there would throw the converged value away
            small = np.abs(d) <= 1e-13 * np.maximum(np.abs(x_), scale[rows])
            xn = x_ - d
            xn = np.where(~small & ((xn <= lo_) | (xn >= hi_) | ~np.isfinite(xn)), 0.5 * (lo_ + hi_), xn)
            xm[rows], lo[rows], hi[rows] = xn, lo_, hi_
            rows = rows[~np.all(small | (f == 0), axis=1)]
            if not len(rows):
                break
        x[multi] = xm
    return x


def _log_jac(x, c, a, w):
    """log dx/du at x."""
    return -np.log(_dudx(x, c, a, w))


def _trap_weights(g: int, step: np.ndarray) -> np.ndarray:
    """Quadrature weights on a uniform grid: the trapezoid rule with Gregory end
    corrections (3/8, 7/6, 23/24; exact for cubics), which keep its spectral
    accuracy where the density vanishes at the ends and make it O(h⁴) where
    the prior's support cuts the density (Press et al., *Numerical Recipes*,
    3rd ed., eq. 4.1.14)."""
    w = np.ones(g)
    if g >= 6:
        w[:3] = w[-3:][::-1] = (3 / 8, 7 / 6, 23 / 24)
    else:
        w[0] = w[-1] = 0.5
    return w[None, :] * step[:, None]


@attrs.frozen
class Block:
    """Quantities ``part`` sharing a grid size: u nodes, x nodes, density q(u), quadrature weights."""

    part: np.ndarray
    u: np.ndarray
    x: np.ndarray
    q: np.ndarray
    w: np.ndarray


@attrs.frozen(eq=False)
class GridPosterior:
    """Posterior densities of many quantities on stretched grids (model space).

    Quantity i has ``size[i]`` nodes u_k = ``start[i] + step[i] * k``, mapped to
    x_k by the inverse of u(x) = Σ_j ``weight[i, j]`` asinh((x − ``centre[i, j]``) /
    ``stretch[i, j]``) (one or two centres), and density values q(u_k) = p(x_k) dx/du in
    ``density[offset[i] : offset[i] + size[i]]``, normalised so that their
    trapezoid integral in u is 1. ``log_evidence[i]`` is the log marginal
    likelihood (up to the constant of a flat prior's width); ``resolved[i]``
    whether the grid passed its checks; ``attempts[i]`` how many grids it took.
    """

    start: np.ndarray
    step: np.ndarray
    size: np.ndarray
    offset: np.ndarray
    centre: np.ndarray
    stretch: np.ndarray
    weight: np.ndarray
    density: np.ndarray
    log_evidence: np.ndarray
    resolved: np.ndarray
    attempts: np.ndarray
    atoms: Atoms | None = None

    @property
    def n(self) -> int:
        """Number of quantities."""
        return int(self.start.shape[0])

    def with_atoms(self, atoms: "Atoms | None") -> "GridPosterior":
        """A copy whose distributions also put the masses ``atoms.prob`` at stated values."""
        return attrs.evolve(self, atoms=atoms)

    def continuous_weight(self, idx: np.ndarray | None = None) -> np.ndarray:
        """Mass of the continuous (grid) part of each quantity's posterior (1 without atoms)."""
        idx = np.arange(self.n) if idx is None else np.asarray(idx)
        if self.atoms is None:
            return np.ones(len(idx))
        return 1.0 - self.atoms.total[idx]

    def atoms_of(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Positions (model space) and probabilities of the atoms of quantity ``i``."""
        if self.atoms is None:
            return np.zeros(0), np.zeros(0)
        a0, a1 = self.atoms.start[i], self.atoms.start[i + 1]
        return self.atoms.x[a0:a1].copy(), self.atoms.prob[a0:a1].copy()

    def grid(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Grid nodes x and posterior density p(x) of quantity ``i`` (model space)."""
        u = (self.start[i] + self.step[i] * np.arange(self.size[i]))[None, :]
        q = self.density[self.offset[i] : self.offset[i] + self.size[i]]
        m = self._map(np.array([i]))
        x = _x_of_u(u, *m)
        cw = self.continuous_weight(np.array([i]))[0]
        return x[0], cw * q * np.exp(-_log_jac(x, *m)[0])

    def _map(self, part: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.centre[part], self.stretch[part], self.weight[part]

    def blocks(self, idx: np.ndarray | None = None, nodes: bool = True, cache: dict | None = None):
        """Yield :class:`Block` views of quantities ``idx`` grouped by grid size (``nodes=False``:
        without the x nodes, which the caller maps itself; ``cache``: a dict that keeps the x nodes
        of each block for the next caller asking for the same quantities)."""
        idx = np.arange(self.n) if idx is None else np.asarray(idx)
        for g in np.unique(self.size[idx]):
            g = int(g)
            sel = idx[self.size[idx] == g]
            k = np.arange(g)
            per = max(1, _CHUNK // g)
            for c0 in range(0, len(sel), per):
                part = sel[c0 : c0 + per]
                u = self.start[part][:, None] + self.step[part][:, None] * k
                x = None
                if nodes:
                    key = (g, part.tobytes()) if cache is not None else None
                    x = cache.get(key) if cache is not None else None
                    if x is None:
                        x = _x_of_u(u, *self._map(part))
                        if cache is not None:
                            cache[key] = x
                q = self.density[self.offset[part][:, None] + k]
                yield Block(part, u, x, q, _trap_weights(g, self.step[part]))

    def _collect(self, idx, fn, width=None, nodes=True, cache=None):
        idx = np.arange(self.n) if idx is None else np.asarray(idx)
        out = np.empty((len(idx),) if width is None else (len(idx), width))
        inv = np.empty(self.n, dtype=np.int64)
        inv[idx] = np.arange(len(idx))
        for b in self.blocks(idx, nodes=nodes, cache=cache):
            out[inv[b.part]] = fn(b)
        return out

    # ------------------------------------------------------------ summaries
    def moments(self, idx: np.ndarray | None = None, exp: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and sd of x (or of exp(x) with ``exp=True``)."""
        return self._moments(idx, exp)

    def _moments(self, idx, exp, cache=None):

        def fn(b: Block) -> np.ndarray:
            if exp:
                shift = np.max(b.x, axis=1, keepdims=True)
                v = np.exp(b.x - shift)
                m1 = np.sum(b.w * b.q * v, axis=1)
                m2 = np.sum(b.w * b.q * v * v, axis=1)
                scale = np.exp(shift[:, 0])
                return np.stack([m1 * scale, np.sqrt(np.maximum(m2 - m1 * m1, 0.0)) * scale], axis=1)
            m = np.sum(b.w * b.q * b.x, axis=1)
            var = np.sum(b.w * b.q * (b.x - m[:, None]) ** 2, axis=1)
            return np.stack([m, np.sqrt(np.maximum(var, 0.0))], axis=1)

        out = self._collect(idx, fn, 2, cache=cache)
        mean, sd = out[:, 0], out[:, 1]
        if self.atoms is not None:  # mix the continuous moments with the atoms'
            idx = np.arange(self.n) if idx is None else np.asarray(idx)
            cw = self.continuous_weight(idx)
            ax = np.exp(self.atoms.x) if exp else self.atoms.x
            m1 = segment_sum(self.atoms.prob * ax, self.atoms.owner, self.n)[idx]
            m2 = segment_sum(self.atoms.prob * ax * ax, self.atoms.owner, self.n)[idx]
            new_mean = cw * mean + m1
            second = cw * (sd * sd + mean * mean) + m2
            sd = np.sqrt(np.maximum(second - new_mean * new_mean, 0.0))
            mean = new_mean
        return mean, sd

    def mode(self, idx: np.ndarray | None = None, exp: bool = False) -> np.ndarray:
        """Posterior mode of x (or the mode of the density of exp(x) with ``exp=True``).

        The grid maximum is refined by Newton's method on the trigonometric
        interpolant of the density (exact for smooth densities), or by a
        parabola through the log densities where the density is cut by the
        prior's support.
        """
        return self._mode(idx, exp)

    def _mode(self, idx, exp, cache=None):
        def fn(b: Block) -> np.ndarray:
            m = self._map(b.part)
            with np.errstate(divide="ignore"):
                lp = np.log(b.q) - _log_jac(b.x, *m) - (b.x if exp else 0.0)
            j = np.argmax(lp, axis=1)
            r = np.arange(len(b.part))
            g = lp.shape[1]
            jm, jp = np.clip(j - 1, 0, g - 1), np.clip(j + 1, 0, g - 1)
            den = lp[r, jm] - 2 * lp[r, j] + lp[r, jp]
            with np.errstate(divide="ignore", invalid="ignore"):
                shift = np.where((jm < j) & (jp > j) & (den < 0), 0.5 * (lp[r, jm] - lp[r, jp]) / den, 0.0)
            t = j + np.clip(np.nan_to_num(shift), -0.5, 0.5)
            smooth = np.maximum(b.q[:, 0], b.q[:, -1]) < 1e-10 * np.max(b.q, axis=1)
            smooth &= m[2][:, 1] == 0  # Newton's derivatives below are those of a one-centre map
            if smooth.any():
                t[smooth] = _newton_mode(b.q[smooth], self.start[b.part][smooth], self.step[b.part][smooth],
                                         m[1][smooth, 0], j[smooth], exp)
            u = self.start[b.part] + t * self.step[b.part]
            return _x_of_u(u[:, None], *m)[:, 0]

        out = self._collect(idx, fn, cache=cache)
        if self.atoms is not None and len(self.atoms.x):
            # an atom has infinite density: the mode is the most probable stated value where
            # the atoms hold at least half of the mass
            idx = np.arange(self.n) if idx is None else np.asarray(idx)
            heavy, where = self.atoms.heaviest(self.n)
            use = (self.atoms.total[idx] >= 0.5) & (where[idx] >= 0)
            out[use] = self.atoms.x[where[idx][use]]
        return out

    def quantiles(self, probs, idx: np.ndarray | None = None) -> np.ndarray:
        """Posterior quantiles of x, shape (len(idx), len(probs))."""
        probs = np.atleast_1d(np.asarray(probs, dtype=float))

        atoms = self.atoms

        def fn(b: Block) -> np.ndarray:
            if atoms is None or not np.any(atoms.total[b.part] > 0):
                return grid_quantiles(b.q, self.start[b.part], self.step[b.part], *self._map(b.part), probs)[0]
            return _mixed_quantiles(b, self.start[b.part], self.step[b.part], self._map(b.part), atoms, probs)

        # neither quantile path reads the blocks' x nodes (a Newton inversion per node on two-centre maps)
        return self._collect(idx, fn, len(probs), nodes=False)

    def summaries(self, probs, exp: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Mean, sd, mode and quantiles ``probs`` of every quantity, in one pass per quantity.

        ``exp[i]`` asks for the moments and mode of exp(x) (as ``moments(exp=True)`` and
        ``mode(exp=True)``); the quantiles are of x. Quantities with a one-centre map and no atom
        mass go through the compiled pass (:mod:`credscore.kernel`), the others through
        :meth:`moments`, :meth:`mode` and :meth:`quantiles`.
        """
        probs = np.atleast_1d(np.asarray(probs, dtype=float))
        exp = np.asarray(exp, dtype=bool)
        n = self.n
        mean, sd, mode = np.empty(n), np.empty(n), np.empty(n)
        qs = np.empty((n, len(probs)))
        fast = np.zeros(n, dtype=bool)
        if _kernel.enabled() and n:
            fast = (self.weight[:, 1] == 0) & (self.weight[:, 0] == 1) & (self.size >= 6)
            if self.atoms is not None:
                fast &= ~(self.atoms.total > 0)
            for b in self.blocks(np.flatnonzero(fast), nodes=False):
                p = b.part
                mean[p], sd[p], mode[p], qs[p] = _kernel.summaries(
                    b.q, self.start[p], self.step[p], self.centre[p, 0], self.stretch[p, 0], exp[p], probs)
        for e in (False, True):
            cache = {}  # the x nodes of two-centre maps (a Newton inversion per node) for moments and mode alike
            rest = np.flatnonzero(~fast & (exp == e))
            if len(rest):
                mean[rest], sd[rest] = self._moments(rest, e, cache)
                qs[rest] = self.quantiles(probs, rest)
            rest = np.flatnonzero((~fast | np.isnan(mode)) & (exp == e))
            if len(rest):
                mode[rest] = self._mode(rest, e, cache)
        return mean, sd, mode, qs

    def density_x(self, block: Block) -> np.ndarray:
        """The densities p(x) = q(u) du/dx of a :class:`Block` at its nodes x (continuous part,
        normalised to 1; see :meth:`continuous_weight`)."""
        return block.q * _dudx(block.x, *self._map(block.part))

    def shortest_interval(self, level: float, idx: np.ndarray | None = None, n_candidates: int = 401) -> np.ndarray:
        """Shortest interval of x holding ``level`` mass (the HPD interval of a unimodal posterior)."""
        idx = np.arange(self.n) if idx is None else np.asarray(idx)
        alphas = np.linspace(0.0, 1.0 - level, n_candidates)
        lo = self.quantiles(alphas, idx)
        hi = self.quantiles(alphas + level, idx)
        j = np.argmin(hi - lo, axis=1)
        r = np.arange(len(idx))
        return np.stack([lo[r, j], hi[r, j]], axis=1)


@attrs.frozen(eq=False)
class Atoms:
    """Point masses of posteriors at stated values (the *exact* component of the claim model).

    Atoms are sorted by quantity, then position. ``start`` (length n+1) gives
    each quantity's slice, ``owner`` the quantity of each atom, ``x`` the
    position (model space), ``prob`` the posterior probability that the
    truth is that stated value, ``total`` (per quantity) their sum.
    """

    start: np.ndarray
    owner: np.ndarray
    x: np.ndarray
    prob: np.ndarray
    total: np.ndarray
    value: np.ndarray | None = None  # the stated value in natural units (exactly as stated)
    claim_atom: np.ndarray | None = None  # per model claim: the atom it states (-1: none)
    claim_log_exact: np.ndarray | None = None  # per model claim: log π_e in the unit of its grid term
    cont: np.ndarray | None = None  # per atom: the continuous part's mass on the atom's interval

    def loo(self, rows: np.ndarray, owner_q: np.ndarray, term_at, weight: np.ndarray | None = None) -> "Atoms":
        """The atoms of the posteriors without claim ``rows[i]`` (one posterior per i).

        ``owner_q[i]`` is the claim's quantity; ``term_at(i, x)`` gives the
        unweighted grid term (log g) of claims ``rows[i]`` at points ``x``;
        ``weight`` the claims' likelihood powers. Masses are relative to
        the full posterior's normaliser (the continuous part keeps its weight),
        so the caller normalises together with the continuous part.
        """
        counts = self.start[owner_q + 1] - self.start[owner_q]
        n_at = int(counts.sum())
        li = np.repeat(np.arange(len(rows)), counts)
        slot = np.arange(n_at) - np.repeat(np.cumsum(counts) - counts, counts)
        ai = np.repeat(self.start[owner_q], counts) + slot
        term = term_at(li, self.x[ai])
        member = self.claim_atom[rows[li]] == ai
        w = 1.0 if weight is None else weight[rows[li]]
        with_exact = np.logaddexp(self.claim_log_exact[rows[li]], term)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            e_term = np.exp(-w * term)
            e_with = np.exp(-w * with_exact)
            # a stating claim's atom loses its exact term: M e^{-with} minus what the continuous part
            # already holds on the atom's interval, (e^{-term} - e^{-with}) times that
            prob = np.where(member, self.prob[ai] * e_with - self.cont[ai] * (e_term - e_with), self.prob[ai] * e_term)
        prob = np.maximum(np.nan_to_num(prob), 0.0)
        start = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        total = np.bincount(li, weights=prob, minlength=len(rows))
        return Atoms(start=start, owner=li, x=self.x[ai], prob=prob, total=total)

    def natural(self, x: np.ndarray, idx: np.ndarray, log: np.ndarray) -> np.ndarray:
        """Model-space values ``x`` (rows: quantities ``idx``) in natural units; a value that is
        an atom's position is returned as the atom's stated value, exactly."""
        x = np.asarray(x, dtype=float)
        lg = log[:, None] if x.ndim == 2 else log
        out = np.where(lg, np.exp(np.where(lg, x, 0.0)), x)
        if self.value is None or not len(self.x):
            return out
        counts = self.start[idx + 1] - self.start[idx]
        for k in range(int(counts.max(initial=0))):  # atoms per quantity: a handful
            has = counts > k
            a = np.where(has, self.start[idx] + k, 0)
            xa = np.where(has, self.x[a], np.nan)
            va = self.value[a]
            if x.ndim == 2:
                hit = x == xa[:, None]
                out = np.where(hit, va[:, None], out)
            else:
                out = np.where(x == xa, va, out)
        return out

    def heaviest(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Per quantity: the largest atom probability and its index (-1 when none)."""
        best = np.zeros(n)
        where = np.full(n, -1, dtype=np.int64)
        if len(self.x):
            order = np.lexsort((-self.prob, self.owner))
            first = np.ones(len(order), dtype=bool)
            first[1:] = self.owner[order][1:] != self.owner[order][:-1]
            k = order[first]
            best[self.owner[k]] = self.prob[k]
            where[self.owner[k]] = k
        return best, where


def _cdf_at(F, f, df, start, step, u):
    """The quintic-Hermite CDF (nodes F, f, f') of each row at points u (n, m) of that row."""
    n, g = F.shape
    r = np.arange(n)[:, None]
    pos = (u - start[:, None]) / step[:, None]
    j = np.clip(np.floor(pos).astype(np.int64), 0, g - 2)
    t = np.clip(pos - j, 0.0, 1.0)
    h = step[:, None]
    val = _quintic(F[r, j], F[r, j + 1], f[r, j] * h, f[r, j + 1] * h, df[r, j] * h * h, df[r, j + 1] * h * h, t)
    val = np.where(pos <= 0, 0.0, np.where(pos >= g - 1, 1.0, val))
    return np.clip(val, 0.0, 1.0)


def _mixed_quantiles(b: Block, start, step, maps, atoms: Atoms, probs):
    """Quantiles of (continuous grid part) + (atoms) mixtures for the quantities of a block.

    The CDF is cw F_c(x) + Σ_{x_k <= x} p_k: a level that falls in an atom's jump is
    answered by the atom's position; any other level by inverting F_c at the level
    left to the continuous part between the atoms.
    """
    part = b.part
    n = len(part)
    F, f, df = _cdf_nodes(b.q, step)
    cw = 1.0 - atoms.total[part]
    counts = atoms.start[part + 1] - atoms.start[part]
    na = int(counts.sum())
    P = len(probs)
    out = np.empty((n, P))
    if na == 0:
        u = _invert(F, f, df, start, step, probs)
        return _x_of_u(u, *maps)
    rows = np.repeat(np.arange(n), counts)
    first_local = np.cumsum(counts) - counts
    slot = np.arange(na) - np.repeat(first_local, counts)
    ai = np.repeat(atoms.start[part], counts) + slot
    ax, ap = atoms.x[ai], atoms.prob[ai]
    # continuous CDF at each atom (rows with atoms only)
    kmax = int(counts.max())
    xa = np.full((n, kmax), np.nan)
    xa[rows, slot] = ax
    ua = _u_of_x(np.where(np.isnan(xa), 0.0, xa), *maps)
    Fc = _cdf_at(F, f, df, start, step, ua)[rows, slot]
    csum = np.concatenate(([0.0], np.cumsum(ap)))
    cum_before = csum[:-1] - np.repeat(csum[first_local], counts)  # atom mass left of each atom
    lo = cw[rows] * Fc + cum_before
    hi = lo + ap
    # per (quantity, level): an atom whose jump holds the level
    hit_x = np.full((n, P), np.nan)
    below = np.zeros((n, P))  # atom mass strictly below the answer when it is continuous
    for p_i, p in enumerate(probs):  # a handful of levels
        hit = (lo <= p) & (p <= hi)
        hk = np.flatnonzero(hit)
        if len(hk):
            first = np.full(n, -1)
            first[rows[hk][::-1]] = hk[::-1]
            ok = first >= 0
            hit_x[ok, p_i] = ax[first[ok]]
        below[:, p_i] = np.bincount(rows, weights=np.where(hi < p, ap, 0.0), minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        target = np.clip((np.asarray(probs)[None, :] - below) / cw[:, None], 0.0, 1.0)
    target = np.where(cw[:, None] > 1e-14, target, 0.5)
    u = _invert(F, f, df, start, step, target)
    out = _x_of_u(u, *maps)
    return np.where(np.isnan(hit_x), out, hit_x)


# ------------------------------------------------------- CDF and its inverse
def grid_quantiles(q, start, step, centre, stretch, weight, probs):
    """Quantiles of densities given on stretched grids, and their CDFs at the nodes.

    Parameters
    ----------
    q : ndarray, shape (n, g)
        Densities in u (any normalisation), one row per grid.
    start, step : ndarray, shape (n,)
        The uniform u-grids.
    centre, stretch, weight : ndarray, shape (n, K)
        The maps u -> x (see :class:`GridPosterior`).
    probs : array_like
        Probability levels.

    Returns
    -------
    x : ndarray, shape (n, len(probs))
        The quantiles, model space.
    F : ndarray, shape (n, g)
        The CDF at the nodes.
    """
    probs = np.atleast_1d(np.asarray(probs, dtype=float))
    F, f, df = _cdf_nodes(q, step)
    u = _invert(F, f, df, start, step, probs)
    return _x_of_u(u, centre, stretch, weight), F



def _norm(q: np.ndarray, step: np.ndarray) -> np.ndarray:
    return np.sum(_trap_weights(q.shape[1], step) * q, axis=1)


def _derivatives(p: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and second derivatives of the density along axis 1.

    Rows whose density vanishes at both ends (below 1e-10 of the maximum) are
    differentiated spectrally with the FFT, exact to rounding for smooth
    densities sampled this finely (Trefethen, *Spectral Methods in MATLAB*,
    2000, ch. 3). Other rows (a density cut by the prior's support) use
    fourth-order central differences.
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
        hs = h[smooth]
        spec = np.fft.rfft(p[smooth], axis=1)
        k = 2 * np.pi * np.fft.rfftfreq(g)  # per grid step
        ik = 1j * k
        if g % 2 == 0:
            ik[-1] = 0.0  # the Nyquist mode has no odd derivative
        d1[smooth] = np.fft.irfft(ik * spec, n=g, axis=1) / hs
        d2[smooth] = np.fft.irfft(-(k * k) * spec, n=g, axis=1) / (hs * hs)
    return d1, d2


def _newton_mode(q, start, step, a, j, exp):
    """Maximise log q(u) − log x'(u) [− x(u)] by Newton's method on the trigonometric
    interpolant of q (one-centre maps x = c + a sinh u, so log x'(u) = log a + log cosh u)."""
    g = q.shape[1]
    spec = np.fft.rfft(q, axis=1)
    om = 2 * np.pi * np.arange(spec.shape[1]) / g
    weight = np.full(spec.shape[1], 2.0 / g)
    weight[0] = 1.0 / g
    c0 = spec * weight
    if g % 2 == 0:
        c0[:, -1] *= 0.5
    c1, c2 = c0 * (1j * om), c0 * (-(om**2))
    if g % 2 == 0:
        c1[:, -1] = 0.0
    t = j.astype(float)
    for _ in range(8):
        e = np.exp(1j * om * t[:, None])
        q0 = np.real(np.sum(c0 * e, axis=1))
        q1 = np.real(np.sum(c1 * e, axis=1)) / step
        q2 = np.real(np.sum(c2 * e, axis=1)) / (step * step)
        u = start + step * t
        d1 = q1 / q0 - np.tanh(u)
        d2 = (q2 * q0 - q1 * q1) / (q0 * q0) - 1.0 / np.cosh(u) ** 2
        if exp:
            d1 = d1 - a * np.cosh(u)
            d2 = d2 - a * np.sinh(u)
        with np.errstate(divide="ignore", invalid="ignore"):
            delta = np.where((d2 < 0) & (q0 > 0), -d1 / d2 / step, 0.0)
        delta = np.clip(np.nan_to_num(delta), -0.5, 0.5)
        t = np.clip(t + delta, j - 1.0, j + 1.0)
        if np.max(np.abs(delta), initial=0.0) < 1e-10:
            break
    return t


def _cdf_nodes(q: np.ndarray, step: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CDF at the nodes, and the normalised density and its derivative.

    Each cell is integrated exactly over the quintic Hermite interpolant of
    the density (values, first and second derivatives).
    """
    h = step[:, None]
    q = q / _norm(q, step)[:, None]
    d1, d2 = _derivatives(q, h)
    cell = h * (0.5 * (q[:, 1:] + q[:, :-1]) + h * (d1[:, :-1] - d1[:, 1:]) / 10.0
                + h * h * (d2[:, :-1] + d2[:, 1:]) / 120.0)
    cell = np.maximum(cell, 0.0)
    F = np.concatenate([np.zeros((q.shape[0], 1)), np.cumsum(cell, axis=1)], axis=1)
    total = F[:, -1:]
    return F / total, q / total, d1 / total


def _invert(F, f, df, start, step, probs):
    """Solve F(u) = p per row; F is quintic Hermite between nodes (F' = f, F'' = f')."""
    n, g = F.shape
    r = np.arange(n)[:, None]
    p3 = probs[:, None, :] if probs.ndim == 2 else probs[None, None, :]  # per-row levels (n, P) or shared (P,)
    j = np.clip((F[:, :, None] < p3).sum(axis=1) - 1, 0, g - 2)
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
def _locate(model: ClaimModel, iterations: int = 4, start: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Centre and scale per quantity from a reweighted Gaussian approximation (O(claims)).

    Quantities with no finite statement (bounds only) get the middle of their
    prior's support and a twentieth of its width. ``start`` continues the
    reweighting from given centres instead of the weighted median.
    """
    from ._segments import segment_quantile, segment_sum

    nq, q = model.n_quantities, model.quantity
    finite = np.isfinite(model.lo) & np.isfinite(model.hi)
    width = np.where(finite, model.hi - model.lo, 0.0)
    w = np.where(finite, 1.0 / (model.sigma**2 + width**2 / 12.0), 0.0)
    if model.weight is not None:
        w = w * model.weight
    has = segment_sum(w, q, nq) > 0
    y = np.where(finite, model.centre, 0.0)
    if start is None:
        m = segment_quantile(y, q, nq, weights=np.where(finite, np.sqrt(w), 0.0))
        m = np.where(has, m, 0.5 * (model.prior_lo + model.prior_hi))
    else:  # continue from a previous centre (keeps an iterative caller on one mode)
        m = np.asarray(start, dtype=float).copy()
    lb = model.log_1mrho + model.log_wild
    r = np.ones_like(w)
    half_log_w = 0.5 * np.log(np.where(finite, w, 1.0))  # the loop's constant terms, computed once
    wild = np.isfinite(lb)
    for _ in range(iterations):
        la = model.log_rho - 0.5 * (y - m[q]) ** 2 * w + half_log_w - 0.9189385332046727
        r = np.where(wild, 1.0 / (1.0 + np.exp(np.clip(lb - la, -700, 700))), 1.0)
        sw = segment_sum(r * w, q, nq)
        ok = has & (sw > 1e-300)
        m = np.where(ok, segment_sum(r * w * y, q, nq) / np.where(ok, sw, 1.0), m)
    sw = segment_sum(r * w, q, nq)
    s = 1.0 / np.sqrt(np.where(sw > 1e-300, sw, np.nan))
    width = model.prior_hi - model.prior_lo
    # when every claim looks wild (sum r w -> 0) the Gaussian approximation says nothing: cap it
    s = np.where(has & np.isfinite(s) & (s > 0), np.minimum(s, width / 4.0), width / 20.0)
    return np.clip(m, model.prior_lo, model.prior_hi), s


def _rows_of(model: ClaimModel, qidx: np.ndarray) -> np.ndarray:
    counts = model.counts[qidx]
    offs = np.repeat(model.starts[qidx] - np.concatenate(([0], np.cumsum(counts)[:-1])), counts)
    return np.arange(counts.sum()) + offs


def _log_prior(model: ClaimModel, qidx: np.ndarray, x: np.ndarray) -> np.ndarray:
    mean, sd = model.prior_mean[qidx][:, None], model.prior_sd[qidx][:, None]
    return np.where(np.isnan(mean), 0.0, -0.5 * ((x - np.nan_to_num(mean)) / np.where(np.isnan(sd), 1.0, sd)) ** 2)


def _log_posterior_at(model: ClaimModel, qidx: np.ndarray, x: np.ndarray):
    """Unnormalised log p(x) for quantities ``qidx`` at x (len(qidx), k), and P(accurate | x) per claim."""
    counts = model.counts[qidx]
    rows = _rows_of(model, qidx)
    owner = np.repeat(np.arange(len(qidx)), counts)
    term, acc = log_terms(model, rows, x[owner])
    seg = np.concatenate(([0], np.cumsum(counts)[:-1]))
    return _log_prior(model, qidx, x) + np.add.reduceat(term, seg, axis=0), acc, rows, owner


def _span(model: ClaimModel, qidx: np.ndarray, c, a, w, g: int):
    """u-grid (start, step) whose image spans the prior support of each quantity."""
    u0 = _u_of_x(model.prior_lo[qidx][:, None], c, a, w)[:, 0]
    u1 = _u_of_x(model.prior_hi[qidx][:, None], c, a, w)[:, 0]
    return u0, (u1 - u0) / (g - 1)


def _chunks(counts: np.ndarray, g: int):
    """Consecutive slices of quantities holding at most ~_CHUNK claim-grid cells each."""
    per = max(1, _CHUNK // g)
    cum = np.cumsum(counts)
    start = 0
    while start < len(counts):
        base = cum[start - 1] if start else 0
        stop = int(np.searchsorted(cum, base + per, side="right"))
        stop = max(stop, start + 1)
        yield start, stop
        start = stop


def _worst_anchor(model, qidx, c, a, w, du, log_evidence) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The unresolved claim centre carrying the largest bump, per quantity.

    A claim with error scale σ at a point of log density ℓ makes a bump of
    about exp(ℓ) σ √(2π) mass; it matters when that exceeds exp(-_MASS_TAIL)
    of the posterior's total (the grid's evidence) and the grid spacing there
    exceeds σ / 2. Returns (ok, anchor x, anchor σ) with NaN where ok.
    """
    n = len(qidx)
    ok = np.ones(n, dtype=bool)
    ax, asig = np.full(n, np.nan), np.full(n, np.nan)
    rows = _rows_of(model, qidx)
    owner = np.repeat(np.arange(n), model.counts[qidx])
    x = model.centre[rows]
    spacing = du[owner] / _dudx(x[:, None], c[owner], a[owner], w[owner])[:, 0]
    pointlike = (model.shape[rows] == SHAPE_POINT) | (model.shape[rows] == SHAPE_INTERVAL)
    inside = (x > model.prior_lo[qidx][owner]) & (x < model.prior_hi[qidx][owner])
    coarse = pointlike & inside & (spacing > 0.5 * model.sigma[rows])
    if not coarse.any():
        return ok, ax, asig
    a_owner, a_x, a_sig = owner[coarse], x[coarse], model.sigma[rows][coarse]
    lp, _, _, _ = _log_posterior_at(model, qidx[a_owner], a_x[:, None])
    excess = lp[:, 0] + np.log(a_sig) + 0.5 * math.log(2 * math.pi) - (log_evidence[a_owner] - _MASS_TAIL)
    bad = excess > 0
    if bad.any():
        order = np.lexsort((-excess[bad], a_owner[bad]))
        o, xs, ss = a_owner[bad][order], a_x[bad][order], a_sig[bad][order]
        first = np.ones(len(o), dtype=bool)
        first[1:] = o[1:] != o[:-1]
        ok[o[first]] = False
        ax[o[first]], asig[o[first]] = xs[first], ss[first]
    return ok, ax, asig


def compute_posteriors(
    model: ClaimModel,
    grid_size: int = DEFAULT_GRID_SIZE,
    robust_grid_size: int = DEFAULT_ROBUST_GRID_SIZE,
    residuals: bool = False,
):
    """Grid posterior of every quantity and P(accurate | data) of every evidence claim.

    Parameters
    ----------
    model : ClaimModel
    grid_size : int
        Grid points of the first attempts.
    robust_grid_size : int
        Grid points of the later attempts (two-centre maps, densities cut by
        the prior's support, modes the first grids did not resolve).

    Returns
    -------
    posterior : GridPosterior
    accurate : ndarray
        Posterior probability that each claim of ``model`` (in model order) is accurate.
    r1, r2 : ndarray
        With ``residuals=True``: E[a_c (y_c − x)] and E[a_c (y_c − x)²] per claim, with a_c
        the claim's accurate indicator and y_c its centre (the sufficient statistics of
        the error scales and biases; NaN for bounds).
    """
    nq = model.n_quantities
    robust_grid_size = max(grid_size, robust_grid_size)
    start, step, logev = (np.empty(nq) for _ in range(3))
    size = np.zeros(nq, dtype=np.int64)
    attempts = np.zeros(nq, dtype=np.int64)
    resolved = np.zeros(nq, dtype=bool)
    accurate = np.empty(len(model.claim))
    r1 = np.full(len(model.claim), np.nan) if residuals else None
    r2 = np.full(len(model.claim), np.nan) if residuals else None
    parts: list[tuple] = []

    c1, s = _locate(model)
    c = np.stack([c1, c1], axis=1)
    a = np.stack([_STRETCH * s, _STRETCH * s], axis=1)
    w = np.tile([1.0, 0.0], (nq, 1))
    gq = np.full(nq, grid_size, dtype=np.int64)
    tiny = 1e-12 * (model.prior_hi - model.prior_lo)
    todo = np.arange(nq)
    if _kernel.enabled() and nq:  # the compiled pass; quantities it does not cover below
        sel = np.flatnonzero(_kernel.eligible_quantities(model))
        if len(sel):
            sz, attk, resk, mk, u0k, duk, lek, qk, acck, r1k, r2k = _kernel.grid_pass(
                model, sel, c1, s, _STRETCH, grid_size, robust_grid_size, residuals, _CHUNK, _ATTEMPTS)
            ok = sz > 0
            gi = sel[ok]
            start[gi], step[gi], size[gi], logev[gi] = u0k[ok], duk[ok], sz[ok], lek[ok]
            attempts[gi], resolved[gi] = attk[ok], resk[ok]
            c[gi], a[gi], w[gi] = mk[ok][:, 0:2], mk[ok][:, 2:4], mk[ok][:, 4:6]
            dens, again, dens_again = qk
            inside = ok.copy()
            if again is not None:
                inside[again] = False
                parts.append((sel[again], dens_again, None, int(sz[again[0]])))
            for g in np.unique(sz[inside]):
                pick = inside & (sz == g)
                parts.append((sel[pick], dens, np.flatnonzero(pick), int(g)))  # rows of dens, no copy
            rows = _rows_of(model, gi)
            accurate[rows] = acck[rows]
            if residuals:
                r1[rows], r2[rows] = r1k[rows], r2k[rows]
            done = np.zeros(nq, dtype=bool)
            done[gi] = True
            todo = np.flatnonzero(~done)
    for attempt in range(_ATTEMPTS):
        if not len(todo):
            break
        last = attempt == _ATTEMPTS - 1
        if last:
            gq[todo] = robust_grid_size
        failed = []
        for g in np.unique(gq[todo]):
            g = int(g)
            group = todo[gq[todo] == g]
            for i0, i1 in _chunks(model.counts[group], g):
                qidx = group[i0:i1]
                cq, aq, wq = c[qidx], a[qidx], w[qidx]
                u0, du = _span(model, qidx, cq, aq, wq, g)
                u = u0[:, None] + du[:, None] * np.arange(g)
                x = _x_of_u(u, cq, aq, wq)
                lp, acc, rows, owner = _log_posterior_at(model, qidx, x)
                lq = lp + _log_jac(x, cq, aq, wq)
                j = np.argmax(lq, axis=1)
                r = np.arange(len(qidx))
                jm, jp = np.clip(j - 1, 0, g - 1), np.clip(j + 1, 0, g - 1)
                with np.errstate(invalid="ignore"):
                    curv = -(lq[r, jm] - 2 * lq[r, j] + lq[r, jp])
                res_ok = ~(curv > 0.25) & np.isfinite(lq[r, j])  # local sd >= 2 steps (flat tops pass)
                q, le = _normalise(lq, du)
                anc_ok, ax, asig = _worst_anchor(model, qidx, cq, aq, wq, du, le)
                # a density cut by the prior's support is integrated to O(h^4) only: use the finer grid
                cut = (np.maximum(q[:, 0], q[:, -1]) > 1e-10 * np.max(q, axis=1)) & (g < robust_grid_size)
                good = (res_ok & anc_ok & ~cut) | last
                wts = _trap_weights(g, du)
                keep = good[owner]
                wq_acc = (wts * q)[owner[keep]] * acc[keep]
                accurate[rows[keep]] = np.sum(wq_acc, axis=1)
                if residuals:
                    d = model.centre[rows[keep]][:, None] - x[owner[keep]]
                    wq_acc *= d
                    r1[rows[keep]] = np.sum(wq_acc, axis=1)
                    wq_acc *= d
                    r2[rows[keep]] = np.sum(wq_acc, axis=1)
                gi = qidx[good]
                start[gi], step[gi], size[gi], logev[gi] = u0[good], du[good], g, le[good]
                attempts[gi] = attempt + 1
                resolved[gi] = (res_ok & anc_ok)[good]
                parts.append((gi, q[good], None, g))
                bad = np.flatnonzero(~good)
                if len(bad):
                    qb = qidx[bad]
                    jb = j[bad]
                    xb = x[bad, jb]
                    # 1) a missed bump: add a second centre there, on the finer grid
                    two = ~anc_ok[bad] & (w[qb, 1] == 0)
                    c[qb[two], 1] = ax[bad][two]
                    a[qb[two], 1] = _STRETCH * asig[bad][two]
                    w[qb[two]] = 0.5
                    gq[qb[~anc_ok[bad]]] = robust_grid_size
                    # 2) an unresolved mode: re-centre the main centre on it and tighten the stretch
                    sharp = ~res_ok[bad]
                    local = du[bad] / _dudx(xb[:, None], cq[bad], aq[bad], wq[bad])[:, 0] / np.sqrt(np.maximum(curv[bad], 1e-300))
                    k = qb[sharp]
                    c[k, 0] = xb[sharp]
                    a[k, 0] = np.maximum(np.minimum(a[k, 0] * 0.25, _STRETCH * local[sharp]), tiny[k])
                    one = w[k, 1] == 0
                    c[k[one], 1], a[k[one], 1] = c[k[one], 0], a[k[one], 0]
                    # 3) a cut density: same map, finer grid
                    gq[qb[cut[bad]]] = robust_grid_size
                    failed.append(qb)
        if not failed:
            break
        todo = np.concatenate(failed)
    offset = np.concatenate(([0], np.cumsum(size)[:-1])).astype(np.int64)
    density = np.empty(int(size.sum()))
    for gi, q, rows, g in parts:  # rows g-point rows ``rows`` of q (None: all) to their quantities' slices
        if _kernel.enabled():
            _kernel.scatter_rows(density, offset[gi], q, np.arange(len(q)) if rows is None else rows, g)
        else:
            density[offset[gi][:, None] + np.arange(g)] = q[:, :g] if rows is None else q[rows, :g]
    if not resolved.all():
        # warn only where an answer is at stake: the unresolved quantities' missed mass (the largest
        # missed bump, or the trapezoid error of a mode narrower than two steps) above STAKE_MASS
        bad = np.flatnonzero(~resolved)
        stake, factor = _unresolved_stake(model, bad, c[bad], a[bad], w[bad], start[bad], step[bad], logev[bad],
                                          [density[offset[i] : offset[i] + size[i]] for i in bad])
        big = stake > STAKE_MASS
        if big.any():
            which = ", ".join(str(int(i)) for i in bad[big][:10]) + (", ..." if big.sum() > 10 else "")
            fac = float(np.max(factor[big]))
            n_big = int(big.sum())
            if np.isfinite(fac) and fac < 2.0**20:
                need = int(2 ** math.ceil(math.log2(max(robust_grid_size * fac, 4 * robust_grid_size))))
                advice = f"set `robust_grid_size={need}` to resolve it"
            else:  # a mode narrower than any grid: a near point mass (a claim with a tiny error scale)
                advice = "no grid resolves a mode this narrow; check the claims' error scales"
            warnings.warn(
                f"{n_big} {'quantity has a posterior' if n_big == 1 else 'quantities have posteriors'} "
                f"({'row' if n_big == 1 else 'rows'} {which} of the estimates) with a narrow mode that a grid of {robust_grid_size} points "
                f"misses, holding up to {float(np.max(stake[big])):.1g} of the probability: their intervals may "
                f"be off by that much; {advice}.",
                GridResolutionWarning,
                stacklevel=3,
            )
    post = GridPosterior(start, step, size, offset, c, a, w, density, logev, resolved, attempts)
    if residuals:
        return post, accurate, r1, r2
    return post, accurate


STAKE_MASS = 1e-3
"""Posterior mass an unresolved grid may miss before :class:`GridResolutionWarning` fires: a missed
mass m moves any quantile's level by at most m (a 5 % quantile reads as one between 4.9 % and 5.1 %)
and any claim's P(accurate) by at most about m. Below it the quantity is flagged in
``estimates["resolved"]`` only."""


def _unresolved_stake(model, qidx, c, a, w, start, step, logev, dens):
    """Per unresolved quantity: the probability mass its grid may miss, and the grid-size factor that
    would resolve it.

    A missed bump (:func:`_worst_anchor`) holds about p(x_b) σ √(2π) of the mass; a mode whose
    local sd σ is below two steps h loses about 2 exp(−2π² σ² / h²) of its mass to the trapezoid
    rule's aliasing error (Trefethen & Weideman 2014). The factor is the spacing over σ / 2 at the
    bump, or 2 h / σ at the mode.
    """
    n = len(qidx)
    stake, factor = np.zeros(n), np.ones(n)
    ok, ax, asig = _worst_anchor(model, qidx, c, a, w, step, logev)
    miss = np.flatnonzero(~ok)
    if len(miss):
        lp = _log_posterior_at(model, qidx[miss], ax[miss][:, None])[0][:, 0]
        stake[miss] = np.exp(np.minimum(lp + np.log(asig[miss]) + 0.5 * math.log(2 * math.pi) - logev[miss], 0.0))
        spacing = step[miss] / _dudx(ax[miss][:, None], c[miss], a[miss], w[miss])[:, 0]
        factor[miss] = spacing / (0.5 * asig[miss])
    for k, q in enumerate(dens):  # unresolved quantities: a handful
        with np.errstate(divide="ignore"):
            lq = np.log(q)
        j = int(np.argmax(lq))
        if 0 < j < len(q) - 1:
            curv = -(lq[j - 1] - 2 * lq[j] + lq[j + 1])
            if curv > 0.25:  # local sd below two steps
                stake[k] = max(stake[k], min(1.0, 2 * math.exp(-2 * math.pi**2 / curv)))
                factor[k] = max(factor[k], 2 * math.sqrt(curv))
    return stake, factor


def _normalise(lq: np.ndarray, step: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mx = np.max(lq, axis=1)
    q = np.exp(lq - mx[:, None])
    z = _norm(q, step)
    return q / z[:, None], mx + np.log(z)

