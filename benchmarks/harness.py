"""Methods x datasets benchmark of credscore.methods and its peers (issue 5).

Usage (from the repository root)::

    python benchmarks/harness.py                                   # the full run
    python benchmarks/harness.py --sizes 10000 --methods mean,crh,credscore --datasets peers
    python benchmarks/harness.py --sizes 500 --in-process --no-charts --out /tmp/r.md   # smoke run

Every (method, dataset, size) runs in its own subprocess (``--in-process``:
in this one) with a timeout, timing ``fit`` and measuring its peak memory
(tracemalloc, which numpy reports to) and the process's maximum resident
set size. Results go to ``--out`` (Markdown) and PNG charts to
``benchmarks/charts/`` (needs matplotlib). See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from credscore import methods as M  # noqa: E402
from credscore.methods._base import finish, prepare  # noqa: E402
from credscore.methods.evaluation import COLUMNS as COLS  # noqa: E402,F401 - shared with `python -m credscore compare`
from credscore.methods.evaluation import fit_method, format_cell, markdown_table, plot_scores, score  # noqa: E402

LEVEL = 0.9
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
REAL = ("population", "flight", "weather")
DATASETS = ("peers",) + REAL + ("seed",)
# label -> (registry name, keyword arguments); peers are "peer:*"
OWN = {name: (name, {}) for name in M.available()}
OWN["random_effects"] = ("random_effects", {"method": "REML"})
OWN = {**{k: v for k, v in OWN.items() if k != "credscore"}, "random_effects_dl": ("random_effects", {"method": "DL"}),
       "credscore": ("credscore", {})}


def peer_labels():
    from harness_peers import PEERS

    return list(PEERS)


# ------------------------------------------------------------------ data
def load(dataset: str, size: int | None):
    """(claims, truth or None, per-source quality or None, fuse priors or None)."""
    if dataset == "peers":
        from credscore.datasets.synthetic import make_synthetic

        d = make_synthetic("peers", n_claims=int(size), seed=0)
        cs = d.claims
        # source quality "truth": minus the RMSE of the source's own claims against the truths
        err = (cs.value - d.truth[cs.quantity]) ** 2
        n = np.bincount(cs.source, minlength=cs.n_sources)
        rmse = np.sqrt(np.bincount(cs.source, weights=err, minlength=cs.n_sources) / np.maximum(n, 1))
        return cs, d.truth, -rmse, None
    if dataset == "seed":
        from credscore.datasets import load_seed_case

        cs, priors = load_seed_case()
        return cs, None, None, priors
    from credscore.datasets.truth_discovery import load_dataset

    d = load_dataset(dataset)
    return d.claims, d.truth, None, None


def run_method(label: str, cs, priors):
    if label.startswith("peer:"):
        from harness_peers import PEERS

        p = prepare(cs)
        est, lo, hi, w = PEERS[label](p)
        return finish(label, p, est, lo, hi, w).estimates, None if w is None else w
    name, kw = OWN[label]
    if name == "credscore" and priors is not None:
        kw = {**kw, "priors": priors}
    fit = fit_method(name, cs, kw, label=label)
    return fit.estimates, fit.weights


def metrics(est, truth, cs, quality, w) -> dict:
    """The scores of :func:`credscore.methods.evaluation.score` at the harness's level."""
    return score(est, truth, cs, level=LEVEL, quality=quality, weights=w)


