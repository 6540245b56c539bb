"""Drifting truths: the value of a quantity as of any date (exact grid forward-backward).

Numbers in the news change. With ``fuse(claims, ..., dynamics="drift")`` a
quantity's model-space value x_t (log θ or θ) follows a random walk in time,
and every claim is an observation of the state *at its date* through the same
mixture likelihood as the static model (:mod:`credscore.likelihood`)::

    x_{t_1} ~ prior,      x_{t_{i+1}} | x_{t_i} ~ K_{Δt}( · | x_{t_i}),      Δt = t_{i+1} − t_i (days)
    p(claims dated t_i | x_{t_i}) = Π_c [ρ_s P_acc(c | x_{t_i}) + (1 − ρ_s) P_wild(c)]

The posterior of x at every time point is computed *exactly on a grid* by the
forward-backward recursions of a hidden Markov model on a discretised state
space (Kitagawa 1987, "Non-Gaussian state-space modeling of nonstationary time
series", *JASA* 82(400); Rabiner 1989, "A tutorial on hidden Markov models",
*Proc. IEEE* 77(2)): the forward pass gives the **filtered** posterior (what
could be known on that date from the claims dated up to it), the backward pass
the **smoothed** one (what all the claims say about that date). Evolving truths
in truth discovery: Dong, Berti-Equille & Srivastava 2009, "Truth discovery
and copying detection in a dynamic world", *PVLDB* 2(1).

Grid
    One uniform grid of ``grid_size`` (G) cells per quantity over its prior
    support [``prior_lo``, ``prior_hi``] (:func:`credscore.likelihood.build_claim_model`),
    nodes at the cell midpoints, shared by all its dates. The posterior is a
    histogram: quantiles interpolate the CDF linearly inside a cell, so they
    (and means) are accurate to O(h²) with h = (prior_hi − prior_lo) / G (the
    midpoint rule). On a log quantity whose claims span a factor 10, the
    default support is a factor 10⁵ wide and G = 512 gives h ≈ 0.022 (2.2 %
    of the value); against the static model's adaptive grid the zero-drift
    medians agree to about 1 % of a posterior sd (``tests/test_timeline.py``).
    Raise ``grid_size`` for sharper posteriors.

Transitions
    *Gaussian* (default): the continuous-time random walk on the grid with
    reflecting ends whose variance over Δt days is τ²Δt — the heat kernel
    exp(−(τ²Δt / 2h²) L) of the Neumann path-graph Laplacian L, applied with a
    DCT-II in O(G log G) per step. It is symmetric, doubly stochastic (the
    flat prior is stationary), non-negative, the identity at τ = 0, and exactly
    consistent under subdivision (adding a date without claims changes nothing
    else). *Monotone* (cumulative counts such as "troops sent so far"): the
    increment over Δt is half-normal with scale τ√Δt (mass moves only up; what
    would leave the top of the grid stays in its top cell), applied by FFT.
    The half-normal walk is not exactly consistent under subdivision: adding
    requested dates between claim dates changes the monotone model slightly.

Drift scale τ (model-space units per √day: a relative change on log quantities)
    Fixed (``Drift(scale=...)``), or learned: the marginal likelihood p(claims | τ)
    (the product of the forward pass's normalisers) is computed on a log-spaced
    grid of ``n_scales`` values and combined with a half-Cauchy prior on τ
    (Gelman 2006, "Prior distributions for variance parameters in hierarchical
    models", *Bayesian Analysis* 1(3)) of scale ``prior_scale`` (default: the
    median error scale of the quantity's claims per √day — a change of about
    one claim error per day, weakly informative for news about a developing
    situation). The trajectories are **Bayesian model averages** over the τ grid, weighted by the posterior of τ (smoothed: given all the claims;
    filtered: given the claims up to that date). ``shared=True`` learns one
    scale from all the quantities (for comparable quantities; the filtered
    estimates then weight τ by all the data). The reported ``drift_scale`` is
    the posterior geometric mean of τ.

Undated claims
    An undated claim observes the state at its quantity's **earliest** time
    point (undated reports are usually background or older ones; give them a
    date to place them elsewhere). A quantity with no dated claim and no
    requested date has one time point (``date`` None) and its static posterior.

Claims about the future
    ``date`` is the as-of date of the *state the claim describes*. A claim
    about a future state with a known horizon carries the horizon as its date;
    a claim about an open-ended future (a plan, a potential, an "eventual"
    total) belongs to a quantity of its own (the seed case's
    ``nk_troops_potential``). An upper bound on the eventual value of a
    cumulative (monotone) quantity also bounds the present, so it may be kept
    as an ``upper`` claim dated when it was made (Zelensky's "up to 10,000" in
    the seed case): under monotone drift it constrains every earlier date too.

Reliabilities, error scales and copy weights are those of the static fit
(``fuse`` learns them first); the drift model only changes how the claims
combine over time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import numpy as np
from scipy import fft as sfft
from scipy import special

from ._segments import segment_quantile
from .claims import date_to_days, days_to_date
from .likelihood import ClaimModel, log_terms
from .posterior import _log_prior

__all__ = ["Drift", "Timeline", "TimePosterior", "fit_timeline", "DEFAULT_TIMELINE_GRID"]

DEFAULT_TIMELINE_GRID = 512
DEFAULT_N_SCALES = 25
#: the learned-τ grid spans this many decades below / above the quantity's reference scale
_TAU_DECADES = (-2.5, 2.0)
_PRUNE = 1e-12  # τ values whose posterior weight is below this in every quantity of a batch are skipped
_BUDGET = 1 << 22  # float64 cells per batch of (time points × τ values × grid)


@attrs.frozen
class Drift:
    """Options of the drift model (``fuse(..., dynamics=Drift(...))``; ``"drift"`` means ``Drift()``).

    Parameters
    ----------
    scale : float, optional
        The drift scale τ in model-space units per √day (on log quantities a
        relative change: 0.05 means a 5 % sd per day, 27 % per month). None
        (default) learns it (see :mod:`credscore.timeline`); 0 reproduces the
        static posterior on the timeline's grid.
    shared : bool
        Learn one drift scale for all quantities (default: one per quantity).
    monotone : bool or iterable of str
        Non-decreasing trajectories (cumulative counts) for every quantity
        (True) or for the named ones.
    grid_size : int
        Cells of each quantity's uniform grid (at least 16).
    n_scales : int
        Values of the learned-τ grid (at least 2).
    prior_scale : float, optional
        Scale of the half-Cauchy prior on τ (model units per √day); default:
        the quantity's median claim error scale (per √day).
    auto : bool
        Let the data choose, per quantity, between a value that drifts and
        one that does not, by the Bayes factor of the drift model (averaged
        over τ) against τ = 0 on the same grid: a truth-free check (Kass &
        Raftery 1995, "Bayes factors", *JASA* 90(430)). ``fuse(...,
        dynamics="auto")`` means ``Drift(auto=True)``. Claims of a quantity
        whose value drifts are judged against its value at their own dates.

    Examples
    --------
    >>> Drift(monotone=["troops"]).monotone
    ('troops',)
    >>> Drift(scale=-1)
    Traceback (most recent call last):
    ...
    ValueError: `scale` must be a non-negative number or None; got -1.
    """

    scale: float | None = None
    shared: bool = False
    monotone: Any = attrs.field(default=False)
    grid_size: int = DEFAULT_TIMELINE_GRID
    n_scales: int = DEFAULT_N_SCALES
    prior_scale: float | None = None
    auto: bool = False

    def __attrs_post_init__(self) -> None:
        if self.scale is not None and not (isinstance(self.scale, (int, float)) and math.isfinite(self.scale)
                                           and self.scale >= 0):
            raise ValueError(f"`scale` must be a non-negative number or None; got {self.scale!r}.")
        if self.prior_scale is not None and not (isinstance(self.prior_scale, (int, float)) and self.prior_scale > 0):
            raise ValueError(f"`prior_scale` must be a positive number or None; got {self.prior_scale!r}.")
        if int(self.grid_size) != self.grid_size or self.grid_size < 16:
            raise ValueError(f"`grid_size` must be an integer of at least 16; got {self.grid_size!r}.")
        if int(self.n_scales) != self.n_scales or self.n_scales < 2:
            raise ValueError(f"`n_scales` must be an integer of at least 2; got {self.n_scales!r}.")
        m = self.monotone
        if isinstance(m, str):
            object.__setattr__(self, "monotone", (m,))
        elif isinstance(m, Iterable):
            object.__setattr__(self, "monotone", tuple(str(v) for v in m))
        elif not isinstance(m, (bool, np.bool_)):
            raise ValueError(f"`monotone` must be True, False or a list of quantity names; got {m!r}.")

    @classmethod
    def coerce(cls, dynamics: Any) -> "Drift | None":
        """None for ``"static"``, a :class:`Drift` for ``"drift"`` (``auto=True`` for ``"auto"``) or a Drift;
        else a ValueError."""
        if isinstance(dynamics, Drift):
            return dynamics
        if isinstance(dynamics, str) and dynamics in ("static", "drift", "auto"):
            return None if dynamics == "static" else cls(auto=dynamics == "auto")
        raise ValueError("`dynamics` must be 'static', 'drift', 'auto' or a credscore.timeline.Drift; "
                         f"got {dynamics!r}.")


# ---------------------------------------------------------------- posteriors on uniform grids
@attrs.frozen(eq=False)
class TimePosterior:
    """Histogram posteriors on uniform grids (model space), one row per (quantity, date).

    Row i has cells of width ``h[i]`` starting at ``lo[i]`` and masses
    ``mass[i]`` (summing to 1), spread uniformly over each cell. It offers
    the interface :class:`credscore.Estimate` uses (``quantiles``,
    ``shortest_interval``, ``grid``).
    """

    lo: np.ndarray
    h: np.ndarray
    mass: np.ndarray

    def nodes(self, idx: np.ndarray | None = None) -> np.ndarray:
        """Cell midpoints (model space), shape (len(idx), G)."""
        idx = np.arange(len(self.lo)) if idx is None else np.asarray(idx)
        g = self.mass.shape[1]
        return self.lo[idx][:, None] + self.h[idx][:, None] * (np.arange(g) + 0.5)

    def quantiles(self, probs, idx: np.ndarray | None = None) -> np.ndarray:
        """Quantiles of x, shape (len(idx), len(probs))."""
        idx = np.arange(len(self.lo)) if idx is None else np.asarray(idx)
        return _hist_quantiles(self.mass[idx], self.lo[idx], self.h[idx], np.atleast_1d(np.asarray(probs, float)))

    def shortest_interval(self, level: float, idx: np.ndarray | None = None, n_candidates: int = 401) -> np.ndarray:
        """Shortest interval of x holding ``level`` mass."""
        idx = np.arange(len(self.lo)) if idx is None else np.asarray(idx)
        alphas = np.linspace(0.0, 1.0 - level, n_candidates)
        lo, hi = self.quantiles(alphas, idx), self.quantiles(alphas + level, idx)
        j = np.argmin(hi - lo, axis=1)
        r = np.arange(len(idx))
        return np.stack([lo[r, j], hi[r, j]], axis=1)

    def grid(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Nodes x and density p(x) of row ``i`` (model space)."""
        return self.nodes(np.array([i]))[0], self.mass[i] / self.h[i]


