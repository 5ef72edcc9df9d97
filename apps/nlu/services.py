"""Writes for intents, training examples and training runs; the training itself.

Training data is redacted when it is stored and checked again when it is exported, so a card
or ID number a customer typed never reaches a model.
"""

import json
import re
import shutil
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User, Workspace
from apps.core.exceptions import ApplicationError, Conflict
from apps.nlu import hooks
from apps.nlu.models import Intent, TrainingExample, TrainingRun
from apps.nlu.selectors import active_run
from apps.safety.services import policy_get, text_redact
from ml.mlops.hygiene import normalise

MIN_EXAMPLES_PER_INTENT = 2


def intent_create(*, workspace: Workspace, name: str, description: str = "") -> Intent:
    if Intent.objects.filter(workspace=workspace, name=name).exists():
        raise Conflict(f"the intent {name!r} already exists in this workspace")
    return Intent.objects.create(workspace=workspace, name=name, description=description)


def _slots_after_redaction(
    original: str, redacted: str, slots: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Slot spans moved to the redacted text; a span whose value was redacted is dropped."""
    if original == redacted:
        return slots
    moved = []
    for span in slots:
        value = original[span["start"] : span["end"]]
        found = redacted.find(value)
        if value and found >= 0:
            moved.append({"slot": span["slot"], "start": found, "end": found + len(value)})
    return moved


def _validate_slots(text: str, slots: list[dict[str, Any]]) -> list[dict[str, Any]]:
    clean = []
    for span in slots:
        try:
            slot, start, end = str(span["slot"]), int(span["start"]), int(span["end"])
        except (KeyError, TypeError, ValueError) as error:
            raise ApplicationError("each slot needs slot, start and end") from error
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,40}", slot):
            raise ApplicationError("slot names are lowercase letters, digits and _")
        if not 0 <= start < end <= len(text):
            raise ApplicationError(f"slot span {start}:{end} is outside the text")
        clean.append({"slot": slot, "start": start, "end": end})
    return clean


def training_example_create(
    *,
    workspace: Workspace,
    text: str,
    intent: Intent | None,
    slots: list[dict[str, Any]] | None = None,
    sentiment: str = "",
    source: str = TrainingExample.Source.MANUAL,
) -> TrainingExample:
    text = text.strip()
    if not text:
        raise ApplicationError("the example text is empty")
    if intent is not None and intent.workspace_id != workspace.pk:
        raise ApplicationError("unknown intent")
    slots = _validate_slots(text, slots or [])
    redacted = text_redact(policy=policy_get(workspace=workspace), text=text, placeholders={}).text
    if intent is None:
        # An out-of-scope example: the active model's threshold refits on it now, not at the
        # next training.
        transaction.on_commit(lambda: hooks.oos_refit_queue(workspace.pk))
    return TrainingExample.objects.create(
        workspace=workspace,
        intent=intent,
        text=redacted,
        slots=_slots_after_redaction(text, redacted, slots),
        sentiment=sentiment,
        source=source,
    )


def training_examples_import(
    *,
    workspace: Workspace,
    rows: Iterable[tuple[str, str]],
    source: str = TrainingExample.Source.IMPORT,
) -> int:
    """Bulk import of (text, intent name) pairs, creating intents as needed."""
    intents = {i.name: i for i in Intent.objects.filter(workspace=workspace)}
    policy = policy_get(workspace=workspace)
    created = []
    for text, name in rows:
        if name not in intents:
            intents[name] = Intent.objects.create(workspace=workspace, name=name)
        redacted = text_redact(policy=policy, text=text.strip(), placeholders={}).text
        created.append(
            TrainingExample(workspace=workspace, intent=intents[name], text=redacted, source=source)
        )
    TrainingExample.objects.bulk_create(created, batch_size=1000)
    return len(created)


def training_data_export(*, workspace: Workspace, path: Path) -> tuple[int, int]:
    """The workspace's examples as JSON lines for ``ml.nlu`` (redacted once more on the way out,
    for rows stored before a policy change). A text of the workspace's frozen evaluation set
    (``hooks.training_texts_held_out``) is left out. Returns (examples, intents)."""
    policy = policy_get(workspace=workspace)
    held_out = hooks.training_texts_held_out(workspace.pk)
    rows = (
        TrainingExample.objects.filter(workspace=workspace).select_related("intent").order_by("pk")
    )
    intents: set[str] = set()
    count = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for row in rows.iterator():
            text = text_redact(policy=policy, text=row.text, placeholders={}).text
            if held_out and normalise(text) in held_out:
                continue
            # The source (operator, import, conversations) is for the model registry's snapshot
            # of what a run learned from; training reads only the fields it knows.
            record: dict[str, Any] = {"text": text, "source": row.source}
            if row.intent is not None:
                record["intent"] = row.intent.name
                intents.add(row.intent.name)
            else:
                record["is_oos"] = True
            if row.slots:
                record["slots"] = _slots_after_redaction(row.text, text, row.slots)
            if row.sentiment:
                record["sentiment"] = row.sentiment
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count, len(intents)


def training_run_request(*, workspace: Workspace, user: User | None) -> TrainingRun:
    """Queues a training of the workspace's model (one at a time)."""
    counts: dict[str, int] = {}
    for name in TrainingExample.objects.filter(
        workspace=workspace, intent__isnull=False
    ).values_list("intent__name", flat=True):
        counts[name] = counts.get(name, 0) + 1
    usable = [name for name, n in counts.items() if n >= MIN_EXAMPLES_PER_INTENT]
    if len(usable) < 2:
        raise ApplicationError(
            "training needs at least two intents with "
            f"{MIN_EXAMPLES_PER_INTENT} or more examples each"
        )
    with transaction.atomic():
        busy = TrainingRun.objects.select_for_update().filter(
            workspace=workspace, status__in=[TrainingRun.Status.QUEUED, TrainingRun.Status.RUNNING]
        )
        if busy.exists():
            raise Conflict("a training run is already queued or running for this workspace")
        run = TrainingRun.objects.create(workspace=workspace, requested_by=user)
        transaction.on_commit(lambda: hooks.training_run_queue(run.pk))
    return run


