"""Loaders for real truth-discovery datasets in the ``claims.csv`` / ``truth.csv`` format.

The datasets live outside this repository (they are never copied into it):
pass the directory that holds them, e.g. ``../shared/data`` in a checkout of
the project, or set the ``CREDSCORE_DATA`` environment variable. Each
dataset directory has ``claims.csv`` (``object,source,value[,extras]``) and,
for evaluation, ``truth.csv`` (``object,value[,extras]``).

=============  ==========================  =======  ==================================
dataset        default file                scale    precision
=============  ==========================  =======  ==================================
population     claims.csv                  log      as written (trailing zeros count);
                                                    a stated 0 becomes "below 0.5"
flight         claims_nogold.csv           linear   0.5 (clock minutes)
weather        claims.csv                  linear   half a unit of the last decimal
                                                    written (integers: 0.5)
bcg            claims.csv                  linear   exact; ``se`` from the file
=============  ==========================  =======  ==================================

The precision rules follow how each dataset's numbers were produced:
population figures were typed by Wikipedia editors (rounding is real);
flight times and weather readings are machine-formatted, where a trailing
zero is a digit, not rounding. The loaders drop nothing: every row becomes a
claim (a population of 0, impossible on a log scale, is read as the bound it
is: fewer than 0.5 people).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import attrs
import numpy as np

from ..claims import ClaimSet
from ..exceptions import ClaimError

__all__ = ["TruthDiscoveryData", "load_dataset", "data_directory", "DATASETS", "evaluate"]

DATASETS = {
    "population": {"file": "claims.csv", "scale": "log"},
    "flight": {"file": "claims_nogold.csv", "scale": "linear"},
    "weather": {"file": "claims.csv", "scale": "linear"},
    "bcg": {"file": "claims.csv", "scale": "linear"},
}


@attrs.frozen(eq=False)
class TruthDiscoveryData:
    """A real dataset: claims and the known truth of some quantities.

    Attributes
    ----------
    name : str
    claims : ClaimSet
    truth : ndarray
        True value of each quantity, aligned with ``claims.quantities``
        (NaN where the dataset has no truth).
    attribute : ndarray of object
        Per quantity: its attribute label (``claims.attributes`` per
        quantity): weather and flight ``'Temperature'``, ``'act_dep_time'``,
        ...; population ``'population'``; bcg ``'log_rr'``.
    """

    name: str
    claims: ClaimSet
    truth: np.ndarray
    attribute: np.ndarray


def data_directory(directory: str | os.PathLike | None = None) -> Path:
    """The directory holding the datasets: the argument, ``$CREDSCORE_DATA``, or ``../shared/data``."""
    if directory is not None:
        return Path(directory)
    env = os.environ.get("CREDSCORE_DATA")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parents[3] / "shared" / "data"
    return here if here.exists() else Path.cwd().parent / "shared" / "data"


#: The attribute of every claim of a dataset without an attribute column.
_FIXED_ATTRIBUTE = {"population": "population", "bcg": "log_rr"}


def _attribute_of(name: str, row: dict) -> str | None:
    """A claim's attribute: fixed per dataset, else the ``attribute`` column or the part of ``object`` after '|'."""
    if name in _FIXED_ATTRIBUTE:
        return _FIXED_ATTRIBUTE[name]
    if row.get("attribute"):
        return row["attribute"]
    obj = row["object"]
    return obj.rsplit("|", 1)[1] if "|" in obj else None


def _decimal_half(text: str) -> float:
    t = text.strip()
    if "." in t and "e" not in t.lower():
        return 0.5 * 10.0 ** -len(t.split(".")[1])
    return 0.5


