"""A self-contained HTML report of a fusion result (``python -m credscore report``).

:func:`to_html` turns a :class:`~credscore.FusionResult` into one HTML page
that can be sent by e-mail and opened offline: no network access, no external
file, styles and plots inline. Per quantity it gives

* the answer in words and figures: the posterior median and the credible
  interval at the result's level, rounded to the precision the interval
  supports;
* the forest plot (:func:`credscore.plotting.plot_forest`) and, for a result
  fitted with drift whose quantity has claims on two dates or more, the
  trajectory (:func:`credscore.plotting.plot_trajectory`), drawn as inline SVG
  when matplotlib is installed; without it, a note says so and the tables
  below give the same numbers;
* every claim (who, via whom, what, when, how likely accurate);
* the conflicts (:meth:`FusionResult.conflict <credscore.FusionResult.conflict>`)
  in words: who disagrees with whom, by how much, and whom the data believe;

and, for the whole result, each source's reliability before and after the
data. Every piece of user text (quantity and source names, units, notes) is
HTML-escaped. The page's Content-Security-Policy allows no network request and
runs only its own two inline scripts (by hash), which make the tables sortable
and mark ``<body data-report-script="ok">`` when they ran.

The command line:
``python -m credscore report claims.csv [--priors priors.csv] --out report.html``
(:func:`add_report_parser`, :func:`run_report`).

Examples
--------
>>> import credscore
>>> res = credscore.fuse([
...     {"quantity": "troops", "source": "Kyiv", "value": "11,000", "unit": "soldiers"},
...     {"quantity": "troops", "source": "blog", "value": "10,900"},
...     {"quantity": "troops", "source": "NIS", "value": "1,500"},
... ])
>>> page = to_html(res, plots=False)
>>> page.startswith("<!DOCTYPE html>"), 'data-quantity="troops"' in page
(True, True)
>>> "http://" in page or "https://" in page
False
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import io
import math
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

from .formatting import format_claim, format_estimate_parts, format_number, format_probability, plural

__all__ = ["to_html", "write_report", "add_report_parser", "run_report"]

_PLOT_MISSING = ("Plots need matplotlib (pip install 'credscore[plot]'); "
                 "the tables give the same numbers.")


# --------------------------------------------------------------------------- numbers
def _parts(median: float, low: float, high: float) -> tuple[str, str, str]:
    """Median and interval to the digits the interval supports (:mod:`credscore.formatting`)."""
    return format_estimate_parts(median, low, high)


def _pct(p: float) -> str:
    return "n/a" if not math.isfinite(p) else f"{100 * p:.0f}%"


# --------------------------------------------------------------------------- plots
def _matplotlib_figure():
    """matplotlib's Figure class, or None when matplotlib is not installed."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    return Figure


_SVG_PROLOGUE = re.compile(r"\A.*?(?=<svg\b)", re.S)
_SVG_METADATA = re.compile(r"<metadata>.*?</metadata>\s*|<!--.*?-->\s*", re.S)
_SVG_XMLNS = re.compile(r'\s+xmlns(?::\w+)?="[^"]*"')
_SVG_IDS = re.compile(r'(\bid="|href="#|url\(#)([^")]+)')


def _svg(fig, prefix: str) -> str:
    """A matplotlib figure as an inline ``<svg>`` element.

    Drops the XML prologue, the metadata, the comments and the namespace
    declarations (HTML needs none of them, and they hold the only URLs), and
    prefixes every id and reference so that several figures can share a page.
    """
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "credscore"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = _SVG_PROLOGUE.sub("", buf.getvalue(), count=1)
    svg = _SVG_METADATA.sub("", svg)
    svg = _SVG_XMLNS.sub("", svg)
    svg = _SVG_IDS.sub(lambda m: f"{m.group(1)}{prefix}-{m.group(2)}", svg)
    return svg.replace("<svg ", f'<svg role="img" class="plot" ', 1)


