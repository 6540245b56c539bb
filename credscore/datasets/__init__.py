"""Bundled and external datasets.

:func:`load_seed_case` returns the example case credscore started from: every
quantitative claim in five news articles of October-November 2024 about North
Korean troops sent to Russia, extracted by hand (see
``credscore/datasets/seed_case/README.md`` for provenance and judgement
calls), with a documented Admiralty-grade prior per source.
"""

from __future__ import annotations

from importlib import resources

from ..claims import ClaimSet
from ..priors import Reliability, SourcePriors

__all__ = ["load_seed_case", "seed_case_path"]


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
