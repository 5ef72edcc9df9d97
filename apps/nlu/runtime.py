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
# workspace id -> (run id, artifact folder, oos.json's modification time) of the loaded model:
# a refitted threshold (``services.oos_threshold_refit``) reloads it in every process.
_loaded: dict[int, tuple[int, str, int]] = {}


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
    directory = Path(run.artifact_path)
    oos_file = directory / "oos.json"
    version = (run.pk, str(directory), oos_file.stat().st_mtime_ns if oos_file.is_file() else 0)
    with _lock:
        if _loaded.get(workspace.pk) != version:
            runtime.load(str(workspace.pk), directory)
            _loaded[workspace.pk] = version
        return runtime.get(str(workspace.pk))
