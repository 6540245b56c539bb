"""The source–value graph shared by the methods defined on discrete values."""

from __future__ import annotations

import attrs
import numpy as np

from .._segments import segment_count
from ._base import Prepared, argmax_per_group, cluster_values


@attrs.frozen(eq=False)
class FactGraph:
    """Bipartite graph of sources and the values ("facts") they state.

    A source stating one value of a quantity several times is one link.

    Attributes
    ----------
    ls, lf : ndarray of int
        Source and fact of each link.
    fq, fx : ndarray
        Quantity and model-space value of each fact.
    votes : ndarray of float
        Links per fact.
    per_source : ndarray of float
        Links per source (|F(s)|, at least 1).
    """

    ls: np.ndarray
    lf: np.ndarray
    fq: np.ndarray
    fx: np.ndarray
    votes: np.ndarray
    per_source: np.ndarray
    nf: int
    ns: int
    nq: int

    def best(self, belief: np.ndarray) -> np.ndarray:
        """Value of the highest-belief fact per quantity (ties: most votes, then the smaller value)."""
        i = argmax_per_group(belief, self.fq, self.nq, -self.votes, self.fx)
        return self.fx[i]


def fact_graph(p: Prepared, tolerance: float) -> FactGraph:
    fact, fq, fx = cluster_values(p, tolerance)
    nf = len(fq)
    pair = np.unique(p.s.astype(np.int64) * nf + fact)
    ls, lf = pair // nf, pair % nf
    votes = segment_count(lf, nf).astype(float)
    per_source = np.maximum(segment_count(ls, p.ns), 1).astype(float)
    return FactGraph(ls=ls, lf=lf, fq=fq, fx=fx, votes=votes, per_source=per_source, nf=nf, ns=p.ns, nq=p.nq)


def normalise(a: np.ndarray) -> np.ndarray:
    """Divide by the maximum (kept as is when it is 0)."""
    m = float(np.max(a)) if a.size else 0.0
    return a / m if m > 0 else a


def changed(new: np.ndarray, old: np.ndarray, tol: float) -> bool:
    """Largest absolute change above ``tol``."""
    return bool(np.max(np.abs(new - old), initial=0.0) > tol)
