"""The registry's state machine, promotion, canary, rollback and the decision log."""

import hashlib
from pathlib import Path
from typing import Any

import pytest

from apps.core.exceptions import Conflict
from apps.mlops import services
from apps.mlops.models import Decision, Kind, ModelVersion, RegistryRevision
from apps.mlops.services import TransitionRefused
from apps.nlu.models import TrainingRun

State = ModelVersion.State
PERSON = Decision.Decider.PERSON
ALLOWED = {
    (State.CANDIDATE, State.REJECTED),
    (State.CANDIDATE, State.CANARY),
    (State.CANDIDATE, State.CHAMPION),
    (State.CANARY, State.CHAMPION),
    (State.CANARY, State.REJECTED),
    (State.CANARY, State.RETIRED),
    (State.CHAMPION, State.RETIRED),
    (State.RETIRED, State.CHAMPION),
}


def _register(make_run: Any, workspace: Any, score: float = 0.8) -> ModelVersion:
    return services.version_register_nlu(
        run=make_run(workspace, score=score), trigger=ModelVersion.Trigger.PERSON
    )


def _revision(workspace: Any) -> int:
    return RegistryRevision.objects.get(workspace=workspace).revision


def _active_runs(workspace: Any) -> list[int]:
    return list(
        TrainingRun.objects.filter(workspace=workspace, is_active=True).values_list("pk", flat=True)
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start", "to"), [(a, b) for a in State.values for b in State.values if a != b]
)
def test_only_the_allowed_transitions_happen(
    workspace_a: Any, make_run: Any, start: str, to: str
) -> None:
    version = _register(make_run, workspace_a)
    ModelVersion.objects.filter(pk=version.pk).update(state=start)
    version.refresh_from_db()
    if (start, to) in ALLOWED:
        assert services.version_transition(version=version, to=to).state == to
    else:
        with pytest.raises(TransitionRefused, match=f"is {start}; it can't become {to}"):
            services.version_transition(version=version, to=to)
    version.refresh_from_db()
    assert version.state == (to if (start, to) in ALLOWED else start)


@pytest.mark.django_db
def test_registering_records_manifest_snapshot_evaluation_and_parent(
    workspace_a: Any, make_run: Any
) -> None:
    first = _register(make_run, workspace_a, score=0.7)
    services.version_promote(version=first, decider=PERSON)
    run = make_run(workspace_a, score=0.9)
    second = services.version_register_nlu(run=run, trigger=ModelVersion.Trigger.API)
    assert (first.number, second.number) == (1, 2)
    assert (second.kind, second.state, second.trigger) == (Kind.NLU, State.CANDIDATE, "api")
    assert second.parent == first
    assert second.evaluation == {"score": 0.9, "intent_accuracy": 0.9}
    assert set(second.manifest) == {"adapter/adapter_config.json", "heads.safetensors", "oos.json"}
    heads = Path(run.artifact_path, "heads.safetensors").read_bytes()
    assert second.manifest["heads.safetensors"] == hashlib.sha256(heads).hexdigest()
    data = Path(run.config["sources"][0]["path"]).read_bytes()
    assert second.data_snapshot == {
        "sha256": hashlib.sha256(data).hexdigest(),
        "examples": 4,
        "intents": {"card_arrival": 2, "exchange_rate": 1, "out_of_scope": 1},
        "sources": {"feedback": 1, "import": 1, "manual": 2},
    }
    # Once per run: a second registration returns the same version.
    assert services.version_register_nlu(run=run, trigger="api") == second


@pytest.mark.django_db
def test_promote_canary_and_roll_back_move_champion_and_is_active_together(
    workspace_a: Any, make_run: Any
) -> None:
    v1 = _register(make_run, workspace_a)
    services.version_promote(version=v1, decider=PERSON, reason="first model")
    assert _active_runs(workspace_a) == [v1.training_run_id]
    v2 = _register(make_run, workspace_a)
    start = _revision(workspace_a)

    canary = services.canary_start(version=v2, decider=PERSON, share=0.3)
    v2.refresh_from_db()
    assert (v2.state, v2.canary_share) == (State.CANARY, 0.3)
    assert (canary.action, canary.replaced, canary.numbers) == ("start_canary", v1, {"share": 0.3})
    assert _active_runs(workspace_a) == [v1.training_run_id]  # the champion still serves

    promoted = services.version_promote(
        version=v2, decider=Decision.Decider.SEQUENTIAL_TEST, numbers={"lift": 0.05}
    )
    v1.refresh_from_db()
    v2.refresh_from_db()
    assert (v1.state, v2.state) == (State.RETIRED, State.CHAMPION)
    assert (promoted.version, promoted.replaced, promoted.decider) == (v2, v1, "sequential_test")
    assert _active_runs(workspace_a) == [v2.training_run_id]

    back = services.version_roll_back(workspace=workspace_a, kind=Kind.NLU, decider=PERSON)
    v1.refresh_from_db()
    v2.refresh_from_db()
    assert (v1.state, v2.state) == (State.CHAMPION, State.RETIRED)
    assert (back.action, back.version, back.replaced) == ("roll_back", v1, v2)
    assert _active_runs(workspace_a) == [v1.training_run_id]

    # A canary that is rolled back is rejected; the champion stays.
    v3 = _register(make_run, workspace_a)
    services.canary_start(version=v3, decider=PERSON)
    v3.refresh_from_db()
    assert v3.canary_share == 0.2  # the policy's default share
    back = services.version_roll_back(
        workspace=workspace_a, kind=Kind.NLU, decider=Decision.Decider.SEQUENTIAL_TEST
    )
    v3.refresh_from_db()
    assert (v3.state, back.version, back.replaced) == (State.REJECTED, v1, v3)
    assert _active_runs(workspace_a) == [v1.training_run_id]
    assert _revision(workspace_a) == start + 6  # five decisions and one registration
    assert list(
        Decision.objects.filter(workspace=workspace_a).values_list("action", "version__number")
    ) == [
        ("roll_back", 1),
        ("start_canary", 3),
        ("roll_back", 1),
        ("promote", 2),
        ("start_canary", 2),
        ("promote", 1),
    ]


