"""Real-data benchmark of issue 11: default ``credscore.fuse`` beside every method, one fit per file.

Usage (from the repository root)::

    python benchmarks/bench_realdata.py                                  # the full run
    python benchmarks/bench_realdata.py --methods credscore,median,mean,crh --datasets flight
    python benchmarks/bench_realdata.py --label "BASELINE ..." --json /tmp/realdata.json

Datasets (``credscore.datasets.truth_discovery.load_dataset``, from ``../shared/data`` or
``$CREDSCORE_DATA``): flight ``claims_nogold.csv``; weather ``claims.csv`` (all attributes in
ONE fit, scored per attribute); population ``claims.csv`` and ``claims_conflicting.csv``.
Methods: ``credscore`` is :func:`credscore.fuse` with default options (its ``learning``
field gives the variant chosen, when the model reports one); the others are the labels of
``benchmarks/harness.py`` (every method of :mod:`credscore.methods`, each with its default
hyperparameters). Every (method, dataset) runs in its own subprocess with a timeout; only
the fit is timed. Scores come from ``harness.metrics`` plus the share of estimates that lie
on a stated value (within that claim's rounding half-width).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import harness  # noqa: E402
from credscore.claims import POINT  # noqa: E402

#: label -> (dataset name for load_dataset, claims file or None for the default)
DATASETS = {
    "flight": ("flight", "claims_nogold.csv"),
    "weather": ("weather", "claims.csv"),
    "population": ("population", "claims.csv"),
    "population_conflicting": ("population", "claims_conflicting.csv"),
}
#: datasets scored per attribute (one fit, one row per attribute); the others are scored whole
PER_ATTRIBUTE = {"weather": ("Temperature", "Humidity", "RealFeel", "Visibility", "Pressure")}
METHODS = tuple(harness.OWN)  # every registry method (random effects twice: REML and DL); credscore last
VARIANT_FIELDS = ("variant", "chosen", "choice")


def load(key: str):
    from credscore.datasets.truth_discovery import load_dataset

    name, file = DATASETS[key]
    return load_dataset(name, file=file)


def on_stated(estimate: np.ndarray, cs, exact: bool = False) -> np.ndarray:
    """Per quantity: does the estimate lie on one of its stated point values, within that claim's
    rounding half-width (``exact``: within 1e-6 relative), plus 1e-9 relative for float noise?"""
    v = np.asarray(cs.value, dtype=float)
    point = (np.asarray(cs.kind) == POINT) & np.isfinite(v)
    e = np.asarray(estimate, dtype=float)[cs.quantity]
    half = 1e-6 * np.abs(np.nan_to_num(v)) if exact else np.nan_to_num(np.asarray(cs.precision, dtype=float))
    tol = half + 1e-9 * np.abs(np.nan_to_num(v))
    with np.errstate(invalid="ignore"):
        hit = point & (np.abs(e - v) <= tol)
    return np.bincount(cs.quantity[hit], minlength=cs.n_quantities) > 0


def variant_of(learning) -> str:
    """The model variant ``fuse`` chose, from ``result.learning`` (``'-'`` if it reports none)."""
    for name in VARIANT_FIELDS:
        v = getattr(learning, name, None)
        if v is not None:
            return str(v)
    return "-"


def fit(label: str, cs) -> tuple[dict, str, int]:
    """(estimates with ``estimate, low, high``, variant, iterations) of one method on the claims."""
    if label == "credscore":
        from credscore import fuse

        res = fuse(cs)
        est = res.estimates
        out = {"estimate": np.asarray(est["median"], dtype=float), "low": np.asarray(est["low"], dtype=float),
               "high": np.asarray(est["high"], dtype=float)}
        return out, variant_of(res.learning), int(getattr(res.learning, "iterations", 0) or 0)
    est, _ = harness.run_method(label, cs, None)
    return est, "-", 0


def work(label: str, key: str) -> list[dict]:
    """One cell: load, fit once (timed), score per attribute (or whole)."""
    t0 = time.perf_counter()
    d = load(key)
    cs = d.claims
    base = {"method": label, "dataset": key, "claims": int(len(cs)), "load_seconds": time.perf_counter() - t0}
    t0 = time.perf_counter()
    try:
        est, variant, n_iter = fit(label, cs)
    except Exception as exc:  # noqa: BLE001 - reported in the table
        return [{**base, "part": "all", "status": f"error: {type(exc).__name__}: {exc}"[:200]}]
    base.update(seconds=time.perf_counter() - t0, variant=variant, n_iter=n_iter, status="ok",
                maxrss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    stated, exact = on_stated(est["estimate"], cs), on_stated(est["estimate"], cs, exact=True)
    parts = [("all", np.ones(cs.n_quantities, dtype=bool))]
    if key in PER_ATTRIBUTE:
        attr = np.asarray(d.attribute, dtype=object)
        present = [a for a in PER_ATTRIBUTE[key] if np.any(attr == a)]
        present += sorted({a for a in attr if a is not None} - set(present))
        parts = [(a, attr == a) for a in present]
    rows = []
    for part, mask in parts:
        truth = np.where(mask, d.truth, np.nan)
        row = {**base, "part": part, **harness.metrics(est, truth, cs, None, None)}
        ok = np.isfinite(truth) & np.isfinite(np.asarray(est["estimate"], dtype=float))
        row["on_stated"] = float(np.mean(stated[ok])) if ok.any() else float("nan")
        row["exactly_stated"] = float(np.mean(exact[ok])) if ok.any() else float("nan")
        rows.append(row)
    return rows


def spawn(label: str, key: str, timeout: float) -> list[dict]:
    """Run :func:`work` in a fresh interpreter with a timeout; failures become a status row."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", label, key]
    t0 = time.perf_counter()
    base = {"method": label, "dataset": key, "part": "all"}
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                           env={**os.environ, "PYTHONWARNINGS": "ignore"})
    except subprocess.TimeoutExpired:
        return [{**base, "status": f"timeout (> {timeout:.0f} s)"}]
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("[")]
    if r.returncode != 0 or not lines:
        tail = (r.stderr.strip().splitlines() or ["?"])[-1]
        return [{**base, "status": f"crashed after {time.perf_counter() - t0:.0f} s: {tail[:160]}"}]
    return json.loads(lines[-1])


