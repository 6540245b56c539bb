"""Benchmark: vectorized random-effects meta-analysis over many groups.

Run from the repository root::

    python benchmarks/bench_meta.py [--groups 100000] [--seed 0]

It times ``credscore.meta.random_effects_grouped`` (REML/z, DL/z, PM/z, each
with and without the Q-profile interval for tau², and REML/knha) on ``G`` groups with ragged sizes drawn uniformly from 1..19 (about
``10 G`` claims) in shuffled order, and compares each with a plain numpy
inverse-variance weighted mean over the same arrays
(``w = 1/se**2; np.bincount(g, w*y) / np.bincount(g, w)``), measured in the
same run.  Times are the best of 3.  Peak memory is the ``tracemalloc`` peak
of one call (numpy allocations are traced).  Output is a Markdown table.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from credscore.meta import random_effects_grouped  # noqa: E402


def make_data(G: int, seed: int):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 20, size=G)
    g = np.repeat(np.arange(G), sizes)
    rng.shuffle(g)
    n = g.size
    mu = rng.normal(0.0, 1.0, size=G)
    tau = rng.uniform(0.0, 0.5, size=G)
    se = rng.uniform(0.05, 1.0, size=n)
    y = mu[g] + tau[g] * rng.normal(size=n) + se * rng.normal(size=n)
    return y, se, g


def best_of(fn, repeat=3):
    times = []
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def peak_mib(fn):
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--groups", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    y, se, g = make_data(args.groups, args.seed)
    G = args.groups

    def baseline():
        w = 1.0 / se**2
        return np.bincount(g, w * y, minlength=G) / np.bincount(g, w, minlength=G)

    t_base, _ = best_of(baseline)
    mem_base = peak_mib(baseline)

    print(f"# credscore.meta benchmark: {G:,} groups, {y.size:,} claims (sizes 1..19, shuffled)")
    print()
    print(f"Python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    print()
    print("| method | ci | tau² Q-profile CI | seconds (best of 3) | baseline IV mean (s) | ratio | peak memory (MiB) | converged | max iterations |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(f"| IV weighted mean (baseline) | - | - | {t_base:.4f} | {t_base:.4f} | 1.0 | {mem_base:.1f} | - | - |")
    cases = [("REML", "z", True), ("REML", "z", False), ("DL", "z", True), ("DL", "z", False),
             ("PM", "z", True), ("PM", "z", False), ("REML", "knha", True)]
    for method, ci, qp in cases:
        def run(method=method, ci=ci, qp=qp):
            return random_effects_grouped(y, se, g, method=method, ci=ci, tau2_ci=qp)

        t, res = best_of(run)
        mem = peak_mib(run)
        print(
            f"| {method} | {ci} | {'yes' if qp else 'no'} | {t:.4f} | {t_base:.4f} | {t / t_base:.1f} | {mem:.1f} | "
            f"{int(res.converged.sum()):,}/{G:,} | {int(res.iterations.max())} |"
        )


if __name__ == "__main__":
    main()
