"""Writes of the model registry: register a version, check its artifact, move it between states,
and log every decision. Each write holds the workspace's registry row locked, is one
transaction, and bumps the workspace's registry revision, which every serving process compares
against on its next turn (``apps.mlops.serving``).

    version_register_nlu(run=...)            a succeeded NLU training run -> candidate
    version_register_adapter(workspace=...)  a trained generator adapter -> candidate
    version_promote(version=...)             candidate/canary -> champion, champion -> retired
    version_roll_back(workspace=..., kind=)  canary -> rejected, or champion -> retired and the
                                             previous champion back
    canary_start(version=...)                candidate -> canary (a share of new sessions)
    version_reject(version=...)              candidate -> rejected
"""

import hashlib
import json
import logging
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from apps.accounts.models import User, Workspace
from apps.core.exceptions import ApplicationError, Conflict
from apps.generation.services import adapter_name
from apps.mlops.models import (
    Decision,
    Kind,
    ModelVersion,
    RegistryRevision,
    ReleasePolicy,
    Retraining,
)
from apps.nlu.models import TrainingRun
from ml.artifacts import (
    TamperedModelError,
    digests_of,
    digests_verify,
    manifest_verify,
)

logger = logging.getLogger(__name__)

State = ModelVersion.State
Action = Decision.Action
Decider = Decision.Decider

TRANSITIONS: dict[str, frozenset[str]] = {
    State.CANDIDATE: frozenset({State.REJECTED, State.CANARY, State.CHAMPION}),
    # canary -> rejected is a rollback; canary -> retired ends it undecided.
    State.CANARY: frozenset({State.CHAMPION, State.REJECTED, State.RETIRED}),
    State.CHAMPION: frozenset({State.RETIRED}),
    # Back as champion: the rollback to the previous champion.
    State.RETIRED: frozenset({State.CHAMPION}),
    State.REJECTED: frozenset(),
}
REBUILD = "register a new version: train again"


class TransitionRefused(Conflict):
    code = "transition_refused"


class TamperedArtifact(Conflict):
    code = "tampered_artifact"


def _registry_lock(workspace_id: int) -> RegistryRevision:
    """Locks the workspace's registry row: registry writes of one workspace run one at a time."""
    RegistryRevision.objects.get_or_create(workspace_id=workspace_id)
    return RegistryRevision.objects.select_for_update().get(workspace_id=workspace_id)


def _revision_bump(workspace_id: int) -> None:
    RegistryRevision.objects.filter(workspace_id=workspace_id).update(revision=F("revision") + 1)


def policy_get(*, workspace: Workspace) -> ReleasePolicy:
    """The workspace's release policy (the defaults when it has no row)."""
    return ReleasePolicy.objects.filter(workspace=workspace).first() or ReleasePolicy(
        workspace=workspace
    )


def _transition(version: ModelVersion, to: str) -> None:
    if to not in TRANSITIONS[version.state]:
        raise TransitionRefused(
            f"{version.kind} version {version.number} is {version.state}; it can't become {to}"
        )
    now = timezone.now()
    version.state = to
    version.state_changed_at = now
    fields = ["state", "state_changed_at"]
    stamps: dict[str, str] = {
        State.CANARY: "canary_started_at",
        State.CHAMPION: "promoted_at",
        State.RETIRED: "retired_at",
    }
    stamp = stamps.get(to)
    if stamp:
        setattr(version, stamp, now)
        fields.append(stamp)
    version.save(update_fields=fields)
    if version.kind == Kind.NLU and version.training_run_id is not None:
        # ``is_active`` is what the rest of nlu reads: it follows the champion.
        if to == State.CHAMPION:
            TrainingRun.objects.filter(workspace_id=version.workspace_id, is_active=True).exclude(
                pk=version.training_run_id
            ).update(is_active=False)
        TrainingRun.objects.filter(pk=version.training_run_id).update(
            is_active=to == State.CHAMPION
        )


