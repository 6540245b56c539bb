"""Command line: ``python -m credscore demo``, ``fuse FILE.csv`` and ``compare FILE.csv --truth TRUTH.csv``.

Run ``python -m credscore COMMAND --help`` for every option, the CSV columns and examples.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import threading
import time
import re
import warnings
from pathlib import Path

from . import __version__
from .claims import FIELDS, ClaimSet
from .exceptions import ClaimError
from .fusion import fuse
from .posterior import DEFAULT_GRID_SIZE, DEFAULT_ROBUST_GRID_SIZE
from .priors import QuantityPrior, SourcePriors

#: seconds a fit runs before the progress line appears (on a terminal only)
PROGRESS_AFTER = 1.0

#: columns of a ``--quantity-priors`` CSV
QUANTITY_PRIOR_FIELDS = ("quantity", "low", "high", "mean", "sd")

#: columns of a ``--priors`` CSV (see SourcePriors.from_csv)
SOURCE_PRIOR_FIELDS = ("source", "source_kind", "admiralty", "reliability_mean", "reliability_strength",
                       "error_sigma", "error_df")


class CLIError(ValueError):
    """A usage problem found before any work: printed as ``credscore: error: ...``, exit code 2."""


# ------------------------------------------------------------------ shared helpers
def _said(row: dict) -> str:
    """What a claim (a row of ``result.claims``) states, as it was written."""
    try:
        from .formatting import format_claim
    except ImportError:
        from .results import _stated

        return _stated(row)
    return format_claim(row["kind"], row["value"], row["low"], row["high"])


def check_output(path: str | None, option: str) -> None:
    """Fail early (before any fit) when ``path`` cannot be written: a missing or unwritable directory."""
    if not path:
        return
    p = Path(path)
    if p.is_dir():
        raise CLIError(f"`{option}`: {path} is a directory; give a file name.")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.exists():
        raise CLIError(f"`{option}`: the directory {parent} does not exist; create it first "
                       f"(mkdir -p {parent}) or write elsewhere.")
    if not parent.is_dir():
        raise CLIError(f"`{option}`: {parent} is not a directory.")
    if not os.access(parent, os.W_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise CLIError(f"`{option}`: {path} is not writable.")


def check_input(path: str | None, option: str) -> None:
    """Fail early when an input file is missing."""
    if path and not Path(path).is_file():
        raise CLIError(f"`{option}`: no such file: {path}.")


def write_table(table, path: str) -> None:
    """Write a :class:`~credscore.Table` as CSV (empty cells for None)."""
    import csv

    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(table.columns))
        w.writeheader()
        w.writerows(table.to_records())


class Progress:
    """Elapsed time of a long step on stderr, only when stderr is a terminal.

    Writes ``credscore: <what>... 12 s`` once the step has run
    :data:`PROGRESS_AFTER` seconds, updates it twice a second and clears it at
    the end. Nothing is written to a file or a pipe.
    """

    def __init__(self, what: str, stream=None, after: float | None = None):
        self.what = what
        self.stream = sys.stderr if stream is None else stream
        self.after = PROGRESS_AFTER if after is None else after
        self._stop = threading.Event()
        self._thread = None
        self.shown = False

    def _run(self) -> None:
        t0 = time.monotonic()
        if self._stop.wait(self.after):
            return
        while not self._stop.is_set():
            self.stream.write(f"\rcredscore: {self.what}... {time.monotonic() - t0:.0f} s")
            self.stream.flush()
            self.shown = True
            self._stop.wait(0.5)

    def __enter__(self) -> "Progress":
        isatty = getattr(self.stream, "isatty", None)
        if isatty is not None and isatty():
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            if self.shown:
                self.stream.write("\r" + " " * (len(self.what) + 30) + "\r")
                self.stream.flush()


_LEARNING_STOPPED = re.compile(r"^learning stopped after (\d+) iterations without converging \(last change (\S+) > "
                               r"tol (\S+)\); results use the last iterate\.$")
_ROBUST_GRID = re.compile(r"set `robust_grid_size=(\d+)`")


def _plain_warning(msg: str) -> str:
    """A warning as one plain line whose advice names the CLI's own options."""
    m = _LEARNING_STOPPED.match(msg)
    if m:
        n = int(m.group(1))
        return (f"the reliability learning stopped after {n} iteration{'s' if n != 1 else ''} before settling (last change {m.group(2)}, "
                f"tolerance {m.group(3)}); the results use its last step. Run again with --max-iter {4 * n} "
                f"to let it finish.")
    return _ROBUST_GRID.sub(lambda g: f"run again with --robust-grid-size {g.group(1)}", msg)


