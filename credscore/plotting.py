"""Plots of fusion results (matplotlib, an optional extra: ``pip install 'credscore[plot]'``).

* :func:`plot_forest`: every claim about a quantity as a horizontal bar (its
  statement interval: a point with its rounding interval, a range, or a bound
  as an open bar with an arrowhead), coloured by its posterior probability of
  being accurate, over the posterior median (a line) and credible interval (a
  shaded band). Log quantities are drawn on a log axis.
* :func:`plot_agreement`: the claim × claim agreement heatmap of a quantity
  (:meth:`FusionResult.agreement <credscore.FusionResult.agreement>`), or the
  source × source agreement over shared quantities.
* :func:`plot_reliability`: each source's posterior reliability with its
  credible interval, sorted, with the prior mean marked.
* :func:`plot_trajectory`: the value of a drifting quantity over time (the
  result's ``trajectory``), with its dated claims.

Every function draws on ``ax`` (a new figure when omitted) and returns the
:class:`matplotlib.axes.Axes`. matplotlib is imported when a function is
called, so ``import credscore`` works without it. The same plots are methods
of :class:`~credscore.FusionResult` (``result.plot_forest(q)``, ...).

Examples
--------
>>> import pytest; _ = pytest.importorskip("matplotlib")
>>> import credscore
>>> from credscore.plotting import plot_forest
>>> res = credscore.fuse([
...     {"quantity": "troops", "source": "Kyiv", "value": "11,000"},
...     {"quantity": "troops", "source": "blog", "value": "10,900"},
...     {"quantity": "troops", "source": "NIS", "value": "1,500"},
... ])
>>> ax = plot_forest(res, "troops")
>>> [t.get_text() for t in ax.get_yticklabels()]
['Kyiv', 'blog', 'NIS']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .formatting import format_estimate_parts

__all__ = ["plot_forest", "plot_agreement", "plot_reliability", "plot_trajectory"]

#: Default colormap of P(accurate): red (wild) to blue (accurate).
ACCURACY_CMAP = "RdYlBu"

_BELOW = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.18), "ncol": 2, "fontsize": "small", "frameon": False}
_MISSING = "plotting needs matplotlib: pip install 'credscore[plot]'."


def _pyplot():
    """matplotlib.pyplot, or an ImportError that says how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(_MISSING) from exc
    return plt


def _axes(ax, figsize: tuple[float, float]):
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _claim_labels(claims, rows: np.ndarray) -> list[str]:
    src, via = claims["source"], claims["reported_by"]
    return [f"{src[r]} (via {via[r]})" if via[r] else str(src[r]) for r in rows]


def _padded(lo: float, hi: float, log: bool, pad: float = 0.06) -> tuple[float, float]:
    if log:
        llo, lhi = np.log(lo), np.log(hi)
        d = max(lhi - llo, np.log(1.5))
        return float(np.exp(llo - pad * d)), float(np.exp(lhi + pad * d))
    d = hi - lo if hi > lo else max(abs(hi), 1.0)
    return float(lo - pad * d), float(hi + pad * d)