def training_run_prepare(*, workspace: Workspace) -> TrainingRun:
    """A queued run that nothing queues: the learning loop (``apps.mlops``) executes it itself,
    from the training data it prepared. Refused while another run is queued or running."""
    with transaction.atomic():
        busy = TrainingRun.objects.select_for_update().filter(
            workspace=workspace, status__in=[TrainingRun.Status.QUEUED, TrainingRun.Status.RUNNING]
        )
        if busy.exists():
            raise Conflict("a training run is already queued or running for this workspace")
        return TrainingRun.objects.create(workspace=workspace)


def _count_jsonl(path: Path) -> tuple[int, int]:
    examples, intents = 0, set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            examples += 1
            if intent := json.loads(line).get("intent"):
                intents.add(intent)
    return examples, len(intents)


def run_directory(run: TrainingRun) -> Path:
    return Path(settings.NLU_MODELS_DIR) / run.workspace.slug / f"run-{run.pk}"


def _training_config(
    run: TrainingRun, data_path: Path, overrides: dict[str, Any] | None = None
) -> dict[str, Any]:
    from ml.nlu.config import workspace_config

    return workspace_config(
        f"{run.workspace.slug}-run-{run.pk}",
        data_path,
        {**settings.NLU_TRAINING, **(overrides or {})},
    )


def training_run_execute(
    *,
    run_id: int,
    overrides: dict[str, Any] | None = None,
    progress: bool = False,
    data_path: Path | None = None,
) -> TrainingRun:
    """Trains and records metrics; a run that trained a model goes to the model registry
    (``hooks.training_run_succeeded``), which decides whether it serves and keeps
    ``is_active`` on the champion. Safe to call twice: a run that has started is left alone.
    ``data_path``: JSON lines prepared by the caller (the learning loop's cleaned data) instead
    of the workspace's exported examples."""
    from ml.nlu.config import config_from_dict
    from ml.nlu.train import train

    with transaction.atomic():
        run = TrainingRun.objects.select_for_update().select_related("workspace").get(pk=run_id)
        if run.status != TrainingRun.Status.QUEUED:
            return run
        run.status = TrainingRun.Status.RUNNING
        run.started_at = timezone.now()
        run.save(update_fields=["status", "started_at"])
    directory = run_directory(run)
    try:
        if data_path is None:
            data_path = directory.parent / f"run-{run.pk}-data.jsonl"
            run.examples, run.intents = training_data_export(
                workspace=run.workspace, path=data_path
            )
        else:
            run.examples, run.intents = _count_jsonl(data_path)
        run.config = _training_config(run, data_path, overrides)
        config = config_from_dict(run.config)
        if directory.exists():
            shutil.rmtree(directory)
        result = train(
            replace(config, output_dir=str(directory.parent)), out_dir=directory, progress=progress
        )
        run.metrics = {
            "validation": result.validation,
            "seconds": round(result.seconds, 1),
            **result.budget(),  # why training stopped; a warning when its safety net cut it
        }
        run.artifact_path = str(directory)
        run.status = TrainingRun.Status.SUCCEEDED
    except Exception as error:  # recorded on the run, which the operator sees
        run.status = TrainingRun.Status.FAILED
        run.error = f"{type(error).__name__}: {error}"[:2000]
    run.finished_at = timezone.now()
    run.save()
    if run.status == TrainingRun.Status.SUCCEEDED:
        hooks.training_run_succeeded(run.pk)
        run.refresh_from_db()
    return run


def oos_threshold_refit(*, workspace_id: int) -> float | None:
    """Refits the active model's out-of-scope threshold on the workspace's out-of-scope examples
    (operators' and reviewed ones), without retraining, and records it on the run. Every
    process reloads the model on its next turn (``runtime.model_for`` watches the file).
    Returns the new threshold, or None when there is no model or no example."""
    from apps.nlu.runtime import model_for
    from ml.nlu.runtime import oos_save

    workspace = Workspace.objects.get(pk=workspace_id)
    run = active_run(workspace=workspace)
    model = model_for(workspace=workspace)
    texts = list(
        TrainingExample.objects.filter(workspace=workspace, intent__isnull=True)
        .order_by("pk")
        .values_list("text", flat=True)
    )
    if run is None or model is None or not texts:
        return None
    threshold = model.oos_refit_examples(texts)
    oos_save(Path(run.artifact_path), model.oos)
    hooks.artifact_rewritten(run.pk)
    with transaction.atomic():
        run = TrainingRun.objects.select_for_update().get(pk=run.pk)
        run.metrics = {
            **run.metrics,
            "oos_refit": {
                "examples": len(texts),
                "threshold": round(threshold, 4),
                "at": timezone.now().isoformat(),
            },
        }
        run.save(update_fields=["metrics"])
    return threshold
