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

    def to_text(self, max_rows: int = 40, floatfmt: str | None = None, *, detail: bool = False,
                columns: Any = None) -> str:
        """A plain-text rendering, numbers as people read them (the arrays keep the raw numbers).

        Parameters
        ----------
        max_rows : int
            Rows shown (the rest are counted in a last line).
        floatfmt : str, optional
            A :func:`format` spec for every float column (e.g. ``".4g"``),
            overriding the defaults below.
        detail : bool
            Also show the detail columns (:data:`DETAIL_COLUMNS`: model
            scale, level, grid diagnostics, the heterogeneity statistics
            ``Q, I2, H2, tau2``, a claim's raw ``kind, value, low, high``),
            with a note on what the statistics mean. By default they are left
            out and named in a last line.
        columns : sequence of str, optional
            Exactly these columns, in this order.

        Notes
        -----
        Default cell formats (:mod:`credscore.formatting`):

        * an estimate (``median, low, high``, and ``mean, mode`` beside them,
          also ``filtered_*``): to the digits its row's interval supports;
          ``sd`` to two significant digits; ``mean`` and ``sd`` read
          ``heavy tail`` where :func:`~credscore.formatting.moments_meaningful`
          is False (at the table's ``level`` column, else 0.9); a mean
          without an sd beside it (``filtered_mean``) cannot be judged and
          reads ``heavy tail`` too;
        * a claim: one ``stated`` column as written (``"up to 10,000"``);
        * probabilities, reliabilities, agreements: two decimals; residual and
          influence: two decimals with a sign; ``level``: a percentage;
        * other floats: three significant digits; integers with thousands
          separators (row numbers without); booleans ``yes``/``no``; NaN and
          None empty.
        """
        names, notes = self._text_columns(detail, columns)
        n = len(self)
        shown = np.arange(min(n, max_rows))
        cells = {c: self._text_cells(c, shown, floatfmt) for c in names}
        right = {c: c not in self.data or _numeric(self.data[c]) for c in names}
        right["stated"] = False
        widths = {c: max([len(c)] + [len(x) for x in cells[c]]) for c in names}

        def line(values):
            return "  ".join(v.rjust(widths[c]) if right[c] else v.ljust(widths[c]) for c, v in zip(names, values)).rstrip()

        lines = [line(names)]
        lines += [line([cells[c][k] for c in names]) for k in range(len(shown))]
        if n > max_rows:
            lines.append(f"... ({_plural(n - max_rows, 'more row')})")
        lines += notes
        return "\n".join(lines)

    def _text_columns(self, detail: bool, columns: Any) -> tuple[list[str], list[str]]:
        """The columns to_text shows, and the notes below the table."""
        if columns is not None:
            names = [str(c) for c in columns]
            unknown = [c for c in names if c not in self.data and not (c == "stated" and _is_claims(self))]
            if unknown:
                raise KeyError(f"unknown column {unknown[0]!r}; columns: {', '.join(self.columns)}.")
            return names, []
        claims = _is_claims(self)
        names: list[str] = []
        hidden: list[str] = []
        for c in self.columns:
            if c in BOUND_COLUMNS and "bound_side" in self.data and not any(self.data["bound_side"]):
                continue  # no quantity is known only by bounds
            if claims and c == "kind":
                names.append("stated")
            if c in DETAIL_COLUMNS or (claims and c in CLAIM_DETAIL):
                (names if detail else hidden).append(c)
            else:
                names.append(c)
        notes = []
        if hidden:
            notes.append(f"(not shown: {', '.join(hidden)}; to_text(detail=True) shows them)")
        if detail and any(c in names for c in ("Q", "I2", "H2", "tau2")):
            notes.append(HETEROGENEITY_NOTE)
        return names, notes

    def _text_cells(self, name: str, rows: np.ndarray, floatfmt: str | None) -> list[str]:
        """The text of one column's cells at ``rows``."""
        from .formatting import format_claim

        if name == "stated":
            d = self.data
            return [format_claim(str(d["kind"][i]), _py(d["value"][i]), _py(d["low"][i]), _py(d["high"][i]))
                    for i in rows]
        col = np.asarray(self.data[name])
        if floatfmt is not None and np.issubdtype(col.dtype, np.floating):
            return [_fmt_cell(col[i], floatfmt) for i in rows]
        group = _estimate_group(self, name)
        if group is not None:
            return _estimate_cells(self, name, group, rows)
        return [_fmt_cell(col[i], None, name) for i in rows]

    def __repr__(self) -> str:
        return f"<Table: {len(self)} rows × {len(self.columns)} columns>\n" + self.to_text(max_rows=10)


