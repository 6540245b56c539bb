"""Peak resident memory of one priors-only fit at 1M claims (issue 12 target: <= 1 GB).

Usage (from the repository root)::

    /usr/bin/time -v python benchmarks/bench_rss.py base   # the claim set and the warm-up fit only
    /usr/bin/time -v python benchmarks/bench_rss.py fit    # the same, then fuse(learn_reliability=False, diagnostics=False)

Workload: ``make_synthetic("peers", n_claims=1_000_000, seed=0)`` as in ``bench_fast.py``. The
difference between the two peaks is what the fit adds above the generator's own peak.
"""

from __future__ import annotations

import resource
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(mode: str) -> None:
    import credscore
    from credscore.datasets.synthetic import make_synthetic

    warnings.simplefilter("ignore")
    cs = make_synthetic("peers", n_claims=1_000_000, seed=0).claims
    credscore.fuse(make_synthetic("peers", n_claims=2000, seed=1).claims)  # compiles (or loads the cache)
    if mode == "fit":
        t = time.perf_counter()
        credscore.fuse(cs, learn_reliability=False, diagnostics=False)
        print(f"priors-only fit: {time.perf_counter() - t:.2f} s")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "fit")
