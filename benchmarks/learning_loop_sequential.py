"""The canary's sequential test, validated by simulation (``ml.mlops.simulation``).

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.learning_loop_sequential

A/A: 1,000 canaries where both arms resolve 60% of conversations, 200 conversations a day split
50/50, a look every day for 28 days: the share of canaries where the mSPRT ever declares a
difference (must be <= alpha = 0.05), against the same for a fixed-horizon z-test checked every
day. A/B: the same with the candidate resolving 65% (+5 points): the share detected as "better"
within the 28 days, and the median conversations (both arms, and per arm) at detection. The
mixture's tau is also run at 0.025 and 0.1 around its default of 0.05, to show the default.

Writes ``benchmarks/results/learning_loop_sequential.json``; ``sequential_metrics()`` gives the
full learning-loop benchmark the same numbers.
"""

import dataclasses
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.common import machine
from ml.mlops.sequential import SequentialConfig
from ml.mlops.simulation import SimulationSettings, simulate

ROOT = Path(__file__).resolve().parent.parent
RESULT = ROOT / "benchmarks" / "results" / "learning_loop_sequential.json"
LIFT = 0.05
TAUS = (0.025, 0.05, 0.1)


def sequential_metrics(*, settings: SimulationSettings | None = None) -> dict[str, float]:
    """The issue's result keys for the sequential test: A/A false-positive rates of the mSPRT and
    of the daily z-test, A/B detection rate and median sample (conversations, both arms), under
    ``settings`` (default: ``SimulationSettings()``, the settings this benchmark reports)."""
    settings = settings or SimulationSettings()
    aa = simulate(settings=settings, lift=0.0)
    ab = simulate(settings=settings, lift=LIFT)
    return {
        "loop_aa_false_positive_rate": aa.declared_rate,
        "loop_aa_naive_ztest_false_positive_rate": aa.naive_declared_rate,
        "loop_aa_naive_ztest_false_positive_rate_5_looks": aa.naive_declared_by_look[4],
        "loop_ab_detection_rate": ab.better_rate,
        "loop_ab_median_sample": ab.median_total_at_detection,
        "loop_ab_median_sample_treatment": ab.median_treatment_at_detection,
        "loop_ab_median_sample_control": ab.median_control_at_detection,
        "loop_ab_median_days": ab.median_day_at_detection,
    }


def main() -> None:
    started = time.perf_counter()
    settings = SimulationSettings()
    metrics = sequential_metrics(settings=settings)
    tau_sweep: dict[str, Any] = {}
    for tau in TAUS:
        swept = dataclasses.replace(settings, test=SequentialConfig(tau=tau))
        aa = simulate(settings=swept, lift=0.0)
        ab = simulate(settings=swept, lift=LIFT)
        tau_sweep[str(tau)] = {
            "aa_false_positive_rate": aa.declared_rate,
            "ab_detection_rate": ab.better_rate,
            "ab_median_sample": ab.median_total_at_detection,
        }
    naive_curve = simulate(settings=settings, lift=0.0).naive_declared_by_look
    result = {
        "name": "learning_loop_sequential",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m benchmarks.learning_loop_sequential",
        "machine": machine(),
        "data": "simulated canaries (seeded numpy), no real data",
        "settings": dataclasses.asdict(settings) | {"lift": LIFT},
        "seconds": round(time.perf_counter() - started, 2),
        "metrics": metrics,
        "naive_ztest_false_positive_rate_by_look": list(naive_curve),
        "tau_sweep": tau_sweep,
    }
    RESULT.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(metrics, indent=1))


if __name__ == "__main__":
    main()
