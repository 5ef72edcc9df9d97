"""The scheduled retraining of a workspace's NLU model: one pass of the learning loop.

    retraining_run(workspace=..., trigger=...)
      1. claim: one pass per workspace at a time (a ``Retraining`` row in state running, unique
         per workspace and kind); a canary still running, or a pass already running, skips.
      2. harvest the final reviewed labels (``apps.review.selectors.reviewed_labels``); their
         redaction is checked again; the frozen-set rule moves some into the frozen evaluation
         set (``FrozenItem``, only ever grows).
      3. skip, with the reason recorded, when fewer than the policy's ``min_new_labels`` new
         labels (after the last pass that trained) may train.
      4. hygiene (``ml.mlops.hygiene.clean_training_rows``) over the reviewed labels and the
         workspace's own examples: frozen texts and their near-duplicates out, near-duplicates
         (cosine >= 0.91, chosen in benchmarks/results/dedup_threshold.json) out, conflicting
         labels of one text held out and flagged.
      5. train a candidate from what is left (not activated: the run is this pass's, so the
         registry only registers it), register it with its data snapshot and trigger.
      6. the candidate and the champion predict the frozen set; ``evaluation_gate`` decides:
         failed -> ``version_reject`` with every failed check and its numbers; passed ->
         ``canary_start`` (or ``version_promote`` for a workspace's first model).

Weak labels (``apps.review.selectors.weak_labels``) are not used: they are read off behaviour
(a thumbs-up, an agent's outcome), never checked by a person, and the loop trains on reviewed
labels only. A crash anywhere leaves the registry as it was: the champion keeps serving.
"""

import json
import logging
import time
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import User, Workspace
from apps.core.exceptions import ApplicationError, Conflict
from apps.knowledge.services.runtime import dense_encoder
from apps.mlops.models import FrozenItem, Kind, ModelVersion, Retraining
from apps.mlops.services import (
    _adopt_active_run,
    _champion,
    canary_start,
    policy_get,
    version_promote,
    version_register_nlu,
    version_reject,
)
from apps.nlu.models import TrainingRun
from apps.nlu.services import training_data_export, training_run_execute, training_run_prepare
from apps.review.contracts import OUT_OF_SCOPE_LABEL, ReviewedLabel
from apps.review.selectors import reviewed_labels
from apps.safety.services import policy_get as safety_policy_get
from apps.safety.services import text_redact
from ml.mlops.gate import GateConfig, GateResult, Predictions, evaluation_gate
from ml.mlops.hygiene import (
    NEAR_DUPLICATE_THRESHOLD,
    REVIEWED,
    TrainingRow,
    clean_training_rows,
    is_frozen,
    normalise,
)

logger = logging.getLogger(__name__)

Status = Retraining.Status
Decider = ModelVersion.Trigger
# A pass still "running" after this long died with its process: it no longer blocks the next.
STALE_AFTER = timedelta(hours=6)
# Items of the frozen set timed one by one for the gate's latency check.
LATENCY_ITEMS = 50


# --- the frozen evaluation set ---------------------------------------------------------------


def frozen_texts(*, workspace_id: int) -> frozenset[str]:
    """The normalised texts of the workspace's frozen set (what no training may see)."""
    return frozenset(
        FrozenItem.objects.filter(workspace_id=workspace_id).values_list("normalised", flat=True)
    )


def frozen_set_grow(*, workspace: Workspace, labels: list[ReviewedLabel]) -> int:
    """Puts the labels the fixed rule (``is_frozen``) picks into the frozen set; returns how
    many texts are new there. A text already frozen keeps its first label."""
    new = [
        FrozenItem(
            workspace=workspace,
            text=label.text,
            normalised=normalise(label.text)[:1000],
            label=label.label,
            review_item_id=label.item_id,
        )
        for label in labels
        if is_frozen(text=label.text)
    ]
    before = FrozenItem.objects.filter(workspace=workspace).count()
    FrozenItem.objects.bulk_create(new, ignore_conflicts=True, batch_size=500)
    return FrozenItem.objects.filter(workspace=workspace).count() - before


# --- one pass --------------------------------------------------------------------------------