def _report_warnings(caught) -> None:
    seen = set()
    for w in caught:
        msg = _plain_warning(" ".join(str(w.message).split()))
        if msg not in seen:
            seen.add(msg)
            print(f"credscore: warning: {msg}", file=sys.stderr)


# ------------------------------------------------------------------ demo
def _demo(args: argparse.Namespace) -> int:
    from .datasets import load_seed_case

    claims, priors = load_seed_case()
    print("The seed case: claims about North Korean troops in Russia, Oct-Nov 2024 (5 news articles).")
    print("Sources carry Admiralty-graded reliability priors; see credscore/datasets/seed_case/README.md.\n")
    from .timeline import Drift

    # the troop count may grow (monotone); whether each value drifts is the data's choice, and dated
    # claims of a drifting quantity are judged against the value at their own dates (credscore.dynamics)
    result = fuse(claims, priors, level=args.level, dynamics=Drift(monotone=[_DEMO_TRAJECTORY], auto=True),
                  dates=["2024-10-01", "2024-11-30"])
    print(result.summary())
    print(conflicts_text(result))
    print(_trajectory(result, args.level))
    return 0


_DEMO_TRAJECTORY = "nk_troops_in_russia"


def _trajectory(res, level: float) -> str:
    """The troop count over time: a monotone drift fit (credscore.timeline), early October to late November."""
    q = _DEMO_TRAJECTORY
    t = res.trajectory(q)
    tau = res.timeline.quantities["drift_scale"][res.claimset.quantity_index(q)]
    lines = [f"Trajectory of {q} (monotone random walk in log space, learned drift scale {tau:.3f}/sqrt(day);",
             f"smoothed: what all the claims say about each date; filtered: what the claims up to that date say; "
             f"{level:.0%} intervals)", "",
             f"{'date':<11} {'claims':>6} {'median':>8} {'interval':>19}   {'filtered':>8} {'interval':>19}"]
    for r in t.rows():
        lines.append(f"{str(r['date']):<11} {r['n_claims']:>6} {r['median']:>8,.0f} "
                     f"{'[' + format(r['low'], ',.0f') + ', ' + format(r['high'], ',.0f') + ']':>19}   "
                     f"{r['filtered_median']:>8,.0f} "
                     f"{'[' + format(r['filtered_low'], ',.0f') + ', ' + format(r['filtered_high'], ',.0f') + ']':>19}")
    return "\n".join(lines) + "\n"


# claims whose probabilities of being wild differ by less than this: "the data cannot tell which"
_TELL_APART = 0.25


def claims_apart(a: dict, b: dict, log: bool) -> str:
    """How far apart two claims' central numbers are, in words (a ratio on log quantities); ``""`` when a
    centre is not finite. Shared by the conflicts text and the HTML report.

    Examples
    --------
    >>> claims_apart({"kind": "point", "value": 1500}, {"kind": "point", "value": 11000}, True)
    'a factor of 7.3 apart'
    >>> claims_apart({"kind": "range", "low": 10, "high": 20}, {"kind": "point", "value": 90}, False)
    '75 apart'
    """
    from .formatting import format_number

    def centre(r: dict) -> float:
        if r["kind"] == "range":
            return math.sqrt(r["low"] * r["high"]) if log and r["low"] > 0 else 0.5 * (r["low"] + r["high"])
        return float(r["value"])

    x, y = centre(a), centre(b)
    if not (math.isfinite(x) and math.isfinite(y)):
        return ""
    if log and x > 0 and y > 0:
        ratio = max(x, y) / min(x, y)
        if ratio < 2:
            return f"{format_number(100 * (ratio - 1), sig=2)}% apart"
        return f"a factor of {format_number(ratio, sig=2)} apart"
    return f"{format_number(abs(x - y), sig=2)} apart"