def plot_forest(
    result,
    quantity: str,
    *,
    ax=None,
    level: float | None = None,
    cmap: Any = ACCURACY_CMAP,
    colorbar: bool = True,
    sort: bool = False,
    legend: bool = True,
):
    """Forest plot of a quantity: its claims against the posterior.

    Each input claim about ``quantity`` (relayed repeats included) is a
    horizontal bar over its statement interval: a point with its rounding
    interval (an exact point is its marker alone), a range, or a bound drawn
    as an open dashed bar running to the edge of the axis with an arrowhead
    there. Bars and markers are coloured by the claim's ``p_accurate``; the
    posterior median is a vertical line and the credible interval a shaded
    band. Rows are labelled ``"source (via outlet)"``.

    Parameters
    ----------
    result : FusionResult
    quantity : str
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: a new figure sized to the number of claims).
    level : float, optional
        Mass of the band (default: the result's ``level``).
    cmap : str or Colormap
        Colormap of P(accurate) on [0, 1].
    colorbar : bool
        Add a colorbar of P(accurate).
    sort : bool
        Order the claims by their central value instead of input order.
    legend : bool
        Add a legend for the median and the band.

    Returns
    -------
    matplotlib.axes.Axes
        The bars are the :class:`~matplotlib.collections.LineCollection`
        with gid ``'claims'`` (one segment per claim, its array the
        claims' ``p_accurate``); the band has gid ``'interval'`` and the
        median line gid ``'median'``.

    Examples
    --------
    >>> import pytest; _ = pytest.importorskip("matplotlib")
    >>> import credscore
    >>> res = credscore.fuse([
    ...     {"quantity": "troops", "source": "Kyiv", "value": "11,000", "reported_by": "DW"},
    ...     {"quantity": "troops", "source": "officials", "kind": "upper", "value": "12,000"},
    ...     {"quantity": "troops", "source": "NIS", "value": "1,500"},
    ... ])
    >>> ax = plot_forest(res, "troops")
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['Kyiv (via DW)', 'officials', 'NIS']
    >>> ax.get_xscale()
    'log'
    >>> bars = next(c for c in ax.collections if c.get_gid() == "claims")
    >>> len(bars.get_segments())
    3
    """
    _pyplot()
    from matplotlib import colors
    from matplotlib.collections import LineCollection

    est = result.estimate(quantity)
    low, high = (est.low, est.high) if level is None else est.interval(level)
    level = est.level if level is None else float(level)
    cs, claims = result.claimset, result.claims
    rows = np.flatnonzero(cs.quantity == cs.quantity_index(quantity))
    log = est.scale == "log"
    kind = np.asarray(claims["kind"])[rows].astype(str)
    value = np.asarray(claims["value"], float)[rows]
    lb, ub = np.asarray(cs.lower_bound, float)[rows], np.asarray(cs.upper_bound, float)[rows]
    p = np.asarray(claims["p_accurate"], float)[rows]
    upper, lower = kind == "upper", kind == "lower"
    centre = np.where(np.isnan(value), 0.5 * (lb + ub), value)
    if sort:
        order = np.argsort(centre, kind="stable")
        rows, kind, value, lb, ub, p, upper, lower, centre = (
            a[order] for a in (rows, kind, value, lb, ub, p, upper, lower, centre))
    n = len(rows)

    # x range: every finite stated number and the interval
    xs = np.concatenate([lb[~upper], ub[~lower], centre, [low, high, est.median]])
    xs = xs[np.isfinite(xs) & ((xs > 0) if log else True)]
    xlo, xhi = _padded(float(xs.min()), float(xs.max()), log)
    # a bound's open bar runs to the axis edge
    left = np.where(upper, xlo, lb)
    right = np.where(lower, xhi, ub)
    y = np.arange(n, dtype=float)

    ax = _axes(ax, (9.0, 2.2 + 0.38 * n))
    norm = colors.Normalize(0.0, 1.0)
    styles = ["--" if (u or lo_) else "-" for u, lo_ in zip(upper, lower)]
    bars = LineCollection(np.stack([np.c_[left, y], np.c_[right, y]], axis=1), cmap=cmap, norm=norm,
                          linewidths=4.0, linestyles=styles, capstyle="butt", zorder=3)
    bars.set_array(p)
    bars.set_gid("claims")
    ax.add_collection(bars)
    mapped = bars.to_rgba(p)
    dot = ~(upper | lower) & (kind != "range")
    if dot.any():  # points and approx: a marker at the stated value
        ax.scatter(value[dot], y[dot], c=mapped[dot], s=36, edgecolors="k", linewidths=0.6, zorder=4, gid="values")
    for mask, at, marker, gid in ((upper, xlo, "<", "upper_bounds"), (lower, xhi, ">", "lower_bounds")):
        if mask.any():  # arrowhead at the open end, a tick at the bound
            ax.scatter(np.full(mask.sum(), at), y[mask], c=mapped[mask], marker=marker, s=60, zorder=4, gid=gid)
            ax.scatter(np.where(upper, ub, lb)[mask], y[mask], c=mapped[mask], marker="|", s=140,
                       linewidths=2, zorder=4, gid=gid + "_ticks")

    band = ax.axvspan(low, high, color="0.6", alpha=0.3, lw=0, zorder=1, label=f"{level:.0%} credible interval")
    band.set_gid("interval")
    ax.axvline(est.median, color="k", lw=1.5, zorder=2, label="estimate (posterior median)", gid="median")

    if log:
        ax.set_xscale("log")
    ax.set_xlim(xlo, xhi)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_yticks(y, _claim_labels(claims, rows))
    ax.set_xlabel(f"{quantity} ({est.unit})" if est.unit else str(quantity))
    med, lo_text, hi_text = format_estimate_parts(est.median, low, high)
    unit = f" {est.unit}" if est.unit else ""
    ax.set_title(f"{quantity}\nmedian {med}{unit}, {level:.0%} credible interval [{lo_text}, {hi_text}]",
                 fontsize="medium")
    if colorbar:
        ax.figure.colorbar(bars, ax=ax, label="P(accurate)", fraction=0.05, pad=0.02)
    if legend:
        ax.legend(**_BELOW)
    return ax