def _claim(workspace: Workspace, kind: str, trigger: str) -> Retraining | None:
    """The pass's row, or None when one is running (a second delivery, a double click)."""
    Retraining.objects.filter(
        workspace=workspace,
        kind=kind,
        status=Status.RUNNING,
        started_at__lt=timezone.now() - STALE_AFTER,
    ).update(status=Status.FAILED, reason="the process running it died", finished_at=timezone.now())
    try:
        with transaction.atomic():
            return Retraining.objects.create(workspace=workspace, kind=kind, trigger=trigger)
    except IntegrityError:
        return None


def _finish(
    retraining: Retraining, status: str, reason: str, numbers: dict[str, Any]
) -> Retraining:
    retraining.status = status
    retraining.reason = reason[:500]
    retraining.numbers = {**retraining.numbers, **numbers}
    retraining.finished_at = timezone.now()
    retraining.save()
    return retraining


def _redacted(workspace: Workspace, labels: list[ReviewedLabel]) -> list[ReviewedLabel]:
    """The labels with their text redacted again under today's policy (the review queue stored
    them redacted; a policy may have grown since)."""
    policy = safety_policy_get(workspace=workspace)
    out = []
    for label in labels:
        text = text_redact(policy=policy, text=label.text, placeholders={}).text
        out.append(
            label if text == label.text else ReviewedLabel(**{**asdict(label), "text": text})
        )
    return out


def _record(label: ReviewedLabel) -> dict[str, Any]:
    record: dict[str, Any] = {"text": label.text, "source": REVIEWED}
    if label.label == OUT_OF_SCOPE_LABEL:
        record["is_oos"] = True
    else:
        record["intent"] = label.label
    if label.slots:
        record["slots"] = [dict(span) for span in label.slots]
    return record


def _label_of(record: dict[str, Any]) -> str:
    return OUT_OF_SCOPE_LABEL if record.get("is_oos") else str(record.get("intent", ""))


