"""``python -m credscore compare``: every estimation method on the user's claims, scored against their truths.

The fitting, scoring, table and charts are those of ``benchmarks/harness.py``
(:mod:`credscore.methods.evaluation`); this module reads the user's files and
prints the table.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

from .claims import FIELDS, ClaimSet
from .exceptions import ClaimError

__all__ = ["COMPARE_COLUMNS", "compare", "read_truth", "read_claims", "run"]

#: columns of the printed table: (key of a score row, header)
COMPARE_COLUMNS = [("method", "method"), ("n_truth", "scored"), ("mae", "MAE"), ("rmse", "RMSE"),
                   ("coverage", "coverage"), ("width", "mean width"), ("seconds", "seconds")]


def read_truth(path: Any, quantities: Any) -> tuple[np.ndarray, list[str]]:
    """True values aligned with ``quantities`` from a CSV with columns ``quantity,value`` (or ``object,value``).

    Other columns are ignored. Returns the truths (NaN where none is given)
    and the truth file's quantities that are not among ``quantities``.

    Raises
    ------
    ClaimError
        Naming the file and line of a missing column, a bad number or a
        quantity given twice.
    """
    from .io import number_cell, read_csv_records

    index = {str(q): i for i, q in enumerate(quantities)}
    truth = np.full(len(index), np.nan)
    unknown: list[str] = []
    seen: dict[str, int] = {}
    f = f"{path}: "
    rows = read_csv_records(path, None, strict=True, name_file=True)
    key = "quantity" if "quantity" in rows.names else ("object" if "object" in rows.names else None)
    if key is None or "value" not in rows.names:
        raise ClaimError(f"{f}a truth file needs the columns quantity,value (or object,value); "
                         f"got {','.join(rows.names) or 'an empty file'}.", row=rows.header_line, where="line")
    for line, rec in rows:
        q, v = rec[key].strip(), rec["value"].strip()
        if not q and not v:
            continue
        if q in seen:
            raise ClaimError(f"{f}quantity {q!r} has a truth already (line {seen[q]}).", row=line, field=key,
                             where="line")
        seen[q] = line
        x = number_cell(v, line, "value", f)
        i = index.get(q)
        if i is None:
            unknown.append(q)
        else:
            truth[i] = x
    return truth, unknown


def read_claims(path: Any, scales: Any = None) -> tuple[ClaimSet, list[str]]:
    """The claims of a CSV: credscore's columns, or the truth-discovery format ``object,source,value[,extras]``.

    A file with an ``object`` column and no ``quantity`` column is read with
    ``object`` as the quantity; its columns that are not claim fields are
    returned (to be named to the user) and ignored. Both are read by
    :func:`credscore.io.read_csv_records`; errors name the file's line.
    """
    from .io import claims_from_line_records, read_csv_records

    rows = read_csv_records(path, None)
    if "quantity" in rows.names or "object" not in rows.names:
        return ClaimSet.from_csv(path, scales=scales), []
    names = {n: ("quantity" if n == "object" else n) for n in rows.names}
    ignored = [shown for n, shown in zip(rows.names, rows.shown) if names[n] not in FIELDS]
    records = ((line, {names[k]: v for k, v in rec.items() if names[k] in FIELDS}) for line, rec in rows)
    return claims_from_line_records(records, scales=scales), ignored


def _peers():
    """The peers of ``benchmarks/harness_peers.py`` when that module is importable, else {}."""
    try:
        from harness_peers import PEERS  # type: ignore[import-not-found]
    except ImportError:
        return {}
    return dict(PEERS)


def compare(claims: ClaimSet, truth: np.ndarray, methods: list[str] | None = None, *, level: float = 0.9,
            priors: Any = None, progress: Any = None) -> list[dict]:
    """Run methods on ``claims`` and score them against ``truth`` (aligned with ``claims.quantities``).

    Parameters
    ----------
    claims : ClaimSet
    truth : ndarray
    methods : list of str, optional
        Registered names (:func:`credscore.methods.available`, the default),
        or ``peer:NAME`` of ``benchmarks/harness_peers.py`` when importable.
    level : float
        Level of every method's intervals.
    priors : SourcePriors, optional
        For the ``credscore`` method.
    progress : callable, optional
        Called with each method's name before its fit.

    Returns
    -------
    list of dict
        One row per method: ``method, size, status`` and on success the
        scores of :func:`credscore.methods.evaluation.score` and ``seconds``.
    """
    from . import methods as M
    from .methods.evaluation import fit_method, method_options, score

    names = list(M.available()) if methods is None else list(methods)
    rows = []
    for name in names:
        if progress is not None:
            progress(name)
        row: dict[str, Any] = {"method": name, "size": len(claims)}
        try:
            if name.startswith("peer:"):
                import time

                from .methods._base import finish, prepare

                t0 = time.perf_counter()
                p = prepare(claims)
                est, lo, hi, w = _peers()[name](p)
                estimates = finish(name, p, est, lo, hi, w).estimates
                seconds, weights = time.perf_counter() - t0, w
            else:
                opts = method_options(name, level)
                if name == "credscore" and priors is not None:
                    opts["priors"] = priors
                fit = fit_method(name, claims, opts)
                estimates, weights, seconds = fit.estimates, fit.weights, fit.seconds
        except Exception as exc:  # noqa: BLE001 - one failing method is a row of the table, not the end
            row["status"] = f"error: {type(exc).__name__}: {exc}"
            rows.append(row)
            continue
        row.update(score(estimates, truth, claims, level=level, weights=weights))
        row["seconds"] = seconds
        row["status"] = "ok"
        rows.append(row)
    return rows


def _methods(spec: str) -> list[str]:
    from . import methods as M
    from .__main__ import CLIError

    known = list(M.available()) + list(_peers())
    if spec == "all":
        return known
    names = [m.strip() for m in spec.split(",") if m.strip()]
    for m in names:
        if m not in known:
            raise CLIError(f"`--methods` must be among {', '.join(known)}; got {m!r}.")
    if not names:
        raise CLIError("`--methods` names no method.")
    return names


def run(args: Any) -> int:
    """The ``compare`` command (``args`` from :func:`credscore.__main__.build_parser`)."""
    from .__main__ import Progress, check_input, check_output, parse_scales
    from .methods.evaluation import markdown_table, plot_scores
    from .priors import SourcePriors

    check_input(args.file, "file")
    check_input(args.truth, "--truth")
    check_input(args.priors, "--priors")
    check_output(args.out, "--out")
    names = _methods(args.methods)
    chart_dir = None
    if not args.no_charts and (args.charts or args.out):
        chart_dir = Path(args.charts) if args.charts else Path(args.out).resolve().parent
        if args.charts:
            check_output(str(chart_dir / "x.png"), "--charts")
    claims, ignored = read_claims(args.file, scales=parse_scales(args.scale))
    if ignored:
        print(f"credscore: note: read `object` as the quantity; ignored the columns {', '.join(ignored)}.",
              file=sys.stderr)
    truth, unknown = read_truth(args.truth, claims.quantities)
    if not np.isfinite(truth).any():
        raise ClaimError(f"{args.truth}: no quantity of {args.file} has a truth (quantity names must match).")
    priors = SourcePriors.from_csv(args.priors) if args.priors else None
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the methods' convergence notes are not the user's business here
        with Progress(f"running {len(names)} methods on {len(claims):,} claims"):
            rows = compare(claims, truth, names, level=args.level, priors=priors)
    n_t = int(np.isfinite(truth).sum())
    head = [f"{len(names)} methods on {len(claims):,} claims about {claims.n_quantities:,} quantities; "
            f"{n_t:,} with a truth" + (f" ({len(unknown):,} truths about quantities without claims ignored)"
                                       if unknown else "")
            + f"; intervals at level {args.level:g}.", ""]
    table = markdown_table(rows, COMPARE_COLUMNS, level=args.level)
    text = "\n".join(head + table) + "\n"
    print(text, end="")
    if args.out:
        Path(args.out).write_text(f"# Methods compared on {Path(args.file).name}\n\n"
                                  f"Command: `python -m credscore compare {' '.join(_argv(args))}`\n\n" + text,
                                  encoding="utf-8")
        print(f"wrote {args.out}")
    if chart_dir is not None:
        try:
            path = chart_dir / f"compare-{Path(args.file).stem}.png"
            plot_scores([r for r in rows if r.get("status") == "ok"], Path(args.file).name, path, level=args.level)
            print(f"wrote {path}")
        except ImportError as exc:
            print(f"credscore: note: no charts: {exc}", file=sys.stderr)
        except ValueError as exc:
            print(f"credscore: note: no charts: {exc}", file=sys.stderr)
    return 0


def _argv(args: Any) -> list[str]:
    out = [str(args.file), "--truth", str(args.truth)]
    if args.methods != "all":
        out += ["--methods", args.methods]
    for s in args.scale or []:
        out += ["--scale", s]
    if args.level != 0.9:
        out += ["--level", f"{args.level:g}"]
    return out
