"""An always-valid sequential test of two proportions, for the canary and A/B comparison.

The live comparison of a candidate against the champion (automated resolution rate; guardrail
rates such as handoff or thumbs-down too) is looked at every day. A fixed-horizon z-test checked
at every look inflates its false-positive rate (about 14% after 5 looks at alpha 0.05, more after
28); the mixture sequential probability ratio test (mSPRT) does not: its p-value and confidence
sequence are valid at every look at once, whenever one stops (Johari, Koomen, Pekelis & Walsh,
"Always valid inference", 2017; Operations Research 2022).

Definitions, with ``d = p_treatment - p_control`` oriented so that a positive ``d`` is good
(for a rate where lower is better, ``higher_is_better=False`` flips the sign):

- ``d_hat`` is the observed difference of the cumulative success rates, and
  ``V = q_t (1 - q_t) / n_t + q_c (1 - q_c) / n_c`` its variance, with
  ``q = (successes + 1) / (n + 2)`` so that a rate of 0 or 1 still has a variance. ``d_hat`` is
  taken as normal with mean ``d`` and variance ``V`` (the normal approximation; valid for a
  fixed allocation share, so that information accrues as Brownian time).
- The mixture likelihood ratio of ``d = d0`` against a normal mixture ``d ~ N(d0, tau^2)`` is

      Lambda(d0) = sqrt(V / (V + tau^2)) * exp(tau^2 (d_hat - d0)^2 / (2 V (V + tau^2)))

  which is a nonnegative martingale with mean 1 under ``d = d0``, so by Ville's inequality it
  ever exceeds ``1 / alpha`` with probability at most ``alpha``.
- The always-valid p-value at look ``k`` is ``min(1, min over looks j <= k of 1 / Lambda_j(0))``
  (non-increasing over looks); the confidence sequence at look ``k`` is the intersection over
  looks ``j <= k`` of ``{d0 : Lambda_j(d0) < 1 / alpha}``, each of which is
  ``d_hat -+ sqrt(V (V + tau^2) / tau^2 * (2 log(1 / alpha) + log((V + tau^2) / V)))``.
  ``p <= alpha`` exactly when the confidence sequence excludes 0.

``tau`` is the standard deviation of the mixture: the size of effect the test is most sensitive
to. The default, 0.05, is the 5-point change in resolution rate the learning loop wants to find
(``benchmarks/learning_loop_sequential.py`` reports detection at 0.025, 0.05 and 0.1).

Looks before every arm has ``min_per_arm`` conversations are skipped: the normal approximation
is poor on a handful of conversations, and skipping early looks keeps the guarantee (the test
is valid at any stopping time, and "not before n0" is one).
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

Decision = Literal["better", "non-inferior", "worse", "continue"]
Floats = NDArray[np.float64]


@dataclass(frozen=True)
class ArmCounts:
    """One arm's cumulative counts at a look: conversations and those that succeeded (were
    resolved, or handed off, or got a thumbs-down: whichever rate is compared)."""

    successes: int
    n: int


@dataclass(frozen=True)
class Look:
    """Both arms' cumulative counts at one look (one day, say)."""

    control: ArmCounts
    treatment: ArmCounts


@dataclass(frozen=True)
class SequentialConfig:
    """``alpha``: the error rate over all looks together. ``tau``: the mixture's standard
    deviation, in rate points (0.05 = 5 points). ``margin``: the non-inferiority margin, in rate
    points (0.0: no non-inferiority decision). ``min_per_arm``: looks before both arms have this
    many conversations are skipped. ``higher_is_better``: False for rates such as handoff or
    thumbs-down, where the candidate should be lower."""

    alpha: float = 0.05
    tau: float = 0.05
    margin: float = 0.0
    min_per_arm: int = 100
    higher_is_better: bool = True


@dataclass(frozen=True)
class SequentialResult:
    """The test after the last look.

    ``decision``: "better" when the confidence sequence is above 0, "worse" when it is below 0,
    "non-inferior" when it is above ``-margin`` (and neither of those), else "continue".
    ``difference``: the last look's ``d_hat`` (oriented: positive is good). ``p_value``: the
    always-valid p-value for ``d = 0``. ``lower``/``upper``: the always-valid confidence sequence
    for ``d`` at level ``1 - alpha``. ``looks``: the looks counted (those with ``min_per_arm``).
    """

    decision: Decision
    difference: float
    p_value: float
    lower: float
    upper: float
    looks: int
    control_rate: float
    treatment_rate: float


def mixture_log_ratio(
    *, difference: Floats, variance: Floats, tau: float, null: float = 0.0
) -> Floats:
    """``log Lambda(null)`` of the module docstring, elementwise over arrays of looks."""
    tau2 = tau * tau
    return np.asarray(
        0.5 * np.log(variance / (variance + tau2))
        + tau2 * (difference - null) ** 2 / (2.0 * variance * (variance + tau2)),
        dtype=np.float64,
    )