def conflict_pairs(result, quantity: str, threshold: float | None = None, across_dates: bool = False) -> list[dict]:
    """The pairs of counted claims of ``quantity`` that conflict (agreement below ``threshold``).

    Parameters
    ----------
    result : FusionResult
    quantity : str
    threshold : float, optional
        Default :data:`credscore.agreement.AGREE_AT` (0.2).
    across_dates : bool
        Also the pairs of claims of different dates about a drifting value (judged at their
        dates, :mod:`credscore.dynamics`): they disagree, but the change over time explains it.

    Returns
    -------
    list of dict
        ``a``, ``b`` (rows of ``result.claims`` as dicts), ``agreement``,
        ``believed`` (``"a"``, ``"b"`` or None when the data cannot tell),
        ``dates_apart`` (the two are judged at different dates), lowest agreement
        first, then the clearest verdict.
    """
    import numpy as np

    from .agreement import AGREE_AT

    threshold = AGREE_AT if threshold is None else threshold
    c = result.claims
    A = result.agreement(quantity)
    pos = {int(r): i for i, r in enumerate(np.asarray(c["row"]))}
    idx = np.array([pos[int(r)] for r in A.rows], dtype=int)
    keep = np.flatnonzero(np.asarray(c["counted"], dtype=bool)[idx])
    iu, ju = np.triu_indices(len(keep), 1)
    v = np.asarray(A.values)[keep[iu], keep[ju]]
    pw = np.asarray(c["p_wild"], dtype=float)[idx[keep]]
    bad = v < threshold
    apart = np.zeros(len(v), dtype=bool)
    if "judged_at" in c:  # a value that drifts: claims of different dates do not contradict each other by that
        at = np.asarray(c["judged_at"], dtype=object)[idx[keep]]
        apart = np.array([not (x is None or y is None or x == y) for x, y in zip(at[iu], at[ju])], dtype=bool)
        if not across_dates:
            bad &= ~apart
    bad = np.flatnonzero(bad)
    gap = np.abs(pw[iu[bad]] - pw[ju[bad]])
    order = bad[np.lexsort((-gap, v[bad]))]
    out = []
    for k in order:
        a, b = c.row(int(idx[keep[iu[k]]])), c.row(int(idx[keep[ju[k]]]))
        d = a["p_wild"] - b["p_wild"]
        believed = None if not abs(d) >= _TELL_APART else ("b" if d > 0 else "a")
        out.append({"a": a, "b": b, "agreement": float(v[k]), "believed": believed, "dates_apart": bool(apart[k])})
    return out


def conflicts_text(result, top: int = 5) -> str:
    """The conflicts of a fit in words: who disagrees with whom, by how much, and whom the data believe.

    Real conflicts (pairs of claims with agreement below 0.2) come first,
    quantity by quantity, the lowest agreement first; at most ``top`` pairs per
    quantity. Quantities whose claims all agree are named at the end.
    """
    import numpy as np

    e = result.estimates
    found, calm, moved = [], [], []
    for i in np.flatnonzero(np.asarray(e["n_statements"]) >= 2):
        q = str(e["quantity"][i])
        every = conflict_pairs(result, q, across_dates=True)
        pairs = [p for p in every if not p["dates_apart"]]
        log = bool(e["scale"][i] == "log")
        (found if pairs else calm).append((q, pairs, log))
        if len(every) > len(pairs):
            moved.append((q, [p for p in every if p["dates_apart"]], log))
    found.sort(key=lambda t: (t[1][0]["agreement"], -len(t[1])))
    lines = ["Conflicts: claims that cannot both be true (agreement below 0.2, where 0 = irreconcilable and",
             "1 = identical: the overlap of what the two claims allow; see credscore.agreement)", ""]
    if not found:
        lines.append("No conflicting claims.")
    for q, pairs, log in found:
        n = len(pairs)
        lines.append(f"{q}: {n} conflicting pair{'s' if n != 1 else ''} of claims")
        for p in pairs[:top]:
            a, b = (p["b"], p["a"]) if p["believed"] == "a" else (p["a"], p["b"])  # the doubted claim first
            how = claims_apart(a, b, log)
            lines.append(f"  {a['source']} (row {a['row']}) says {_said(a)}; {b['source']} (row {b['row']}) says "
                         f"{_said(b)}: {how + ' ' if how else ''}(agreement {p['agreement']:.2f}).")
            if p["believed"] is None:
                lines.append(f"    The data cannot tell which is right: probability of being wild {a['p_wild']:.2f} "
                             f"for {a['source']}, {b['p_wild']:.2f} for {b['source']}.")
            else:
                lines.append(f"    The data believe {b['source']}: probability of being wild {b['p_wild']:.2f}, "
                             f"against {a['p_wild']:.2f} for {a['source']}.")
        if n > top:
            lines.append(f"  ... and {n - top} more (result.conflict({q!r}, top={n}))")
        lines.append("")
    if calm:
        lines.append("No conflicting claims about: " + ", ".join(q for q, _, _ in calm) + ".")
    if moved:
        lines += ["", "Claims of different dates about a value that changes over time: they disagree, and the change",
                  "explains it (each is judged against the value at its own date):", ""]
    for q, pairs, log in moved:
        lines.append(f"{q}: {len(pairs)} pair{'s' if len(pairs) != 1 else ''} of claims of different dates")
        for p in pairs[:top]:
            a, b = (p["b"], p["a"]) if p["believed"] == "a" else (p["a"], p["b"])
            how = claims_apart(a, b, log)
            lines.append(f"  {a['source']} (row {a['row']}) says {_said(a)} on {a['judged_at']}; {b['source']} "
                         f"(row {b['row']}) says {_said(b)} on {b['judged_at']}: {how + ' ' if how else ''}"
                         f"(agreement {p['agreement']:.2f}).")
            lines.append(f"    Probability of being wild at their dates: {a['p_wild']:.2f} for {a['source']}, "
                         f"{b['p_wild']:.2f} for {b['source']}.")
        if len(pairs) > top:
            lines.append(f"  ... and {len(pairs) - top} more")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


