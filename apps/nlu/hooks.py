"""What nlu calls above itself: NluConfig.ready connects each queue hook to its task (tasks
import services, so services reach them only through here); MlopsConfig.ready connects the
model registry's (which run serves, what happens to a finished run)."""

from dataclasses import dataclass, field

from apps.core.hooks import Hook


@Hook
def training_run_queue(run_id: int) -> None:
    """Queues a training run (``tasks.nlu_train``)."""
    raise NotImplementedError


@Hook
def oos_refit_queue(workspace_id: int) -> None:
    """Queues a refit of the active model's out-of-scope threshold (``tasks.nlu_oos_refit``)."""
    raise NotImplementedError


@dataclass(frozen=True)
class ServingRun:
    """A training run that answers customers, as the model registry (``apps.mlops``) names it."""

    run_id: int
    artifact_path: str
    # SHA-256 of every file of the artifact, as registered: checked before the model loads.
    manifest: dict[str, str] = field(default_factory=dict)
    version_id: int | None = None
    version_number: int | None = None
    arm: str = "champion"  # "champion" or "canary"

    def to_trace(self) -> dict[str, object]:
        return {
            "id": self.version_id,
            "number": self.version_number,
            "arm": self.arm,
            "run": self.run_id,
        }


@Hook
def serving_runs(workspace_id: int, session_key: str | None) -> list[ServingRun]:
    """The runs that may answer this customer session, best first: the canary for a session
    that hashes into the canary's share, then the champion (what serves when the canary's
    artifact does not load). Empty when the registry holds no NLU champion for the workspace.
    ``session_key`` None asks for the champion."""
    raise NotImplementedError


@Hook
def training_run_succeeded(run_id: int) -> None:
    """A training run finished with a model: register it and decide whether it serves."""
    raise NotImplementedError


@Hook
def training_texts_held_out(workspace_id: int) -> frozenset[str]:
    """Normalised texts (``ml.mlops.hygiene.normalise``) that no training run may see: the
    workspace's frozen evaluation set, kept by the model registry."""
    raise NotImplementedError


@Hook
def artifact_rewritten(run_id: int) -> None:
    """A run's artifact was rewritten in place (an out-of-scope refit): re-record its manifest."""
    raise NotImplementedError
