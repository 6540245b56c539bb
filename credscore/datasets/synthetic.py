"""Seeded synthetic claims with known truths and known source qualities.

:func:`make_synthetic` draws quantities, sources and claims with knobs for the
difficulties of the field: error-scale spread, wild sources, sources that
under-state their error, copiers, long-tail sources, interval and bound
claims, rounding, and log or linear scales. Named scenarios fix the knobs:

``"peers"``
    The workload on which the field's peers were measured (see
    ``benchmarks/RESULTS.md``): 100 sources; each quantity gets 10 claims
    from 10 distinct random sources; truth ~ N(0, 10²); each source's error sd
    is log-uniform on [0.1, 3] and each claim states that sd as its ``se``;
    10 of the sources add an N(0, 30²) error to 30 % of their claims while
    still stating their nominal sd; linear scale.
"""

from __future__ import annotations

import attrs
import numpy as np

from ..claims import ClaimSet
from ..results import Table

__all__ = ["SyntheticData", "make_synthetic", "SCENARIOS", "DEFAULTS"]


@attrs.frozen(eq=False)
class SyntheticData:
    """Claims with their ground truth.

    Attributes
    ----------
    claims : ClaimSet
    truth : ndarray
        True value of each quantity, aligned with ``claims.quantities``
        (natural units).
    sources : Table
        Per source (aligned with ``claims.sources``): ``source, error_sd``
        (model space), ``wild`` (adds gross errors), ``understates`` (states
        an se smaller than its error), ``copies`` (the source it copies, or
        None).
    wild : ndarray of bool
        Per claim: carries a gross error (or copies one).
    """

    claims: ClaimSet
    truth: np.ndarray
    sources: Table
    wild: np.ndarray


#: Knob values used when neither a scenario nor the call sets them.
DEFAULTS = dict(n_quantities=1000, n_sources=100, claims_per_quantity=10, scale="linear", truth_mean=0.0,
                truth_sd=10.0, error_sd=(0.1, 3.0), state_se=True, wild_sources=0, wild_rate=0.3, wild_sd=30.0,
                understaters=0, understate_factor=3.0, copiers=0, long_tail=0.0)

SCENARIOS = {
    "peers": dict(n_sources=100, claims_per_quantity=10, truth_mean=0.0, truth_sd=10.0, error_sd=(0.1, 3.0),
                  state_se=True, wild_sources=10, wild_rate=0.3, wild_sd=30.0, scale="linear"),
}