# ------------------------------------------------------------------ fuse
def read_quantity_priors(path: str) -> dict[str, QuantityPrior]:
    """Read a quantity-priors CSV (columns :data:`QUANTITY_PRIOR_FIELDS`; empty cells: not given).

    Raises
    ------
    ClaimError
        Naming the file, line and field of an unknown column, a bad number,
        a repeated quantity or an invalid prior.
    """
    from .io import number_cell, read_csv_records

    out: dict[str, QuantityPrior] = {}
    f = f"{path}: "
    rows = read_csv_records(path, QUANTITY_PRIOR_FIELDS, what="a quantity-prior column", strict=True, name_file=True)
    if "quantity" not in rows.names:
        raise ClaimError(f"{f}the header needs a `quantity` column.", row=rows.header_line, field="quantity",
                         where="line")
    for line, rec in rows:
        rec = {h: cell.strip() for h, cell in rec.items()}
        if not any(rec.values()):
            continue
        q = rec.pop("quantity")
        if not q:
            raise ClaimError(f"{f}empty quantity.", row=line, field="quantity", where="line")
        if q in out:
            raise ClaimError(f"{f}quantity {q!r} has a prior already.", row=line, field="quantity", where="line")
        kw = {k: number_cell(v, line, k, f) for k, v in rec.items() if v}
        if not kw:
            raise ClaimError(f"{f}give `low`/`high` or `mean` and `sd`.", row=line, field="low", where="line")
        try:
            out[q] = QuantityPrior(**kw)
        except ValueError as exc:
            field = "mean" if "mean" in str(exc) or "sd" in str(exc) else "low"
            raise ClaimError(f"{f}{exc}", row=line, field=field, where="line") from None
    return out


def parse_scales(values: list[str] | None):
    """``--scale`` values: one of log/linear/auto for every quantity, or QUANTITY=SCALE pairs."""
    if not values:
        return None
    pairs = [v for v in values if "=" in v]
    if pairs and len(pairs) != len(values) or len(values) > 1 and not pairs:
        raise CLIError("`--scale` must be given once as log, linear or auto, or as QUANTITY=SCALE pairs.")
    if not pairs:
        return values[0]
    out = {}
    for v in values:
        q, s = (t.strip() for t in v.split("=", 1))
        out[q] = s
    return out


def _learn(value: str):
    return {"auto": "auto", "yes": True, "no": False}[value]