# ------------------------------------------------------------------ report
COLS = [("mae", "MAE"), ("rmse", "RMSE"), ("rel_err", "median rel. err"), ("coverage", "coverage 90%"),
        ("width", "mean width"), ("interval_score", "interval score"), ("on_stated", "on a stated value"),
        ("exactly_stated", "= a stated value"),
        ("n_missing", "no estimate"), ("variant", "variant"), ("seconds", "fit s")]


SHARES = ("coverage", "on_stated", "exactly_stated")  # printed with 3 decimals
SHORT = ("seconds",)  # printed with 3 significant figures


def _fmt(v, key: str = "") -> str:
    """Four significant figures; thousands separators up to 10 million, then an exponent."""
    if v is None:
        return ""
    if isinstance(v, bool) or not isinstance(v, (float, int, np.floating, np.integer)):
        return str(v)
    if not np.isfinite(v):
        return "nan"
    if key in SHARES:
        return f"{v:.3f}"
    if key in SHORT:
        return f"{v:.3g}"
    if isinstance(v, (int, np.integer)) or 1e3 <= abs(v) < 1e7:
        return f"{v:,.0f}"
    return f"{v:.4g}"


def _best(rows: list[dict]) -> dict | None:
    ok = [r for r in rows if r.get("status") == "ok" and np.isfinite(r.get("mae", np.nan))]
    return min(ok, key=lambda r: r["mae"]) if ok else None


def _verdict(rows: list[dict]) -> dict:
    """credscore against median, mean and the best method of one (dataset, part)."""
    by = {r["method"]: r for r in rows if r.get("status") == "ok"}
    cs, best = by.get("credscore"), _best(rows)
    out = {"credscore": cs, "best": best, "median": by.get("median"), "mean": by.get("mean")}
    if cs is not None:
        out["beats_median"] = cs["mae"] <= by["median"]["mae"] if "median" in by else None
        out["beats_mean"] = cs["mae"] <= by["mean"]["mae"] if "mean" in by else None
        out["lowest"] = best is cs
        ranked = sorted(r["mae"] for r in by.values() if np.isfinite(r.get("mae", np.nan)))
        out["rank"] = f"{ranked.index(cs['mae']) + 1}/{len(ranked)}"
    return out