def make_synthetic(
    scenario: str | None = None,
    *,
    n_claims: int | None = None,
    n_quantities: int | None = None,
    n_sources: int | None = None,
    claims_per_quantity: int | None = None,
    scale: str | None = None,
    truth_mean: float | None = None,
    truth_sd: float | None = None,
    error_sd: tuple[float, float] | None = None,
    state_se: bool | None = None,
    wild_sources: int | None = None,
    wild_rate: float | None = None,
    wild_sd: float | None = None,
    understaters: int | None = None,
    understate_factor: float | None = None,
    copiers: int | None = None,
    long_tail: float | None = None,
    seed: int = 0,
) -> SyntheticData:
    """Draw claims with known truths and source qualities.

    Parameters
    ----------
    scenario : str, optional
        A name from :data:`SCENARIOS`; its settings replace the defaults
        (:data:`DEFAULTS`), and explicit keyword arguments replace both.
    n_claims : int, optional
        Total claims; sets ``n_quantities = n_claims // claims_per_quantity``.
    n_quantities, n_sources, claims_per_quantity : int
        Each quantity gets ``claims_per_quantity`` claims from distinct sources.
        (Every knob below defaults to ``None``: the scenario's value, else
        :data:`DEFAULTS`.)
    scale : {'linear', 'log'}
        On ``'log'`` the truth and errors are drawn in log space and the
        claims are exp-transformed (errors are relative).
    truth_mean, truth_sd : float
        Truths ~ N(truth_mean, truth_sd²) in model space.
    error_sd : (float, float)
        Each source's error sd is log-uniform on this range (model space).
    state_se : bool
        Claims state their source's sd as ``se``.
    wild_sources, wild_rate, wild_sd : int, float, float
        The first ``wild_sources`` sources add an N(0, wild_sd²) error to a
        share ``wild_rate`` of their claims (still stating their nominal sd).
    understaters, understate_factor : int, float
        The next ``understaters`` sources have errors ``understate_factor``
        times the sd they state.
    copiers : int
        The last ``copiers`` sources copy source 0's value on every quantity
        where both make a claim.
    long_tail : float
        0 for uniform source popularity; > 0 draws sources with Zipf weights
        ``rank ** -long_tail`` (a few sources make most claims, many make few).
    seed : int

    Returns
    -------
    SyntheticData

    Examples
    --------
    >>> d = make_synthetic("peers", n_claims=1000, seed=1)
    >>> len(d.claims), d.claims.n_quantities, len(d.truth)
    (1000, 100, 100)
    """
    given = dict(n_quantities=n_quantities, n_sources=n_sources, claims_per_quantity=claims_per_quantity, scale=scale,
                 truth_mean=truth_mean, truth_sd=truth_sd, error_sd=error_sd, state_se=state_se,
                 wild_sources=wild_sources, wild_rate=wild_rate, wild_sd=wild_sd, understaters=understaters,
                 understate_factor=understate_factor, copiers=copiers, long_tail=long_tail)
    args = dict(DEFAULTS)
    if scenario is not None:
        if scenario not in SCENARIOS:
            raise ValueError(f"`scenario` must be one of {', '.join(repr(k) for k in SCENARIOS)}; got {scenario!r}.")
        args.update(SCENARIOS[scenario])
    args.update({k: v for k, v in given.items() if v is not None})  # explicit arguments win
    understaters, understate_factor = args["understaters"], args["understate_factor"]
    copiers, long_tail = args["copiers"], args["long_tail"]
    nq, ns, k = args["n_quantities"], args["n_sources"], args["claims_per_quantity"]
    if n_claims is not None:
        nq = max(1, int(n_claims) // k)
    if not 1 <= k <= ns:
        raise ValueError("`claims_per_quantity` must be between 1 and `n_sources`.")
    if args["scale"] not in ("linear", "log"):
        raise ValueError(f"`scale` must be 'linear' or 'log'; got {args['scale']!r}.")
    rng = np.random.default_rng(seed)
    lo_sd, hi_sd = args["error_sd"]
    sd = np.exp(rng.uniform(np.log(lo_sd), np.log(hi_sd), ns))
    wild_src = np.zeros(ns, dtype=bool)
    wild_src[: args["wild_sources"]] = True
    under = np.zeros(ns, dtype=bool)
    under[args["wild_sources"] : args["wild_sources"] + understaters] = True
    copies = np.full(ns, -1)
    if copiers:
        copies[ns - copiers :] = 0
    popularity = np.arange(1, ns + 1, dtype=float) ** -long_tail if long_tail > 0 else np.ones(ns)
    popularity = rng.permutation(popularity)
    truth = rng.normal(args["truth_mean"], args["truth_sd"], nq)

    # k distinct sources per quantity: Gumbel-top-k on log popularity, in blocks of quantities
    src = np.empty((nq, k), dtype=np.int64)
    logp = np.log(popularity / popularity.sum())
    block = max(1, 2_000_000 // ns)
    for b0 in range(0, nq, block):
        b1 = min(nq, b0 + block)
        keys = logp[None, :] + rng.gumbel(size=(b1 - b0, ns))
        src[b0:b1] = np.argpartition(-keys, k - 1, axis=1)[:, :k]
    q = np.repeat(np.arange(nq), k)
    s = src.ravel()
    true_sd = sd[s] * np.where(under[s], understate_factor, 1.0)
    y = truth[q] + rng.normal(size=q.size) * true_sd
    wild = wild_src[s] & (rng.random(q.size) < args["wild_rate"])
    y[wild] += rng.normal(0.0, args["wild_sd"], wild.sum())
    if copiers:
        # copiers repeat source 0's value where source 0 also claims the quantity
        zero_val = np.full(nq, np.nan)
        zero_val[q[s == 0]] = y[s == 0]
        zero_wild = np.zeros(nq, dtype=bool)
        zero_wild[q[s == 0]] = wild[s == 0]
        cp = (copies[s] == 0) & ~np.isnan(zero_val[q])
        y[cp] = zero_val[q[cp]]
        wild[cp] = zero_wild[q[cp]]
    se = sd[s] if args["state_se"] else None
    if args["scale"] == "log":
        values = np.exp(y)
        se = None if se is None else se * values
        truth_nat = np.exp(truth)
    else:
        values, truth_nat = y, truth
    claims = ClaimSet.from_arrays(np.char.add("q", q.astype(str)), np.char.add("s", s.astype(str)), values, se=se,
                                  scales=args["scale"])
    # align truth and the source table with the ClaimSet's label order
    q_order = np.array([int(x[1:]) for x in claims.quantities])
    s_order = np.array([int(x[1:]) for x in claims.sources])
    sources = Table({
        "source": claims.sources.astype(object),
        "error_sd": sd[s_order],
        "wild": wild_src[s_order],
        "understates": under[s_order],
        "copies": np.array([None if c < 0 else f"s{c}" for c in copies[s_order]], dtype=object),
    })
    return SyntheticData(claims=claims, truth=truth_nat[q_order], sources=sources, wild=wild)