def _draw(kind: str, Figure, figsize, prefix: str, draw) -> str:
    """Draw with ``draw(ax)`` on a new figure and return it as inline SVG (no pyplot state)."""
    fig = Figure(figsize=figsize, layout="constrained")
    ax = fig.add_subplot()
    draw(ax)
    legend = ax.get_legend()
    if legend is not None:  # below the whole figure, clear of the axis label (constrained layout makes room)
        handles, labels = ax.get_legend_handles_labels()
        legend.remove()
        try:
            fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), frameon=False,
                       fontsize="small")
        except ValueError:  # matplotlib < 3.7 has no "outside" locations
            ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=len(labels),
                      frameon=False, fontsize="small")
    _literal_dollars(ax)
    return f'<figure class="{kind}">{_svg(fig, prefix)}</figure>'


_DOLLAR = re.compile(r"(?<!\\)\$")


def _literal_dollars(ax) -> None:
    """Show every "$" of the user's text (names, units) as a dollar, not as mathtext."""
    from matplotlib.ticker import FixedFormatter

    legend = ax.get_legend()
    for t in [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.texts, *(legend.get_texts() if legend else [])]:
        if "$" in t.get_text():
            t.set_text(_DOLLAR.sub(r"\\$", t.get_text()))
    for axis in (ax.xaxis, ax.yaxis):
        f = axis.get_major_formatter()
        if isinstance(f, FixedFormatter):
            f.seq = [_DOLLAR.sub(r"\\$", str(s)) for s in f.seq]


# --------------------------------------------------------------------------- html pieces
def _e(x: Any) -> str:
    return html.escape("" if x is None else str(x), quote=True)


def _cell(text: str, sort: float | str | None = None, cls: str | None = None) -> str:
    attrs = ""
    if sort is not None:
        s = sort if isinstance(sort, str) else ("" if not math.isfinite(sort) else repr(float(sort)))
        attrs += f' data-sort="{_e(s)}"'
    if cls:
        attrs += f' class="{cls}"'
    return f"<td{attrs}>{text}</td>"