def confidence_halfwidth(*, variance: Floats, tau: float, alpha: float) -> Floats:
    """Half the width of one look's mixture confidence interval (``d_hat -+`` this)."""
    tau2 = tau * tau
    return np.asarray(
        np.sqrt(
            variance
            * (variance + tau2)
            / tau2
            * (2.0 * math.log(1.0 / alpha) + np.log((variance + tau2) / variance))
        ),
        dtype=np.float64,
    )


def difference_and_variance(
    *,
    control_successes: Floats,
    control_n: Floats,
    treatment_successes: Floats,
    treatment_n: Floats,
) -> tuple[Floats, Floats]:
    """``d_hat = p_t - p_c`` and its variance ``V`` (module docstring), elementwise."""
    difference = treatment_successes / treatment_n - control_successes / control_n
    smoothed_t = (treatment_successes + 1.0) / (treatment_n + 2.0)
    smoothed_c = (control_successes + 1.0) / (control_n + 2.0)
    variance = (
        smoothed_t * (1 - smoothed_t) / treatment_n + smoothed_c * (1 - smoothed_c) / control_n
    )
    return np.asarray(difference, dtype=np.float64), np.asarray(variance, dtype=np.float64)


def sequential_test(
    *, looks: Sequence[Look], config: SequentialConfig = SequentialConfig()
) -> SequentialResult:
    """The mSPRT after every look so far (cumulative counts, oldest first).

    A daily check is one call with every day's cumulative counts; act on the first decision
    that is not "continue" (promote on "better" or "non-inferior", roll back on "worse").
    """
    counted = [
        look for look in looks if min(look.control.n, look.treatment.n) >= config.min_per_arm
    ]
    last = looks[-1] if looks else Look(ArmCounts(0, 0), ArmCounts(0, 0))
    control_rate = last.control.successes / last.control.n if last.control.n else 0.0
    treatment_rate = last.treatment.successes / last.treatment.n if last.treatment.n else 0.0
    if not counted:
        return SequentialResult(
            "continue", treatment_rate - control_rate, 1.0, -1.0, 1.0, 0,
            control_rate, treatment_rate,
        )  # fmt: skip
    sign = 1.0 if config.higher_is_better else -1.0
    difference, variance = difference_and_variance(
        control_successes=np.array([look.control.successes for look in counted], dtype=float),
        control_n=np.array([look.control.n for look in counted], dtype=float),
        treatment_successes=np.array([look.treatment.successes for look in counted], dtype=float),
        treatment_n=np.array([look.treatment.n for look in counted], dtype=float),
    )
    difference = sign * difference
    log_ratio = mixture_log_ratio(difference=difference, variance=variance, tau=config.tau)
    p_value = float(min(1.0, np.exp(-log_ratio.max())))
    halfwidth = confidence_halfwidth(variance=variance, tau=config.tau, alpha=config.alpha)
    lower = float(max(-1.0, (difference - halfwidth).max()))
    upper = float(min(1.0, (difference + halfwidth).min()))
    return SequentialResult(
        decision=decide(lower=lower, upper=upper, margin=config.margin),
        difference=float(difference[-1]),
        p_value=p_value,
        lower=lower,
        upper=upper,
        looks=len(counted),
        control_rate=control_rate,
        treatment_rate=treatment_rate,
    )


def decide(*, lower: float, upper: float, margin: float) -> Decision:
    """The decision from a confidence sequence ``[lower, upper]`` for ``d`` (positive good).
    "worse" is checked first: a candidate known to be worse is never promoted, margin or not."""
    if upper < 0.0:
        return "worse"
    if lower > 0.0:
        return "better"
    if margin > 0.0 and lower > -margin:
        return "non-inferior"
    return "continue"


def ztest_pvalue(
    *,
    control_successes: Floats,
    control_n: Floats,
    treatment_successes: Floats,
    treatment_n: Floats,
) -> Floats:
    """The fixed-horizon two-sided two-proportion z-test (pooled variance), elementwise.

    Valid only when looked at once, at a sample size fixed in advance; it is here to show, in
    the simulation, what checking it every day does to the false-positive rate.
    """
    pooled = (control_successes + treatment_successes) / (control_n + treatment_n)
    standard_error = np.sqrt(pooled * (1 - pooled) * (1 / control_n + 1 / treatment_n))
    difference = treatment_successes / treatment_n - control_successes / control_n
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(standard_error > 0, np.abs(difference) / standard_error, 0.0)
    return np.asarray(_normal_two_sided(z), dtype=np.float64)


def _normal_two_sided(z: Floats) -> Floats:
    from scipy.special import erfc

    return np.asarray(erfc(z / math.sqrt(2.0)), dtype=np.float64)