def plot_agreement(
    result,
    quantity: str | None = None,
    *,
    ax=None,
    cmap: Any = "viridis",
    annotate: bool | None = None,
    colorbar: bool = True,
):
    """Agreement heatmap: claim × claim for a quantity, or source × source.

    Parameters
    ----------
    result : FusionResult
    quantity : str, optional
        Draw :meth:`result.agreement(quantity) <credscore.FusionResult.agreement>`
        (rows and columns the quantity's claims, labelled ``"#row source"``).
        Without it, draw :meth:`result.source_agreement()
        <credscore.FusionResult.source_agreement>` (pairs of sources sharing
        no quantity are left blank).
    ax : matplotlib.axes.Axes, optional
    cmap : str or Colormap
        Colormap of the agreement on [0, 1].
    annotate : bool, optional
        Write each value in its cell (default: when there are at most 12 rows).
    colorbar : bool

    Returns
    -------
    matplotlib.axes.Axes
        The heatmap is the image with gid ``'agreement'``.

    Examples
    --------
    >>> import pytest; _ = pytest.importorskip("matplotlib")
    >>> import credscore
    >>> res = credscore.fuse([
    ...     {"quantity": "troops", "source": "Kyiv", "value": "11,000"},
    ...     {"quantity": "troops", "source": "blog", "value": "10,900"},
    ...     {"quantity": "troops", "source": "NIS", "value": "1,500"},
    ... ])
    >>> ax = plot_agreement(res, "troops")
    >>> ax.images[0].get_array().shape
    (3, 3)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['#0 Kyiv', '#1 blog', '#2 NIS']
    """
    if quantity is None:
        sa = result.source_agreement()
        values, labels = np.asarray(sa.values, float), [str(s) for s in sa.sources]
        title, what = "source agreement over shared quantities", "mean agreement"
    else:
        am = result.agreement(quantity)
        values, labels = np.asarray(am.values, float), [str(s) for s in am.labels]
        title, what = f"{quantity}: claim agreement", "agreement"
    n = len(labels)
    ax = _axes(ax, (4.0 + 0.5 * n, 3.0 + 0.5 * n))
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest",
                      aspect="equal")
    image.set_gid("agreement")
    ticks = np.arange(n)
    ax.set_xticks(ticks, labels, rotation=90)
    ax.set_yticks(ticks, labels)
    ax.set_title(title)
    if annotate is None:
        annotate = n <= 12
    if annotate:
        for i, j in zip(*np.nonzero(np.isfinite(values))):
            v = values[i, j]
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize="x-small",
                    color="k" if v > 0.6 else "w")
    if colorbar:
        ax.figure.colorbar(image, ax=ax, label=what, fraction=0.046, pad=0.04)
    return ax