@pytest.mark.django_db
def test_what_the_registry_refuses(workspace_a: Any, make_run: Any) -> None:
    v1 = _register(make_run, workspace_a)
    with pytest.raises(Conflict, match="needs a champion"):
        services.canary_start(version=v1, decider=PERSON)
    with pytest.raises(Conflict, match="no nlu champion"):
        services.version_roll_back(workspace=workspace_a, kind=Kind.NLU, decider=PERSON)
    services.version_promote(version=v1, decider=PERSON)
    with pytest.raises(Conflict, match="has no previous champion"):
        services.version_roll_back(workspace=workspace_a, kind=Kind.NLU, decider=PERSON)
    with pytest.raises(TransitionRefused, match="only a candidate or the canary"):
        services.version_promote(version=v1, decider=PERSON)
    v2, v3 = _register(make_run, workspace_a), _register(make_run, workspace_a)
    services.canary_start(version=v2, decider=PERSON)
    with pytest.raises(Conflict, match="already running"):
        services.canary_start(version=v3, decider=PERSON)
    with pytest.raises(Conflict, match="version 2 is in canary"):
        services.version_promote(version=v3, decider=PERSON)
    with pytest.raises(TransitionRefused, match="a canary is rolled back"):
        services.version_reject(version=v2, decider=PERSON)
    services.version_reject(version=v3, decider=Decision.Decider.GATE, numbers={"macro_f1": 0.4})
    v3.refresh_from_db()
    assert (v3.state, v3.gate_result) == (State.REJECTED, {"macro_f1": 0.4})
    with pytest.raises(TransitionRefused):
        services.version_promote(version=v3, decider=PERSON)


@pytest.mark.django_db
def test_a_finished_training_run_is_registered_and_judged(workspace_a: Any, make_run: Any) -> None:
    first = services.nlu_run_finished(run_id=make_run(workspace_a, score=0.7).pk)
    better = services.nlu_run_finished(run_id=make_run(workspace_a, score=0.8).pk)
    worse = services.nlu_run_finished(run_id=make_run(workspace_a, score=0.6).pk)
    first.refresh_from_db()
    assert [v.state for v in (first, better, worse)] == [
        State.RETIRED,
        State.CHAMPION,
        State.REJECTED,
    ]
    assert worse.gate_result == {
        "rule": "validation score at least the champion's",
        "candidate": 0.6,
        "champion": 0.8,
        "passed": False,
    }
    assert Decision.objects.get(version=worse).decider == "gate"
    assert _active_runs(workspace_a) == [better.training_run_id]


@pytest.mark.django_db
def test_a_run_made_active_outside_the_registry_is_adopted_as_champion(
    workspace_a: Any, make_run: Any
) -> None:
    legacy = make_run(workspace_a, score=0.9, is_active=True)
    version = services.nlu_run_finished(run_id=make_run(workspace_a, score=0.5).pk)
    assert version.state == State.REJECTED
    adopted = ModelVersion.objects.get(training_run=legacy)
    assert (adopted.number, adopted.state) == (1, State.CHAMPION)
    assert _active_runs(workspace_a) == [legacy.pk]


@pytest.mark.django_db
def test_an_adapter_is_registered_as_a_version_served_by_its_own_name(
    workspace_a: Any, settings: Any, tmp_path: Path
) -> None:
    from apps.generation.services import adapter_pick
    from tests.apps.mlops.conftest import artifact_folder

    settings.GENERATION_ADAPTERS_DIR = str(tmp_path / "adapters")
    trained = artifact_folder(tmp_path / "adapters" / "acme")
    data = tmp_path / "acme.jsonl"
    data.write_text(
        '{"question": "q1", "answer": "a", "group": "article-1"}\n'
        '{"question": "q2", "answer": "b", "group": "reply-3f2a"}\n'
    )
    version = services.adapter_trained(
        workspace_id=workspace_a.pk, directory=trained, data_path=data, metrics={"loss": 1.5}
    )
    assert (version.kind, version.number, version.state) == (Kind.ADAPTER, 1, State.CHAMPION)
    assert version.artifact_path == str(tmp_path / "adapters" / "acme__v1")
    assert Path(version.artifact_path, "adapter", "adapter_config.json").is_file()
    assert version.data_snapshot["sources"] == {"article": 1, "reply": 1}
    assert version.evaluation == {"loss": 1.5}
    pick = adapter_pick(workspace=workspace_a, session_key="s-1")
    assert (pick.name, pick.to_trace()) == (
        "acme__v1",
        {"id": version.pk, "number": 1, "arm": "champion"},
    )