def _dynamics(args: argparse.Namespace):
    from .timeline import Drift

    auto = getattr(args, "auto_drift", False)
    if not (args.drift or auto or args.drift_scale is not None or args.monotone or args.shared_drift):
        if args.dates:
            raise CLIError("`--dates` needs the drift model (--drift).")
        return "static"
    monotone = False
    if args.monotone:
        monotone = True if args.monotone == "all" else [m.strip() for m in args.monotone.split(",") if m.strip()]
    return Drift(scale=args.drift_scale, shared=args.shared_drift, monotone=monotone, auto=auto)


def _fuse(args: argparse.Namespace) -> int:
    if args.dask:  # on a Dask cluster: Parquet / CSV files in, Parquet out (credscore.dask)
        from .dask import cli_fuse

        return cli_fuse(args)
    check_input(args.file, "file")
    check_input(args.priors, "--priors")
    check_input(args.quantity_priors, "--quantity-priors")
    for path, opt in ((args.out, "--out"), (args.claims_out, "--claims-out"),
                      (args.trajectory_out, "--trajectory-out")):
        check_output(path, opt)
    dynamics = _dynamics(args)
    if args.trajectory_out and dynamics == "static":
        raise CLIError("`--trajectory-out` needs the drift model (--drift).")
    scales = parse_scales(args.scale)
    claims = ClaimSet.from_csv(args.file, scales=scales)
    priors = SourcePriors.from_csv(args.priors) if args.priors else None
    qpriors = read_quantity_priors(args.quantity_priors) if args.quantity_priors else None
    if qpriors:
        known = set(map(str, claims.quantities))
        for q in qpriors:
            if q not in known:
                raise CLIError(f"`--quantity-priors`: {q!r} is not a quantity of {args.file}.")
    dates = [d.strip() for d in args.dates.split(",") if d.strip()] if args.dates else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with Progress(f"fusing {len(claims):,} claims"):
            result = fuse(claims, priors, level=args.level, quantity_priors=qpriors,
                          learn_reliability=_learn(args.learn), detect_copies=args.detect_copies,
                          max_iter=args.max_iter, tol=args.tol, diagnostics=not args.no_diagnostics,
                          grid_size=args.grid_size, robust_grid_size=args.robust_grid_size,
                          dynamics=dynamics, dates=dates)
    _report_warnings(caught)
    show = args.show or ("summary" if (args.out or args.claims_out or args.trajectory_out) else "full")
    if show == "full":
        print(result.summary(max_claims=args.max_claims))
    elif show == "summary":
        print(result.summary(max_claims=0))
    written = []
    if args.out:
        write_table(result.estimates, args.out)
        written.append(f"estimates to {args.out}")
    if args.claims_out:
        write_table(result.claims, args.claims_out)
        written.append(f"claims to {args.claims_out}")
    if args.trajectory_out:
        write_table(result.timeline.points, args.trajectory_out)
        written.append(f"trajectories to {args.trajectory_out}")
    if written and show != "quiet":
        print("wrote " + ", ".join(written))
    return 0


# ------------------------------------------------------------------ parser
def _claim_columns() -> str:
    import textwrap

    return textwrap.fill(", ".join(FIELDS), width=96, initial_indent="  ", subsequent_indent="  ")


FUSE_EPILOG = f"""\
examples:
  python -m credscore fuse claims.csv
  python -m credscore fuse claims.csv --priors priors.csv --level 0.9 --out estimates.csv
  python -m credscore fuse claims.csv --scale linear --quantity-priors qpriors.csv --full
  python -m credscore fuse claims.csv --scale temperature=linear --learn no --no-diagnostics --quiet --out e.csv
  python -m credscore fuse claims.csv --drift --monotone troops --dates 2024-10-01,2024-11-30 \\
      --trajectory-out trajectory.csv

output: without an output file the full report (every estimate, then every claim with its status);
with --out/--claims-out/--trajectory-out only the estimates (--summary). --full, --summary and
--quiet choose explicitly. Output files are checked before the fit. A progress line appears on
stderr during long fits when stderr is a terminal. Exit code 2 on bad input.

claims CSV (header row; only quantity, source and the numbers are required):
{_claim_columns()}
source priors CSV (--priors; one row per source, source * sets the default):
  {", ".join(SOURCE_PRIOR_FIELDS)}
  admiralty is a grade A-F; reliability_mean (with reliability_strength) is the alternative.
quantity priors CSV (--quantity-priors; one row per quantity, empty cells: not given):
  {", ".join(QUANTITY_PRIOR_FIELDS)}
  low/high: a flat prior between them (natural units); mean/sd: a normal prior, mean in natural
  units, sd in model space (a relative sd on log-scale quantities).
"""

