"""Bundled and external datasets.

:func:`load_seed_case` returns the example case credscore started from: every
quantitative claim in five news articles of October-November 2024 about North
Korean troops sent to Russia, extracted by hand (see
``credscore/datasets/seed_case/README.md`` for provenance and judgement
calls), with a documented Admiralty-grade prior per source.

Also here (imported on first use): :func:`make_synthetic` (module
:mod:`credscore.datasets.synthetic`, generated claims with known truths) and
:func:`load_dataset` (module :mod:`credscore.datasets.truth_discovery`, real
truth-discovery datasets kept outside the package).

>>> import credscore
>>> claims, priors = credscore.datasets.load_seed_case()
>>> callable(credscore.datasets.make_synthetic)
True
"""

from __future__ import annotations

from importlib import resources

from ..claims import ClaimSet
from ..priors import Reliability, SourcePriors

__all__ = ["load_dataset", "load_seed_case", "make_synthetic", "seed_case_path"]

_LAZY = {"make_synthetic": "synthetic", "load_dataset": "truth_discovery"}


def __getattr__(name: str):
    # the generators and loaders import on first use, keeping `import credscore` light
    import importlib

    if name in ("synthetic", "truth_discovery"):
        return importlib.import_module(f"{__name__}.{name}")
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def seed_case_path(name: str = "claims.csv"):
    """Path of a file of the bundled seed case (``claims.csv``, ``sources.csv``, ``README.md``)."""
    return resources.files(__package__).joinpath("seed_case", name)


def load_seed_case() -> tuple[ClaimSet, SourcePriors]:
    """The bundled North Korean troops case: claims and source priors.

    Returns
    -------
    claims : ClaimSet
        One claim per statement per relaying outlet (a statement relayed by
        two outlets appears twice and counts once).
    priors : SourcePriors
        Each source's Admiralty grade (``sources.csv``) mapped by
        :meth:`Reliability.admiralty`, and its kind.

    Examples
    --------
    >>> claims, priors = load_seed_case()
    >>> "nk_troops_in_russia" in claims.quantities
    True
    >>> priors.reliability_for("NIS (South Korea)") == Reliability.admiralty("B")
    True
    """
    import csv

    with seed_case_path("claims.csv").open(encoding="utf-8") as fh:
        claims = ClaimSet.from_records(list(csv.DictReader(fh)))
    with seed_case_path("sources.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    priors = SourcePriors(
        sources={r["source"]: Reliability.admiralty(r["admiralty"]) for r in rows},
        source_kinds={r["source"]: r["source_kind"] for r in rows},
    )
    return claims, priors
