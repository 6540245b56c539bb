"""The source–value graph shared by the methods defined on discrete values."""

from __future__ import annotations

import attrs
import numpy as np

from .._segments import segment_count
from ._base import Method, Prepared, argmax_per_group, check_int, check_positive, cluster_values


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


@attrs.frozen(kw_only=True)
class FactFinder(Method):
    """The iteration shared by the fact-finders of Pasternack & Roth (2010).

    Subclasses define the starting beliefs and trust (:meth:`_start`) and the
    two updates (:meth:`_trust`, :meth:`_belief`); this class builds the
    source–value graph, alternates the updates until no belief moves by more
    than ``tol`` (or ``max_iter``), and returns the value of highest belief
    per quantity with the sources' trust as weights.

    Parameters
    ----------
    tolerance : float
        Merging tolerance of :func:`~credscore.methods._base.cluster_values` (≥ 0).
    max_iter : int
        Iterations (the paper runs 20).
    tol : float
        Stop early when no normalised belief moves more than ``tol``.
    """

    tolerance: float = 0.1
    max_iter: int = 20
    tol: float = 1e-9

    def __attrs_post_init__(self) -> None:
        check_positive("tolerance", self.tolerance, allow_zero=True)
        check_int("max_iter", self.max_iter)
        check_positive("tol", self.tol)

    def _start(self, g: FactGraph) -> tuple[np.ndarray, np.ndarray]:
        """Initial (beliefs, trust)."""
        return np.full(g.nf, 0.5), np.zeros(g.ns)

    def _trust(self, g: FactGraph, b: np.ndarray, t: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _belief(self, g: FactGraph, t: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _fit(self, p: Prepared):
        g = fact_graph(p, self.tolerance)
        b, t = self._start(g)
        it = 0
        for it in range(1, int(self.max_iter) + 1):
            t = self._trust(g, b, t)
            b_new = self._belief(g, t)
            done = not changed(b_new, b, self.tol)
            b = b_new
            if done:
                break
        return g.best(b), None, None, t, it