def training_data_prepare(
    *, workspace: Workspace, labels: list[ReviewedLabel], path: Path
) -> dict[str, Any]:
    """Writes the candidate's training data to ``path`` (JSON lines, ``ml.nlu``'s format):
    the reviewed labels first (preferred when near-duplicates compete), then the workspace's
    own examples, through the hygiene rules. Returns what hygiene did, with its numbers."""
    exported = path.with_name(path.stem + "-examples.jsonl")
    training_data_export(workspace=workspace, path=exported)  # frozen texts already left out
    examples = [json.loads(line) for line in exported.read_text().splitlines() if line.strip()]
    exported.unlink()
    records = [_record(label) for label in labels] + examples
    rows = [TrainingRow(r["text"], _label_of(r), str(r.get("source", ""))) for r in records]
    frozen = list(FrozenItem.objects.filter(workspace=workspace).values_list("text", flat=True))
    encoder = dense_encoder()
    embeddings = np.asarray(encoder.encode([row.text for row in rows]), dtype=np.float32)
    frozen_embeddings = np.asarray(encoder.encode(frozen), dtype=np.float32)
    report = clean_training_rows(
        rows=rows,
        embeddings=embeddings,
        frozen_texts=frozen,
        frozen_embeddings=frozen_embeddings,
        threshold=NEAR_DUPLICATE_THRESHOLD,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for i in report.training:
            handle.write(json.dumps(records[i], ensure_ascii=False) + "\n")
    return {
        "rows": len(rows),
        "reviewed": len(labels),
        "examples": len(examples),
        "training": len(report.training),
        "training_reviewed": sum(1 for i in report.training if rows[i].source == REVIEWED),
        "frozen_held_out": len(report.newly_frozen) + len(report.frozen_leaks),
        "near_frozen_held_out": len(report.frozen_leaks),
        "duplicates": len(report.duplicates),
        "conflicts": len(report.conflicts),
        "conflict_examples": [
            {
                "texts": [rows[c.first].text, rows[c.second].text],
                "labels": [rows[c.first].label, rows[c.second].label],
                "similarity": round(c.similarity, 3),
                "same_text": c.same_text,
            }
            for c in report.conflicts[:20]
        ],
        "threshold": NEAR_DUPLICATE_THRESHOLD,
    }


def frozen_predictions(*, version: ModelVersion, texts: list[str]) -> Predictions:
    """The version's predictions for the frozen texts: label (``OUT_OF_SCOPE_LABEL`` when read
    out of scope), confidence (the top intent's calibrated probability, or the out-of-scope
    score) and the latency of single-text calls on the first ``LATENCY_ITEMS``. The model is
    loaded beside (not instead of) what serves, and dropped after."""
    from apps.nlu.runtime import shared_runtime
    from ml.nlu.runtime import model_load

    shared = shared_runtime().shared
    model = model_load(shared, f"gate-v{version.pk}", Path(version.artifact_path))
    try:
        results = model.predict(texts)
        latencies = []
        for text in texts[:LATENCY_ITEMS]:
            started = time.perf_counter()
            model.predict([text])
            latencies.append((time.perf_counter() - started) * 1000)
    finally:
        shared.remove_adapter(model.adapter)
    return Predictions(
        labels=tuple(r.intent or OUT_OF_SCOPE_LABEL for r in results),
        confidences=tuple(r.oos_score if r.intent is None else r.confidence for r in results),
        latencies_ms=tuple(latencies),
    )


def gate_config(*, workspace: Workspace) -> GateConfig:
    """The gate's checks with the workspace policy's margins, floor and budgets."""
    policy = policy_get(workspace=workspace)
    return GateConfig(
        intent_f1_floor=policy.gate_intent_f1_floor,
        max_ece=policy.gate_max_ece,
        latency_p95_budget_ms=policy.gate_latency_p95_ms,
        macro_f1_margin=policy.macro_f1_margin,
        oos_recall_margin=policy.oos_recall_margin,
        oos_label=OUT_OF_SCOPE_LABEL,
    )


def gate_numbers(
    result: GateResult, gold: list[str], predictions: dict[str, Predictions]
) -> dict[str, Any]:
    """The gate's verdict as JSON: every check with its numbers, the failed ones by name, and
    each model's accuracy on the frozen set."""
    return {
        "passed": result.passed,
        "frozen_items": len(gold),
        "failed": [check.name for check in result.failed],
        "checks": [asdict(check) for check in result.checks],
        "skipped": [list(pair) for pair in result.skipped],
        "accuracy": {
            name: round(sum(p == g for p, g in zip(model.labels, gold, strict=True)) / len(gold), 4)
            for name, model in predictions.items()
        },
    }


def version_gate(*, version: ModelVersion) -> dict[str, Any]:
    """Runs the evaluation gate for a candidate against the champion on the frozen set."""
    items = list(FrozenItem.objects.filter(workspace_id=version.workspace_id).order_by("id"))
    if not items:
        return {"passed": False, "frozen_items": 0, "failed": ["frozen_set"], "checks": []}
    texts = [item.text for item in items]
    gold = [item.label for item in items]
    predictions = {"candidate": frozen_predictions(version=version, texts=texts)}
    champion = _champion(version.workspace_id, Kind.NLU)
    if champion is not None:
        predictions["champion"] = frozen_predictions(version=champion, texts=texts)
    result = evaluation_gate(
        gold=gold,
        candidate=predictions["candidate"],
        champion=predictions.get("champion"),
        config=gate_config(workspace=version.workspace),
    )
    return gate_numbers(result, gold, predictions)


def _failed_reason(numbers: dict[str, Any]) -> str:
    failed = {check["name"]: check for check in numbers.get("checks", []) if not check["passed"]}
    parts = [
        f"{name} {check['value']:.3f} (threshold {check['threshold']:.3f})"
        for name, check in failed.items()
    ]
    if "frozen_set" in numbers.get("failed", []):
        parts.append("no frozen evaluation set yet")
    return "gate failed: " + "; ".join(parts)


def version_judge(*, version: ModelVersion) -> str:
    """The gate's decision on a candidate, through the registry's services: rejected with
    every failed check, else a canary beside the champion (promoted when there is none).
    Returns the retraining status it amounts to."""
    numbers = version_gate(version=version)
    decider = "gate"
    if not numbers["passed"]:
        version_reject(
            version=version, decider=decider, reason=_failed_reason(numbers), numbers=numbers
        )
        return Status.REJECTED
    ModelVersion.objects.filter(pk=version.pk).update(gate_result=numbers)
    if _champion(version.workspace_id, Kind.NLU) is None:
        version_promote(
            version=version, decider=decider, reason="gate passed; no champion", numbers=numbers
        )
        return Status.PROMOTED
    canary_start(version=version, decider=decider, reason="gate passed", numbers=numbers)
    return Status.CANARY


def _last_trained(workspace: Workspace, kind: str) -> Retraining | None:
    return (
        Retraining.objects.filter(workspace=workspace, kind=kind, training_run__isnull=False)
        .exclude(status=Status.RUNNING)
        .order_by("-started_at", "-id")
        .first()
    )


def retraining_run(
    *,
    workspace: Workspace,
    kind: str = Kind.NLU,
    trigger: str = ModelVersion.Trigger.SCHEDULE,
    user: User | None = None,
    training: dict[str, Any] | None = None,
) -> Retraining | None:
    """One pass of the learning loop (module docstring). Returns its record, or None when a
    pass of this workspace and kind is already running. ``training``: overrides of
    ``settings.NLU_TRAINING`` for this run."""
    if kind != Kind.NLU:
        raise ApplicationError("the learning loop retrains NLU models; adapters train by hand")
    retraining = _claim(workspace, kind, trigger)
    if retraining is None:
        return None
    try:
        return _run(retraining, workspace, trigger, user, training)
    except Exception as error:
        logger.exception("retraining %s of workspace %s failed", retraining.pk, workspace.slug)
        return _finish(retraining, Status.FAILED, f"{type(error).__name__}: {error}", {})


def _run(
    retraining: Retraining,
    workspace: Workspace,
    trigger: str,
    user: User | None,
    training: dict[str, Any] | None,
) -> Retraining:
    policy = policy_get(workspace=workspace)
    _adopt_active_run(workspace.pk)  # a model trained before the registry is the champion
    if ModelVersion.objects.filter(
        workspace=workspace, kind=Kind.NLU, state=ModelVersion.State.CANARY
    ).exists():
        return _finish(retraining, Status.SKIPPED, "a canary is running: it is judged first", {})
    labels = _redacted(workspace, reviewed_labels(workspace=workspace))
    newly_frozen = frozen_set_grow(workspace=workspace, labels=labels)
    frozen = frozen_texts(workspace_id=workspace.pk)
    last = _last_trained(workspace, Kind.NLU)
    since = last.labels_until if last is not None else None
    trainable = [label for label in labels if normalise(label.text) not in frozen]
    new = [label for label in trainable if since is None or label.labelled_at > since]
    retraining.labels_until = max((label.labelled_at for label in labels), default=since)
    numbers: dict[str, Any] = {
        "reviewed_labels": len(labels),
        "new_labels": len(new),
        "min_new_labels": policy.min_new_labels,
        "frozen_items": len(frozen),
        "newly_frozen": newly_frozen,
        "weak_labels": "not used",
    }
    if len(new) < policy.min_new_labels:
        return _finish(
            retraining,
            Status.SKIPPED,
            f"{len(new)} new reviewed labels, fewer than the policy's {policy.min_new_labels}",
            numbers,
        )
    try:
        run = training_run_prepare(workspace=workspace)
    except Conflict as error:
        return _finish(retraining, Status.SKIPPED, str(error), numbers)
    retraining.training_run = run
    retraining.save(update_fields=["training_run", "labels_until"])
    data_path = Path(settings.NLU_MODELS_DIR) / workspace.slug / f"run-{run.pk}-data.jsonl"
    numbers["hygiene"] = training_data_prepare(
        workspace=workspace, labels=trainable, path=data_path
    )
    run = training_run_execute(run_id=run.pk, data_path=data_path, overrides=training)
    retraining.training_run = run
    if run.status != TrainingRun.Status.SUCCEEDED:
        return _finish(retraining, Status.FAILED, f"training failed: {run.error}", numbers)
    version = version_register_nlu(run=run, trigger=trigger, user=user)
    retraining.version = version
    retraining.save(update_fields=["version"])
    status = version_judge(version=version)
    version.refresh_from_db()
    numbers["gate"] = version.gate_result
    reasons: dict[str, str] = {
        Status.REJECTED: _failed_reason(version.gate_result),
        Status.CANARY: f"version {version.number} passed the gate: canary started",
        Status.PROMOTED: f"version {version.number} passed the gate: first model, promoted",
    }
    return _finish(retraining, status, reasons[status], numbers)