def version_transition(*, version: ModelVersion, to: str) -> ModelVersion:
    """Moves one version to ``to`` when the state machine allows it (``TRANSITIONS``), else
    raises ``TransitionRefused``. Promotion and rollback, which move two versions, have their
    own services."""
    with transaction.atomic():
        _registry_lock(version.workspace_id)
        version = ModelVersion.objects.get(pk=version.pk)
        _transition(version, to)
        _revision_bump(version.workspace_id)
    return version


def _decision(
    version: ModelVersion,
    action: str,
    decider: str,
    *,
    replaced: ModelVersion | None = None,
    user: User | None = None,
    reason: str = "",
    numbers: dict[str, Any] | None = None,
) -> Decision:
    return Decision.objects.create(
        workspace_id=version.workspace_id,
        kind=version.kind,
        action=action,
        version=version,
        replaced=replaced,
        decider=decider,
        user=user,
        reason=reason[:500],
        numbers=numbers or {},
    )


# --- artifacts -------------------------------------------------------------------------------


def version_manifest_verify(*, version: ModelVersion) -> None:
    """Checks every file of the version's artifact against the SHA-256 recorded when it was
    registered; raises ``TamperedArtifact`` (a clear message, HTTP 409) when one differs."""
    try:
        digests_verify(
            Path(version.artifact_path), version.manifest, REBUILD, where="the model registry"
        )
    except TamperedModelError as error:
        raise TamperedArtifact(f"{version.kind} version {version.number}: {error}") from error


def version_manifest_refresh(*, run_id: int) -> None:
    """Re-records the manifest of a run's version after its artifact was rewritten in place by
    nlu itself (an out-of-scope refit rewrites oos.json and the folder's manifest.json)."""
    with transaction.atomic():
        version = ModelVersion.objects.filter(training_run_id=run_id).first()
        if version is None:
            return
        _registry_lock(version.workspace_id)
        directory = Path(version.artifact_path)
        version.manifest = manifest_verify(directory, REBUILD)
        version.save(update_fields=["manifest"])
        _revision_bump(version.workspace_id)


def _checked_digests(directory: Path) -> dict[str, str]:
    """The artifact's digests, computed here and matched against its own manifest.json."""
    try:
        recorded = manifest_verify(directory, REBUILD)
    except TamperedModelError as error:
        raise TamperedArtifact(str(error)) from error
    computed = digests_of(directory)
    if computed.keys() != recorded.keys():
        extra = sorted(computed.keys() ^ recorded.keys())
        raise TamperedArtifact(f"{directory}: files {extra} are not in its manifest.json")
    return computed


def _jsonl_snapshot(path: Path, intent_of: Any, source_of: Any) -> dict[str, Any]:
    if not path.is_file():
        return {"available": False, "path": str(path)}
    intents: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    digest = hashlib.sha256()
    examples = 0
    with path.open("rb") as handle:
        for line in handle:
            digest.update(line)
            if line.strip():
                row = json.loads(line)
                examples += 1
                if (intent := intent_of(row)) is not None:
                    intents[intent] += 1
                sources[source_of(row)] += 1
    return {
        "sha256": digest.hexdigest(),
        "examples": examples,
        "intents": dict(sorted(intents.items())),
        "sources": dict(sorted(sources.items())),
    }


def nlu_data_snapshot(*, path: Path) -> dict[str, Any]:
    """What an NLU run learned from (its exported JSON lines): content hash, counts per intent
    (out-of-scope examples as ``out_of_scope``) and per source."""
    return _jsonl_snapshot(
        path,
        lambda row: "out_of_scope" if row.get("is_oos") else row.get("intent"),
        lambda row: str(row.get("source") or "unknown"),
    )


def adapter_data_snapshot(*, path: Path) -> dict[str, Any]:
    """What an adapter learned from (its question/answer records): content hash, counts per
    source (articles, helpful replies)."""
    return _jsonl_snapshot(
        path, lambda row: None, lambda row: str(row.get("group", "unknown")).split("-")[0]
    )


# --- registering -----------------------------------------------------------------------------


def _champion(workspace_id: int, kind: str) -> ModelVersion | None:
    return ModelVersion.objects.filter(
        workspace_id=workspace_id, kind=kind, state=State.CHAMPION
    ).first()