COMPARE_EPILOG = """\
examples:
  python -m credscore compare claims.csv --truth truth.csv
  python -m credscore compare claims.csv --truth truth.csv --methods crh,catd,credscore --out table.md
  python -m credscore compare ../shared/data/flight/claims_nogold.csv --truth ../shared/data/flight/truth.csv \\
      --scale linear --charts charts/

truth CSV: columns quantity,value (or object,value); other columns are ignored. Quantities
without a truth are estimated but not scored. Claims CSV: as for `fuse`; a file with an
`object` column instead of `quantity` (the truth-discovery format object,source,value) is read
with object as the quantity and its other non-claim columns ignored (named on stderr). Numbers
are read as by `fuse`: trailing zeros mean rounding ("1200" is 1200 +- 50); add a `precision`
column (half-width) for machine-formatted numbers, e.g. 0.5 for whole minutes.
Methods: the registered ones (credscore.methods.available()); peers of benchmarks/harness_peers.py
as peer:NAME when that module is importable. Columns: MAE and RMSE (natural units), coverage of
the intervals at --level, their mean width, and the fit time in seconds.
"""


SCALE_HELP = ("log, linear or auto (default: log when every number is positive) for every quantity, "
              "or QUANTITY=SCALE (repeatable)")


def add_claims_arguments(parser, inputs=None, model=None, *, file_help: str = "claims CSV",
                         priors_help: str = "CSV of source priors (see SourcePriors.from_csv)",
                         scale_help: str = SCALE_HELP,
                         level_help: str = "credible level of the intervals (default 0.9)") -> None:
    """The arguments of every command that reads a claims file: ``file``, ``--priors``, ``--scale``, ``--level``.

    ``inputs`` and ``model`` are the argument groups that show ``--priors``/``--scale`` and ``--level`` in
    the help (default: the parser itself).
    """
    parser.add_argument("file", help=file_help)
    inputs = parser if inputs is None else inputs
    inputs.add_argument("--priors", metavar="FILE", help=priors_help)
    inputs.add_argument("--scale", action="append", metavar="SCALE", help=scale_help)
    (parser if model is None else model).add_argument("--level", type=float, default=0.9, help=level_help)


