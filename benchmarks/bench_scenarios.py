"""Every method on the simulated scenarios of issue 11 ("Generality"), against their known truths.

Usage (from the repository root)::

    python benchmarks/bench_scenarios.py                                   # 20k claims, seeds 0,1,2
    python benchmarks/bench_scenarios.py --claims 2000 --seeds 0 --scenarios crowd,biased --out /tmp/s.md

For each scenario of :data:`credscore.datasets.synthetic.SIMULATED` and each
seed it draws ``--claims`` claims, fits :func:`credscore.fuse` with its
defaults (the ``credscore`` method) and every other method of
:mod:`credscore.methods` (in this process, one after the other), and scores
them with the harness's own code (``harness.run_method`` and
``harness.metrics``: MAE and RMSE in natural units, median relative error on
log-scale quantities, coverage and mean width of the 90 % intervals, interval
score). The report gives, per scenario, every method's scores averaged over
the seeds, and a summary of issue 11's targets: does credscore have the
lowest MAE of all methods (on how many seeds), and is its 90 % coverage in
[0.87, 0.93].

Timings are wall-clock seconds of the fit alone, on whatever machine runs
it: compare within a run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import harness  # noqa: E402  (the methods x datasets harness: method registry, fitting, scoring)
from credscore.datasets.synthetic import SIMULATED, make_synthetic  # noqa: E402

TARGET_COVERAGE = (0.87, 0.93)
METRICS = ("mae", "rmse", "rel_err", "coverage", "width", "interval_score", "seconds")
HEADERS = ("MAE", "RMSE", "median rel. err", "coverage 90%", "mean width", "interval score", "seconds")


def run_cell(label: str, data) -> dict:
    """Fit one method on one draw (timed) and score it against the truths."""
    row = {"method": label, "claims": len(data.claims)}
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est, w = harness.run_method(label, data.claims, None)
    except Exception as exc:  # noqa: BLE001 - reported in the table
        row["status"] = f"error: {type(exc).__name__}: {exc}"[:200]
        return row
    row["seconds"] = time.perf_counter() - t0
    row["status"] = "ok"
    row.update(harness.metrics(est, data.truth, data.claims, None, w))
    return row


def run(scenarios, seeds, n_claims, methods, log=print) -> list[dict]:
    rows = []
    for sc in scenarios:
        for seed in seeds:
            data = make_synthetic(sc, n_claims=n_claims, seed=seed)
            for label in methods:
                r = run_cell(label, data)
                r.update(scenario=sc, seed=seed)
                rows.append(r)
                log(f"{sc} seed {seed} {label}: " + (f"MAE {r['mae']:.4g} coverage {r.get('coverage', float('nan')):.3f} "
                                                      f"{r['seconds']:.2f} s" if r["status"] == "ok" else r["status"]))
    return rows


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return ""
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1e5 else f"{v:.3e}"
    return str(v)


def _mean(rs, key):
    xs = [r[key] for r in rs if r.get(key) is not None and np.isfinite(r[key])]
    return float(np.mean(xs)) if len(xs) == len(rs) and xs else None


def summarize(rows: list[dict], methods) -> tuple[list[str], list[dict]]:
    """Markdown lines (summary, then one table per scenario) and the summary rows."""
    scenarios = list(dict.fromkeys(r["scenario"] for r in rows))
    seeds = sorted({r["seed"] for r in rows})
    summary, tables = [], []
    for sc in scenarios:
        rs = [r for r in rows if r["scenario"] == sc]
        tables += [f"### {sc}", "", "| method | claims | " + " | ".join(HEADERS) + " | status |",
                   "|---" * (len(HEADERS) + 3) + "|"]
        means = {}
        for m in methods:
            mr = [r for r in rs if r["method"] == m]
            ok = [r for r in mr if r["status"] == "ok"]
            status = "ok" if len(ok) == len(mr) else "; ".join(sorted({r["status"] for r in mr if r["status"] != "ok"}))
            means[m] = {k: _mean(ok, k) for k in METRICS} if len(ok) == len(mr) else {}
            claims = str(int(round(np.mean([r["claims"] for r in mr])))) if mr else ""
            tables.append(f"| {m} | {claims} | " + " | ".join(_fmt(means[m].get(k)) for k in METRICS) + f" | {status} |")
        tables.append("")
        # issue 11's targets for credscore
        wins = 0
        for seed in seeds:
            by = {r["method"]: r.get("mae") for r in rs if r["seed"] == seed and r["status"] == "ok"}
            cs_mae = by.get("credscore")
            if cs_mae is not None and all(cs_mae < v for k, v in by.items() if k != "credscore" and v is not None):
                wins += 1
        others = {m: v["mae"] for m, v in means.items() if m != "credscore" and v.get("mae") is not None}
        best = min(others, key=others.get) if others else None
        c = means.get("credscore", {})
        ranked = sorted([v for v in others.values()] + ([c["mae"]] if c.get("mae") is not None else []))
        summary.append({
            "scenario": sc, "credscore_mae": c.get("mae"), "best_other": best,
            "best_other_mae": others.get(best) if best else None,
            "rank": ranked.index(c["mae"]) + 1 if c.get("mae") is not None else None, "n_methods": len(ranked),
            "lowest_mae_seeds": f"{wins}/{len(seeds)}", "coverage": c.get("coverage"), "width": c.get("width"),
            "coverage_ok": c.get("coverage") is not None and TARGET_COVERAGE[0] <= c["coverage"] <= TARGET_COVERAGE[1],
            "seconds": c.get("seconds"),
        })
    lines = ["| scenario | credscore MAE | best other method | its MAE | credscore rank | lowest MAE (seeds) | "
             "coverage 90% | in [0.87, 0.93] | mean width | seconds |", "|---" * 10 + "|"]
    for s in summary:
        lines.append(f"| {s['scenario']} | {_fmt(s['credscore_mae'])} | {s['best_other'] or ''} | "
                     f"{_fmt(s['best_other_mae'])} | {s['rank'] or ''} of {s['n_methods']} | {s['lowest_mae_seeds']} | "
                     f"{_fmt(s['coverage'])} | {'yes' if s['coverage_ok'] else 'no'} | {_fmt(s['width'])} | "
                     f"{_fmt(s['seconds'])} |")
    return lines + [""] + tables, summary


def _commit() -> str:
    try:
        sha = subprocess.run(["git", "-C", str(HERE.parent), "rev-parse", "HEAD"], capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(HERE.parent), "status", "--porcelain", "--", "credscore"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return sha + (" (with uncommitted changes under credscore/)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--claims", type=int, default=20_000, help="claims per draw (about; default 20000)")
    ap.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default 0,1,2)")
    ap.add_argument("--scenarios", default=",".join(SIMULATED), help="comma-separated scenario names (default all)")
    ap.add_argument("--methods", default="all", help="comma-separated harness labels (default all of credscore.methods)")
    ap.add_argument("--out", default=None, help="write the Markdown report here (default: print it)")
    ap.add_argument("--json", default=None, help="also write every cell's scores as JSON here")
    ap.add_argument("--title", default="Simulated scenarios (issue 11)", help="heading of the report")
    ap.add_argument("--commit", default=None, help="commit the run measures (default: git rev-parse HEAD)")
    ap.add_argument("--command", default=None, help="the command to print in the report (default: this one)")
    args = ap.parse_args(argv)
    scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = [s for s in scenarios if s not in SIMULATED]
    if unknown:
        ap.error(f"unknown scenario {unknown[0]!r}; expected some of {', '.join(SIMULATED)}")
    methods = list(harness.OWN) if args.methods == "all" else [m for m in args.methods.split(",") if m]
    bad = [m for m in methods if m not in harness.OWN]
    if bad:
        ap.error(f"unknown method {bad[0]!r}; expected some of {', '.join(harness.OWN)}")
    seeds = [int(s) for s in args.seeds.split(",") if s]
    t0 = time.perf_counter()
    rows = run(scenarios, seeds, args.claims, methods, log=lambda m: print(m, file=sys.stderr, flush=True))
    wall = time.perf_counter() - t0
    body, _ = summarize(rows, methods)
    command = args.command or "python benchmarks/bench_scenarios.py " + " ".join(argv if argv is not None else sys.argv[1:])
    head = [f"# {args.title}", "", f"Commit: `{args.commit or _commit()}`", "",
            f"Command: `{command.strip()}`", "",
            f"{len(scenarios)} scenarios x seeds {', '.join(map(str, seeds))} x {len(methods)} methods, about "
            f"{args.claims} claims per draw; scores averaged over the seeds; intervals at level {harness.LEVEL}; "
            f"credscore = `credscore.fuse` with its defaults. Wall time {wall:.0f} s. Targets (issue 11): lowest MAE "
            f"of all methods and 90 % coverage in [{TARGET_COVERAGE[0]}, {TARGET_COVERAGE[1]}]. "
            f"Scenarios: see `credscore/datasets/synthetic.py`.", ""]
    text = "\n".join(head + body) + "\n"
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1, default=str), encoding="utf-8")
    return rows


if __name__ == "__main__":
    main()