def plot_reliability(
    result,
    *,
    ax=None,
    max_sources: int | None = 40,
    sort: bool = True,
    legend: bool = True,
):
    """Each source's posterior reliability with its credible interval, and its prior mean.

    Reads ``result.sources``: ``reliability`` (the posterior mean) with
    ``reliability_low``/``reliability_high`` (the equal-tailed interval at
    the result's level) as a point with error bars, and
    ``reliability_prior`` as an open diamond.

    Parameters
    ----------
    result : FusionResult
    ax : matplotlib.axes.Axes, optional
    max_sources : int or None
        Draw at most this many sources: those with the most claims (ties in
        table order). ``None`` draws all.
    sort : bool
        Order the sources by reliability, the most reliable at the top
        (otherwise in table order).
    legend : bool

    Returns
    -------
    matplotlib.axes.Axes
        The intervals are the errorbar container labelled ``'posterior'``;
        the prior means are the collection with gid ``'prior'``.

    Examples
    --------
    >>> import pytest; _ = pytest.importorskip("matplotlib")
    >>> import credscore
    >>> res = credscore.fuse([
    ...     {"quantity": "troops", "source": "Kyiv", "value": "11,000"},
    ...     {"quantity": "troops", "source": "blog", "value": "10,900"},
    ...     {"quantity": "troops", "source": "NIS", "value": "1,500"},
    ... ])
    >>> ax = plot_reliability(res)
    >>> [t.get_text() for t in ax.get_yticklabels()][0]  # the least reliable at the bottom
    'NIS'
    """
    if max_sources is not None and (int(max_sources) != max_sources or max_sources < 1):
        raise ValueError("`max_sources` must be a positive integer or None.")
    s = result.sources
    rel = np.asarray(s["reliability"], float)
    lo, hi = np.asarray(s["reliability_low"], float), np.asarray(s["reliability_high"], float)
    prior = np.asarray(s["reliability_prior"], float)
    names = np.asarray(s["source"]).astype(str)
    keep = np.arange(len(rel))
    total = len(keep)
    if max_sources is not None and total > max_sources:
        keep = np.sort(np.argsort(-np.asarray(s["n_claims"]), kind="stable")[: int(max_sources)])
    if sort:
        keep = keep[np.argsort(rel[keep], kind="stable")]  # least reliable at the bottom
    n = len(keep)
    y = np.arange(n, dtype=float)
    ax = _axes(ax, (7.0, 2.0 + 0.32 * n))
    r = rel[keep]
    ax.errorbar(r, y, xerr=np.vstack([r - lo[keep], hi[keep] - r]), fmt="o", color="C0", ms=5, capsize=3,
                label=f"estimate from the data (posterior mean), {result.level:.0%} credible interval")
    ax.scatter(prior[keep], y, marker="D", facecolors="none", edgecolors="C3", s=36, zorder=3,
               label="before the data (prior mean)", gid="prior")
    ax.set_yticks(y, names[keep])
    ax.set_ylim(-0.5, n - 0.5)
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("reliability: probability that a claim by the source is accurate")
    shown = f" ({n} of {total} sources, most claims)" if n < total else ""
    ax.set_title("source reliability" + shown)
    ax.grid(axis="x", alpha=0.3)
    if legend:
        ax.legend(**_BELOW)
    return ax


def _as_dates(t: Any) -> np.ndarray:
    """Dates (datetime.date, datetime64; None is NaT) or days since 1970-01-01 as datetime64[s]."""
    t = np.asarray(t)
    if np.issubdtype(t.dtype, np.number):
        days = np.asarray(t, float)
        out = np.full(days.shape, np.datetime64("NaT"), dtype="datetime64[s]")
        ok = np.isfinite(days)
        out[ok] = np.datetime64("1970-01-01", "s") + np.round(days[ok] * 86400).astype("timedelta64[s]")
        return out
    return t.astype("datetime64[s]")


