"""Leave-one-claim-out posteriors on the grid, chunk by chunk (no refit).

A claim's factor f_i(x) multiplies its quantity's posterior; dividing it out of the
posterior on the grid gives the posterior of the other claims, exactly (to the
grid's quadrature):

    p(x | y_-i) ∝ p(x | y) / f_i(x),     ∫ p(x | y) / f_i(x) dx = 1 / p(y_i | y_-i).

The influence and consensus agreement of :mod:`credscore.agreement` and the
truth-free check of :mod:`credscore.check` both need it; this module computes it
once per chunk of claims (Gelfand, Dey & Chang 1992, "Model determination using
predictive distributions with implementation via sampling-based methods", the
identity behind importance-sampling leave-one-out; here it is a quadrature).
"""

from __future__ import annotations

import attrs
import numpy as np

from .likelihood import ClaimModel, log_terms

#: claim × grid cells per chunk (about 8 MB per float array)
CELLS = 1 << 20


@attrs.frozen(eq=False)
class LooChunk:
    """The leave-one-claim-out posteriors of claims ``rows`` (model order) on their quantities' grids.

    ``owner`` indexes each claim's quantity within the block; ``x`` the grid
    nodes (model space); ``term`` and ``accurate`` the claim's weighted
    log-likelihood and P(accurate | x) at the nodes (:func:`credscore.likelihood.log_terms`);
    ``density`` the continuous part of p(x | y_-i) in u, normalised so that
    ``sum(weights * density) == 1``; ``log_mass`` = log ∫ q(x) e^{−term(x)} du
    for the full posterior's continuous density q normalised to one (the
    continuous part's share of 1 / p(y_i | y_-i) before atoms).
    """

    rows: np.ndarray
    owner: np.ndarray
    x: np.ndarray
    weights: np.ndarray
    term: np.ndarray
    accurate: np.ndarray
    density: np.ndarray
    log_mass: np.ndarray


def rows_of(model: ClaimModel, qidx: np.ndarray) -> np.ndarray:
    """The model rows of the claims of quantities ``qidx``, in quantity order."""
    counts = model.counts[qidx].astype(np.int64)
    offs = np.repeat(model.starts[qidx] - (np.cumsum(counts) - counts), counts)
    return np.arange(int(counts.sum()), dtype=np.int64) + offs


def loo_chunks(model: ClaimModel, block, cells: int = CELLS):
    """Yield :class:`LooChunk` for every claim of a posterior :class:`~credscore.posterior.Block`.

    Parameters
    ----------
    model : ClaimModel
        The model the posterior was computed from (its claims' terms are divided out).
    block : Block
        Quantities sharing a grid size (:meth:`credscore.posterior.GridPosterior.blocks`).
    cells : int
        Claim × node cells per chunk.
    """
    part, g = block.part, block.x.shape[1]
    rows_all = rows_of(model, part)
    owner_all = np.repeat(np.arange(len(part)), model.counts[part])
    per = max(1, cells // g)
    for c0 in range(0, len(rows_all), per):
        rows, owner = rows_all[c0 : c0 + per], owner_all[c0 : c0 + per]
        x = block.x[owner]
        term, acc = log_terms(model, rows, x)
        with np.errstate(divide="ignore", invalid="ignore", under="ignore", over="ignore"):
            lq = np.log(block.q[owner]) - term
            top = np.max(lq, axis=1, keepdims=True)
            lq -= top
            ql = np.exp(lq)
            mass = np.sum(block.w[owner] * ql, axis=1, keepdims=True)
            ql /= mass
            log_mass = np.log(mass[:, 0]) + top[:, 0]
        yield LooChunk(rows, owner, x, block.w[owner], term, acc, ql, log_mass)