def _yn(v) -> str:
    return "–" if v is None else ("yes" if v else "**no**")


def report(rows: list[dict], args, wall: float) -> str:
    out = ["# Real data, default options, one fit per file (issue 11; `benchmarks/bench_realdata.py`)", ""]
    if args.label:
        out += [f"**{args.label}**", ""]
    out += [f"Command: `{' '.join(['python benchmarks/bench_realdata.py', *args.argv])}` — {wall / 60:.1f} min on "
            f"{os.cpu_count()} cores; timeout {args.timeout:.0f} s per (method, file); each cell in its own "
            "subprocess. credscore = `credscore.fuse(claims)` with default options, estimate = posterior "
            "median; every other method with its default hyperparameters (`benchmarks/harness.py` labels). "
            "Weather: ONE fit of all attributes, scored per attribute. MAE/RMSE in natural units; "
            "coverage and width of the 90 % intervals (methods that give one); 'on a stated value' = share "
            "of the scored quantities whose estimate lies within the rounding half-width of one of its "
            "stated point values ('= a stated value': within 1e-6 relative); 'variant' = what `result.learning` reports as chosen ('-' = not reported); "
            "'fit s' excludes loading. **Bold** MAE = lowest on that row group.", ""]
    parts = []
    for key in DATASETS:
        for r in rows:
            if r["dataset"] == key and (key, r.get("part", "all")) not in parts and r.get("status") == "ok":
                parts.append((key, r.get("part", "all")))
    # overview
    out += ["## Overview: credscore against the issue 11 targets", "",
            "| dataset | scored | credscore MAE | coverage 90% | best method (MAE) | median MAE | mean MAE | "
            "rank | ≤ median | ≤ mean | lowest |", "|" + "---|" * 11]
    for key, part in parts:
        grp = [r for r in rows if r["dataset"] == key and r.get("part", "all") == part]
        v = _verdict(grp)
        c, b = v["credscore"], v["best"]
        name = key if part == "all" else f"{key} {part}"
        out.append(f"| {name} | {_fmt((c or b or {}).get('n_truth'))} | {_fmt(c and c['mae'])} | "
                   f"{_fmt(c and c.get('coverage'), 'coverage')} | {b['method'] if b else ''} ({_fmt(b and b['mae'])}) | "
                   f"{_fmt(v['median'] and v['median']['mae'])} | {_fmt(v['mean'] and v['mean']['mae'])} | "
                   f"{v.get('rank', '')} | {_yn(v.get('beats_median')) if c else ''} | "
                   f"{_yn(v.get('beats_mean')) if c else ''} | {_yn(v.get('lowest')) if c else ''} |")
    out.append("")
    order = {m: i for i, m in enumerate(METHODS)}
    for key in DATASETS:
        rs = [r for r in rows if r["dataset"] == key]
        if not rs:
            continue
        absent = [r for r in rs if r.get("status", "").startswith("dataset absent")]
        if absent:
            out += [f"## {key}", "", absent[0]["status"], ""]
            continue
        failed = [r for r in rs if r.get("status") != "ok"]
        for k, part in [p for p in parts if p[0] == key] or [(key, "all")]:
            grp = sorted((r for r in rs if r.get("part", "all") == part and r.get("status") == "ok"),
                         key=lambda r: order.get(r["method"], -1))
            file = DATASETS[key][1]
            title = f"## {key} (`{file}`)" + ("" if part == "all" else f" — {part}")
            if not grp:
                out += [title, ""]
                continue
            out += [title, "", f"{grp[0]['claims']:,} claims in the file; {grp[0].get('n_truth', 0):,} quantities "
                    "with a truth scored.", ""]
            cols = [(k_, h) for k_, h in COLS if any(k_ in r for r in grp)]
            best = _best(grp)
            out += ["| method | " + " | ".join(h for _, h in cols) + " |", "|" + "---|" * (len(cols) + 1)]
            for r in grp:
                cells = [_fmt(r.get(k_), k_) for k_, _ in cols]
                if r is best:
                    cells[0] = f"**{cells[0]}**"
                name = "**credscore**" if r["method"] == "credscore" else r["method"]
                out.append(f"| {name} | " + " | ".join(cells) + " |")
            v = _verdict(grp)
            if v["credscore"] is not None:
                out += ["", f"credscore: MAE rank {v['rank']}; beats median: {_yn(v['beats_median'])}; "
                        f"beats mean: {_yn(v['beats_mean'])}; lowest MAE: {_yn(v['lowest'])}."]
            out.append("")
        for r in failed:
            out.append(f"* {r['method']}: {r['status']}")
        if failed:
            out.append("")
    return "\n".join(out) + "\n"


