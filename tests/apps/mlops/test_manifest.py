"""Artifacts are checked against the SHA-256 the registry recorded; promotion and rollback are
one transaction each: a tampered file or a failure halfway leaves the champion serving."""

import json
from pathlib import Path
from typing import Any

import pytest

from apps.mlops import services
from apps.mlops.models import Decision, Kind, ModelVersion, RegistryRevision
from apps.mlops.services import TamperedArtifact
from apps.nlu import runtime as nlu_runtime
from apps.nlu.models import TrainingRun
from apps.nlu.runtime import model_serving
from ml.artifacts import TamperedModelError, manifest_write

State = ModelVersion.State
PERSON = Decision.Decider.PERSON


def _champion_and_candidate(make_run: Any, workspace: Any) -> tuple[ModelVersion, ModelVersion]:
    champion = services.version_register_nlu(run=make_run(workspace), trigger="person")
    services.version_promote(version=champion, decider=PERSON)
    candidate = services.version_register_nlu(run=make_run(workspace), trigger="person")
    return champion, candidate


def _tamper(version: ModelVersion, *, rewrite_manifest: bool = False) -> None:
    Path(version.artifact_path, "heads.safetensors").write_text("planted weights")
    if rewrite_manifest:
        # Whoever changed the file also rewrote the folder's own manifest: the registry's copy
        # still tells.
        manifest_write(Path(version.artifact_path))


def _state(workspace: Any) -> tuple[Any, ...]:
    return (
        sorted(ModelVersion.objects.filter(workspace=workspace).values_list("number", "state")),
        list(
            TrainingRun.objects.filter(workspace=workspace, is_active=True).values_list(
                "pk", flat=True
            )
        ),
        RegistryRevision.objects.get(workspace=workspace).revision,
        Decision.objects.filter(workspace=workspace).count(),
    )


@pytest.mark.django_db
@pytest.mark.parametrize("rewrite_manifest", [False, True])
def test_a_tampered_candidate_is_refused_and_the_champion_keeps_serving(
    workspace_a: Any, make_run: Any, rewrite_manifest: bool
) -> None:
    _champion, candidate = _champion_and_candidate(make_run, workspace_a)
    _tamper(candidate, rewrite_manifest=rewrite_manifest)
    before = _state(workspace_a)
    with pytest.raises(TamperedArtifact) as refused:
        services.version_promote(version=candidate, decider=PERSON)
    assert refused.value.status == 409
    assert "nlu version 2:" in refused.value.message
    assert "heads.safetensors does not match its SHA-256 in the model registry" in str(
        refused.value
    )
    with pytest.raises(TamperedArtifact):
        services.canary_start(version=candidate, decider=PERSON)
    assert _state(workspace_a) == before
    assert before[0] == [(1, State.CHAMPION), (2, State.CANDIDATE)]


@pytest.mark.django_db
def test_a_rollback_to_a_tampered_champion_is_refused(workspace_a: Any, make_run: Any) -> None:
    first, second = _champion_and_candidate(make_run, workspace_a)
    services.version_promote(version=second, decider=PERSON)
    _tamper(first)
    before = _state(workspace_a)
    with pytest.raises(TamperedArtifact, match="nlu version 1"):
        services.version_roll_back(workspace=workspace_a, kind=Kind.NLU, decider=PERSON)
    assert _state(workspace_a) == before


@pytest.mark.django_db
def test_an_artifact_that_disagrees_with_its_own_manifest_is_not_registered(
    workspace_a: Any, make_run: Any
) -> None:
    run = make_run(workspace_a)
    Path(run.artifact_path, "oos.json").write_text('{"threshold": 0.99}')
    with pytest.raises(TamperedArtifact, match=r"oos\.json does not match its SHA-256"):
        services.version_register_nlu(run=run, trigger="person")
    Path(run.artifact_path, "oos.json").write_text('{"threshold": 0.5}')
    Path(run.artifact_path, "extra.bin").write_text("smuggled")
    with pytest.raises(TamperedArtifact, match=r"extra\.bin"):
        services.version_register_nlu(run=run, trigger="person")
    assert not ModelVersion.objects.exists()


@pytest.mark.django_db
def test_an_out_of_scope_refit_re_records_the_manifest(workspace_a: Any, make_run: Any) -> None:
    """nlu rewrites oos.json and the folder's manifest in place; its hook re-records ours."""
    from apps.nlu import hooks

    champion, _ = _champion_and_candidate(make_run, workspace_a)
    folder = Path(champion.artifact_path)
    (folder / "oos.json").write_text(json.dumps({"threshold": 0.7}))
    manifest_write(folder)
    hooks.artifact_rewritten(champion.training_run_id)
    champion.refresh_from_db()
    services.version_manifest_verify(version=champion)  # no error


@pytest.mark.django_db
@pytest.mark.parametrize("failing", ["_decision", "_revision_bump"])
def test_a_promotion_that_fails_halfway_leaves_the_old_champion(
    workspace_a: Any, make_run: Any, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    _champion, candidate = _champion_and_candidate(make_run, workspace_a)
    before = _state(workspace_a)

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the database went away")

    # Both states and is_active are written before these: the transaction undoes them.
    monkeypatch.setattr(services, failing, crash)
    with pytest.raises(RuntimeError):
        services.version_promote(version=candidate, decider=PERSON)
    assert _state(workspace_a) == before
    monkeypatch.undo()
    services.version_promote(version=candidate, decider=PERSON)
    before = _state(workspace_a)
    monkeypatch.setattr(services, failing, crash)
    with pytest.raises(RuntimeError):
        services.version_roll_back(workspace=workspace_a, kind=Kind.NLU, decider=PERSON)
    assert _state(workspace_a) == before
    assert before[0] == [(1, State.RETIRED), (2, State.CHAMPION)]


@pytest.mark.django_db
def test_serving_refuses_a_tampered_canary_and_answers_with_the_champion(
    workspace_a: Any, make_run: Any, fake_runtime: Any
) -> None:
    champion, candidate = _champion_and_candidate(make_run, workspace_a)
    services.canary_start(version=candidate, decider=PERSON, share=1.0)
    served = model_serving(workspace=workspace_a, session_key="customer-1")
    assert served is not None
    assert (served.run.arm, served.run.version_number) == ("canary", 2)
    assert served.model.directory == candidate.artifact_path

    _tamper(candidate, rewrite_manifest=True)
    nlu_runtime._loaded.clear()  # a worker that loads the canary now (the check is at load)
    other = model_serving(workspace=workspace_a, session_key="customer-2")
    assert other is not None
    assert (other.run.arm, other.run.version_number) == ("champion", 1)
    assert other.model.directory == champion.artifact_path
    assert fake_runtime.loads == [
        (f"{workspace_a.pk}-canary", candidate.artifact_path),
        (str(workspace_a.pk), champion.artifact_path),
    ]


@pytest.mark.django_db
def test_serving_refuses_a_tampered_champion_with_a_clear_error(
    workspace_a: Any, make_run: Any, fake_runtime: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    champion, _ = _champion_and_candidate(make_run, workspace_a)
    _tamper(champion, rewrite_manifest=True)
    monkeypatch.setattr("apps.nlu.runtime.time.sleep", lambda seconds: None)
    with pytest.raises(
        TamperedModelError, match="does not match its SHA-256 in the model registry"
    ):
        model_serving(workspace=workspace_a, session_key="customer-1")
    assert fake_runtime.loads == []
