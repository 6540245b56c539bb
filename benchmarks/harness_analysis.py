"""The hand-written analysis placed at the top of RESULTS-methods.md (edited after reading a full run)."""

ANALYSIS = """
## Analysis

**Where credscore wins.** On the synthetic `peers` workload (10 % of sources add 30-sd gross
errors to 30 % of their claims while stating a small se) credscore has the lowest MAE of every
method and peer (about 0.08 against 0.10-0.13 for CATD/CRH, the best classic truth-discovery
methods, 0.16 for the median and 0.65-0.75 for inverse-variance and random-effects pooling),
and it is the only method whose 90 % intervals are both calibrated (coverage ≈ 0.90) and
narrow: its interval score is about 3x better than CATD's (whose chi-square-based intervals
under-cover, ≈ 0.81) and 4-6x better than GTM's and the meta-analyses' (which cover by being
wide: one wild claim inflates τ² for its whole quantity). The reason is the model: a claim is
accurate with its source's reliability *or wild*, so a gross error is set aside instead of
being averaged in (weighted mean, random effects) or merely down-weighted (CRH, CATD, GTM).

**Where it loses.** (1) Speed: credscore is the slowest of credscore's own methods, 10-70x
slower than CATD/CRH (seconds instead of tenths of seconds at 100k claims): it computes a
grid posterior per quantity and learns reliabilities by EM. It is still faster than the
peers, which loop per quantity (statsmodels) or per group size (PyMARE) or do not finish in
the timeout (crowd-kit). (2) Learned source quality: its reliability ranks sources less well
than CATD/CRH/GTM's weights (Spearman 0.3 at 10k claims, 0.8 at 100k, against ≈ 0.95-1.0):
reliability is the probability of *not being wild*, which separates the 10 wild sources but
does not order the other 90 by their error scale (credscore models that separately, in
`error_scale`), while the classic weights are inverse error variances. (3) On the real sets,
where most claims are exactly right (population, flight), voting-style methods that pick a
stated value (median, majority, TruthFinder, CATD) are hard to beat on MAE; averaging methods
(mean, random effects) lose badly on population because a few garbage values (orders of
magnitude off) enter the average; the MAE on population is dominated by a handful of large
cities, so read the median relative error there too. On flight credscore is mid-table on MAE
(5.7 minutes against 5.1 for Sums) and its intervals under-cover (0.71), probably because flight sources copy
each other heavily (not checked here). On
population (50k claims, 43k quantities) credscore did not finish within the 120 s timeout.

**Peers.** PyMARE and credscore's own `random_effects` agree to the printed digits (DL and
REML), as do their coverages up to the interval type; statsmodels' DL `combine_effects` interval
under-covers (0.59) on this workload. crowd-kit (RASA, Dawid-Skene) did not finish 10k claims in
the timeout; truthdiscovery could not be installed (its only PyPI release fails to build).
Timings were taken on a shared 2-core machine under load from other jobs: compare within a
run, not across runs.

**What this file holds.** Rows merged from two invocations (the second `--include`s the first's
JSON): `--sizes 10000,100000 --timeout 120` over peers and population with all methods and
peers, then `--datasets flight,seed --methods own`. Not run yet: 1,000,000 claims, the
weather set, and the peers on flight (time budget of the session); re-run the one documented
command for the complete table.
"""