def _next_number(workspace_id: int, kind: str) -> int:
    top = ModelVersion.objects.filter(workspace_id=workspace_id, kind=kind).aggregate(
        top=Max("number")
    )["top"]
    return int(top or 0) + 1


def version_register_nlu(
    *,
    run: TrainingRun,
    trigger: str,
    user: User | None = None,
    evaluation: dict[str, Any] | None = None,
) -> ModelVersion:
    """Registers a succeeded NLU training run as a candidate (once: a second call returns the
    same version). Its manifest is hashed and matched against the artifact's own; its parent is
    the champion it was trained beside."""
    if run.status != TrainingRun.Status.SUCCEEDED or not run.artifact_path:
        raise ApplicationError(f"training run {run.pk} has no model to register ({run.status})")
    manifest = _checked_digests(Path(run.artifact_path))
    sources = run.config.get("sources") or [{}]
    data_path = Path(str(sources[0].get("path") or ""))
    snapshot = nlu_data_snapshot(path=data_path) if data_path.name else {"available": False}
    with transaction.atomic():
        _registry_lock(run.workspace_id)
        existing = ModelVersion.objects.filter(training_run=run).first()
        if existing is not None:
            return existing
        version = ModelVersion.objects.create(
            workspace_id=run.workspace_id,
            kind=Kind.NLU,
            number=_next_number(run.workspace_id, Kind.NLU),
            training_run=run,
            artifact_path=run.artifact_path,
            manifest=manifest,
            data_snapshot=snapshot,
            evaluation=evaluation if evaluation is not None else run.metrics.get("validation", {}),
            parent=_champion(run.workspace_id, Kind.NLU),
            trigger=trigger,
            triggered_by=user,
        )
        _revision_bump(run.workspace_id)
    return version


def adapter_versions_dir() -> Path:
    return Path(settings.GENERATION_ADAPTERS_DIR)


def version_register_adapter(
    *,
    workspace: Workspace,
    directory: Path,
    trigger: str,
    user: User | None = None,
    data_path: Path | None = None,
    evaluation: dict[str, Any] | None = None,
) -> ModelVersion:
    """Registers a trained generator adapter (a folder with ``adapter/`` and ``manifest.json``)
    as a candidate. The folder is copied to ``<adapters dir>/<adapter name>__v<number>``: each
    version is served by that name (vLLM and the in-process engine load it on first request),
    so promotion is a registry change, not a file swap."""
    _checked_digests(directory)
    with transaction.atomic():
        _registry_lock(workspace.pk)
        number = _next_number(workspace.pk, Kind.ADAPTER)
        target = adapter_versions_dir() / f"{adapter_name(workspace)[:50]}__v{number}"
        if target.exists():
            if ModelVersion.objects.filter(artifact_path=str(target)).exists():
                raise Conflict(f"{target} already exists; refusing to overwrite it")
            shutil.rmtree(target)  # left by a registration whose transaction rolled back
        staging = target.with_name(f".{target.name}.copy")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(directory, staging)
        manifest = _checked_digests(staging)  # what was copied is what was trained
        staging.rename(target)
        try:
            version = ModelVersion.objects.create(
                workspace=workspace,
                kind=Kind.ADAPTER,
                number=number,
                artifact_path=str(target),
                manifest=manifest,
                data_snapshot=(
                    adapter_data_snapshot(path=data_path) if data_path else {"available": False}
                ),
                evaluation=evaluation or {},
                parent=_champion(workspace.pk, Kind.ADAPTER),
                trigger=trigger,
                triggered_by=user,
            )
            _revision_bump(workspace.pk)
        except Exception:
            shutil.rmtree(target, ignore_errors=True)
            raise
    return version


# --- decisions -------------------------------------------------------------------------------


