"""Agreement results: the claim × claim matrix of a quantity, its conflict report and the
source × source agreement (definitions in :mod:`credscore.agreement`)."""

from __future__ import annotations

import math

import attrs
import numpy as np
from .agreement_claims import extend_tables, heterogeneity
from .agreement_pairs import _pair_chunks, pair_agreement, quantity_pairs
from .likelihood import ClaimModel
from .results import square_frame


# ------------------------------------------------------------ results
def _claim_labels(cs, rows: np.ndarray) -> np.ndarray:
    return np.array([f"#{int(cs.row[r])} {cs.sources[cs.source[r]]}" for r in rows], dtype=object)


@attrs.frozen(eq=False, repr=False)
class AgreementMatrix:
    """Claim × claim agreement of one quantity (see :mod:`credscore.agreement`).

    Attributes
    ----------
    quantity : str
    labels : ndarray of str
        ``"#row source"`` of each claim (rows and columns, input order).
    rows : ndarray of int
        The claims' input rows.
    values : ndarray, shape (n, n)
        Symmetric, in [0, 1], 1 on the diagonal. A relayed repeat has its
        evidence claim's agreements (and 1 with it).
    """

    quantity: str
    labels: np.ndarray
    rows: np.ndarray
    values: np.ndarray

    def __attrs_post_init__(self) -> None:
        for v in (self.labels, self.rows, self.values):
            v.setflags(write=False)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, key):
        return self.values[key]

    def to_dataframe(self):
        """The matrix as a labelled :class:`pandas.DataFrame` (requires pandas)."""
        return square_frame(self.values, self.labels)

    def to_text(self, floatfmt: str = ".2f") -> str:
        """A plain-text rendering."""
        w = max([len(str(x)) for x in self.labels] + [4])
        head = " " * w + "  " + "  ".join(f"{k:>5}" for k in range(len(self)))
        lines = [head]
        for k, lab in enumerate(self.labels):
            cells = "  ".join(format(v, floatfmt).rjust(5) for v in self.values[k])
            lines.append(f"{str(lab):<{w}}  {cells}  ({k})")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<AgreementMatrix {self.quantity!r}: {len(self)} claims>\n" + self.to_text()


