"""Each workspace's active NLU run becomes its champion, version 1.

A data migration rather than a registration on first read: the registry is complete from the
moment the code runs, every process agrees on it without a race to register, and no customer
turn pays for a write. The manifest is the artifact's own manifest.json (written by training);
a folder without one is registered with an empty manifest and still checked by the loader.
"""

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

from django.db import migrations
from django.utils import timezone


def _manifest(directory: Path) -> dict[str, str]:
    try:
        return dict(json.loads((directory / "manifest.json").read_text())["sha256"])
    except (OSError, ValueError, KeyError):
        return {}


def _snapshot(config: dict[str, Any]) -> dict[str, Any]:
    path = Path(str(((config.get("sources") or [{}])[0]).get("path") or ""))
    if not path.name or not path.is_file():
        return {"available": False}
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
                intents["out_of_scope" if row.get("is_oos") else str(row.get("intent"))] += 1
                sources[str(row.get("source") or "unknown")] += 1
    return {
        "sha256": digest.hexdigest(),
        "examples": examples,
        "intents": dict(sorted(intents.items())),
        "sources": dict(sorted(sources.items())),
    }


def register(apps: Any, schema_editor: Any) -> None:
    TrainingRun = apps.get_model("nlu", "TrainingRun")
    ModelVersion = apps.get_model("mlops", "ModelVersion")
    Decision = apps.get_model("mlops", "Decision")
    RegistryRevision = apps.get_model("mlops", "RegistryRevision")
    now = timezone.now()
    for run in TrainingRun.objects.filter(is_active=True).exclude(artifact_path=""):
        if ModelVersion.objects.filter(workspace_id=run.workspace_id, kind="nlu").exists():
            continue
        version = ModelVersion.objects.create(
            workspace_id=run.workspace_id,
            kind="nlu",
            number=1,
            state="champion",
            training_run_id=run.pk,
            artifact_path=run.artifact_path,
            manifest=_manifest(Path(run.artifact_path)),
            data_snapshot=_snapshot(run.config or {}),
            evaluation=(run.metrics or {}).get("validation", {}),
            trigger="person" if run.requested_by_id else "schedule",
            triggered_by_id=run.requested_by_id,
            promoted_at=now,
        )
        Decision.objects.create(
            workspace_id=run.workspace_id,
            kind="nlu",
            action="promote",
            version=version,
            decider="gate",
            reason="the active run when the registry was introduced",
            numbers={"rule": "validation score at least the champion's"},
        )
        RegistryRevision.objects.update_or_create(
            workspace_id=run.workspace_id, defaults={"revision": 1}
        )


class Migration(migrations.Migration):
    dependencies = [("mlops", "0001_initial"), ("nlu", "0001_initial")]

    operations = [migrations.RunPython(register, migrations.RunPython.noop)]
