import itertools
import math

import numpy as np
import pytest

from ml.mlops.sequential import (
    ArmCounts,
    Look,
    SequentialConfig,
    confidence_halfwidth,
    decide,
    mixture_log_ratio,
    sequential_test,
    ztest_pvalue,
)
from ml.mlops.simulation import SimulationSettings, simulate


def _daily_looks(control_rate: float, treatment_rate: float, per_arm: int, days: int) -> list[Look]:
    """Cumulative looks where every day each arm gets ``per_arm`` conversations at its rate."""
    return [
        Look(
            control=ArmCounts(round(control_rate * per_arm * day), per_arm * day),
            treatment=ArmCounts(round(treatment_rate * per_arm * day), per_arm * day),
        )
        for day in range(1, days + 1)
    ]


def test_mixture_ratio_matches_its_formula() -> None:
    d, v, tau = 0.03, 0.0004, 0.05
    expected = math.sqrt(v / (v + tau**2)) * math.exp(tau**2 * d**2 / (2 * v * (v + tau**2)))
    log_ratio = mixture_log_ratio(difference=np.array([d]), variance=np.array([v]), tau=tau)
    assert math.exp(float(log_ratio[0])) == pytest.approx(expected)


def test_the_confidence_interval_edge_is_where_the_ratio_reaches_one_over_alpha() -> None:
    v, tau, alpha = np.array([0.0004]), 0.05, 0.05
    edge = float(confidence_halfwidth(variance=v, tau=tau, alpha=alpha)[0])
    at_edge = mixture_log_ratio(difference=np.array([edge]), variance=v, tau=tau)
    assert float(at_edge[0]) == pytest.approx(math.log(1 / alpha))


def test_p_value_is_monotone_over_looks_and_the_interval_only_shrinks() -> None:
    # The candidate leads early and falls back later: the always-valid p-value never rises
    looks = _daily_looks(0.60, 0.64, 100, 10)
    looks += [
        Look(
            control=ArmCounts(looks[-1].control.successes + 60 * k, 1000 + 100 * k),
            treatment=ArmCounts(looks[-1].treatment.successes + 58 * k, 1000 + 100 * k),
        )
        for k in range(1, 11)
    ]
    results = [sequential_test(looks=looks[: k + 1]) for k in range(len(looks))]
    p_values = [result.p_value for result in results]
    assert all(b <= a for a, b in itertools.pairwise(p_values))
    assert p_values[-1] < p_values[0]
    assert all(b.lower >= a.lower and b.upper <= a.upper for a, b in itertools.pairwise(results))


def test_a_clear_lift_is_better_and_its_p_value_matches_the_interval() -> None:
    result = sequential_test(looks=_daily_looks(0.60, 0.70, 200, 14))
    assert result.decision == "better"
    assert result.p_value <= 0.05
    assert result.lower > 0
    assert result.difference == pytest.approx(0.10)
    assert result.control_rate == pytest.approx(0.60)


def test_equal_arms_continue_without_margin_and_are_non_inferior_with_one() -> None:
    looks = _daily_looks(0.60, 0.60, 200, 28)
    assert sequential_test(looks=looks).decision == "continue"
    assert sequential_test(looks=looks).p_value == 1.0
    result = sequential_test(looks=looks, config=SequentialConfig(margin=0.03))
    assert result.decision == "non-inferior"
    assert -0.03 < result.lower < 0 < result.upper


def test_a_guardrail_where_lower_is_better_reads_a_rise_as_worse() -> None:
    handoff = _daily_looks(0.10, 0.16, 200, 14)
    assert (
        sequential_test(looks=handoff, config=SequentialConfig(higher_is_better=False)).decision
        == "worse"
    )
    assert sequential_test(looks=handoff).decision == "better"


def test_looks_below_the_minimum_sample_are_skipped() -> None:
    looks = _daily_looks(0.10, 0.90, 50, 1)
    result = sequential_test(looks=looks, config=SequentialConfig(min_per_arm=100))
    assert (result.decision, result.looks, result.p_value) == ("continue", 0, 1.0)
    assert sequential_test(looks=[]).decision == "continue"


def test_decide_checks_worse_first() -> None:
    assert decide(lower=-0.01, upper=-0.001, margin=0.05) == "worse"
    assert decide(lower=0.001, upper=0.02, margin=0.0) == "better"
    assert decide(lower=-0.01, upper=0.02, margin=0.02) == "non-inferior"
    assert decide(lower=-0.03, upper=0.02, margin=0.02) == "continue"


def test_ztest_matches_a_worked_example() -> None:
    # 60/100 against 70/100: pooled 0.65, z = 0.1 / sqrt(0.65 * 0.35 * 0.02) = 1.4825, p = 0.1382
    p = ztest_pvalue(
        control_successes=np.array([60.0]),
        control_n=np.array([100.0]),
        treatment_successes=np.array([70.0]),
        treatment_n=np.array([100.0]),
    )
    assert float(p[0]) == pytest.approx(0.1382, abs=1e-4)


def test_aa_simulation_keeps_false_positives_below_alpha_and_the_daily_ztest_does_not() -> None:
    settings = SimulationSettings(repetitions=400, days=20, seed=1)
    outcome = simulate(settings=settings, lift=0.0)
    assert outcome.declared_rate <= 0.05
    assert outcome.naive_declared_rate > 0.15  # about 0.27 after 28 looks in the benchmark
    by_look = outcome.naive_declared_by_look
    assert all(b >= a for a, b in itertools.pairwise(by_look))


def test_ab_simulation_detects_a_large_lift_and_reports_its_sample() -> None:
    settings = SimulationSettings(repetitions=200, days=14, seed=2)
    outcome = simulate(settings=settings, lift=0.10)
    assert outcome.better_rate > 0.9
    assert 0 < outcome.median_total_at_detection <= 14 * 200
    assert outcome.median_total_at_detection == 200 * outcome.median_day_at_detection
    assert outcome.median_treatment_at_detection == pytest.approx(
        outcome.median_total_at_detection / 2, rel=0.1
    )


def test_simulation_is_deterministic_under_a_seed() -> None:
    settings = SimulationSettings(repetitions=50, days=5, seed=3)
    assert simulate(settings=settings, lift=0.05) == simulate(settings=settings, lift=0.05)