def _hist_quantiles(mass: np.ndarray, lo: np.ndarray, h: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Quantiles of histograms (rows of ``mass``; cell j = [lo + j h, lo + (j+1) h])."""
    n, g = mass.shape
    cdf = np.cumsum(mass, axis=1)
    cdf /= cdf[:, -1:]
    r = np.arange(n)
    out = np.empty((n, len(probs)))
    for k, p in enumerate(probs):
        j = np.minimum(np.sum(cdf < p, axis=1), g - 1)
        prev = np.where(j > 0, cdf[r, np.maximum(j - 1, 0)], 0.0)
        m = mass[r, j] / np.maximum(cdf[:, -1], 1e-300)
        frac = np.clip(np.divide(p - prev, m, out=np.full(n, 0.5), where=m > 0), 0.0, 1.0)
        out[:, k] = lo + h * (j + frac)
    return out


def _moments(mass: np.ndarray, x: np.ndarray, exp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sd of x (rows with ``exp`` False) or of exp(x) (rows with ``exp`` True)."""
    shift = np.where(exp, np.max(x, axis=1), 0.0)[:, None]
    v = np.where(exp[:, None], np.exp(x - shift), x)
    m1 = np.sum(mass * v, axis=1)
    var = np.maximum(np.sum(mass * (v - m1[:, None]) ** 2, axis=1), 0.0)
    scale = np.where(exp, np.exp(shift[:, 0]), 1.0)
    return m1 * scale, np.sqrt(var) * scale


# ---------------------------------------------------------------- transitions
def _gauss_step(a: np.ndarray, d2: np.ndarray) -> np.ndarray:
    """Apply the reflecting heat kernel of variance d2 (grid units², broadcast to a[..., :1]) to a[..., G]."""
    g = a.shape[-1]
    lam = 1.0 - np.cos(np.pi * np.arange(g) / g)
    c = sfft.dct(a, type=2, norm="ortho", axis=-1)
    c *= np.exp(-d2[..., None] * lam)
    out = sfft.idct(c, type=2, norm="ortho", axis=-1)
    np.maximum(out, 0.0, out=out)
    return out


def _halfnormal_kernel(s: np.ndarray, g: int) -> tuple[np.ndarray, np.ndarray]:
    """Cell probabilities K_j (j = 0..g-1 steps up) of a half-normal increment of scale s (grid units),
    and the tail masses T_m = P(increment ≥ m steps) = 1 − Σ_{j<m} K_j."""
    m = np.arange(g + 1) - 0.5
    m[0] = 0.0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        z = np.where(s[..., None] > 0, m / np.maximum(s[..., None], 1e-300) / math.sqrt(2.0), np.where(m > 0, np.inf, 0.0))
    c = special.erf(z)  # P(|e| < m - 1/2), c[0] = 0
    k = np.diff(c, axis=-1)
    return k, 1.0 - c[..., :-1]


def _mono_forward(a: np.ndarray, s: np.ndarray) -> np.ndarray:
    g = a.shape[-1]
    k, _ = _halfnormal_kernel(s, g)
    out = sfft.irfft(sfft.rfft(a, 2 * g, axis=-1) * sfft.rfft(k, 2 * g, axis=-1), 2 * g, axis=-1)[..., :g]
    np.maximum(out, 0.0, out=out)
    out[..., -1] = np.maximum(np.sum(a, axis=-1) - np.sum(out[..., :-1], axis=-1), 0.0)  # overflow stays on top
    return out


def _mono_backward(v: np.ndarray, s: np.ndarray) -> np.ndarray:
    """β(x) = Σ_x' K(x' | x) v(x') for the monotone kernel (the transpose of :func:`_mono_forward`)."""
    g = v.shape[-1]
    k, tail = _halfnormal_kernel(s, g)
    top = v[..., -1:].copy()
    w = v.copy()
    w[..., -1] = 0.0
    corr = sfft.irfft(sfft.rfft(w, 2 * g, axis=-1) * np.conj(sfft.rfft(k, 2 * g, axis=-1)), 2 * g, axis=-1)[..., :g]
    out = corr + tail[..., ::-1] * top  # T_{g-1-x}: P(reaching the top cell from x)
    np.maximum(out, 0.0, out=out)
    return out


def _transition(a, d2, mono, forward=True):
    """Apply the transition to a (B, K, G) with variance d2 (B, K) in grid units²; mono (B,) bool."""
    if not np.any(d2 > 0):
        return a
    out = np.empty_like(a)
    if np.any(~mono):
        out[~mono] = _gauss_step(a[~mono], d2[~mono])
    if np.any(mono):
        s = np.sqrt(d2[mono])
        out[mono] = _mono_forward(a[mono], s) if forward else _mono_backward(a[mono], s)
    return out


# ---------------------------------------------------------------- the fit
@attrs.frozen(eq=False)
class Timeline:
    """The drift fit of every quantity: trajectories at its time points, and the drift scales.

    Attributes
    ----------
    points : Table
        One row per (quantity, time point), sorted by quantity then date:
        ``quantity, date`` (datetime.date or None) ``, n_claims`` (evidence
        claims observed there) ``, median, low, high, mean, sd`` (smoothed) ``,
        filtered_median, filtered_low, filtered_high, filtered_mean`` — natural
        units, equal-tailed intervals at ``level``.
    quantities : Table
        One row per quantity: ``quantity, n_dates, monotone, drift_scale``
        (τ, fixed or posterior geometric mean; NaN with one time point)
        ``, drift_learned, log_evidence`` (log p(claims), averaged over τ).
    level : float
    options : Drift
    """

    points: Any
    quantities: Any
    level: float
    options: Drift
    starts: np.ndarray
    days: np.ndarray
    tau_grid: np.ndarray
    log_tau_prior: np.ndarray
    log_extra: np.ndarray
    monotone: np.ndarray
    extra_days: np.ndarray
    #: per model claim (position in the model): the row of :attr:`points` at its date (-1: not fitted)
    claim_point: np.ndarray | None = None
    #: per model claim: P(accurate | all claims) under the drift model, judged at its date
    #: (``fit_timeline(..., accuracy=True)``; NaN where not fitted)
    claim_accurate: np.ndarray | None = None

    def rows_of(self, i: int) -> slice:
        """Rows of :attr:`points` of quantity ``i``."""
        return slice(int(self.starts[i]), int(self.starts[i + 1]))


def _monotone_mask(opt: Drift, claimset) -> np.ndarray:
    nq = claimset.n_quantities
    if isinstance(opt.monotone, (bool, np.bool_)):
        return np.full(nq, bool(opt.monotone))
    mask = np.zeros(nq, bool)
    for name in opt.monotone:
        try:
            mask[claimset.quantity_index(name)] = True
        except KeyError:
            raise KeyError(f"`monotone` names an unknown quantity {name!r}.") from None
    return mask


def _as_days(dates: Any) -> np.ndarray:
    if dates is None:
        return np.empty(0)
    if isinstance(dates, (str, bytes)) or not isinstance(dates, Iterable):
        dates = [dates]
    out = []
    for d in dates:
        try:
            v = date_to_days(d)
        except ValueError as exc:
            raise ValueError(f"`dates`: {exc}") from None
        if not math.isfinite(v):
            raise ValueError(f"`dates` must be dates; got {d!r}.")
        out.append(v)
    return np.unique(np.asarray(out, float))


def _time_points(model: ClaimModel, claimset, extra: np.ndarray, qsel: np.ndarray):
    """Time points of quantities ``qsel`` (sorted by quantity, date) and each of their claims' point."""
    nq = model.n_quantities
    ev_date = claimset.date[model.claim]
    in_sel = np.isin(model.quantity, qsel)
    dated = in_sel & ~np.isnan(ev_date)
    qq = np.concatenate([model.quantity[dated], np.repeat(qsel, len(extra))])
    dd = np.concatenate([ev_date[dated], np.tile(extra, len(qsel))])
    has = np.zeros(nq, bool)
    has[qq] = True
    none = qsel[~has[qsel]]
    qq = np.concatenate([qq, none])
    dd = np.concatenate([dd, np.full(len(none), np.nan)])
    order = np.lexsort((dd, qq))
    qq, dd = qq[order], dd[order]
    keep = np.ones(len(qq), bool)
    keep[1:] = (qq[1:] != qq[:-1]) | (dd[1:] != dd[:-1])
    tq, td = qq[keep], dd[keep]
    counts = np.bincount(tq, minlength=nq)
    starts = np.concatenate(([0], np.cumsum(counts)))
    # each selected evidence claim's time point: undated -> the quantity's first point
    rows = np.flatnonzero(in_sel)
    pos = starts[model.quantity[rows]].copy()
    dr = ~np.isnan(ev_date[rows])
    if dr.any():
        key_t = tq * 1e6 + np.nan_to_num(td - np.nanmin(td), nan=0.0)
        key_c = model.quantity[rows][dr] * 1e6 + (ev_date[rows][dr] - np.nanmin(td))
        pos[dr] = np.searchsorted(key_t, key_c)
    return tq, td, starts, rows, pos


def _tau_setup(model: ClaimModel, opt: Drift, starts: np.ndarray, td: np.ndarray, qsel: np.ndarray):
    """τ grid (nq, K) and its log prior weights, per quantity."""
    nq = model.n_quantities
    sig = segment_quantile(model.sigma, model.quantity, nq)
    sig = np.where(np.isfinite(sig) & (sig > 0), sig, 0.1)
    first, last = td[np.minimum(starts[:-1], len(td) - 1)], td[np.maximum(starts[1:] - 1, 0)]
    span = np.where(np.isfinite(last - first) & (last - first > 0), last - first, 1.0)
    if opt.scale is not None:
        return np.full((nq, 1), float(opt.scale)), np.zeros((nq, 1))
    ref = sig / np.sqrt(span)
    prior_scale = sig if opt.prior_scale is None else np.full(nq, float(opt.prior_scale))
    if opt.shared:
        multi = np.diff(starts) > 1
        pick = qsel[multi[qsel]] if np.any(multi[qsel]) else qsel
        ref = np.full(nq, np.median(ref[pick]))
        prior_scale = np.full(nq, np.median(prior_scale[pick]))
    e = np.linspace(*_TAU_DECADES, int(opt.n_scales))
    grid = ref[:, None] * 10.0 ** e[None, :]
    r = grid / prior_scale[:, None]
    logp = np.log(r) - np.log1p(r * r)  # half-Cauchy density in log τ (uniform steps in log τ)
    return grid, logp - np.logaddexp.reduce(logp, axis=1, keepdims=True)


def fit_timeline(
    model: ClaimModel,
    claimset,
    options: Drift | None = None,
    *,
    level: float = 0.9,
    dates: Any = None,
    quantities: Iterable[int] | None = None,
    tau_state: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    keep_mass: bool = False,
    accuracy: bool = False,
):
    """Fit the drift model to every quantity (or to ``quantities``): filtered and smoothed trajectories.

    Parameters
    ----------
    model : ClaimModel
        The model-space claims (:func:`credscore.likelihood.build_claim_model`, or
        the fitted ``result.model``).
    claimset : ClaimSet
        Their claims (for the dates).
    options : Drift, optional
    level : float
        Mass of the equal-tailed intervals.
    dates : iterable of date-like, optional
        Extra time points for every quantity (ISO text, ``datetime.date``, ...).
    quantities : iterable of int, optional
        Quantity codes to fit (default all).
    tau_state : tuple, optional
        ``(tau_grid, log_tau_prior, log_extra)`` of an earlier fit (re-fitting
        one quantity with other dates keeps its learned drift weights).
    keep_mass : bool
        Also return the smoothed and filtered histograms (a :class:`TimePosterior` each).
    accuracy : bool
        Also compute each claim's probability of being accurate given all the
        claims, judged against the value at its own date
        (``Timeline.claim_accurate``): the smoothed posterior of its date's
        state times the probability that the claim is accurate given that
        state, summed over the grid.

    Returns
    -------
    Timeline
        (and the two TimePosteriors with ``keep_mass``).

    Examples
    --------
    >>> from credscore import ClaimSet
    >>> from credscore.likelihood import build_claim_model
    >>> cs = ClaimSet.from_records([
    ...     {"quantity": "troops", "source": "a", "value": "1,500", "date": "2024-10-18"},
    ...     {"quantity": "troops", "source": "b", "value": "11,000", "date": "2024-11-08"},
    ...     {"quantity": "troops", "source": "c", "value": "10,900", "date": "2024-11-21"},
    ... ])
    >>> tl = fit_timeline(build_claim_model(cs), cs, Drift(monotone=True))
    >>> [str(d) for d in tl.points["date"]]
    ['2024-10-18', '2024-11-08', '2024-11-21']
    >>> bool(np.all(np.diff(tl.points["median"]) >= 0))   # monotone drift: never decreases
    True
    >>> round(float(tl.points["filtered_median"][0]))   # what could be known on 2024-10-18
    1508
    """
    from .results import Table

    opt = options or Drift()
    nq = model.n_quantities
    qsel = np.arange(nq) if quantities is None else np.asarray(sorted(set(int(q) for q in quantities)), dtype=np.int64)
    extra = _as_days(dates)
    mono = _monotone_mask(opt, claimset)
    tq, td, starts, rows, pos = _time_points(model, claimset, extra, qsel)
    if tau_state is None:
        tau_grid, log_prior_tau = _tau_setup(model, opt, starts, td, qsel)
        log_extra = np.zeros_like(tau_grid)
    else:
        tau_grid, log_prior_tau, log_extra = (np.array(a, float) for a in tau_state)
    G = int(opt.grid_size)
    learned = opt.scale is None
    n_t = np.diff(starts)
    logq = claimset.log_scale

    # rows of each quantity's claims, sorted by (time point)
    ord_rows = np.lexsort((pos, model.quantity[rows]))
    rows, pos = rows[ord_rows], pos[ord_rows]

    def run(qb, log_w_extra, smooth):
        return _fit_batch(model, qb, starts, td, rows, pos, tau_grid[qb], log_prior_tau[qb] + log_w_extra,
                          mono[qb], G, level, logq[qb], learn_filtered=learned and not opt.shared,
                          smooth=smooth, keep_mass=keep_mass, accuracy=accuracy)

    batches = list(_batches(qsel, n_t, tau_grid.shape[1], G))
    if learned and opt.shared and tau_state is None:  # phase 1: every quantity's evidence per τ
        own = np.zeros_like(tau_grid)
        for qb in batches:
            own[qb] = run(qb, np.zeros((len(qb), tau_grid.shape[1])), smooth=False)["logz"]
        multi = n_t > 1
        total = own[qsel[multi[qsel]]].sum(axis=0)
        log_extra = np.where(multi[:, None], total[None, :] - own, 0.0)
    npts = len(tq)
    cols = {k: np.full(npts, np.nan) for k in ("median", "low", "high", "mean", "sd", "filtered_median",
                                              "filtered_low", "filtered_high", "filtered_mean")}
    n_claims = np.bincount(pos, minlength=npts)
    tau_hat = np.full(nq, np.nan)
    log_ev = np.full(nq, np.nan)
    masses = {"smoothed": [None] * npts, "filtered": [None] * npts} if keep_mass else None
    lo_row, h_row = np.empty(npts), np.empty(npts)
    claim_acc = np.full(len(model.claim), np.nan) if accuracy else None
    for qb in batches:
        out = run(qb, log_extra[qb], smooth=True)
        if accuracy:
            claim_acc[out["claim_rows"]] = out["claim_accurate"]
        p = (starts[qb][:, None] + np.arange(n_t[qb[0]])).ravel()
        for k in cols:
            cols[k][p] = out[k].ravel()
        tau_hat[qb] = out["tau"]
        log_ev[qb] = out["log_evidence"]
        lo_row[p] = np.repeat(model.prior_lo[qb], n_t[qb[0]])
        h_row[p] = np.repeat((model.prior_hi[qb] - model.prior_lo[qb]) / G, n_t[qb[0]])
        if keep_mass:
            for name in ("smoothed", "filtered"):
                m = out["mass_" + name].reshape(-1, G)
                for j, pj in enumerate(p):
                    masses[name][pj] = m[j]
    if not learned:
        tau_hat[:] = float(opt.scale)
    tau_hat[n_t <= 1] = np.nan
    names = claimset.quantities.astype(object)
    sel_pts = np.isin(tq, qsel)
    points = Table({
        "quantity": names[tq][sel_pts],
        "date": np.array([days_to_date(d) for d in td[sel_pts]] + [None], dtype=object)[:-1],
        "n_claims": n_claims[sel_pts],
        **{k: v[sel_pts] for k, v in cols.items()},
    })
    quants = Table({
        "quantity": names[qsel],
        "n_dates": n_t[qsel],
        "monotone": mono[qsel],
        "drift_scale": tau_hat[qsel],
        "drift_learned": np.full(len(qsel), learned),
        "log_evidence": log_ev[qsel],
    })
    full_starts = np.zeros(nq + 1, dtype=np.int64)
    counts = np.zeros(nq, dtype=np.int64)
    counts[qsel] = n_t[qsel]
    full_starts[1:] = np.cumsum(counts)
    claim_point = np.full(len(model.claim), -1, dtype=np.int64)
    claim_point[rows] = np.cumsum(sel_pts)[pos] - 1  # rows of the selected points
    tl = Timeline(points=points, quantities=quants, level=level, options=opt, starts=full_starts,
                  days=td[sel_pts], tau_grid=tau_grid, log_tau_prior=log_prior_tau, log_extra=log_extra,
                  monotone=mono, extra_days=extra, claim_point=claim_point, claim_accurate=claim_acc)
    if not keep_mass:
        return tl
    sm = TimePosterior(lo_row[sel_pts], h_row[sel_pts], np.array([m for m, s in zip(masses["smoothed"], sel_pts) if s]))
    fi = TimePosterior(lo_row[sel_pts], h_row[sel_pts], np.array([m for m, s in zip(masses["filtered"], sel_pts) if s]))
    return tl, sm, fi


def _batches(qsel, n_t, k, g):
    """Quantities grouped by their number of time points, in chunks within the memory budget."""
    nts = n_t[qsel]
    for t in np.unique(nts):
        group = qsel[nts == t]
        per = max(1, _BUDGET // (int(t) * (k if t > 1 else 1) * g))
        for c in range(0, len(group), per):
            yield group[c : c + per]


def _fit_batch(model, qb, starts, td, rows, pos, taus, log_w, mono, G, level, logq, *, learn_filtered, smooth,
               keep_mass, accuracy=False):
    B = len(qb)
    T = int(starts[qb[0] + 1] - starts[qb[0]])
    K = taus.shape[1] if T > 1 else 1
    taus, log_w = taus[:, :K], log_w[:, :K]
    lo = model.prior_lo[qb]
    h = (model.prior_hi[qb] - lo) / G
    x = lo[:, None] + h[:, None] * (np.arange(G) + 0.5)
    # ---- log-likelihood of each (quantity, time point) on the grid
    LL = np.zeros((B * T, G))
    qpos = np.searchsorted(qb, model.quantity[rows])
    inb = (qpos < B) & (qb[np.minimum(qpos, B - 1)] == model.quantity[rows])
    r_b, p_b = rows[inb], pos[inb]
    owner = np.searchsorted(qb, model.quantity[r_b])
    slot = owner * T + (p_b - starts[model.quantity[r_b]])
    chunk = max(1, (1 << 20) // G)
    for c in range(0, len(r_b), chunk):
        rr, ss = r_b[c : c + chunk], slot[c : c + chunk]
        term, _ = log_terms(model, rr, x[owner[c : c + chunk]])
        brk = np.flatnonzero(np.diff(ss)) + 1
        seg = np.concatenate(([0], brk))
        LL[ss[seg]] += np.add.reduceat(term, seg, axis=0)
    LL = LL.reshape(B, T, G)
    LL[:, 0, :] += _log_prior(model, qb, x)
    mx = LL.max(axis=2)
    L = np.exp(LL - mx[:, :, None])
    days = td[starts[qb][:, None] + np.arange(T)]
    dt = np.diff(days, axis=1) if T > 1 else np.zeros((B, 0))
    dt = np.nan_to_num(dt, nan=0.0)

    # ---- forward, all τ at once: alpha (T, B, K, G)
    alpha = np.empty((T, B, K, G))
    logc = np.empty((T, B, K))
    pred = np.broadcast_to(np.full(G, 1.0 / G), (B, K, G))
    for t in range(T):
        if t > 0:
            d2 = taus ** 2 * dt[:, t - 1][:, None] / (h ** 2)[:, None]
            pred = _transition(alpha[t - 1], d2, mono, forward=True)
        f = pred * L[:, t, None, :]
        c = f.sum(axis=2)
        alpha[t] = f / np.maximum(c, 1e-300)[:, :, None]
        with np.errstate(divide="ignore"):
            logc[t] = np.log(c) + mx[:, t, None]
    cum = np.cumsum(logc, axis=0)  # log p(claims up to t | τ)
    logz = cum[-1]
    if not smooth:
        return {"logz": logz}
    lw = log_w + logz
    w_final = np.exp(lw - lw.max(axis=1, keepdims=True))
    w_final /= w_final.sum(axis=1, keepdims=True)
    lwn = log_w - np.logaddexp.reduce(log_w, axis=1, keepdims=True)
    log_evidence = np.logaddexp.reduce(lwn + logz, axis=1)
    tau_hat = np.exp(np.sum(w_final * np.log(np.maximum(taus, 1e-300)), axis=1))
    # filtered mixtures
    if learn_filtered:
        lwf = log_w[None] + cum
        wf = np.exp(lwf - lwf.max(axis=2, keepdims=True))
        wf /= wf.sum(axis=2, keepdims=True)
    else:
        wf = np.broadcast_to(w_final[None], (T, B, K))
    filt = np.einsum("tbk,tbkg->btg", wf, alpha)
    # ---- backward, for the τ values that matter
    live = np.flatnonzero(np.max(w_final, axis=0) > _PRUNE)
    wl = w_final[:, live]
    wl = wl / wl.sum(axis=1, keepdims=True)
    smo = np.empty((B, T, G))
    beta = np.ones((B, len(live), G))
    tl = taus[:, live]
    for t in range(T - 1, -1, -1):
        if t < T - 1:
            v = L[:, t + 1, None, :] * beta
            d2 = tl ** 2 * dt[:, t][:, None] / (h ** 2)[:, None]
            beta = _transition(v, d2, mono, forward=False)
            beta /= np.maximum(beta.max(axis=2, keepdims=True), 1e-300)  # rescale: normalised below
        gam = alpha[t][:, live] * beta
        gam /= np.maximum(gam.sum(axis=2, keepdims=True), 1e-300)
        smo[:, t] = np.einsum("bk,bkg->bg", wl, gam)
    # ---- summaries
    probs = np.array([0.5, (1 - level) / 2, (1 + level) / 2])
    out: dict[str, Any] = {"logz": logz, "tau": tau_hat, "log_evidence": log_evidence}
    if accuracy:  # P(claim accurate | all claims) = Σ_x p(x_t | all) P(accurate | x_t, claim), at its date t
        flat = smo.reshape(B * T, G)
        acc = np.empty(len(r_b))
        for c in range(0, len(r_b), chunk):
            rr, ss = r_b[c : c + chunk], slot[c : c + chunk]
            _, a = log_terms(model, rr, x[owner[c : c + chunk]])
            acc[c : c + chunk] = np.sum(flat[ss] * a, axis=1)
        out["claim_rows"], out["claim_accurate"] = r_b, np.clip(acc, 0.0, 1.0)
    rep = lambda a: np.repeat(a, T)  # noqa: E731
    xs = np.repeat(x, T, axis=0)
    for name, mass in (("", smo.reshape(B * T, G)), ("filtered_", filt.reshape(B * T, G))):
        qs = _hist_quantiles(mass, rep(lo), rep(h), probs)
        qs = np.where(rep(logq)[:, None], np.exp(qs), qs)
        m, s = _moments(mass, xs, rep(logq))
        out[name + "median"], out[name + "low"], out[name + "high"] = (qs[:, j].reshape(B, T) for j in range(3))
        out[name + "mean"] = m.reshape(B, T)
        if not name:
            out["sd"] = s.reshape(B, T)
        if keep_mass:
            out["mass_" + (name or "smoothed_").rstrip("_")] = mass
    return out