def _table(cls: str, header: list[str], rows: list[str], caption: str | None = None) -> str:
    cap = f"<caption>{caption}</caption>" if caption else ""
    head = "".join(f"<th scope=\"col\">{h}</th>" for h in header)
    return (f'<table class="{cls} sortable">{cap}<thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


def _unit(u: Any) -> str:
    return f" {u}" if u else ""


def _claim_rows(result, rows: np.ndarray) -> tuple[list[str], list[str]]:
    """Table rows and notes of the claims at ``rows`` (input order)."""
    from .claims import days_to_date

    c, cs = result.claims, result.claimset
    kind = np.asarray(c["kind"]).astype(str)
    value, low, high = (np.asarray(c[k], float) for k in ("value", "low", "high"))
    p = np.asarray(c["p_accurate"], float)
    status = np.asarray(c["status"]).astype(str)
    counted = np.asarray(c["counted"], bool)
    ev = np.asarray(c["evidence_row"])
    row_id = np.asarray(c["row"])
    out, notes = [], []
    for r in rows:
        day = cs.date[r]
        date = days_to_date(float(day)) if math.isfinite(day) else None
        via = c["reported_by"][r]
        repeat = "" if counted[r] else f' <span class="repeat">(repeat of #{_e(ev[r])}, counted once)</span>'
        out.append(
            f'<tr class="status-{_e(status[r])}">'
            + _cell(f"#{_e(row_id[r])}", float(row_id[r]))
            + _cell(_e(c["source"][r]))
            + _cell(_e(via) if via else "")
            + _cell(_e(format_claim(kind[r], value[r], low[r], high[r])) + repeat,
                    float(value[r]) if math.isfinite(value[r]) else float(0.5 * (low[r] + high[r])))
            + _cell(_e(date) if date else "", str(date) if date else "")
            + _cell(_pct(p[r]), float(p[r]), "num")
            + _cell(_e(status[r]))
            + "</tr>")
        note = cs.note[r]
        if note:
            notes.append(f"<li><strong>#{_e(row_id[r])} {_e(c['source'][r])}</strong>: {_e(note)}</li>")
    return out, notes


def _answer(e: dict, n_sources: int, only_bounds: bool) -> str:
    med, lo, hi = _parts(e["median"], e["low"], e["high"])
    u = _e(_unit(e["unit"]))
    n, k = int(e["n_claims"]), int(e["n_statements"])
    claims = plural(n, "claim")
    if k != n:
        claims += f" ({plural(k, 'distinct statement')})"
    who = "one source" if n_sources == 1 else plural(n_sources, "source")
    if e.get("bound_side") is not None:  # known only by bounds: what the text output says, no median
        from .bounds import format_bound
        said = format_bound(e["bound_side"], e["bound"], e["limit"], e["p_bound"], e["unit"])
        text = (f'<p class="answer"><strong class="bound">{_e(said)}</strong>.</p>'
                f'<p class="basis">From {claims} by {who}.')
    else:
        text = (f'<p class="answer"><strong>About <span class="median">{med}</span>{u}</strong>; '
                f'{e["level"]:.0%} credible interval <span class="interval">{lo} to {hi}</span>{u}.</p>'
                f'<p class="basis">From {claims} by {who}.')
    if k == 1:
        text += (" A single statement: the interval mostly reflects how far that one source is "
                 "trusted, not a check against other sources.")
    if only_bounds and e.get("bound_side") is None:
        text += (" Only bounds were stated (“up to”, “more than”): the median is not a figure any "
                 "source gave, and the interval leans on the default prior.")
    return text + "</p>"


def _who(r: dict) -> str:
    return f"<strong>{_e(r['source'])}</strong> (#{_e(r['row'])})"


def _conflict_html(result, quantity: str, top: int, log: bool) -> str:
    """Conflicts in words: the pairs of claims that cannot both be true, and whom the data believe."""
    from .__main__ import claims_apart, conflict_pairs  # the command line's rule and words, shared

    from .agreement import AGREE_AT

    c = result.conflict(quantity, top=top)
    pairs = conflict_pairs(result, quantity)
    drifts = "dynamics" in result.estimates and \
        result.estimates["dynamics"][result.claimset.quantity_index(quantity)] == "drift"
    if not pairs:
        words = "The claims agree: no two of them contradict each other."
        if drifts:
            words = ("The claims agree: no two claims of the same date contradict each other (the value changes "
                     "over time; each claim is judged against the value at its own date).")
    else:
        words = (f"{plural(len(pairs), 'pair')} of claims cannot both be true (agreement below {AGREE_AT:g} on a "
                 "scale where 0 means irreconcilable and 1 identical).")
    head = (f'<p class="conflict-score">{words} On average the data treat {_pct(c.score)} of the statements as wild'
            + ("; the estimate has two separate peaks." if c.bimodal else ".") + "</p>")
    items = []
    for p in pairs[:top]:
        a, b = (p["b"], p["a"]) if p["believed"] == "a" else (p["a"], p["b"])  # the doubted claim first
        how = claims_apart(a, b, log)
        line = (f"{_who(a)} says {_e(format_claim(a['kind'], a['value'], a['low'], a['high']))}; {_who(b)} says "
                f"{_e(format_claim(b['kind'], b['value'], b['low'], b['high']))}: {_e(how)}{', ' if how else ''}"
                f"agreement {p['agreement']:.2f}. ")
        if p["believed"] is None:
            line += (f"The data cannot tell which is right (probability of being wild {_pct(a['p_wild'])} for "
                     f"{_e(a['source'])}, {_pct(b['p_wild'])} for {_e(b['source'])}).")
        else:
            line += (f"The data believe {_e(b['source'])} (probability of being wild {_pct(b['p_wild'])}, against "
                     f"{_pct(a['p_wild'])} for {_e(a['source'])}).")
        items.append(f'<li class="conflict-pair">{line}</li>')
    more = f"<p>… and {len(pairs) - top:,} more.</p>" if len(pairs) > top else ""
    body = f'<ul class="conflicts">{"".join(items)}</ul>{more}' if items else ""
    detail = ""
    if c.k >= 2 and math.isfinite(c.I2):
        detail = (f"<details><summary>Statistics</summary><p>Random-effects meta-analysis of the {c.k} point "
                  f"claims (REML, model space): I² = {c.I2:.0f}% of their spread is beyond what their "
                  f"stated precision explains (Q = {c.Q:.3g}, H² = {c.H2:.3g}, τ² = {c.tau2:.3g}, "
                  f"95% interval {c.tau2_ci[0]:.3g} to {c.tau2_ci[1]:.3g}).</p></details>")
    return f'<div class="conflict"><h3>Conflicts</h3>{head}{body}{detail}</div>'


def _trajectory_table(result, quantity: str, unit: Any) -> str:
    t = result.trajectory(quantity)
    rows = []
    for r in t.rows():
        if r["date"] is None:
            continue
        med, lo, hi = _parts(r["median"], r["low"], r["high"])
        fmed, flo, fhi = _parts(r["filtered_median"], r["filtered_low"], r["filtered_high"])
        rows.append("<tr>" + _cell(_e(r["date"]), str(r["date"]))
                    + _cell(str(r["n_claims"]), float(r["n_claims"]), "num")
                    + _cell(f"{med} ({lo} to {hi})", float(r["median"]), "num")
                    + _cell(f"{fmed} ({flo} to {fhi})", float(r["filtered_median"]), "num") + "</tr>")
    return _table("trajectory", ["Date", "Claims", "Known now (interval)", "Known then (interval)"], rows,
                  f"Value over time{' (' + _e(unit) + ')' if unit else ''}: “known now” uses every claim, "
                  f"“known then” only the claims dated up to that day; {result.level:.0%} intervals.")


def _sources_html(result, Figure) -> str:
    s = result.sources
    rel = np.asarray(s["reliability"], float)
    prior = np.asarray(s["reliability_prior"], float)
    lo, hi = np.asarray(s["reliability_low"], float), np.asarray(s["reliability_high"], float)
    rows = []
    for i in np.argsort(-rel, kind="stable"):
        d = rel[i] - prior[i]
        change = "raised" if d > 0.05 else ("lowered" if d < -0.05 else "about the same")
        kind = s["source_kind"][i] if "source_kind" in s else None
        rows.append("<tr>" + _cell(_e(s["source"][i])) + _cell(_e(kind) if kind else "")
                    + _cell(_pct(prior[i]), float(prior[i]), "num")
                    + _cell(f"{_pct(rel[i])} ({_pct(lo[i])} to {_pct(hi[i])})", float(rel[i]), "num")
                    + _cell(change, float(d), "nowrap") + _cell(str(s["n_claims"][i]), float(s["n_claims"][i]), "num")
                    + _cell(str(s["n_quantities"][i]), float(s["n_quantities"][i]), "num") + "</tr>")
    table = _table("sources", ["Source", "Kind", "Trust before", f"Trust after the data ({result.level:.0%} interval)",
                               "Change", "Claims", "Quantities"], rows,
                   "Reliability: the probability that a claim by the source is accurate rather than wild.")
    plot = ""
    if Figure is not None:
        n = min(len(rel), 40)
        from .plotting import plot_reliability

        plot = _draw("reliability", Figure, (8.5, 2.0 + 0.32 * n), "rel", lambda ax: plot_reliability(result, ax=ax))
    return f'<section id="sources" class="sources"><h2>Sources</h2>{plot}{table}</section>'


_STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1b1b1b;
background:#fff;max-width:1100px;margin:0 auto;padding:1.5em}
h1{font-size:1.6em;margin:.2em 0}h2{margin-top:1.6em;border-bottom:2px solid #ddd;padding-bottom:.2em}
h3{font-size:1.05em;margin:1.2em 0 .3em}
.answer{font-size:1.25em;margin:.4em 0}.basis,.lead{color:#444}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em}caption{text-align:left;color:#555;padding:.3em 0}
th,td{border-bottom:1px solid #e3e3e3;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f4f4f4;cursor:pointer;user-select:none}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.num,td.nowrap{white-space:nowrap}
tr.status-wild td{background:#fde8e6}tr.status-doubtful td{background:#fff6dc}
.repeat{color:#777;font-size:.9em}figure{margin:.6em 0}svg.plot{max-width:100%;height:auto}
.no-plot{color:#7a4b00;background:#fff6dc;padding:.4em .7em;border-radius:4px}
section.quantity{page-break-inside:avoid}details{margin:.4em 0}footer{margin-top:2.5em;color:#666;font-size:.88em}
"""

# Runs first: records any script error on <html data-script-errors="...">.
_GUARD = """window.addEventListener("error", function (ev) {
  var el = document.documentElement, prev = el.getAttribute("data-script-errors");
  el.setAttribute("data-script-errors", (prev ? prev + " | " : "") + String(ev.message));
});"""

# Runs last: sortable tables, then marks <body data-report-script="ok">.
_SCRIPT = """(function () {
  "use strict";
  function key(td) {
    var s = td.getAttribute("data-sort");
    if (s === null) { return td.textContent.trim().toLowerCase(); }
    var x = parseFloat(s);
    return isNaN(x) ? s.toLowerCase() : x;
  }
  var tables = document.querySelectorAll("table.sortable");
  Array.prototype.forEach.call(tables, function (table) {
    var ths = table.querySelectorAll("thead th");
    Array.prototype.forEach.call(ths, function (th, col) {
      th.addEventListener("click", function () {
        var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
        var asc = th.getAttribute("aria-sort") !== "ascending";
        rows.sort(function (a, b) {
          var x = key(a.cells[col]), y = key(b.cells[col]);
          if (typeof x !== typeof y) { x = String(x); y = String(y); }
          return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
        });
        rows.forEach(function (r) { body.appendChild(r); });
        Array.prototype.forEach.call(ths, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      });
    });
  });
  var n = document.querySelectorAll("section.quantity").length;
  document.body.setAttribute("data-quantities-rendered", String(n));
  document.body.setAttribute("data-report-script", "ok");
})();"""


def _csp() -> str:
    hashes = " ".join("'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
                      for s in (_GUARD, _SCRIPT))
    return (f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; img-src data:; "
            "font-src data:; base-uri 'none'; form-action 'none'")


def _check_positive_int(name: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"`{name}` must be a positive integer; got {v!r}.")
    return int(v)


# --------------------------------------------------------------------------- the page
def to_html(
    result,
    *,
    title: str | None = None,
    plots: bool | None = None,
    top: int = 5,
    max_claims: int = 200,
    max_plots: int = 60,
) -> str:
    """The fusion result as one self-contained HTML page.

    Parameters
    ----------
    result : FusionResult
    title : str, optional
        The page's heading (default: "credscore report").
    plots : bool, optional
        ``None`` (default): inline SVG plots when matplotlib is installed, a
        note otherwise. ``True``: plots, or ImportError without matplotlib.
        ``False``: tables only.
    top : int
        Conflicting pairs of claims listed per quantity (pairs whose
        agreement is below :data:`credscore.agreement.AGREE_AT`, lowest
        first; the rest are counted).
    max_claims : int
        Claims listed per quantity (the rest are counted).
    max_plots : int
        Quantities that get plots (the first ones in the result's order); the
        others get tables only, so that a large fit gives a page a browser
        can open.

    Returns
    -------
    str
        The HTML document: no URL, no external resource, no network request.

    Raises
    ------
    ImportError
        With ``plots=True`` and no matplotlib.
    ValueError
        For a bad ``top``, ``max_claims`` or ``max_plots``.

    Examples
    --------
    >>> import credscore
    >>> res = credscore.fuse([{"quantity": "pay <USD>", "source": "A & B", "value": "2,000"},
    ...                       {"quantity": "pay <USD>", "source": "C", "value": "2,100"}])
    >>> page = to_html(res, plots=False)
    >>> "pay &lt;USD&gt;" in page, "A &amp; B" in page, "<USD>" in page
    (True, True, False)
    """
    top = _check_positive_int("top", top)
    max_claims = _check_positive_int("max_claims", max_claims)
    if isinstance(max_plots, bool) or not isinstance(max_plots, (int, np.integer)) or max_plots < 0:
        raise ValueError(f"`max_plots` must be a non-negative integer; got {max_plots!r}.")
    Figure = None
    if plots is None or plots:
        Figure = _matplotlib_figure()
        if Figure is None and plots:
            raise ImportError("plots in the report need matplotlib: pip install 'credscore[plot]'.")
    from . import __version__
    from .plotting import plot_forest, plot_trajectory

    est, cs, claims = result.estimates, result.claimset, result.claims
    nq = len(est)
    # the claims of each quantity, in input order (one stable sort, no loop per claim)
    order = np.argsort(cs.quantity, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(cs.quantity, minlength=nq))])
    src = np.asarray(cs.source)
    kind = np.asarray(claims["kind"]).astype(str)
    bound_kind = (kind == "upper") | (kind == "lower")
    days = np.asarray(cs.date, float)
    drift = getattr(result, "timeline", None) is not None

    glance, sections = [], []
    for i in range(nq):
        e = est.row(i)
        q = str(e["quantity"])
        rows = order[bounds[i]:bounds[i + 1]]
        n_src = int(np.unique(src[rows]).size)
        counted = rows[np.asarray(claims["counted"], bool)[rows]]
        only_bounds = bool(bound_kind[counted].all()) if counted.size else False
        sid = f"q{i + 1}"
        med, lo, hi = _parts(e["median"], e["low"], e["high"])
        if e.get("bound_side") is not None:  # known only by bounds: the bound, not an invented median
            mark = "≥ " if e["bound_side"] == "lower" else "≤ "
            centre = _cell(f"{mark}{format_number(e['bound'])}{_e(_unit(e['unit']))}", float(e["bound"]), "num")
            spread = _cell(f"p = {format_probability(e['p_bound'])} that it holds", float(e["p_bound"]), "num")
        else:
            centre = _cell(f"{med}{_e(_unit(e['unit']))}", float(e["median"]), "num")
            spread = _cell(f"{lo} to {hi}", float(e["low"]), "num")
        glance.append("<tr>" + _cell(f'<a href="#{sid}">{_e(q)}</a>', q.lower())
                      + centre + spread
                      + _cell(str(e["n_claims"]), float(e["n_claims"]), "num")
                      + (_cell(_pct(e["conflict"]), float(e["conflict"]), "num")
                         if int(e["n_statements"]) >= 2 and "conflict" in e else _cell("single statement", -1.0))
                      + "</tr>")

        parts = [f'<section class="quantity" id="{sid}" data-quantity="{_e(q)}">',
                 f"<h2>{_e(q)}</h2>", _answer(e, n_src, only_bounds)]
        plot_here = Figure is not None and i < max_plots
        if plot_here:
            n = len(rows)
            parts.append(_draw("forest", Figure, (9.0, 2.2 + 0.38 * n), f"{sid}f",
                               lambda ax, q=q: plot_forest(result, q, ax=ax).set_title(q, fontsize="medium")))
        shown = rows[:max_claims]
        trows, notes = _claim_rows(result, shown)
        more = f" … and {len(rows) - len(shown):,} more claims." if len(rows) > len(shown) else ""
        parts.append("<h3>Claims</h3>" + _table(
            "claims", ["#", "Source", "Via", "Stated", "Date", "P(accurate)", "Status"], trows,
            f"Each claim as stated; P(accurate): the probability, given all the claims, that it is accurate "
            f"rather than wild.{more}"))
        if notes:
            parts.append('<details class="notes"><summary>Notes on the claims</summary>'
                         f'<ul>{"".join(notes)}</ul></details>')
        if drift and np.unique(days[rows][np.isfinite(days[rows])]).size >= 2:
            parts.append("<h3>Over time</h3>")
            if plot_here:
                parts.append(_draw("trajectory", Figure, (8.0, 4.5), f"{sid}t",
                                   lambda ax, q=q: plot_trajectory(result, q, ax=ax)))
            parts.append(_trajectory_table(result, q, e["unit"]))
        if int(e["n_statements"]) >= 2:
            parts.append(_conflict_html(result, q, top, e["scale"] == "log"))
        parts.append("</section>")
        sections.append("".join(parts))

    page_title = "credscore report" if title is None else str(title)
    n_claims, n_sources = len(claims), len(result.sources)
    note = "" if Figure is not None or plots is False else f'<p class="no-plot">{_e(_PLOT_MISSING)}</p>'
    if Figure is not None and nq > max_plots:
        note = f'<p class="no-plot">Plots are drawn for the first {max_plots} of the {nq:,} quantities.</p>'
    glance_table = _table("glance", ["Quantity", "Best estimate", f"{result.level:.0%} interval", "Claims",
                                     "Conflict"], glance,
                          "At a glance (conflict: the expected share of wild statements; click a heading to sort).")
    return "".join([
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        f'<meta http-equiv="Content-Security-Policy" content="{_csp()}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="credscore {_e(__version__)}">',
        f"<title>{_e(page_title)}</title><style>{_STYLE}</style><script>{_GUARD}</script></head>\n<body>",
        f"<header><h1>{_e(page_title)}</h1>",
        f'<p class="lead">{plural(n_claims, "claim")} about {plural(nq, "quantity", "quantities")} from '
        f'{plural(n_sources, "source")}. '
        f"Each estimate is the median of what the claims support once each source's reliability is taken into "
        f"account; its {result.level:.0%} credible interval holds the true value with {result.level:.0%} "
        f"probability under the model. A claim is <em>wild</em> when the data find it unrelated to the true value "
        f"(a mistake, another definition, propaganda).</p>{note}</header>\n",
        f"<main>{glance_table}\n" + "\n".join(sections) + "\n",
        _sources_html(result, Figure if max_plots > 0 else None),
        "</main>\n<footer>Made with credscore ", _e(__version__),
        ": source-credibility scoring of quantitative claims. Exact Bayesian posteriors on a grid; "
        "see the package documentation for the model.</footer>\n",
        f"<script>{_SCRIPT}</script>\n</body></html>\n",
    ])


def write_report(result, path: str | Path, **kwargs: Any) -> Path:
    """Write :func:`to_html` of ``result`` to ``path`` (UTF-8) and return the path."""
    path = Path(path)
    path.write_text(to_html(result, **kwargs), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- command line
_EPILOG = """examples:
  python -m credscore report claims.csv --out report.html
  python -m credscore report claims.csv --priors priors.csv --level 0.8 --title "Troops" --out report.html
  python -m credscore report claims.csv --monotone troops --out report.html   # a count that only grows

Dated claims: when some quantity is stated on two dates or more, the report also shows each
such quantity over time (a drift fit, as `fuse --drift`); --static turns this off.
The CSV columns are those of `python -m credscore fuse --help`.
"""


def add_report_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``report`` command to the sub-parsers of ``python -m credscore``.

    Register it with ``add_report_parser(sub)`` where ``sub`` is the result of
    ``parser.add_subparsers(...)``; the parser's default ``func`` is
    :func:`run_report`, so the caller runs ``args.func(args)``.

    Returns
    -------
    argparse.ArgumentParser
        The ``report`` sub-parser.
    """
    p = subparsers.add_parser(
        "report", help="write a self-contained HTML report of the claims of a CSV file",
        description="Fuse the claims of a CSV file and write one self-contained HTML page (no network, plots "
                    "inline) to send to an editor: per quantity the answer in words and figures, the forest "
                    "plot, the trajectory when dated, the conflicts; and the sources' reliability.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    from .__main__ import add_claims_arguments  # the arguments shared with fuse and compare

    add_claims_arguments(p, scale_help="log, linear or auto for every quantity, or QUANTITY=SCALE (repeatable), "
                                       "as for fuse")
    p.add_argument("--out", required=True, metavar="FILE", help="the HTML file to write")
    p.add_argument("--title", help="the page's heading (default: 'credscore report: FILE')")
    time_ = p.add_mutually_exclusive_group()
    time_.add_argument("--drift", action="store_true", help="always fit values that move over time")
    time_.add_argument("--static", action="store_true",
                       help="never (default: a drift fit when some quantity has claims on two dates or more)")
    p.add_argument("--monotone", metavar="Q1,Q2|all",
                   help="non-decreasing quantities, e.g. cumulative counts (implies --drift)")
    p.add_argument("--no-plots", action="store_true", help="tables only, no SVG plots")
    p.set_defaults(func=run_report)
    return p


def dated_twice(claimset) -> bool:
    """Whether some quantity of ``claimset`` is stated on two distinct dates or more (no loop per claim).

    Examples
    --------
    >>> from credscore import ClaimSet
    >>> dated_twice(ClaimSet.from_records([{"quantity": "q", "source": "a", "value": 1, "date": "2024-10-01"},
    ...                                    {"quantity": "q", "source": "b", "value": 2, "date": "2024-10-02"}]))
    True
    """
    days = np.asarray(claimset.date, float)
    ok = np.isfinite(days)
    if not ok.any():
        return False
    key = np.unique(np.stack([np.asarray(claimset.quantity)[ok].astype(float), days[ok]], axis=1), axis=0)
    return bool((np.bincount(key[:, 0].astype(np.int64)) >= 2).any())


def run_report(args: argparse.Namespace) -> int:
    """Run ``python -m credscore report`` (see :func:`add_report_parser`); returns the exit status.

    Inputs and the output path are checked before the fit; errors print
    ``credscore: error: ...`` on stderr and return 2. Warnings of the fit are
    printed once each on stderr.
    """
    import warnings

    from .__main__ import CLIError, Progress, _report_warnings, check_input, check_output, parse_scales
    from .claims import ClaimSet
    from .exceptions import ClaimError
    from .fusion import fuse
    from .priors import SourcePriors
    from .timeline import Drift

    try:
        if not 0 < args.level < 1:
            raise CLIError("`level` must be in the open interval (0, 1).")
        check_input(args.file, "file")
        check_input(args.priors, "--priors")
        check_output(args.out, "--out")
        claims = ClaimSet.from_csv(args.file, scales=parse_scales(args.scale))
        priors = SourcePriors.from_csv(args.priors) if args.priors else None
        monotone: Any = False
        if args.monotone:
            if args.static:
                raise CLIError("`--monotone` needs the drift model; drop --static.")
            monotone = True if args.monotone == "all" else [m.strip() for m in args.monotone.split(",") if m.strip()]
            known = {str(q) for q in claims.quantities}
            for q in ([] if monotone is True else monotone):
                if q not in known:
                    raise CLIError(f"`--monotone`: {q!r} is not a quantity of {args.file}.")
        drift = bool(args.monotone) or args.drift or (not args.static and dated_twice(claims))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with Progress(f"fusing {len(claims):,} claims"):
                # dated twice without --drift: the data choose, per quantity, drifting or fixed (credscore.dynamics)
                result = fuse(claims, priors, level=args.level,
                              dynamics=Drift(monotone=monotone, auto=not (args.drift or args.monotone))
                              if drift else "static")
            with Progress("drawing the report"):
                title = args.title or f"credscore report: {Path(args.file).name}"
                page = to_html(result, title=title, plots=False if args.no_plots else None)
        _report_warnings(caught)
        Path(args.out).write_text(page, encoding="utf-8")
    except (CLIError, ClaimError, ValueError, OSError) as exc:
        print(f"credscore: error: {exc}", file=sys.stderr)
        return 2
    extra = "; values over time (drift)" if drift else ""
    if not args.no_plots and _matplotlib_figure() is None:
        extra += "; no plots: " + _PLOT_MISSING
    print(f"credscore: wrote {args.out} ({plural(len(result.estimates), 'quantity', 'quantities')}, "
          f"{plural(len(result.claims), 'claim')}{extra})")
    return 0