def version_promote(
    *,
    version: ModelVersion,
    decider: str,
    user: User | None = None,
    reason: str = "",
    numbers: dict[str, Any] | None = None,
) -> Decision:
    """Makes a candidate or the canary the champion and retires the champion it replaces, in
    one transaction (for NLU, ``TrainingRun.is_active`` moves with it). A version whose
    artifact no longer matches its manifest is refused: the champion keeps serving."""
    with transaction.atomic():
        _registry_lock(version.workspace_id)
        version = ModelVersion.objects.get(pk=version.pk)
        if version.state not in (State.CANDIDATE, State.CANARY):
            raise TransitionRefused(
                f"{version.kind} version {version.number} is {version.state}: only a candidate "
                "or the canary can be promoted (a retired champion comes back by a rollback)"
            )
        canary = ModelVersion.objects.filter(
            workspace_id=version.workspace_id, kind=version.kind, state=State.CANARY
        ).first()
        if canary is not None and canary.pk != version.pk:
            raise Conflict(
                f"{version.kind} version {canary.number} is in canary: promote it or roll it "
                "back first"
            )
        version_manifest_verify(version=version)
        champion = _champion(version.workspace_id, version.kind)
        if champion is not None:
            _transition(champion, State.RETIRED)
        _transition(version, State.CHAMPION)
        decision = _decision(
            version,
            Action.PROMOTE,
            decider,
            replaced=champion,
            user=user,
            reason=reason,
            numbers=numbers,
        )
        _revision_bump(version.workspace_id)
    return decision


def version_roll_back(
    *,
    workspace: Workspace,
    kind: str,
    decider: str,
    user: User | None = None,
    reason: str = "",
    numbers: dict[str, Any] | None = None,
) -> Decision:
    """Rolls back, in one transaction: a running canary is rejected (its sessions go back to
    the champion); without one, the champion is retired and the previous champion serves
    again. The decision names the version that serves afterwards."""
    with transaction.atomic():
        _registry_lock(workspace.pk)
        versions = ModelVersion.objects.filter(workspace=workspace, kind=kind)
        champion = versions.filter(state=State.CHAMPION).first()
        canary = versions.filter(state=State.CANARY).first()
        if canary is not None:
            if champion is None:
                raise Conflict("the canary has no champion to roll back to")
            _transition(canary, State.REJECTED)
            serving, replaced = champion, canary
        else:
            if champion is None:
                raise Conflict(f"this workspace has no {kind} champion to roll back")
            previous = (
                versions.filter(state=State.RETIRED, promoted_at__isnull=False)
                .order_by("-retired_at", "-number")
                .first()
            )
            if previous is None:
                raise Conflict(f"{kind} version {champion.number} has no previous champion")
            version_manifest_verify(version=previous)
            _transition(champion, State.RETIRED)
            _transition(previous, State.CHAMPION)
            serving, replaced = previous, champion
        decision = _decision(
            serving,
            Action.ROLL_BACK,
            decider,
            replaced=replaced,
            user=user,
            reason=reason,
            numbers=numbers,
        )
        _revision_bump(workspace.pk)
    return decision


def canary_start(
    *,
    version: ModelVersion,
    decider: str,
    share: float | None = None,
    user: User | None = None,
    reason: str = "",
    numbers: dict[str, Any] | None = None,
) -> Decision:
    """Serves a candidate to a share of new customer sessions (the policy's share by default),
    beside the champion. Sessions are assigned by a stable hash (``serving.in_canary``)."""
    with transaction.atomic():
        _registry_lock(version.workspace_id)
        version = ModelVersion.objects.get(pk=version.pk)
        share = policy_get(workspace=version.workspace).canary_share if share is None else share
        if not 0.0 < share <= 1.0:
            raise ApplicationError(f"a canary share is in (0, 1], not {share}")
        champion = _champion(version.workspace_id, version.kind)
        if champion is None:
            raise Conflict("a canary needs a champion to be compared with: promote it instead")
        if ModelVersion.objects.filter(
            workspace_id=version.workspace_id, kind=version.kind, state=State.CANARY
        ).exists():
            raise Conflict(f"a {version.kind} canary is already running")
        version_manifest_verify(version=version)
        _transition(version, State.CANARY)
        version.canary_share = share
        version.save(update_fields=["canary_share"])
        decision = _decision(
            version,
            Action.START_CANARY,
            decider,
            replaced=champion,
            user=user,
            reason=reason,
            numbers={"share": share, **(numbers or {})},
        )
        _revision_bump(version.workspace_id)
    return decision


