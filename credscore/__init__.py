"""credscore: source-credibility scoring of quantitative claims.

Many sources state numbers about the same quantity; they disagree, hedge
("up to", "around", "more than"), relay each other, and change over time.
credscore turns such claims into Bayesian estimates with credible intervals,
taking each source's reliability into account.

>>> import credscore
>>> res = credscore.fuse([{"quantity": "q", "source": "a", "value": 10.0, "se": 1.0, "scale": "linear"}])
>>> round(res.estimate("q").median, 6)
10.0
"""

from . import meta
from .claims import APPROX_WIDENING, KINDS, SCALES, Claim, ClaimSet, parse_number
from .exceptions import ClaimError, ConvergenceWarning, GridResolutionWarning
from .fusion import fuse
from .priors import ErrorScale, QuantityPrior, Reliability, SourcePriors
from .results import Estimate, FusionResult, Table
from .timeline import Drift
from . import datasets  # noqa: E402 - after the names it imports

__version__ = "0.1.0"

__all__ = [
    "APPROX_WIDENING",
    "KINDS",
    "SCALES",
    "Claim",
    "ClaimError",
    "ClaimSet",
    "ConvergenceWarning",
    "Drift",
    "ErrorScale",
    "Estimate",
    "FusionResult",
    "GridResolutionWarning",
    "QuantityPrior",
    "Reliability",
    "SourcePriors",
    "Table",
    "datasets",
    "fuse",
    "meta",
    "parse_number",
]