def build_parser() -> argparse.ArgumentParser:
    """The ``credscore`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="credscore", description="Source-credibility scoring of quantitative claims.",
        epilog="Run `python -m credscore COMMAND --help` for the options, CSV columns and examples of a command.")
    parser.add_argument("--version", action="version", version=f"credscore {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    d = sub.add_parser("demo", help="fuse the bundled seed case and print every estimate, claim and conflict",
                       description="Fuse the bundled seed case (North Korean troops in Russia, 2024) and print "
                                   "every estimate, claim and conflict, and the troop count over time.")
    d.add_argument("--level", type=float, default=0.9, help="credible level (default 0.9)")
    d.set_defaults(func=_demo)

    f = sub.add_parser("fuse", help="fuse the claims of a CSV file", description="Fuse the claims of a CSV file "
                       "into an estimate of every quantity (credscore.fuse).",
                       epilog=FUSE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = f.add_argument_group("inputs and priors")
    model = f.add_argument_group("model")
    add_claims_arguments(f, g, model, file_help="claims CSV (columns below)",
                         priors_help="CSV of source priors (columns below)")
    g.add_argument("--quantity-priors", metavar="FILE", help="CSV of priors on the true values (columns below)")
    g = model
    g.add_argument("--learn", choices=("auto", "yes", "no"), default="auto",
                   help="learn source reliability from track records (default auto: when a source states "
                        "more than one quantity)")
    g.add_argument("--detect-copies", action="store_true", help="detect sources that copy each other and "
                   "discount their shared evidence (off by default)")
    g.add_argument("--max-iter", type=int, default=200, help="iteration limit of the learning (default 200)")
    g.add_argument("--tol", type=float, default=1e-6, help="tolerance of the learning (default 1e-6)")
    g.add_argument("--no-diagnostics", action="store_true",
                   help="skip the agreement/residual/influence columns (halves the time of large fits)")
    g.add_argument("--grid-size", type=int, default=DEFAULT_GRID_SIZE,
                   help=f"grid points of the fast pass (default {DEFAULT_GRID_SIZE})")
    g.add_argument("--robust-grid-size", type=int, default=DEFAULT_ROBUST_GRID_SIZE,
                   help=f"grid points of the robust pass (default {DEFAULT_ROBUST_GRID_SIZE})")
    g = f.add_argument_group("change over time (drift model, needs dated claims)")
    g.add_argument("--drift", action="store_true", help="let each value follow a random walk over the claims' dates")
    g.add_argument("--auto-drift", action="store_true",
                   help="let the data choose, per quantity, a drifting or a fixed value (Bayes factor; the choice "
                   "is printed); dated claims of a drifting quantity are judged at their dates")
    g.add_argument("--drift-scale", type=float, default=None, metavar="TAU",
                   help="fixed drift scale per sqrt(day) in model units (default: learned; implies --drift)")
    g.add_argument("--shared-drift", action="store_true", help="one drift scale for all quantities (implies --drift)")
    g.add_argument("--monotone", metavar="Q1,Q2|all", help="non-decreasing quantities, e.g. cumulative counts "
                   "(implies --drift)")
    g.add_argument("--dates", metavar="D1,D2", help="extra dates at which to report every trajectory")
    g = f.add_argument_group("output")
    show = g.add_mutually_exclusive_group()
    show.add_argument("--full", dest="show", action="store_const", const="full",
                      help="print every estimate and every claim (default without output files)")
    show.add_argument("--summary", dest="show", action="store_const", const="summary",
                      help="print the estimates only (default with an output file)")
    show.add_argument("--quiet", "-q", dest="show", action="store_const", const="quiet",
                      help="print nothing but warnings and errors")
    g.add_argument("--max-claims", type=int, default=50, help="claims printed per quantity with --full (default 50)")
    g.add_argument("--out", metavar="FILE", help="write the estimates table to this CSV file")
    g.add_argument("--claims-out", metavar="FILE", help="write the per-claim table to this CSV file")
    g.add_argument("--trajectory-out", metavar="FILE", help="write every trajectory to this CSV file (drift)")
    g = f.add_argument_group("on a Dask cluster (needs credscore[dask])")
    g.add_argument("--dask", action="store_true", help="fuse with credscore.dask: FILE may be a glob or directory "
                   "of Parquet / CSV files; --out and --claims-out are directories of Parquet files")
    g.add_argument("--scheduler", metavar="ADDRESS", help="dask scheduler to use (default: a local cluster)")
    f.set_defaults(func=_fuse, show=None)

    c = sub.add_parser("compare", help="run every estimation method on your claims and score it against the truth",
                       description="Run the registered estimation methods (credscore.methods) on a claims CSV "
                                   "and score them against known truths: MAE, RMSE, interval coverage and "
                                   "width, time.",
                       epilog=COMPARE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_claims_arguments(c, priors_help="source priors CSV, for the credscore method", scale_help="as for fuse",
                         level_help="level of the intervals (default 0.9)")
    c.add_argument("--truth", required=True, metavar="FILE", help="CSV of true values: quantity,value")
    c.add_argument("--methods", default="all", help="comma-separated method names (default: all registered)")
    c.add_argument("--out", metavar="FILE", help="also write the table as Markdown to this file")
    c.add_argument("--charts", metavar="DIR", help="directory for the charts (default: beside --out; "
                   "none without --out); needs matplotlib")
    c.add_argument("--no-charts", action="store_true", help="write no charts")
    c.set_defaults(func=_compare)
    from .report import add_report_parser

    add_report_parser(sub)
    return parser


def _compare(args: argparse.Namespace) -> int:
    from .cli_compare import run

    return run(args)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m credscore`` (and the ``credscore`` script). Returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 0 < args.level < 1:
        parser.error("`level` must be in the open interval (0, 1).")
    try:
        return args.func(args)
    except (CLIError, ClaimError, ValueError, OSError) as exc:
        print(f"credscore: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