@attrs.frozen(eq=False, repr=False)
class Conflict:
    """Conflict report of one quantity (see :meth:`FusionResult.conflict`).

    Attributes
    ----------
    quantity : str
    score : float
        Expected share of wild claims among the counted ones.
    bimodal : bool
        The posterior has separated modes, each side holding ≥ 5 % of the mass.
    Q, I2, H2, tau2, tau2_ci : float, float, float, float, (float, float)
        REML random-effects heterogeneity of the point/approx claims (model
        space; Q-profile interval for τ² at ``level``); NaN when fewer than two.
    k : int
        Number of claims in the meta-analysis.
    pairs : tuple of (str, str, float)
        The least-agreeing pairs of counted claims, ``(label_i, label_j,
        agreement)``, lowest first.
    claims : tuple of (str, float, float, float)
        The counted claims ``(label, p_wild, residual, influence)``, most
        likely wild first.
    stated : dict of str to str
        What each counted claim states (``"~10,000"``, ``"≤ 10,000"``), by label.
    p_wild : dict of str to float
        Each counted claim's probability of being wild, by label.
    """

    quantity: str
    score: float
    bimodal: bool
    Q: float
    I2: float
    H2: float
    tau2: float
    tau2_ci: tuple
    k: int
    level: float
    pairs: tuple
    claims: tuple
    stated: dict
    p_wild: dict

    def to_text(self) -> str:
        """A plain-text rendering."""
        lines = [f"{self.quantity}: conflict {self.score:.2f} (expected share of wild claims)"
                 + ("; bimodal posterior" if self.bimodal else "")]
        if self.k >= 2:
            lines.append(f"  heterogeneity (REML, k={self.k}): Q={self.Q:.3g}  I2={self.I2:.1f}%  H2={self.H2:.3g}  "
                         f"tau2={self.tau2:.3g} [{self.tau2_ci[0]:.3g}, {self.tau2_ci[1]:.3g}]")
        for a, b, v in self.pairs:
            w = a if self.p_wild[a] >= self.p_wild[b] else b
            lines.append(f"  {a} {self.stated[a]} vs {b} {self.stated[b]}: agreement {v:.2f}; "
                         f"{w} p_wild {self.p_wild[w]:.2f}")
        for lab, pw, r, inf in self.claims:
            rs = "" if math.isnan(r) else f"  residual {r:+.2f}"
            lines.append(f"  {lab} {self.stated[lab]}: p_wild {pw:.2f}{rs}  influence {inf:+.2f}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Conflict {self.quantity!r}: score {self.score:.3f}, bimodal={self.bimodal}>"


@attrs.frozen(eq=False, repr=False)
class SourceAgreement:
    """Source × source agreement over shared quantities.

    Attributes
    ----------
    sources : ndarray of str
    values : ndarray, shape (S, S)
        Entry (a, b): the mean, over the quantities on which both state a
        counted claim, of the mean agreement between a's and b's claims there
        (pairs of distinct claims; NaN when none). Symmetric.
    shared : ndarray of int, shape (S, S)
        The number of those quantities (on the diagonal: quantities where the
        source has at least two counted claims).
    """

    sources: np.ndarray
    values: np.ndarray
    shared: np.ndarray

    def to_dataframe(self, which: str = "agreement"):
        """``which='agreement'`` (the values) or ``'shared'`` (the counts) as a labelled DataFrame."""
        if which not in ("agreement", "shared"):
            raise ValueError(f"`which` must be 'agreement' or 'shared'; got {which!r}.")
        return square_frame(self.values if which == "agreement" else self.shared, self.sources)

    def __repr__(self) -> str:
        return f"<SourceAgreement: {len(self.sources)} sources, {int(np.triu(self.shared, 1).sum())} shared pairs>"


def agreement_matrix(cs, model: ClaimModel, q: int) -> AgreementMatrix:
    """The claim × claim agreement matrix of quantity code ``q`` over all its input rows."""
    rows = np.flatnonzero(cs.quantity == q)
    i, j, _ = quantity_pairs(model, np.array([q]))
    s0, n = int(model.starts[q]), int(model.counts[q])
    A = np.eye(n)
    v = pair_agreement(model, i, j)
    A[i - s0, j - s0] = v
    A[j - s0, i - s0] = v
    pos = np.full(len(cs), -1, dtype=np.int64)
    pos[model.claim] = np.arange(len(model.claim))
    loc = pos[cs.evidence[rows]] - s0
    M = A[np.ix_(loc, loc)]
    return AgreementMatrix(quantity=str(cs.quantities[q]), labels=_claim_labels(cs, rows),
                           rows=cs.row[rows].copy(), values=M)


def conflict_report(result, q: int, top: int = 3) -> Conflict:
    """The :class:`Conflict` of quantity code ``q`` of a FusionResult."""
    cs, model = result.claimset, result.model
    s0, n = int(model.starts[q]), int(model.counts[q])
    i, j, _ = quantity_pairs(model, np.array([q]))
    v = pair_agreement(model, i, j)
    order = np.argsort(v, kind="stable")[:top]
    labels = _claim_labels(cs, model.claim[s0 : s0 + n])
    pairs = tuple((str(labels[i[k] - s0]), str(labels[j[k] - s0]), float(v[k])) for k in order)
    het = heterogeneity(model, cs.kind[model.claim], tau2_ci=True, level=0.95)
    c = result.claims
    ev = model.claim[s0 : s0 + n]
    pw = np.asarray(c["p_wild"])[ev]
    res_ = np.asarray(c["residual"])[ev]
    inf = np.asarray(c["influence"])[ev]
    worst = np.argsort(-pw, kind="stable")[:top]
    claims = tuple((str(labels[k]), float(pw[k]), float(res_[k]), float(inf[k])) for k in worst)
    from .results import _stated

    stated = {str(labels[k]): _stated(c.row(int(ev[k]))) for k in range(n)}
    p_wild = {str(labels[k]): float(pw[k]) for k in range(n)}
    e = result.estimates
    return Conflict(
        quantity=str(cs.quantities[q]), score=float(e["conflict"][q]), bimodal=bool(e["bimodal"][q]),
        Q=float(het["Q"][q]), I2=float(het["I2"][q]), H2=float(het["H2"][q]), tau2=float(het["tau2"][q]),
        tau2_ci=(float(het["tau2_ci_low"][q]), float(het["tau2_ci_high"][q])), k=int(het["k"][q]), level=0.95,
        pairs=pairs, claims=claims, stated=stated, p_wild=p_wild,
    )


def source_agreement(cs, model: ClaimModel) -> SourceAgreement:
    """Source × source agreement over shared quantities (all pairs of all quantities, chunked)."""
    ns, nq = cs.n_sources, model.n_quantities
    src = cs.source[model.claim].astype(np.int64)
    # per (quantity, source a <= source b): sum and count of pair agreements
    keys, sums, cnts = [], [], []
    for i, j, q in _pair_chunks(model):
        v = pair_agreement(model, i, j)
        a, b = np.minimum(src[i], src[j]), np.maximum(src[i], src[j])
        key = (q * ns + a) * ns + b
        u, inv = np.unique(key, return_inverse=True)
        keys.append(u)
        sums.append(np.bincount(inv, weights=v))
        cnts.append(np.bincount(inv))
    values = np.full((ns, ns), np.nan)
    shared = np.zeros((ns, ns), dtype=np.int64)
    if keys:
        key = np.concatenate(keys)
        u, inv = np.unique(key, return_inverse=True)
        s = np.bincount(inv, weights=np.concatenate(sums))
        c = np.bincount(inv, weights=np.concatenate(cnts))
        per_q = s / c  # mean agreement of a and b on one quantity
        ab = u % (ns * ns)
        uab, inv2 = np.unique(ab, return_inverse=True)
        tot = np.bincount(inv2, weights=per_q)
        nsh = np.bincount(inv2)
        a, b = uab // ns, uab % ns
        values[a, b] = values[b, a] = tot / nsh
        shared[a, b] = shared[b, a] = nsh
    return SourceAgreement(sources=cs.sources.astype(object), values=values, shared=shared)


def with_agreement(result, accurate: np.ndarray):
    """A FusionResult with the agreement and conflict columns added (see :func:`extend_tables`)."""
    est, cl, so = extend_tables(result.claimset, result.model, result.posterior, accurate,
                                result.estimates, result.claims, result.sources)
    return attrs.evolve(result, estimates=est, claims=cl, sources=so)
