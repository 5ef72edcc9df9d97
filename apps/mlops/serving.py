"""Which versions serve: the answers to nlu's ``serving_runs`` and generation's
``serving_adapter`` hooks (connected in ``MlopsConfig.ready``).

Each process keeps the champion and canary of every workspace it served, with the registry
revision they were read at, and compares that revision on every call (one primary-key read):
a promotion or rollback committed by any process is served by every process on its next turn.

A customer session is in the canary when a stable hash of it falls under the canary's share:
SHA-256 of the canary version's id and the session key, read as a fraction of 2**64. The same
session always lands in the same arm for the life of a canary, in every process; each new
canary draws its own sessions.
"""

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

from apps.generation.hooks import ServingAdapter
from apps.mlops.models import Kind, ModelVersion, RegistryRevision
from apps.nlu.hooks import ServingRun


@dataclass(frozen=True)
class Arm:
    version_id: int
    number: int
    run_id: int | None
    artifact_path: str
    manifest: dict[str, str]


@dataclass(frozen=True)
class ServingPlan:
    champion: Arm | None
    canary: Arm | None
    canary_share: float


_lock = threading.Lock()
# (workspace id, kind) -> (registry revision, plan read at it)
_plans: dict[tuple[int, str], tuple[int, ServingPlan]] = {}


def canary_fraction(*, version_id: int, session_key: str) -> float:
    """Where a session falls in [0, 1) for one canary: stable across processes and restarts
    (SHA-256, not Python's salted ``hash``)."""
    digest = hashlib.sha256(f"{version_id}:{session_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def in_canary(*, plan: ServingPlan, session_key: str | None) -> bool:
    if plan.canary is None or plan.champion is None or session_key is None:
        return False
    fraction = canary_fraction(version_id=plan.canary.version_id, session_key=session_key)
    return fraction < plan.canary_share


def _arm(version: ModelVersion) -> Arm:
    return Arm(
        version_id=version.pk,
        number=version.number,
        run_id=version.training_run_id,
        artifact_path=version.artifact_path,
        manifest=dict(version.manifest),
    )


def plan_get(*, workspace_id: int, kind: str) -> ServingPlan:
    """The workspace's champion and canary of one kind, read again only when its registry
    revision moved."""
    revision = (
        RegistryRevision.objects.filter(workspace_id=workspace_id)
        .values_list("revision", flat=True)
        .first()
    ) or 0
    key = (workspace_id, kind)
    with _lock:
        cached = _plans.get(key)
    if cached is not None and cached[0] == revision:
        return cached[1]
    serving = {
        v.state: v
        for v in ModelVersion.objects.filter(
            workspace_id=workspace_id,
            kind=kind,
            state__in=[ModelVersion.State.CHAMPION, ModelVersion.State.CANARY],
        )
    }
    champion = serving.get(ModelVersion.State.CHAMPION)
    canary = serving.get(ModelVersion.State.CANARY)
    plan = ServingPlan(
        champion=None if champion is None else _arm(champion),
        canary=None if canary is None else _arm(canary),
        canary_share=float(canary.canary_share or 0.0) if canary is not None else 0.0,
    )
    with _lock:
        # Read after the revision: a change committed in between is read again next time.
        _plans[key] = (revision, plan)
    return plan


def plans_forget() -> None:
    """Drops every cached plan (tests: what a new process starts with)."""
    with _lock:
        _plans.clear()


def nlu_serving_runs(workspace_id: int, session_key: str | None) -> list[ServingRun]:
    plan = plan_get(workspace_id=workspace_id, kind=Kind.NLU)
    runs = []
    for arm, name in ((plan.canary, "canary"), (plan.champion, "champion")):
        if arm is None or arm.run_id is None:
            continue
        if name == "canary" and not in_canary(plan=plan, session_key=session_key):
            continue
        runs.append(
            ServingRun(
                run_id=arm.run_id,
                artifact_path=arm.artifact_path,
                manifest=arm.manifest,
                version_id=arm.version_id,
                version_number=arm.number,
                arm=name,
            )
        )
    return runs


def adapter_serving(workspace_id: int, session_key: str | None) -> ServingAdapter | None:
    plan = plan_get(workspace_id=workspace_id, kind=Kind.ADAPTER)
    canary = in_canary(plan=plan, session_key=session_key)
    arm = plan.canary if canary else plan.champion
    if arm is None:
        return None
    return ServingAdapter(
        name=Path(arm.artifact_path).name,
        version_id=arm.version_id,
        version_number=arm.number,
        arm="canary" if canary else "champion",
    )