def work(label: str, dataset: str, size: int | None) -> dict:
    """One cell: load, fit (timed, memory traced), score."""
    cs, truth, quality, priors = load(dataset, size)
    row = {"method": label, "dataset": dataset, "size": int(len(cs))}
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        est, w = run_method(label, cs, priors)
    except Exception as exc:  # noqa: BLE001 - reported in the table
        tracemalloc.stop()
        from harness_peers import PeerUnavailable

        row["status"] = str(exc) if isinstance(exc, PeerUnavailable) else f"error: {type(exc).__name__}: {exc}"
        return row
    row["seconds"] = time.perf_counter() - t0
    row["peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    row["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    row["status"] = "ok"
    if truth is not None:
        row.update(metrics(est, truth, cs, quality, w))
    else:
        row["estimates"] = {str(q): [float(est["estimate"][i]), float(est["low"][i]), float(est["high"][i])]
                            for i, q in enumerate(est["quantity"])}
    return row


def spawn(label: str, dataset: str, size: int | None, timeout: float) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", label, dataset, str(size or 0)]
    t0 = time.perf_counter()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    except subprocess.TimeoutExpired:
        return {"method": label, "dataset": dataset, "size": size, "status": f"timeout (> {timeout:.0f} s)"}
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
    if r.returncode != 0 or not lines:
        tail = (r.stderr.strip().splitlines() or ["?"])[-1]
        return {"method": label, "dataset": dataset, "size": size, "status": f"crashed: {tail[:160]}",
                "wall": time.perf_counter() - t0}
    return json.loads(lines[-1])


# ------------------------------------------------------------------ report
# the table columns (COLS), cell format and charts live in credscore.methods.evaluation


def report(rows: list[dict], args, wall: float) -> str:
    out = ["# Methods x datasets (generated by `benchmarks/harness.py`)", ""]
    try:
        from harness_analysis import ANALYSIS

        out += [ANALYSIS.strip(), ""]
    except ImportError:
        pass
    out += [f"Command: `python benchmarks/harness.py {' '.join(args.argv)}` — {wall / 60:.1f} min on "
            f"{os.cpu_count()} cores; intervals at level {LEVEL}; timeout {args.timeout:.0f} s per cell. "
            "MAE/RMSE in natural units; 'median rel. err' over log-scale quantities; "
            "source rank corr. = Spearman of learned source weight vs minus each source's empirical RMSE (synthetic).", ""]
    order = {m: i for i, m in enumerate(list(OWN) + peer_labels())}
    for ds in DATASETS:
        rs = sorted((r for r in rows if r["dataset"] == ds), key=lambda r: (order.get(r["method"], -1), r.get("size") or 0))
        if not rs:
            continue
        out += [f"## {ds}", ""]
        if ds == "seed":
            out += _seed_table(rs)
            continue
        absent = [r for r in rs if r.get("status", "").startswith("dataset absent")]
        if absent:
            out += [absent[0]["status"], ""]
            continue
        out += markdown_table(rs, [c for c in COLS if c[0] != "n_truth"], level=LEVEL)
        out.append("")
    return "\n".join(out) + "\n"


def _seed_table(rs: list[dict]) -> list[str]:
    ok = [r for r in rs if r.get("status") == "ok"]
    if not ok:
        return ["(no method ran)", ""]
    qs = list(ok[0]["estimates"])
    lines = ["No truth: estimates side by side (median; [low, high] where the method gives an interval).", "",
             "| quantity | " + " | ".join(r["method"] for r in ok) + " |", "|" + "---|" * (len(ok) + 1)]
    for q in qs:
        cells = []
        for r in ok:
            e, lo, hi = r["estimates"][q]
            cells.append(format_cell(e) + (f" [{format_cell(lo)}, {format_cell(hi)}]" if np.isfinite(lo) else ""))
        lines.append(f"| {q} | " + " | ".join(cells) + " |")
    bad = [r for r in rs if r.get("status") != "ok"]
    lines += [""] + [f"* {r['method']}: {r['status']}" for r in bad] + [""]
    return lines


def charts(rows: list[dict], outdir: Path) -> str:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "charts skipped: matplotlib is not installed (pip install matplotlib)."
    outdir.mkdir(parents=True, exist_ok=True)
    made = []
    for ds in DATASETS:
        rs = [r for r in rows if r["dataset"] == ds and r.get("status") == "ok" and "mae" in r]
        if not rs:
            continue
        size = max(r["size"] for r in rs) if ds != "peers" else min(r["size"] for r in rs)
        rs = [r for r in rs if r["size"] == size]
        path = outdir / f"{ds}.png"
        plot_scores(rs, f"{ds} ({size} claims)", path, level=LEVEL)
        made.append(path.name)
    rs = [r for r in rows if r["dataset"] == "peers" and r.get("status") == "ok"]
    if len({r["size"] for r in rs}) > 1:
        fig, ax = plt.subplots(figsize=(8, 6))
        for m in sorted({r["method"] for r in rs}):
            pts = sorted((r["size"], r["seconds"]) for r in rs if r["method"] == m)
            ax.plot(*zip(*pts), marker="o", label=m, lw=2.5 if m == "credscore" else 1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("claims")
        ax.set_ylabel("seconds")
        ax.set_title("peers scenario: fit time")
        ax.legend(fontsize=7, ncol=2)
        fig.tight_layout()
        fig.savefig(outdir / "scaling.png", dpi=80)
        plt.close(fig)
        made.append("scaling.png")
    return "charts: " + ", ".join(f"benchmarks/charts/{m}" for m in made)


def main(argv: list[str] | None = None) -> list[dict]:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--worker"]:
        label, dataset, size = argv[1], argv[2], int(argv[3])
        print(json.dumps(work(label, dataset, size or None)))
        return []
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="claims of the synthetic runs")
    ap.add_argument("--methods", default="all", help="comma-separated labels (default: all; 'own' or 'peers')")
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--in-process", action="store_true", help="no subprocess per cell (smoke runs)")
    ap.add_argument("--no-charts", action="store_true")
    ap.add_argument("--out", default=str(HERE / "RESULTS-methods.md"))
    ap.add_argument("--json", default=None, help="also write the raw rows as JSON (after every cell)")
    ap.add_argument("--include", default=None, help="JSON rows of an earlier run to report together with this one's")
    args = ap.parse_args(argv)
    args.argv = argv
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if args.methods in ("all", "own", "peers"):
        labels = ([] if args.methods == "peers" else list(OWN)) + ([] if args.methods == "own" or args.no_peers else peer_labels())
    else:
        labels = args.methods.split(",")
    for lab in labels:
        if lab not in OWN and not lab.startswith("peer:"):
            raise SystemExit(f"`--methods` must be among {', '.join(list(OWN) + peer_labels())}; got {lab!r}.")
    t_start = time.perf_counter()
    rows: list[dict] = json.loads(Path(args.include).read_text()) if args.include else []
    for ds in args.datasets.split(","):
        if ds not in DATASETS:
            raise SystemExit(f"`--datasets` must be among {', '.join(DATASETS)}; got {ds!r}.")
        if ds in REAL:
            from credscore.datasets.truth_discovery import DATASETS as TD, data_directory

            path = data_directory() / ds / TD[ds]["file"]
            if not path.exists():
                msg = f"dataset absent: {path} not found (set CREDSCORE_DATA); skipped."
                print(msg, flush=True)
                rows.append({"method": "-", "dataset": ds, "size": 0, "status": msg})
                continue
        for lab in labels:
            slow = False
            for size in (sizes if ds == "peers" else [None]):
                if slow:
                    rows.append({"method": lab, "dataset": ds, "size": size,
                                 "status": "skipped: the previous size took > 1/12 of the timeout or failed"})
                    continue
                row = work(lab, ds, size) if args.in_process else spawn(lab, ds, size, args.timeout)
                rows.append(row)
                print(f"{ds:10s} {lab:22s} {row.get('size')!s:>8} {row.get('seconds', float('nan')):8.2f}s "
                      f"mae={row.get('mae', float('nan')):.4g} {row.get('status')}", flush=True)
                slow = row.get("status") != "ok" or row.get("seconds", 0) > args.timeout / 12
                if args.json:
                    Path(args.json).write_text(json.dumps(rows, indent=1), encoding="utf-8")
    wall = time.perf_counter() - t_start
    text = report(rows, args, wall)
    if not args.no_charts:
        msg = charts(rows, HERE / "charts")
        print(msg)
        text += "\n" + msg + "\n"
    Path(args.out).write_text(text, encoding="utf-8")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1), encoding="utf-8")
    print(f"wrote {args.out} ({wall:.0f} s)")
    return rows


if __name__ == "__main__":
    main()
