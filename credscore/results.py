"""Result objects: frozen tables and estimates (scipy's result-object style)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from .posterior import GridPosterior

__all__ = ["Table", "Estimate", "FusionResult"]


def require_pandas():
    """The pandas module, or an ImportError saying how to install the optional extra."""
    try:
        import pandas
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("to_dataframe() requires pandas: pip install 'credscore[pandas]'.") from exc
    return pandas


def square_frame(values: np.ndarray, labels) -> Any:
    """A square matrix as a :class:`pandas.DataFrame` labelled on both axes (requires pandas)."""
    return require_pandas().DataFrame(np.asarray(values), index=list(labels), columns=list(labels))


def _check_level(level: float) -> float:
    level = float(level)
    if not 0.0 < level < 1.0:
        raise ValueError("`level` must be in the open interval (0, 1).")
    return level


@attrs.frozen(eq=False, repr=False)
class Table:
    """An immutable table of named, equal-length columns.

    Index it by column name (``table["median"]``), iterate rows with
    :meth:`rows`, or convert with :meth:`to_dataframe` (needs pandas) or
    :meth:`to_records`.

    Examples
    --------
    >>> t = Table({"quantity": np.array(["a", "b"]), "median": np.array([1.0, 2.0])})
    >>> len(t), t.columns
    (2, ('quantity', 'median'))
    >>> t["median"].tolist()
    [1.0, 2.0]
    """

    data: Mapping[str, np.ndarray] = attrs.field(converter=dict)

    def __attrs_post_init__(self) -> None:
        lengths = {len(v) for v in self.data.values()}
        if len(lengths) > 1:
            raise ValueError("all columns of a Table must have the same length.")
        for v in self.data.values():
            np.asarray(v).setflags(write=False)

    @property
    def columns(self) -> tuple[str, ...]:
        """Column names, in order."""
        return tuple(self.data)

    def __len__(self) -> int:
        return len(next(iter(self.data.values()))) if self.data else 0

    def __getitem__(self, name: str) -> np.ndarray:
        return self.data[name]

    def __contains__(self, name: str) -> bool:
        return name in self.data

    def row(self, i: int) -> dict[str, Any]:
        """Row ``i`` as a dict of Python scalars."""
        return {k: _py(v[i]) for k, v in self.data.items()}

    def rows(self):
        """Iterate over rows as dicts."""
        for i in range(len(self)):
            yield self.row(i)

    def to_records(self) -> list[dict[str, Any]]:
        """All rows as a list of dicts."""
        return list(self.rows())

    def to_dataframe(self):
        """The table as a :class:`pandas.DataFrame` (requires pandas)."""
        return require_pandas().DataFrame({k: np.asarray(v) for k, v in self.data.items()})

    def to_text(self, max_rows: int = 40, floatfmt: str = ".4g") -> str:
        """A plain-text rendering."""
        cols = self.columns
        n = len(self)
        shown = range(min(n, max_rows))
        cells = [[_fmt_cell(self.data[c][i], floatfmt) for c in cols] for i in shown]
        widths = [max([len(c)] + [len(r[j]) for r in cells]) for j, c in enumerate(cols)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths))]
        lines += ["  ".join(x.ljust(w) for x, w in zip(r, widths)) for r in cells]
        if n > max_rows:
            lines.append(f"... ({n - max_rows} more rows)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Table: {len(self)} rows × {len(self.columns)} columns>\n" + self.to_text(max_rows=10)


def _py(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    return x


def _fmt_cell(x: Any, floatfmt: str) -> str:
    x = _py(x)
    if x is None:
        return ""
    if isinstance(x, float):
        return "" if math.isnan(x) else format(x, floatfmt)
    return str(x)


@attrs.frozen(repr=False)
class Estimate:
    """Posterior summary of one quantity, in natural units.

    Attributes
    ----------
    quantity : str
    mean, sd : float
        Posterior mean and standard deviation of the value.
    median : float
    mode : float
        The most probable value (maximum of the posterior density of the value).
    low, high : float
        Equal-tailed credible interval at ``level``.
    level : float
    scale : {'log', 'linear'}
    unit : str or None
    """

    quantity: str
    mean: float
    median: float
    mode: float
    sd: float
    low: float
    high: float
    level: float
    scale: str
    unit: str | None
    _posterior: GridPosterior = attrs.field(alias="posterior")
    _index: int = attrs.field(alias="index")

    def interval(self, level: float | None = None, kind: str = "eti") -> tuple[float, float]:
        """Credible interval of the value.

        Parameters
        ----------
        level : float, optional
            Probability mass, in (0, 1); defaults to the estimate's level.
        kind : {'eti', 'hpd'}
            ``'eti'``: equal-tailed; ``'hpd'``: the shortest interval holding
            ``level`` mass, which is the highest-posterior-density interval
            of a unimodal posterior (computed on the model scale and mapped
            back).

        Returns
        -------
        (low, high) : tuple of float
        """
        level = self.level if level is None else _check_level(level)
        idx = np.array([self._index])
        if kind == "eti":
            x = self._posterior.quantiles([(1 - level) / 2, (1 + level) / 2], idx)[0]
        elif kind == "hpd":
            x = self._posterior.shortest_interval(level, idx)[0]
        else:
            raise ValueError(f"`kind` must be 'eti' or 'hpd'; got {kind!r}.")
        back = np.exp(x) if self.scale == "log" else x
        return float(back[0]), float(back[1])

    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        """The posterior density on its grid, in natural units (for plots)."""
        x, p = self._posterior.grid(self._index)
        if self.scale == "log":
            return np.exp(x), p * np.exp(-x)
        return x, p

    def __repr__(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return (
            f"Estimate({self.quantity!r}: median {self.median:.6g}{unit}, "
            f"{self.level:.0%} interval [{self.low:.6g}, {self.high:.6g}], mean {self.mean:.6g}, sd {self.sd:.6g})"
        )


@attrs.frozen(eq=False, repr=False)
class FusionResult:
    """The result of :func:`credscore.fuse`.

    Attributes
    ----------
    estimates : Table
        One row per quantity: ``quantity, scale, unit, n_claims, n_statements,
        mean, sd, median, mode, low, high, level, log_evidence, grid_attempts,
        resolved``.
    claims : Table
        One row per input claim (nothing is dropped): ``row, quantity, source,
        reported_by, kind, value, low, high, counted, evidence_row,
        p_accurate, status``. ``counted`` is False for a relayed repeat of a
        statement already counted (``evidence_row`` names that claim's row);
        ``status`` is ``'accurate'`` (p ≥ 0.8), ``'doubtful'`` or ``'wild'``
        (p ≤ 0.2).
    sources : Table
        One row per source: ``source, source_kind, reliability_prior,
        reliability`` (posterior mean) ``, reliability_low, reliability_high``
        (equal-tailed credible interval at ``level``) ``, error_scale`` (model
        space: a relative error on log quantities) ``, error_inflation`` (the
        learned factor on the claims' base error scales; 1 without learning)
        ``, n_claims, n_quantities, mean_p_accurate``.
    level : float
    claimset : ClaimSet
        The claims, as validated.
    posterior : GridPosterior
        Every quantity's posterior density on its grid (model space).
    model : ClaimModel
        The model-space claim arrays and weights the posterior was computed from.
    learning : LearningInfo
        Convergence diagnostics of the reliability learning (``enabled`` is
        False when it did not run).
    """

    estimates: Table
    claims: Table
    sources: Table
    level: float
    claimset: Any
    posterior: GridPosterior
    model: Any
    learning: Any = None
    dependence_scores: Any = None
    timeline: Any = None

    def dependence(self):
        """Source × source dependence (copy-detection) scores (:class:`credscore.dependence.Dependence`).

        Computed by :func:`credscore.fuse` when copy detection ran; otherwise
        computed here from the fitted claims, without discounting anything.
        """
        if self.dependence_scores is not None:
            return self.dependence_scores
        from .dependence import Dependence, detect_copies

        acc = np.asarray(self.claims["p_accurate"])[self.model.claim]
        score, shared, coincide, _ = detect_copies(self.claimset.source[self.model.claim], self.claimset.n_sources,
                                                   self.model, acc)
        return Dependence(self.claimset.sources.astype(object), score, shared, coincide)

    def _qindex(self, quantity: str) -> int:
        try:
            return self.claimset.quantity_index(quantity)
        except KeyError:
            known = ", ".join(repr(str(q)) for q in self.claimset.quantities[:10])
            raise KeyError(f"unknown quantity {quantity!r}; known: {known}.") from None

    def estimate(self, quantity: str, date: Any = None) -> Estimate:
        """Posterior summary of one quantity (see :class:`Estimate`).

        With ``date`` (ISO text or a date; needs ``fuse(..., dynamics="drift")``)
        the smoothed posterior of the quantity's value as of that date
        (:mod:`credscore.timeline`); ``mode`` is the grid's most probable value.
        """
        if date is not None:
            return self._estimate_at(quantity, date)
        i = self._qindex(quantity)
        row = self.estimates.row(i)
        return Estimate(
            quantity=str(quantity), mean=row["mean"], median=row["median"], mode=row["mode"], sd=row["sd"],
            low=row["low"], high=row["high"], level=self.level, scale=row["scale"], unit=row["unit"],
            posterior=self.posterior, index=i,
        )

    # ------------------------------------------------------------ drift (credscore.timeline)
    def _timeline_fit(self, quantity: str, dates: Any, level: float | None):
        """Re-fit one quantity's drift model with extra dates, keeping its learned drift weights."""
        from .timeline import fit_timeline

        if self.timeline is None:
            raise ValueError("this result has no drift fit: use fuse(..., dynamics='drift').")
        i = self._qindex(quantity)
        tl = self.timeline
        extra = list(tl.extra_days) + ([] if dates is None else ([dates] if isinstance(dates, str) or not hasattr(dates, "__iter__") else list(dates)))
        from .claims import days_to_date

        extra = [days_to_date(d) if isinstance(d, float) else d for d in extra]
        return i, fit_timeline(self.model, self.claimset, tl.options, level=self.level if level is None else _check_level(level),
                               dates=extra or None, quantities=[i], keep_mass=True,
                               tau_state=(tl.tau_grid, tl.log_tau_prior, tl.log_extra))

    def trajectory(self, quantity: str, dates: Any = None, level: float | None = None) -> Table:
        """The value of one quantity over time (needs ``fuse(..., dynamics="drift")``).

        Parameters
        ----------
        quantity : str
        dates : iterable of date-like, optional
            Extra dates to report (besides the quantity's claim dates and the
            ``dates`` given to ``fuse``).
        level : float, optional
            Interval mass (default: the result's level).

        Returns
        -------
        Table
            One row per date: ``date`` (datetime.date; None for a quantity
            without dated claims) ``, n_claims, median, low, high, mean, sd``
            (smoothed: what all the claims say about that date) ``,
            filtered_median, filtered_low, filtered_high, filtered_mean`` (what
            the claims dated up to then say), in natural units.

        Examples
        --------
        >>> import credscore
        >>> res = credscore.fuse([
        ...     {"quantity": "troops", "source": "NIS", "value": "1,500", "date": "2024-10-18"},
        ...     {"quantity": "troops", "source": "Kyiv", "value": "11,000", "date": "2024-11-08"},
        ... ], dynamics="drift")
        >>> t = res.trajectory("troops", dates=["2024-10-25"])
        >>> [str(d) for d in t["date"]]
        ['2024-10-18', '2024-10-25', '2024-11-08']
        >>> round(float(t["filtered_median"][0]))
        1508
        """
        if self.timeline is None:
            raise ValueError("this result has no drift fit: use fuse(..., dynamics='drift').")
        if dates is None and level is None:
            tl = self.timeline
            i = self._qindex(quantity)
            rows = tl.rows_of(i)
            return Table({k: np.asarray(v)[rows] for k, v in tl.points.data.items() if k != "quantity"})
        _, (tl, _, _) = self._timeline_fit(quantity, dates, level)
        return Table({k: v for k, v in tl.points.data.items() if k != "quantity"})

    def _estimate_at(self, quantity: str, date: Any) -> Estimate:
        from .claims import date_to_days

        try:
            day = date_to_days(date)
        except ValueError as exc:
            raise ValueError(f"`date`: {exc}") from None
        i, (tl, smoothed, _) = self._timeline_fit(quantity, [date], None)
        j = int(np.flatnonzero(tl.days == day)[0])
        row = tl.points.row(j)
        x, p = smoothed.grid(j)
        scale = self.estimates["scale"][i]
        if scale == "log":
            mode = float(np.exp(x[np.argmax(p * np.exp(-x))]))
        else:
            mode = float(x[np.argmax(p)])
        return Estimate(
            quantity=str(quantity), mean=row["mean"], median=row["median"], mode=mode, sd=row["sd"],
            low=row["low"], high=row["high"], level=self.level, scale=scale, unit=self.estimates["unit"][i],
            posterior=smoothed, index=j,
        )

    def agreement(self, quantity: str):
        """Claim × claim agreement of one quantity, a labelled symmetric matrix in [0, 1].

        Rows and columns are the quantity's input claims (labels ``"#row
        source"``); the agreement of two claims is the Bhattacharyya
        coefficient (Bhattacharyya 1943) of their accurate likelihoods
        normalised as densities in model space, or, for a bound, the
        probability that the bound holds under the other claim (see
        :mod:`credscore.agreement`).

        Returns
        -------
        credscore.agreement.AgreementMatrix
            With ``values``, ``labels``, ``rows`` and ``to_dataframe()``.

        Examples
        --------
        >>> import credscore
        >>> res = credscore.fuse([
        ...     {"quantity": "troops", "source": "Kyiv", "value": "11,000"},
        ...     {"quantity": "troops", "source": "blog", "value": "10,900"},
        ...     {"quantity": "troops", "source": "NIS", "value": "1,500"},
        ... ])
        >>> a = res.agreement("troops")
        >>> a.labels.tolist()
        ['#0 Kyiv', '#1 blog', '#2 NIS']
        >>> np.round(a.values, 2)
        array([[1., 1., 0.],
               [1., 1., 0.],
               [0., 0., 1.]])
        """
        from .agreement import agreement_matrix

        return agreement_matrix(self.claimset, self.model, self._qindex(quantity))

    def conflict(self, quantity: str, top: int = 3):
        """Conflict report of one quantity: score, bimodality, heterogeneity, worst pairs and claims.

        Parameters
        ----------
        quantity : str
        top : int
            How many of the least-agreeing pairs and most-likely-wild claims to list.

        Returns
        -------
        credscore.agreement.Conflict

        Examples
        --------
        >>> import credscore
        >>> res = credscore.fuse([
        ...     {"quantity": "troops", "source": "Kyiv", "value": "11,000"},
        ...     {"quantity": "troops", "source": "blog", "value": "10,900"},
        ...     {"quantity": "troops", "source": "NIS", "value": "1,500"},
        ... ])
        >>> c = res.conflict("troops")
        >>> "#2 NIS" in c.pairs[0][:2], round(c.pairs[0][2], 2)
        (True, 0.0)
        >>> c.claims[0][0], round(c.claims[0][1], 2)
        ('#2 NIS', 0.99)
        """
        from .agreement import conflict_report

        if int(top) != top or top < 1:
            raise ValueError("`top` must be a positive integer.")
        return conflict_report(self, self._qindex(quantity), int(top))

    def source_agreement(self):
        """Source × source agreement over shared quantities, with the number of shared quantities.

        Returns
        -------
        credscore.agreement.SourceAgreement
            ``values`` (mean agreement of the two sources' claims, averaged
            over the quantities both state), ``shared`` (how many), ``sources``.
        """
        from .agreement import source_agreement

        return source_agreement(self.claimset, self.model)

    def summary(self, max_claims: int = 50) -> str:
        """A plain-text report: each quantity's estimate, then its claims."""
        lines = [f"credscore fusion: {len(self.claims)} claims, {len(self.estimates)} quantities, "
                 f"{len(self.sources)} sources; {self.level:.0%} equal-tailed credible intervals", ""]
        q_of_claim = self.claims["quantity"]
        for i in range(len(self.estimates)):
            e = self.estimates.row(i)
            unit = f" {e['unit']}" if e["unit"] else ""
            lines.append(
                f"{e['quantity']} ({e['scale']}): {e['median']:,.6g}{unit} "
                f"[{e['low']:,.6g}, {e['high']:,.6g}]  from {e['n_claims']} claims ({e['n_statements']} distinct)"
            )
            idx = np.flatnonzero(q_of_claim == e["quantity"])[:max_claims]
            for j in idx:
                c = self.claims.row(int(j))
                stated = _stated(c)
                relay = f" via {c['reported_by']}" if c["reported_by"] else ""
                rep = "" if c["counted"] else f" (repeat of row {c['evidence_row']})"
                lines.append(f"    {c['status']:<9} p={c['p_accurate']:.2f}  {stated:<22} {c['source']}{relay}{rep}")
            lines.append("")
        return "\n".join(lines).rstrip() + "\n"

    # ------------------------------------------------------------ plots (credscore.plotting, needs matplotlib)
    def plot_forest(self, quantity: str, **kwargs: Any):
        """Forest plot of a quantity's claims against its posterior (:func:`credscore.plotting.plot_forest`).

        Examples
        --------
        >>> import pytest; _ = pytest.importorskip("matplotlib")
        >>> import credscore
        >>> res = credscore.fuse([{"quantity": "q", "source": "a", "value": "11,000"},
        ...                       {"quantity": "q", "source": "b", "value": "10,900"}])
        >>> ax = res.plot_forest("q")
        >>> [t.get_text() for t in ax.get_yticklabels()]
        ['a', 'b']
        """
        from .plotting import plot_forest

        return plot_forest(self, quantity, **kwargs)

    def plot_agreement(self, quantity: str | None = None, **kwargs: Any):
        """Agreement heatmap, claim × claim or source × source (:func:`credscore.plotting.plot_agreement`).

        Examples
        --------
        >>> import pytest; _ = pytest.importorskip("matplotlib")
        >>> import credscore
        >>> res = credscore.fuse([{"quantity": "q", "source": "a", "value": "11,000"},
        ...                       {"quantity": "q", "source": "b", "value": "10,900"}])
        >>> res.plot_agreement("q").images[0].get_array().shape
        (2, 2)
        """
        from .plotting import plot_agreement

        return plot_agreement(self, quantity, **kwargs)

    def plot_reliability(self, **kwargs: Any):
        """Source reliability with credible intervals and prior means (:func:`credscore.plotting.plot_reliability`).

        Examples
        --------
        >>> import pytest; _ = pytest.importorskip("matplotlib")
        >>> import credscore
        >>> res = credscore.fuse([{"quantity": "q", "source": "a", "value": "11,000"},
        ...                       {"quantity": "q", "source": "b", "value": "10,900"}])
        >>> len(res.plot_reliability().get_yticks())
        2
        """
        from .plotting import plot_reliability

        return plot_reliability(self, **kwargs)

    def plot_trajectory(self, quantity: str, **kwargs: Any):
        """A drifting quantity over time with its dated claims (:func:`credscore.plotting.plot_trajectory`).

        Needs ``fuse(..., dynamics="drift")``; raises ValueError otherwise.

        Examples
        --------
        >>> import pytest; _ = pytest.importorskip("matplotlib")
        >>> import credscore
        >>> res = credscore.fuse([
        ...     {"quantity": "q", "source": "a", "value": "1,500", "date": "2024-10-18"},
        ...     {"quantity": "q", "source": "b", "value": "11,000", "date": "2024-11-08"},
        ... ], dynamics="drift")
        >>> res.plot_trajectory("q").get_title()
        'q over time'
        """
        from .plotting import plot_trajectory

        return plot_trajectory(self, quantity, **kwargs)

    def __repr__(self) -> str:
        return f"<FusionResult: {len(self.claims)} claims, {len(self.estimates)} quantities, level={self.level}>"


def _stated(c: Mapping[str, Any]) -> str:
    kind = c["kind"]
    if kind == "range":
        return f"{c['low']:,.6g}–{c['high']:,.6g}"
    prefix = {"point": "", "approx": "~", "upper": "≤ ", "lower": "≥ "}[kind]
    return f"{prefix}{c['value']:,.6g}"
