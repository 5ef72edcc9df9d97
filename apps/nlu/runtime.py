"""The process's NLU models: one shared encoder, each workspace's active model loaded on first
use and reloaded when a newer run becomes active."""

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from apps.accounts.models import Workspace
from apps.core.process import process_wide
from apps.nlu.selectors import active_run

if TYPE_CHECKING:
    from ml.nlu.runtime import NluModel, NluRuntime

_lock = threading.Lock()
_loaded: dict[int, int] = {}  # workspace id -> run id of the loaded model


@process_wide
def shared_runtime() -> "NluRuntime":
    from ml.nlu.runtime import NluRuntime

    return NluRuntime()


def model_for(*, workspace: Workspace) -> "NluModel | None":
    """The workspace's active model, or None when it has none yet."""
    run = active_run(workspace=workspace)
    if run is None or not run.artifact_path:
        return None
    runtime = shared_runtime()
    with _lock:
        if _loaded.get(workspace.pk) != run.pk:
            runtime.load(str(workspace.pk), Path(run.artifact_path))
            _loaded[workspace.pk] = run.pk
        return runtime.get(str(workspace.pk))
