"""Command line: ``python -m credscore demo`` and ``python -m credscore fuse FILE.csv``."""

from __future__ import annotations

import argparse
import sys

from . import __version__
from .claims import ClaimSet
from .exceptions import ClaimError
from .fusion import fuse
from .priors import SourcePriors


def _demo(args: argparse.Namespace) -> int:
    from .datasets import load_seed_case

    claims, priors = load_seed_case()
    print("The seed case: claims about North Korean troops in Russia, Oct-Nov 2024 (5 news articles).")
    print("Sources carry Admiralty-graded reliability priors; see credscore/datasets/seed_case/README.md.\n")
    result = fuse(claims, priors, level=args.level)
    print(result.summary())
    print(_conflicts(result))
    print(_trajectory(claims, priors, args.level))
    return 0


def _trajectory(claims, priors, level: float) -> str:
    """The troop count over time: a monotone drift fit (credscore.timeline), early October to late November."""
    from .timeline import Drift

    q = "nk_troops_in_russia"
    res = fuse(claims, priors, level=level, dynamics=Drift(monotone=[q]), dates=["2024-10-01", "2024-11-30"])
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


def _conflicts(result, top: int = 3) -> str:
    """The quantities stated more than once, most conflicting first, with their least-agreeing claims."""
    import numpy as np

    e = result.estimates
    idx = np.flatnonzero(e["n_statements"] >= 2)
    idx = idx[np.argsort(-e["conflict"][idx], kind="stable")]
    lines = ["Conflicts (agreement: Bhattacharyya overlap of two claims, 0 = irreconcilable, 1 = identical;",
             "conflict: expected share of wild claims; see credscore.agreement)", ""]
    for i in idx:
        lines.append(result.conflict(str(e["quantity"][i]), top=top).to_text())
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _fuse(args: argparse.Namespace) -> int:
    try:
        claims = ClaimSet.from_csv(args.file)
        priors = SourcePriors.from_csv(args.priors) if args.priors else None
        result = fuse(claims, priors, level=args.level)
    except (ClaimError, ValueError, OSError) as exc:
        print(f"credscore: error: {exc}", file=sys.stderr)
        return 2
    print(result.summary())
    if args.out:
        import csv

        with open(args.out, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(result.estimates.columns))
            w.writeheader()
            w.writerows(result.estimates.to_records())
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m credscore`` (and the ``credscore`` script)."""
    parser = argparse.ArgumentParser(prog="credscore", description="Source-credibility scoring of quantitative claims.")
    parser.add_argument("--version", action="version", version=f"credscore {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="fuse the bundled seed case and print every estimate and claim")
    d.add_argument("--level", type=float, default=0.9, help="credible level (default 0.9)")
    d.set_defaults(func=_demo)
    f = sub.add_parser("fuse", help="fuse the claims of a CSV file")
    f.add_argument("file", help="CSV with columns quantity,source,kind,value,low,high,se,precision,date,...")
    f.add_argument("--priors", help="CSV of source priors (see SourcePriors.from_csv)")
    f.add_argument("--level", type=float, default=0.9, help="credible level (default 0.9)")
    f.add_argument("--out", help="write the estimates table to this CSV file")
    f.set_defaults(func=_fuse)
    args = parser.parse_args(argv)
    if not 0 < args.level < 1:
        parser.error("`level` must be in the open interval (0, 1).")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