def load_dataset(
    name: str,
    directory: str | os.PathLike | None = None,
    *,
    file: str | None = None,
    attribute: str | None = None,
) -> TruthDiscoveryData:
    """Load a truth-discovery dataset in the claims.csv / truth.csv format.

    Parameters
    ----------
    name : {'population', 'flight', 'weather', 'bcg'}
    directory : path, optional
        The directory that holds the dataset folders (see :func:`data_directory`).
    file : str, optional
        The claims file in the dataset folder (e.g. ``'claims_conflicting.csv'``).
    attribute : str, optional
        Keep only the claims of one attribute (weather: ``'Temperature'``, ...;
        flight: ``'act_dep_time'``, ...).

    Returns
    -------
    TruthDiscoveryData

    Raises
    ------
    FileNotFoundError
        When the dataset is absent, with the path looked at and how to point to it.
    """
    if name not in DATASETS:
        raise ValueError(f"`name` must be one of {', '.join(repr(k) for k in DATASETS)}; got {name!r}.")
    folder = data_directory(directory) / name
    path = folder / (file or DATASETS[name]["file"])
    if not path.exists():
        raise FileNotFoundError(
            f"dataset {name!r} not found at {path}; pass `directory=` (the folder holding {name}/) "
            f"or set CREDSCORE_DATA. The datasets are not bundled with credscore."
        )
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    attrs_of = [_attribute_of(name, r) for r in rows]
    if attribute is not None:
        keep = [i for i, a in enumerate(attrs_of) if a == attribute]
        rows, attrs_of = [rows[i] for i in keep], [attrs_of[i] for i in keep]
        if not rows:
            raise ValueError(f"no claims of attribute {attribute!r} in {path}.")
    n = len(rows)
    obj = [r["object"] for r in rows]
    src = [r["source"] for r in rows]
    try:
        val = np.array([float(r["value"]) for r in rows])
    except ValueError as exc:
        raise ClaimError(f"{path}: {exc}") from None
    kind = np.full(n, "point", dtype=object)
    se = None
    if name == "population":
        from ..claims import parse_number

        prec = np.array([parse_number(r["value"])[1] for r in rows])
        zero = val <= 0
        kind[zero] = "upper"
        val = np.where(zero, 0.5, val)
        prec = np.where(zero, 0.0, prec)
    elif name == "flight":
        prec = np.full(n, 0.5)
    elif name == "weather":
        prec = np.array([_decimal_half(r["value"]) for r in rows])
    else:  # bcg
        prec = np.zeros(n)
        se = np.array([float(r["se"]) for r in rows])
    claims = ClaimSet.from_arrays(obj, src, val, kind=kind, se=se, precision=prec, attribute=attrs_of,
                                  scales=DATASETS[name]["scale"])
    truth = np.full(claims.n_quantities, np.nan)
    tpath = folder / "truth.csv"
    if tpath.exists():
        index = {q: i for i, q in enumerate(claims.quantities)}
        with open(tpath, newline="", encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                i = index.get(r["object"])
                if i is not None:
                    truth[i] = float(r["value"])
    attr = claims.attributes[claims.quantity_attribute].astype(object)
    return TruthDiscoveryData(name=name, claims=claims, truth=truth, attribute=attr)


def evaluate(estimate: np.ndarray, truth: np.ndarray, low: np.ndarray | None = None,
             high: np.ndarray | None = None) -> dict[str, float]:
    """Accuracy and calibration against known truths (quantities with NaN truth are skipped).

    Returns
    -------
    dict
        ``n``, ``mae``, ``rmse``, ``median_abs_error``, and with intervals
        ``coverage`` (share of truths inside [low, high]) and ``mean_width``.

    Examples
    --------
    >>> evaluate(np.array([1.0, 2.0]), np.array([1.5, np.nan]), np.array([1.0, 0]), np.array([2.0, 3]))["coverage"]
    1.0
    """
    estimate, truth = np.asarray(estimate, float), np.asarray(truth, float)
    ok = ~np.isnan(truth)
    err = estimate[ok] - truth[ok]
    out = {"n": int(ok.sum()), "mae": float(np.mean(np.abs(err))), "rmse": float(np.sqrt(np.mean(err**2))),
           "median_abs_error": float(np.median(np.abs(err)))}
    if low is not None and high is not None:
        lo, hi = np.asarray(low, float)[ok], np.asarray(high, float)[ok]
        out["coverage"] = float(np.mean((lo <= truth[ok]) & (truth[ok] <= hi)))
        out["mean_width"] = float(np.mean(hi - lo))
    return out
