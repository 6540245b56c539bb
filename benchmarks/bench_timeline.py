"""Benchmark of credscore.timeline (issue 6): drifting truths, exact grid forward-backward.

Usage (from the repository root)::

    python benchmarks/bench_timeline.py            # 10,000 quantities x 20 dated claims
    python benchmarks/bench_timeline.py --small    # 1,000 quantities

Workload: every quantity is a log-scale random walk (τ = 0.05 per √day) observed
by 20 claims at 20 distinct dates over 200 days (one claim per date, relative
error 0.1, 5 % wild claims, rounded to 3 significant figures so each claim is
an interval). For each configuration: wall time of
:func:`credscore.timeline.fit_timeline` on the built model, time per
quantity, the 90 % interval coverage of the true values (smoothed and
filtered), and the learned drift scale (median over quantities).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import attrs
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from credscore import ClaimSet, Reliability, SourcePriors  # noqa: E402
from credscore.likelihood import build_claim_model  # noqa: E402
from credscore.timeline import Drift, fit_timeline  # noqa: E402

TAU = 0.05


def make(nq: int, nt: int = 20, seed: int = 0):
    rng = np.random.default_rng(seed)
    days = np.sort(np.argsort(rng.random((nq, 200)), axis=1)[:, :nt], axis=1).astype(float)  # nt distinct days
    inc = rng.normal(0, TAU, (nq, nt - 1)) * np.sqrt(np.diff(days, axis=1))
    truth = rng.uniform(5, 12, (nq, 1)) + np.concatenate([np.zeros((nq, 1)), np.cumsum(inc, axis=1)], axis=1)
    y = truth.ravel() + rng.normal(0, 0.1, nq * nt)
    wild = rng.random(nq * nt) < 0.05
    y[wild] += rng.normal(0, 2.0, wild.sum())
    v = np.exp(y)
    unit = 10.0 ** (np.floor(np.log10(v)) - 2)
    v = np.round(v / unit) * unit  # 3 significant figures
    half = 0.5 * unit
    q = np.repeat(np.arange(nq), nt)
    src = np.tile(np.arange(nt), nq) + 20 * rng.integers(0, 3, nq * nt)  # distinct sources within a quantity
    cs = ClaimSet.from_arrays(np.char.add("q", np.char.zfill(q.astype(str), 6)), src, v, precision=half, scales="log")
    cs = attrs.evolve(cs, date=19_700.0 + days.ravel())
    return cs, truth


def run(nq: int) -> list[dict]:
    t0 = time.perf_counter()
    cs, truth = make(nq)
    model = build_claim_model(cs, SourcePriors(default=Reliability(0.9, 20)))
    t_build = time.perf_counter() - t0
    rows = []
    configs = [
        ("fixed τ, Gaussian", Drift(scale=TAU)),
        ("fixed τ, monotone (misspecified: truths not monotone)", Drift(scale=TAU, monotone=True)),
        ("learned τ per quantity (25-point BMA)", Drift()),
        ("learned τ shared (2 passes)", Drift(shared=True)),
    ]
    for name, opt in configs:
        t0 = time.perf_counter()
        tl = fit_timeline(model, cs, opt)
        dt = time.perf_counter() - t0
        lo, hi = (np.log(np.asarray(tl.points[c])).reshape(truth.shape) for c in ("low", "high"))
        flo, fhi = (np.log(np.asarray(tl.points[c])).reshape(truth.shape) for c in ("filtered_low", "filtered_high"))
        rows.append({
            "config": name, "quantities": nq, "claims": len(cs), "seconds": dt, "ms_per_quantity": 1e3 * dt / nq,
            "coverage90": float(np.mean((lo <= truth) & (truth <= hi))),
            "filtered_coverage90": float(np.mean((flo <= truth) & (truth <= fhi))),
            "tau_median": float(np.nanmedian(tl.quantities["drift_scale"])),
        })
    print(f"# {nq} quantities x 20 dated claims ({len(cs)} claims); model built in {t_build:.2f} s; true tau {TAU}")
    print("| config | quantities | claims | seconds | ms/quantity | 90% coverage (smoothed) | (filtered) | tau (median) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['config']} | {r['quantities']} | {r['claims']} | {r['seconds']:.2f} | {r['ms_per_quantity']:.2f} | "
              f"{r['coverage90']:.3f} | {r['filtered_coverage90']:.3f} | {r['tau_median']:.4f} |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", action="store_true")
    args = ap.parse_args()
    run(1_000 if args.small else 10_000)


if __name__ == "__main__":
    main()
