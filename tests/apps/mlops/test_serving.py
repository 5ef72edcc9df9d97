"""Which version serves a customer: sticky canary assignment by a stable hash, and every
worker process following the registry without a restart."""

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from apps.mlops import services, serving
from apps.mlops.models import Decision, Kind, ModelVersion
from apps.mlops.serving import Arm, ServingPlan, canary_fraction, in_canary
from apps.nlu import hooks

PERSON = Decision.Decider.PERSON
KEYS = [f"5f0c1a52-{i:04x}-4a7e-9d3b-{i * 7919:012x}" for i in range(10_000)]


def _plan(share: float, canary_id: int = 7) -> ServingPlan:
    arm = Arm(version_id=1, number=1, run_id=1, artifact_path="", manifest={})
    canary = Arm(version_id=canary_id, number=2, run_id=2, artifact_path="", manifest={})
    return ServingPlan(champion=arm, canary=canary, canary_share=share)


def test_the_canary_hash_is_sha256_of_the_canary_and_the_session() -> None:
    digest = hashlib.sha256(b"7:customer-42").digest()
    expected = int.from_bytes(digest[:8], "big") / 2**64
    assert canary_fraction(version_id=7, session_key="customer-42") == expected
    assert 0.0 <= expected < 1.0


@pytest.mark.parametrize("share", [0.05, 0.2, 0.5])
def test_the_observed_canary_fraction_matches_the_share(share: float) -> None:
    plan = _plan(share)
    observed = sum(in_canary(plan=plan, session_key=key) for key in KEYS) / len(KEYS)
    # The binomial standard deviation is at most 0.005 at 10,000 keys: 4 of them.
    assert abs(observed - share) < 0.02, observed


def test_one_session_sees_one_arm_and_each_canary_draws_its_own_sessions() -> None:
    plan = _plan(0.2)
    first = [in_canary(plan=plan, session_key=key) for key in KEYS]
    assert first == [in_canary(plan=plan, session_key=key) for key in KEYS]
    other = [in_canary(plan=_plan(0.2, canary_id=8), session_key=key) for key in KEYS]
    both = sum(a and b for a, b in zip(first, other, strict=True)) / len(KEYS)
    assert abs(both - 0.2 * 0.2) < 0.01  # independent draws, not the same customers again
    assert not in_canary(plan=plan, session_key=None)  # no session: the champion


@pytest.mark.django_db
def test_the_same_session_gets_the_same_version_turn_after_turn(
    workspace_a: Any, make_run: Any
) -> None:
    champion = services.version_register_nlu(run=make_run(workspace_a), trigger="person")
    services.version_promote(version=champion, decider=PERSON)
    canary = services.version_register_nlu(run=make_run(workspace_a), trigger="person")
    services.canary_start(version=canary, decider=PERSON, share=0.3)
    arms = {}
    for key in KEYS[:500]:
        runs = hooks.serving_runs(workspace_a.pk, key)
        arms[key] = runs[0].version_number
        if runs[0].arm == "canary":  # the champion is behind it, in case the canary won't load
            assert [r.version_number for r in runs] == [2, 1]
    serving.plans_forget()  # another process, or this one after a restart
    assert arms == {key: hooks.serving_runs(workspace_a.pk, key)[0].version_number for key in arms}
    assert 0.2 < sum(n == 2 for n in arms.values()) / len(arms) < 0.4
    assert [r.arm for r in hooks.serving_runs(workspace_a.pk, None)] == ["champion"]


@pytest.mark.django_db
def test_a_worker_revalidates_with_one_query_and_follows_a_promotion(
    workspace_a: Any, make_run: Any, django_assert_num_queries: Any
) -> None:
    v1 = services.version_register_nlu(run=make_run(workspace_a), trigger="person")
    services.version_promote(version=v1, decider=PERSON)
    assert serving.plan_get(workspace_id=workspace_a.pk, kind=Kind.NLU).champion.number == 1  # type: ignore[union-attr]
    with django_assert_num_queries(1):
        serving.plan_get(workspace_id=workspace_a.pk, kind=Kind.NLU)
    v2 = services.version_register_nlu(run=make_run(workspace_a), trigger="person")
    services.version_promote(version=v2, decider=PERSON)
    with django_assert_num_queries(2):  # the revision moved: champion and canary read again
        plan = serving.plan_get(workspace_id=workspace_a.pk, kind=Kind.NLU)
    assert (plan.champion.number, plan.canary) == (2, None)  # type: ignore[union-attr]


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_promotion_and_rollback_reach_another_worker_process_without_a_restart(
    workspace_a: Any, make_run: Any
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("a second process needs the server database; the services pass runs this")
    v1 = services.version_register_nlu(run=make_run(workspace_a), trigger="person")
    services.version_promote(version=v1, decider=PERSON)
    v2 = services.version_register_nlu(run=make_run(workspace_a), trigger="person")
    env = {**os.environ, "DATABASE_URL": _database_url()}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    with tempfile.TemporaryFile("w+") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "tests.apps.mlops.serving_worker"],
            cwd=Path(__file__).resolve().parents[3],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        assert worker.stdin is not None
        assert worker.stdout is not None
        try:
            if worker.stdout.readline().strip() != "ready":
                log.seek(0)
                pytest.fail(f"the worker did not start: {log.read()[-2000:]}")

            def served(session_key: str = "customer-1") -> list[list[Any]]:
                worker.stdin.write(f"{workspace_a.pk} {session_key}\n")  # type: ignore[union-attr]
                worker.stdin.flush()  # type: ignore[union-attr]
                return json.loads(worker.stdout.readline())  # type: ignore[union-attr, no-any-return]

            assert served() == [[1, "champion"]]
            assert served() == [[1, "champion"]]  # from its cache
            services.version_promote(version=v2, decider=PERSON)
            assert served() == [[2, "champion"]]
            services.version_roll_back(workspace=workspace_a, kind=Kind.NLU, decider=PERSON)
            assert served() == [[1, "champion"]]
            v3 = services.version_register_nlu(run=make_run(workspace_a), trigger="person")
            services.canary_start(version=v3, decider=PERSON, share=1.0)
            assert served() == [[3, "canary"], [1, "champion"]]
            services.version_roll_back(workspace=workspace_a, kind=Kind.NLU, decider=PERSON)
            assert served() == [[1, "champion"]]
        finally:
            worker.stdin.close()
            worker.wait(timeout=30)
    assert ModelVersion.objects.get(pk=v3.pk).state == ModelVersion.State.REJECTED