def _save(args, rows: list[dict], wall: float) -> None:
    Path(args.json).write_text(json.dumps({"argv": args.argv, "wall": wall, "rows": rows}, indent=1), encoding="utf-8")


def main(argv: list[str] | None = None) -> list[dict]:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--worker"]:
        print(json.dumps(work(argv[1], argv[2])))
        return []
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", default="all", help=f"comma-separated, among {', '.join(METHODS)} (default all)")
    ap.add_argument("--datasets", default="all", help=f"comma-separated, among {', '.join(DATASETS)} (default all)")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per (method, file)")
    ap.add_argument("--in-process", action="store_true", help="no subprocess per cell (smoke runs)")
    ap.add_argument("--out", default=str(HERE / "RESULTS-realdata.md"))
    ap.add_argument("--json", default=None, help="also write the raw rows as JSON (after every cell)")
    ap.add_argument("--label", default="", help="a line printed in bold under the title (e.g. the commit)")
    ap.add_argument("--report-only", default=None, metavar="JSON",
                    help="write the report of the rows saved by an earlier `--json` run; fit nothing")
    args = ap.parse_args(argv)
    args.argv = argv
    if args.report_only:
        saved = json.loads(Path(args.report_only).read_text(encoding="utf-8"))
        args.argv, wall = saved["argv"], saved["wall"]
        Path(args.out).write_text(report(saved["rows"], args, wall), encoding="utf-8")
        print(f"wrote {args.out}")
        return saved["rows"]
    labels = list(METHODS) if args.methods == "all" else args.methods.split(",")
    keys = list(DATASETS) if args.datasets == "all" else args.datasets.split(",")
    for lab in labels:
        if lab not in METHODS:
            raise SystemExit(f"`--methods` must be among {', '.join(METHODS)}; got {lab!r}.")
    for key in keys:
        if key not in DATASETS:
            raise SystemExit(f"`--datasets` must be among {', '.join(DATASETS)}; got {key!r}.")
    from credscore.datasets.truth_discovery import data_directory

    t_start = time.perf_counter()
    rows: list[dict] = []
    for key in keys:
        path = data_directory() / DATASETS[key][0] / DATASETS[key][1]
        if not path.exists():
            msg = f"dataset absent: {path} not found (set CREDSCORE_DATA); skipped."
            print(msg, flush=True)
            rows.append({"method": "-", "dataset": key, "part": "all", "status": msg})
            continue
        for lab in labels:
            got = work(lab, key) if args.in_process else spawn(lab, key, args.timeout)
            rows += got
            for r in got:
                print(f"{key:23s} {r.get('part', 'all'):12s} {lab:18s} {r.get('seconds', float('nan')):8.2f}s "
                      f"mae={r.get('mae', float('nan')):.4g} cov={r.get('coverage', float('nan')):.3f} "
                      f"{r.get('status')}", flush=True)
            if args.json:
                _save(args, rows, time.perf_counter() - t_start)
    wall = time.perf_counter() - t_start
    Path(args.out).write_text(report(rows, args, wall), encoding="utf-8")
    if args.json:
        _save(args, rows, wall)
    print(f"wrote {args.out} ({wall:.0f} s)")
    return rows


if __name__ == "__main__":
    main()