def _py(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    return x


#: Columns that :meth:`Table.to_text` shows only with ``detail=True``.
#: ``mode`` is here because on a log scale with a wide posterior the mode in natural units
#: sits far below the median (15 beside a median of 1,900) and reads as a contradiction.
DETAIL_COLUMNS = frozenset({"scale", "level", "mode", "log_evidence", "grid_attempts", "resolved", "Q", "I2", "H2",
                            "tau2", "filtered_mean", "bound_side", "bound", "p_bound", "limit"})
#: Columns of quantities known only by bounds (:mod:`credscore.bounds`): not named when empty.
BOUND_COLUMNS = frozenset({"bound_side", "bound", "p_bound", "limit"})
#: Raw claim columns summarised by the ``stated`` column of a claims table's text.
CLAIM_DETAIL = frozenset({"kind", "value", "low", "high"})
#: What the heterogeneity columns mean (printed under a detailed table).
HETEROGENEITY_NOTE = (
    "Q, I2, H2, tau2: how much the quantity's point claims disagree beyond their stated precision "
    "(random-effects meta-analysis in model space): I2 is the share (%) of their spread that precision "
    "does not explain, H2 the ratio of the spread to what precision explains, tau2 the extra variance, "
    "Q the test statistic.")
#: Columns printed as probabilities (two decimals).
PROBABILITY_COLUMNS = frozenset({
    "p_accurate", "p_wild", "reliability", "reliability_prior", "reliability_low", "reliability_high",
    "mean_p_accurate", "consensus_agreement", "share_agreeing", "conflict", "agreement", "p_exact", "exact_share",
    "p_bound",
})
#: Columns printed as signed diagnostics (two decimals, with a sign).
SIGNED_COLUMNS = frozenset({"residual", "influence"})


def _plural(n: int, noun: str) -> str:
    from .formatting import plural

    return plural(n, noun)


def _numeric(col: Any) -> bool:
    col = np.asarray(col)
    if np.issubdtype(col.dtype, np.number) and not np.issubdtype(col.dtype, np.bool_):
        return True
    return False


def _is_claims(t: "Table") -> bool:
    return all(c in t.data for c in ("kind", "value", "low", "high"))


def _estimate_group(t: "Table", name: str) -> str | None:
    """The prefix (``''`` or ``'filtered_'``) of the estimate group ``name`` belongs to, if any."""
    for prefix in ("filtered_", ""):
        if name.startswith(prefix) and name[len(prefix):] in ("median", "low", "high", "mean", "mode", "sd"):
            if all(prefix + k in t.data for k in ("median", "low", "high")):
                return prefix
    return None


def _estimate_cells(t: "Table", name: str, prefix: str, rows: np.ndarray) -> list[str]:
    """Cells of an estimate column: the digits each row's interval supports; moments only where meaningful."""
    from .formatting import _finite, _interval_place, _place_beside, _render, format_number, moments_meaningful

    d = t.data
    lo, hi = np.asarray(d[prefix + "low"], float)[rows], np.asarray(d[prefix + "high"], float)[rows]
    x = np.asarray(d[name], float)[rows]
    kind = name[len(prefix):]
    shown = np.ones(len(rows), bool)
    if kind in ("mean", "sd"):
        if prefix + "mean" in d and prefix + "sd" in d:
            level = np.asarray(d["level"], float)[rows] if "level" in d else 0.9
            shown = moments_meaningful(np.asarray(d[prefix + "mean"], float)[rows],
                                       np.asarray(d[prefix + "sd"], float)[rows], lo, hi, level)
        else:  # a mean without its sd cannot be judged
            shown[:] = False
    side = d["bound_side"][rows] if prefix == "" and "bound_side" in d else np.full(len(rows), None)
    out = []
    for k in range(len(rows)):
        v = _finite(x[k])
        if side[k] is not None:  # known only by bounds: the bound and the limit, no invented median
            out.append(_bound_cell(kind, side[k], float(d["bound"][rows[k]]), float(d["limit"][rows[k]])))
        elif v is None:
            out.append("")
        elif not shown[k]:
            out.append("heavy tail")
        elif kind == "sd":
            out.append(format_number(v, sig=2))
        elif np.isinf(v):
            out.append(_render(v, 0))
        else:
            out.append(_render(v, _place_beside(v, _interval_place(_finite(lo[k]), _finite(hi[k])))))
    return out


def _bound_cell(kind: str, side: str, bound: float, limit: float) -> str:
    """The estimate cell ``kind`` of a quantity known only by a bound (:mod:`credscore.bounds`)."""
    from .formatting import format_number

    if kind == "median":
        return ("≥ " if side == "lower" else "≤ ") + format_number(bound)
    if kind not in ("low", "high"):
        return ""
    if (kind == "low") == (side == "lower"):
        return format_number(bound)
    return format_number(limit) if np.isfinite(limit) else "no limit"


def _fmt_cell(x: Any, floatfmt: str | None, name: str = "") -> str:
    """One cell: with ``floatfmt`` floats use that spec; otherwise the column's default (see Table.to_text)."""
    from .formatting import format_claim, format_number, format_probability, format_signed

    x = _py(x)
    if x is None:
        return ""
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        if math.isnan(x):
            return ""
        if floatfmt is not None:
            return format(x, floatfmt)
        if name in PROBABILITY_COLUMNS:
            return format_probability(x)
        if name in SIGNED_COLUMNS:
            return format_signed(x)
        if name == "level":
            return f"{x:.0%}"
        if name in CLAIM_DETAIL:
            return format_claim("point", x, None, None)
        return format_number(x, sig=3)
    if isinstance(x, int):
        return str(x) if name.endswith("row") else f"{x:,}"
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
    #: the posterior's units are 2**exponent natural units (:mod:`credscore.rescale`)
    _exponent: int = attrs.field(alias="exponent", default=0)
    #: a quantity known only by bounds (:mod:`credscore.bounds`): ``'lower'`` or ``'upper'``, the
    #: strongest bound, the probability that it holds and the known end on its open side
    bound_side: str | None = None
    bound: float = math.nan
    p_bound: float = math.nan
    limit: float = math.nan

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
        if getattr(self._posterior, "atoms", None) is not None:  # an end on a stated value comes back as stated
            back = self._posterior.atoms.natural(x[None, :], idx, np.array([self.scale == "log"]))[0]
        back = np.ldexp(back, self._exponent)
        return float(back[0]), float(back[1])

    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        """The posterior density on its grid, in natural units (for plots)."""
        x, p = self._posterior.grid(self._index)
        if self.scale == "log":
            return np.exp(x), p * np.exp(-x)
        return np.ldexp(x, self._exponent), np.ldexp(p, -self._exponent)

    def __repr__(self) -> str:
        """Median and interval to the digits the interval supports; mean and sd only where meaningful.

        Examples
        --------
        >>> import credscore
        >>> res = credscore.fuse([{"quantity": "t", "source": "a", "value": 20.0, "se": 1.0, "scale": "linear",
        ...                        "unit": "°C"}], credscore.SourcePriors(default=credscore.Reliability(1.0)))
        >>> res.estimate("t")
        Estimate('t': median 20.0 °C, 90% interval [15.2, 24.8], mean 20.0, sd 3.1)
        """
        from .formatting import format_estimate_parts, format_number, moments_meaningful

        if self.bound_side is not None:
            from .bounds import format_bound

            return f"Estimate({self.quantity!r}: {format_bound(self.bound_side, self.bound, self.limit, self.p_bound, self.unit)})"
        unit = f" {self.unit}" if self.unit else ""
        med, lo, hi = format_estimate_parts(self.median, self.low, self.high)
        text = f"Estimate({self.quantity!r}: median {med}{unit}, {self.level:.0%} interval [{lo}, {hi}]"
        if moments_meaningful(self.mean, self.sd, self.low, self.high, self.level):
            mean = format_estimate_parts(self.mean, self.low, self.high)[0]
            return text + f", mean {mean}, sd {format_number(self.sd, sig=2)})"
        return text + "; mean and sd not shown: a heavy tail dominates them)"


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
        (equal-tailed credible interval at ``level``; the probability that a
        claim is exact or noisy rather than wild) ``, exact_share`` (the mean
        probability that its claims state the truth to their rounding)
        ``, error_scale, bias`` (of its noisy claims on its most frequent
        attribute, model space: relative on log quantities)
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
    #: per quantity, the power of two of the model's units (:mod:`credscore.rescale`; None: all 0)
    exponent: Any = None

    def _k(self, i: int) -> int:
        return 0 if self.exponent is None else int(self.exponent[i])

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
            posterior=self.posterior, index=i, exponent=self._k(i),
            **{c: row[c] for c in ("bound_side", "bound", "p_bound", "limit") if c in row},
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
        from .rescale import model_claims, natural_timeline

        fit, smoothed, filtered = fit_timeline(
            self.model, model_claims(self), tl.options, level=self.level if level is None else _check_level(level),
            dates=extra or None, quantities=[i], keep_mass=True, tau_state=(tl.tau_grid, tl.log_tau_prior, tl.log_extra))
        if self.exponent is not None:
            fit = natural_timeline(fit, self.exponent, [i])
        return i, (fit, smoothed, filtered)

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
            mode = float(np.ldexp(x[np.argmax(p)], self._k(i)))
        return Estimate(
            quantity=str(quantity), mean=row["mean"], median=row["median"], mode=mode, sd=row["sd"],
            low=row["low"], high=row["high"], level=self.level, scale=scale, unit=self.estimates["unit"][i],
            posterior=smoothed, index=j, exponent=self._k(i),
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
        i = self._qindex(quantity)
        c = conflict_report(self, i, int(top))
        k2 = 2 * self._k(i)  # τ² of a rescaled quantity, back in natural units
        return attrs.evolve(c, tau2=float(np.ldexp(c.tau2, k2)), tau2_ci=tuple(float(np.ldexp(v, k2)) for v in c.tau2_ci)) if k2 else c

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

    def predictive(self, level: float | None = None) -> Table:
        """Where one more independent report of each quantity would land: the posterior
        predictive interval of a typical accurate source of its attribute
        (:mod:`credscore.predictive`).

        Use it, not the credible interval of the truth, to compare the estimates with a
        reference that is itself a report (another agency's figure, a gold standard taken from
        one more source): the reference differs from the truth by its own error.

        Returns
        -------
        Table
            ``quantity, median, low, high`` (the estimates) ``, report_low, report_high, level``.
        """
        from .predictive import predictive_table

        return predictive_table(self, level)

    def check(self):
        """The truth-free check of the fit: every claim predicted from the other claims of its
        quantity (leave-one-claim-out log score and PIT, exact on the grid; :mod:`credscore.check`).

        Returns
        -------
        FitCheck
            ``summary()`` says in words whether the model is calibrated,
            overconfident or too cautious about what the sources say.
        """
        from .check import check_fit

        return check_fit(self)

    def summary(self, max_claims: int = 50) -> str:
        """A plain-text report: each quantity's estimate and interval, then its claims as written.

        Numbers are printed to the digits each interval supports
        (:mod:`credscore.formatting`); each claim line says whether what it
        states holds given the estimate (``holds``, ``contradicted`` or ``too
        vague to tell``), how the data moved its probability of being accurate
        from its source's prior (``supported``, ``neutral``, ``undermined``;
        :mod:`credscore.statuses`), that probability ``p``, what it states, its
        source and the outlet that relayed it.

        Parameters
        ----------
        max_claims : int
            Claims listed per quantity (the rest are counted); 0 lists none
            (the estimates alone).

        Examples
        --------
        >>> import credscore
        >>> res = credscore.fuse([{"quantity": "troops", "source": "Kyiv", "value": "11,000", "unit": "soldiers"},
        ...                       {"quantity": "troops", "source": "NIS", "kind": "upper", "value": "12,000"}])
        >>> print(res.summary(), end="")
        2 claims about 1 quantity from 2 sources; 90% credible intervals; p: probability that a claim is accurate
        (supported / undermined: the data raised / lowered p from its source's prior reliability)
        <BLANKLINE>
        troops: 10,500 [570, 12,500] soldiers, from 2 claims
            holds             neutral    p=0.84  11,000              Kyiv
            holds             neutral    p=0.84  up to 12,000        NIS
        """
        from .formatting import format_estimate, format_probability, plural

        if isinstance(max_claims, bool) or int(max_claims) != max_claims or max_claims < 0:
            raise ValueError(f"`max_claims` must be a non-negative integer; got {max_claims!r}.")
        max_claims = int(max_claims)
        lines = [f"{plural(len(self.claims), 'claim')} about {plural(len(self.estimates), 'quantity', 'quantities')} "
                 f"from {plural(len(self.sources), 'source')}; {self.level:.0%} credible intervals; "
                 "p: probability that a claim is accurate", "(supported / undermined: the data raised / lowered p "
                 "from its source's prior reliability)", ""]
        q_of_claim = self.claims["quantity"]
        for i in range(len(self.estimates)):
            e = self.estimates.row(i)
            n, n_stmt = e["n_claims"], e["n_statements"]
            repeats = f" ({n_stmt} distinct, {plural(n - n_stmt, 'relayed repeat')})" if n_stmt < n else ""
            if e.get("bound_side") is not None:  # known only by bounds (credscore.bounds)
                from .bounds import format_bound

                answer = format_bound(e["bound_side"], e["bound"], e["limit"], e["p_bound"], e["unit"])
            else:
                answer = format_estimate(e["median"], e["low"], e["high"], e["unit"])
            lines.append(f"{e['quantity']}: {answer}, from {plural(n, 'claim')}{repeats}")
            if e.get("dynamics") is not None and np.isfinite(e.get("drift_log_bf", math.nan)):
                lines.append("    " + self._dynamics_note(i, e))
            all_idx = np.flatnonzero(q_of_claim == e["quantity"])
            for j in all_idx[:max_claims]:
                c = self.claims.row(int(j))
                relay = f" via {c['reported_by']}" if c["reported_by"] else ""
                rep = "" if c["counted"] else f" (repeat of row {c['evidence_row']})"
                lines.append(f"    {c['holds']:<17} {c['evidence']:<10} p={format_probability(c['p_accurate'])}  "
                             f"{_stated(c):<19} "
                             f"{c['source']}{relay}{rep}")
            if len(all_idx) > max_claims > 0:
                lines.append(f"    ... ({plural(len(all_idx) - max_claims, 'more claim')})")
            lines.append("")
        return "\n".join(lines).rstrip() + "\n"

    def _dynamics_note(self, i: int, e: dict) -> str:
        """What the drift check chose for quantity ``i`` (:mod:`credscore.dynamics`), in words."""
        from .formatting import format_estimate

        bf = e.get("drift_log_bf", math.nan)
        auto = bool(getattr(self.timeline.options, "auto", False))
        if e["dynamics"] != "drift":
            return f"(a fixed value: the data do not favour a drifting one, Bayes factor {math.exp(bf):.2f})"
        why = f"chosen by the data, Bayes factor {math.exp(bf):.1f} over a fixed value" if auto else "drift model"
        rows = self.timeline.rows_of(i)
        pts = self.timeline.points
        last = rows.stop - 1
        dated = [j for j in range(rows.start, rows.stop) if pts["date"][j] is not None and pts["n_claims"][j] > 0]
        if dated:
            last = dated[-1]
        latest = format_estimate(pts["median"][last], pts["low"][last], pts["high"][last], e["unit"])
        return (f"(the value changes over time ({why}): each claim is judged against the value at its own date; "
                f"on {pts['date'][last]}: {latest})")

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

    def to_html(self, **kwargs: Any) -> str:
        """The result as one self-contained HTML page (:func:`credscore.report.to_html`).

        Examples
        --------
        >>> import credscore
        >>> res = credscore.fuse([{"quantity": "q", "source": "a", "value": "11,000"},
        ...                       {"quantity": "q", "source": "b", "value": "10,900"}])
        >>> res.to_html(plots=False).startswith("<!DOCTYPE html>")
        True
        """
        from .report import to_html

        return to_html(self, **kwargs)

    def __repr__(self) -> str:
        return f"<FusionResult: {len(self.claims)} claims, {len(self.estimates)} quantities, level={self.level}>"


def _stated(c: Mapping[str, Any]) -> str:
    """What a claims-table row states, as written (``"up to 10,000"``; :func:`credscore.formatting.format_claim`)."""
    from .formatting import format_claim

    return format_claim(str(c["kind"]), c["value"], c["low"], c["high"])