def version_reject(
    *,
    version: ModelVersion,
    decider: str,
    user: User | None = None,
    reason: str = "",
    numbers: dict[str, Any] | None = None,
) -> Decision:
    """A candidate that never serves (the gate's failed checks go in ``numbers``). A canary is
    rejected by ``version_roll_back``."""
    with transaction.atomic():
        _registry_lock(version.workspace_id)
        version = ModelVersion.objects.get(pk=version.pk)
        if version.state != State.CANDIDATE:
            raise TransitionRefused(
                f"{version.kind} version {version.number} is {version.state}: only a candidate "
                "is rejected (a canary is rolled back)"
            )
        _transition(version, State.REJECTED)
        if numbers is not None:
            version.gate_result = numbers
            version.save(update_fields=["gate_result"])
        decision = _decision(
            version, Action.REJECT, decider, user=user, reason=reason, numbers=numbers
        )
        _revision_bump(version.workspace_id)
    return decision


# --- what happens to a newly trained model ---------------------------------------------------


def _score(metrics: dict[str, Any]) -> float:
    return float(metrics.get("score", -1.0))


def _adopt_active_run(workspace_id: int) -> None:
    """A workspace whose active run the registry does not hold yet (made active outside it):
    registered as its champion, so a new run is judged against it."""
    if _champion(workspace_id, Kind.NLU) is not None:
        return
    active = TrainingRun.objects.filter(
        workspace_id=workspace_id, is_active=True, status=TrainingRun.Status.SUCCEEDED
    ).first()
    if active is None or not active.artifact_path:
        return
    try:
        version = version_register_nlu(run=active, trigger=ModelVersion.Trigger.PERSON)
    except TamperedArtifact:
        logger.exception("the active NLU run %s was not adopted by the registry", active.pk)
        return
    if version.state == State.CANDIDATE:
        version_promote(
            version=version, decider=Decider.GATE, reason="the active run before the registry"
        )


def nlu_run_finished(*, run_id: int) -> ModelVersion | None:
    """A run that trained a model. A run of the learning loop (``services.retraining``) is
    left to the loop, which registers it and puts it through the evaluation gate on the frozen
    set. Any other run (a person's training by hand) is registered and judged by the rule nlu
    used before the registry: it serves when it validates at least as well as the champion;
    the decision is logged with both scores."""
    if Retraining.objects.filter(training_run_id=run_id).exists():
        return None
    run = TrainingRun.objects.select_related("requested_by").get(pk=run_id)
    _adopt_active_run(run.workspace_id)
    trigger = ModelVersion.Trigger.PERSON if run.requested_by else ModelVersion.Trigger.SCHEDULE
    version = version_register_nlu(run=run, trigger=trigger, user=run.requested_by)
    if version.state != State.CANDIDATE:
        return version
    champion = _champion(run.workspace_id, Kind.NLU)
    score = _score(version.evaluation)
    to_beat = None if champion is None else _score(champion.evaluation)
    numbers = {
        "rule": "validation score at least the champion's",
        "candidate": score,
        "champion": to_beat,
        "passed": to_beat is None or score >= to_beat,
    }
    ModelVersion.objects.filter(pk=version.pk).update(gate_result=numbers)
    if numbers["passed"]:
        version_promote(version=version, decider=Decider.GATE, reason="passed", numbers=numbers)
    else:
        version_reject(version=version, decider=Decider.GATE, reason="failed", numbers=numbers)
    version.refresh_from_db()
    return version


def adapter_trained(
    *, workspace_id: int, directory: Path, data_path: Path | None, metrics: dict[str, Any]
) -> ModelVersion:
    """A newly trained adapter: registered and promoted, as it served at once before the
    registry (adapters have no evaluation gate yet)."""
    workspace = Workspace.objects.get(pk=workspace_id)
    version = version_register_adapter(
        workspace=workspace,
        directory=directory,
        trigger=ModelVersion.Trigger.PERSON,
        data_path=data_path,
        evaluation=metrics,
    )
    numbers = {"rule": "no evaluation gate for adapters yet", "passed": True}
    ModelVersion.objects.filter(pk=version.pk).update(gate_result=numbers)
    version_promote(version=version, decider=Decider.GATE, reason="trained", numbers=numbers)
    version.refresh_from_db()
    return version