def plot_trajectory(result, quantity: str, *, ax=None, n_dates: int = 120, level: float | None = None,
                    cmap: Any = ACCURACY_CMAP, colorbar: bool = True, legend: bool = True):
    """The value of a drifting quantity over time, with its dated claims.

    Needs a result fitted with dynamics (``fuse(..., dynamics="drift")``):
    draws :meth:`result.trajectory(quantity) <credscore.FusionResult.trajectory>`
    (smoothed: what all the claims say about each date) at the claim dates
    and ``n_dates`` evenly spaced dates between the first and the last: the
    posterior median as a line (gid ``'median'``) and the credible interval
    as a band (gid ``'interval'``). Each dated claim is a point at its stated
    value (gid ``'claims'``, coloured by ``p_accurate``) with its statement
    interval as a vertical bar (gid ``'claim_intervals'``; a bound runs to
    the edge of the axis).

    Parameters
    ----------
    result : FusionResult
    quantity : str
    ax : matplotlib.axes.Axes, optional
    n_dates : int
        Evenly spaced dates added to the claim dates (0: the claim dates only).
    level : float, optional
        Mass of the band (default: the result's level).
    cmap : str or Colormap
        Colormap of P(accurate) on [0, 1].
    colorbar, legend : bool

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        When the result has no drift fit (from ``result.trajectory``).
    TypeError
        When ``result`` has no ``trajectory`` at all.

    Examples
    --------
    >>> import pytest; _ = pytest.importorskip("matplotlib")
    >>> import credscore
    >>> res = credscore.fuse([
    ...     {"quantity": "troops", "source": "NIS", "value": "1,500", "date": "2024-10-18"},
    ...     {"quantity": "troops", "source": "Kyiv", "value": "11,000", "date": "2024-11-08"},
    ... ], dynamics="drift")
    >>> ax = plot_trajectory(res, "troops")
    >>> ax.get_yscale(), len(next(c for c in ax.collections if c.get_gid() == "claims").get_offsets())
    ('log', 2)
    """
    traj_of = getattr(result, "trajectory", None)
    if traj_of is None:
        raise TypeError("plot_trajectory needs a FusionResult with a trajectory (fuse(..., dynamics='drift')).")
    if int(n_dates) != n_dates or n_dates < 0:
        raise ValueError("`n_dates` must be a non-negative integer.")
    _pyplot()
    from matplotlib import colors
    from matplotlib import dates as mdates
    from matplotlib.collections import LineCollection

    cs, claims = result.claimset, result.claims
    rows = np.flatnonzero(cs.quantity == cs.quantity_index(quantity))
    days = np.asarray(cs.date, float)[rows]
    rows, days = rows[np.isfinite(days)], days[np.isfinite(days)]
    extra = None
    if n_dates and len(days) and days.max() > days.min():
        extra = [str(d)[:10] for d in _as_dates(np.linspace(days.min(), days.max(), int(n_dates)))]
    traj = traj_of(quantity) if extra is None and level is None else traj_of(quantity, dates=extra, level=level)
    t = _as_dates(traj["date"])
    ok = ~np.isnat(t)
    if not ok.any():
        raise ValueError(f"quantity {quantity!r} has no dated claims: nothing to plot over time.")
    t = t[ok]
    med = np.asarray(traj["median"], float)[ok]
    low, high = np.asarray(traj["low"], float)[ok], np.asarray(traj["high"], float)[ok]
    level = result.level if level is None else float(level)
    log = cs.scale_of(quantity) == "log"

    ax = _axes(ax, (8.0, 4.5))
    if log:
        ax.set_yscale("log")
    band = ax.fill_between(t, low, high, color="0.6", alpha=0.3, lw=0, label=f"{level:.0%} credible interval")
    band.set_gid("interval")
    ax.plot(t, med, color="k", lw=1.5, label="estimate (posterior median)", gid="median")
    td = _as_dates(days)
    lb, ub = np.asarray(cs.lower_bound, float)[rows], np.asarray(cs.upper_bound, float)[rows]
    value = np.asarray(claims["value"], float)[rows]
    centre = np.where(np.isnan(value), 0.5 * (lb + ub), value)
    p = np.asarray(claims["p_accurate"], float)[rows]
    norm = colors.Normalize(0.0, 1.0)
    pts = ax.scatter(td, centre, c=p, cmap=cmap, norm=norm, s=36, edgecolors="k", linewidths=0.6, zorder=4,
                     label="claims", gid="claims")
    ys = np.concatenate([low, high, centre, lb, ub])
    ys = ys[np.isfinite(ys) & ((ys > 0) if log else True)]
    ylo, yhi = _padded(float(ys.min()), float(ys.max()), log)
    lb = np.where(np.isfinite(lb) & ((lb > 0) if log else True), lb, ylo)
    ub = np.where(np.isfinite(ub), ub, yhi)
    tx = mdates.date2num(td)
    bars = LineCollection(np.stack([np.c_[tx, lb], np.c_[tx, ub]], axis=1), cmap=cmap, norm=norm,
                          linewidths=2.0, zorder=3)
    bars.set_array(p)
    bars.set_gid("claim_intervals")
    ax.add_collection(bars)
    ax.set_ylim(ylo, yhi)
    unit = cs.unit[rows[0]]
    ax.set_ylabel(f"{quantity} ({unit})" if unit else str(quantity))
    ax.set_title(f"{quantity} over time")
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax.xaxis.get_major_locator()))
    if colorbar:
        ax.figure.colorbar(pts, ax=ax, label="P(accurate)", fraction=0.05, pad=0.02)
    if legend:
        ax.legend(**_BELOW)
    return ax
