"""The sequential test's validation by simulation: A/A (no difference) and A/B (a true lift).

Every repetition is one canary: ``per_day`` conversations a day, each sent to the candidate with
probability ``share`` (a stable hash of the session does that in the product), each resolved
with the arm's rate; after every day both tests look at the cumulative counts. A repetition
"declares a difference" when the mSPRT's always-valid p-value reaches ``alpha`` at any look
(``ml.mlops.sequential``), or, for the naive procedure, when the fixed-horizon z-test's p-value
does. In an A/A run both are false positives; in an A/B run the mSPRT's first decision is a
detection when it says "better", and the sample it needed is the cumulative count at that look.

It lives in ``ml/`` rather than in the benchmark because the tests run a small version of it and
both the sequential benchmark and the full learning-loop benchmark report its numbers.
All repetitions run at once as (repetitions x days) arrays: 1,000 x 28 takes milliseconds.
"""

import math
from dataclasses import dataclass, field

import numpy as np

from ml.mlops.sequential import (
    Floats,
    SequentialConfig,
    difference_and_variance,
    mixture_log_ratio,
    ztest_pvalue,
)


@dataclass(frozen=True)
class SimulationSettings:
    repetitions: int = 1000
    days: int = 28  # one look a day
    per_day: int = 200  # conversations a day, both arms together
    share: float = 0.5  # the candidate's share of conversations
    control_rate: float = 0.60  # the champion's resolution rate
    seed: int = 0
    test: SequentialConfig = field(default_factory=SequentialConfig)


@dataclass(frozen=True)
class SimulationOutcome:
    """``declared_rate``: the share of repetitions where the mSPRT ever declared a difference
    (either way). ``better_rate``: the share whose first decision was "better" (the detection
    rate in an A/B run). ``naive_declared_rate``: the same as ``declared_rate`` for the z-test
    checked at every look; ``naive_declared_by_look[k]``: ... by look ``k + 1``. The medians are
    over the repetitions that said "better", of the cumulative conversations at that look (0.0
    when none did)."""

    lift: float
    declared_rate: float
    better_rate: float
    naive_declared_rate: float
    naive_declared_by_look: tuple[float, ...]
    median_total_at_detection: float
    median_treatment_at_detection: float
    median_control_at_detection: float
    median_day_at_detection: float


def simulate(*, settings: SimulationSettings, lift: float) -> SimulationOutcome:
    """Run ``settings.repetitions`` canaries whose candidate resolves ``lift`` more often."""
    rng = np.random.default_rng(settings.seed)
    shape = (settings.repetitions, settings.days)
    treatment_daily = rng.binomial(settings.per_day, settings.share, size=shape)
    control_daily = settings.per_day - treatment_daily
    treatment_rate = settings.control_rate + lift
    treatment_n = np.cumsum(treatment_daily, axis=1).astype(np.float64)
    control_n = np.cumsum(control_daily, axis=1).astype(np.float64)
    treatment_successes = np.cumsum(rng.binomial(treatment_daily, treatment_rate), axis=1)
    control_successes = np.cumsum(rng.binomial(control_daily, settings.control_rate), axis=1)
    counts = {
        "control_successes": control_successes.astype(np.float64),
        "control_n": control_n,
        "treatment_successes": treatment_successes.astype(np.float64),
        "treatment_n": treatment_n,
    }
    config = settings.test
    difference, variance = difference_and_variance(**counts)
    if not config.higher_is_better:
        difference = -difference
    counted = np.minimum(control_n, treatment_n) >= config.min_per_arm
    log_ratio = mixture_log_ratio(difference=difference, variance=variance, tau=config.tau)
    crossed = counted & (log_ratio >= math.log(1.0 / config.alpha))
    declared = crossed.any(axis=1)
    first = crossed.argmax(axis=1)
    rows = np.arange(settings.repetitions)
    better = declared & (difference[rows, first] > 0)

    naive_rejects = ztest_pvalue(**counts) < config.alpha
    naive_by_look = np.maximum.accumulate(naive_rejects, axis=1).mean(axis=0)

    def median_at_detection(values: Floats) -> float:
        picked = values[rows, first][better]
        return float(np.median(picked)) if picked.size else 0.0

    return SimulationOutcome(
        lift=lift,
        declared_rate=float(declared.mean()),
        better_rate=float(better.mean()),
        naive_declared_rate=float(naive_by_look[-1]),
        naive_declared_by_look=tuple(round(float(rate), 4) for rate in naive_by_look),
        median_total_at_detection=median_at_detection(treatment_n + control_n),
        median_treatment_at_detection=median_at_detection(treatment_n),
        median_control_at_detection=median_at_detection(control_n),
        median_day_at_detection=median_at_detection(
            np.broadcast_to(np.arange(1, settings.days + 1, dtype=np.float64), shape)
        ),
    )
