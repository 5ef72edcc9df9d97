"""The process's NLU models: one shared encoder and, per workspace, the runs that answer its
customers, loaded on first use and reloaded when the model registry changes.

Which run answers a customer session comes from ``hooks.serving_runs``: the model registry
(``apps.mlops``) names the workspace's champion, or its canary for the sessions in the canary's
share, and revalidates that per call with one indexed query, so a promotion or rollback in any
process is seen by every other on its next turn. A workspace the registry holds nothing for is
served by its ``is_active`` run, as before the registry.
"""

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

from apps.accounts.models import Workspace
from apps.core.process import process_wide
from apps.nlu import hooks
from apps.nlu.hooks import ServingRun
from apps.nlu.selectors import active_run
from ml.artifacts import TamperedModelError, digests_verify

if TYPE_CHECKING:
    from ml.nlu.runtime import NluModel, NluRuntime

logger = logging.getLogger(__name__)

REBUILD = "train the workspace's model again, or promote another version"
_lock = threading.Lock()
# runtime slot ("<workspace id>" for the champion, "<workspace id>-canary") -> (run id, artifact
# folder, oos.json's modification time) of the model loaded there: a refitted threshold
# (``services.oos_threshold_refit``) reloads it in every process.
_loaded: dict[str, tuple[int, str, int]] = {}


@dataclass(frozen=True)
class ServedModel:
    model: "NluModel"
    run: ServingRun  # which registry version it is, for the turn's trace


@process_wide
def shared_runtime() -> "NluRuntime":
    from ml.nlu.runtime import NluRuntime

    return NluRuntime()


def _load(workspace: Workspace, serving: ServingRun) -> "NluModel":
    slot = str(workspace.pk) if serving.arm == "champion" else f"{workspace.pk}-{serving.arm}"
    directory = Path(serving.artifact_path)
    oos_file = directory / "oos.json"
    version = (
        serving.run_id,
        str(directory),
        oos_file.stat().st_mtime_ns if oos_file.is_file() else 0,
    )
    runtime = shared_runtime()
    with _lock:
        if _loaded.get(slot) != version:
            if serving.manifest:
                # The registry's copy of the digests: a file changed on disk since the version
                # was registered is refused, even when its folder's manifest.json was rewritten.
                digests_verify(directory, serving.manifest, REBUILD, where="the model registry")
            model = runtime.load(slot, directory)
            if settings.INFERENCE_BATCHING:
                model.batch_across_callers(
                    max_batch=settings.INFERENCE_BATCH_MAX,
                    max_wait_s=settings.INFERENCE_BATCH_WAIT_MS / 1000,
                )
            _loaded[slot] = version
        return runtime.get(slot)


def _candidates(workspace: Workspace, session_key: str | None) -> list[ServingRun]:
    runs = hooks.serving_runs(workspace.pk, session_key)
    if runs:
        return runs
    run = active_run(workspace=workspace)
    if run is None or not run.artifact_path:
        return []
    return [ServingRun(run_id=run.pk, artifact_path=run.artifact_path)]


def model_serving(*, workspace: Workspace, session_key: str | None = None) -> ServedModel | None:
    """The model that answers this customer session (the champion when ``session_key`` is None),
    with its registry version; None when the workspace has no model yet. A canary whose artifact
    fails its check gives way to the champion; a champion that fails raises
    ``TamperedModelError``."""
    for attempt in (1, 2):
        error: TamperedModelError | None = None
        for serving in _candidates(workspace, session_key):
            try:
                return ServedModel(_load(workspace, serving), serving)
            except TamperedModelError as exc:
                logger.error(
                    "NLU version %s (%s) of workspace %s refused: %s",
                    serving.version_number,
                    serving.arm,
                    workspace.slug,
                    exc,
                )
                error = exc
        if error is None:
            return None
        if attempt == 1:
            # A refit rewrites oos.json, then the manifests: a load between them sees them
            # disagree for a moment (``model_load`` waits the same way).
            time.sleep(0.2)
    assert error is not None
    raise error


def model_for(*, workspace: Workspace, session_key: str | None = None) -> "NluModel | None":
    """The model that answers this customer session (the champion when ``session_key`` is
    None), or None when the workspace has none yet."""
    served = model_serving(workspace=workspace, session_key=session_key)
    return None if served is None else served.model
