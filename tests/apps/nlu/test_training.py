"""A workspace's intents and examples train its model through the API and the Celery task;
training data never holds a planted card or ID number."""

import json
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from apps.accounts.models import Role
from apps.nlu import services
from apps.nlu.models import Intent, TrainingExample, TrainingRun
from apps.nlu.runtime import model_for
from ml.nlu.data.banking77 import SHIPPED, read

CARD = "4111 1111 1111 1111"
CN_ID = "11010519491231002X"
PLANTED = ("4111111111111111", CARD, CN_ID, "1949123")
INTENTS = ("card_arrival", "exchange_rate", "lost_or_stolen_phone")


def _import_examples(workspace: Any, per_intent: int = 10) -> int:
    rows = [(e.text, e.intent or "") for e in read(SHIPPED / "train.csv") if e.intent in INTENTS]
    chosen = [r for name in INTENTS for r in [r for r in rows if r[1] == name][:per_intent]]
    return services.training_examples_import(workspace=workspace, rows=chosen)


@pytest.mark.django_db
def test_examples_are_stored_and_exported_redacted(workspace_a: Any, tmp_path: Path) -> None:
    intent = services.intent_create(workspace=workspace_a, name="card_payment")
    text = f"my card {CARD} was charged twice for the premium plan, my ID is {CN_ID}"
    example = services.training_example_create(
        workspace=workspace_a,
        text=text,
        intent=intent,
        slots=[{"slot": "plan", "start": text.index("premium"), "end": text.index("premium") + 7}],
    )
    assert not any(p in example.text for p in PLANTED), example.text
    assert example.slots, example.text
    assert example.text[example.slots[0]["start"] : example.slots[0]["end"]] == "premium"
    # A row stored before a policy change still leaves the building redacted.
    TrainingExample.objects.create(workspace=workspace_a, intent=intent, text=f"pay with {CARD}")
    count, intents = services.training_data_export(workspace=workspace_a, path=tmp_path / "x.jsonl")
    exported = (tmp_path / "x.jsonl").read_text()
    assert (count, intents) == (2, 1)
    assert not any(p in exported for p in PLANTED)
    assert '"slot": "plan"' in exported
    assert "premium plan" in exported


@pytest.mark.django_db
def test_training_run_trains_records_and_activates(
    api: Any, member_of: Any, workspace_a: Any, django_capture_on_commit_callbacks: Any
) -> None:
    assert _import_examples(workspace_a) == 30
    api.force_authenticate(member_of(workspace_a, Role.OPERATOR))
    url = reverse("v1:nlu-runs", args=[workspace_a.slug])
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(url)
    assert response.status_code == 202, response.content
    run = TrainingRun.objects.get(pk=response.json()["id"])
    assert run.status == TrainingRun.Status.SUCCEEDED, run.error
    assert run.is_active
    assert (run.examples, run.intents) == (30, 3)
    assert 0.0 <= run.metrics["validation"]["intent_accuracy"] <= 1.0
    # The test settings plan one epoch and no safety net: the run spent its budget.
    assert run.stop_reason == run.metrics["stop_reason"] == "epochs_done"
    assert run.metrics["steps"] == run.metrics["steps_planned"] > 0
    assert not run.budget_warning
    assert Path(run.artifact_path, "manifest.json").is_file()
    # No out-of-scope examples of its own: the threshold is fitted against the general ones.
    oos = json.loads(Path(run.artifact_path, "oos.json").read_text())
    assert oos["method"] == "knn_base"
    assert oos["platt"] is not None
    assert oos["generic_negatives"]
    model = model_for(workspace=workspace_a)
    assert model is not None
    [result] = model.predict(["where is my new card"])
    assert {i.intent for i in result.intents} <= set(INTENTS)
    # Operators add out-of-scope examples: the active model's threshold refits on them at once,
    # and the process loads the refitted model on its next use.
    examples = reverse("v1:nlu-examples", args=[workspace_a.slug])
    outside = [f"what is the weather like in city number {n}" for n in range(11)]
    for text in outside:
        with django_capture_on_commit_callbacks(execute=True):
            assert api.post(examples, {"text": text}, format="json").status_code == 201
    run.refresh_from_db()
    assert run.metrics["oos_refit"]["examples"] == len(outside)
    refitted = model_for(workspace=workspace_a)
    assert refitted is not None
    assert refitted is not model
    assert refitted.oos.platt is not None
    assert refitted.oos.threshold == pytest.approx(run.metrics["oos_refit"]["threshold"], abs=1e-4)
    assert all(r.is_oos for r in refitted.predict(outside[:3]))
    assert refitted.oos.generic_negatives  # the refit kept the general queries beside them
    # The task is safe to deliver twice: the second delivery leaves the run alone.
    assert services.training_run_execute(run_id=run.pk).finished_at == run.finished_at
    listed = api.get(url).json()
    assert [r["id"] for r in listed] == [run.pk]


@pytest.mark.django_db
def test_training_needs_two_intents_with_examples(
    api: Any, member_of: Any, workspace_a: Any
) -> None:
    intent = Intent.objects.create(workspace=workspace_a, name="only")
    TrainingExample.objects.create(workspace=workspace_a, intent=intent, text="hello")
    api.force_authenticate(member_of(workspace_a, Role.OPERATOR))
    response = api.post(reverse("v1:nlu-runs", args=[workspace_a.slug]))
    assert response.status_code == 400
    assert "at least two intents" in response.json()["error"]["message"]
    assert not TrainingRun.objects.exists()


@pytest.mark.django_db
def test_a_second_run_is_refused_while_one_is_queued(
    api: Any, member_of: Any, workspace_a: Any
) -> None:
    _import_examples(workspace_a, per_intent=3)
    TrainingRun.objects.create(workspace=workspace_a)
    api.force_authenticate(member_of(workspace_a, Role.ADMIN))
    response = api.post(reverse("v1:nlu-runs", args=[workspace_a.slug]))
    assert response.status_code == 409


@pytest.mark.django_db
def test_examples_api_validates_and_scopes(
    api: Any, member_of: Any, workspace_a: Any, workspace_b: Any
) -> None:
    Intent.objects.create(workspace=workspace_b, name="b-only")
    api.force_authenticate(member_of(workspace_a, Role.OPERATOR))
    url = reverse("v1:nlu-examples", args=[workspace_a.slug])
    # B's intent name is unknown in A.
    response = api.post(url, {"text": "hi", "intent": "b-only"}, format="json")
    assert response.status_code == 404
    response = api.post(
        url, {"text": "hi", "slots": [{"slot": "x", "start": 0, "end": 50}]}, format="json"
    )
    assert response.status_code == 400
    assert "outside the text" in response.json()["error"]["message"]
    response = api.post(url, {"text": "something else entirely"}, format="json")
    assert response.status_code == 201
    assert response.json()["intent"] is None


@pytest.mark.django_db
def test_agents_cannot_train(api: Any, member_of: Any, workspace_a: Any) -> None:
    api.force_authenticate(member_of(workspace_a, Role.AGENT))
    assert api.post(reverse("v1:nlu-runs", args=[workspace_a.slug])).status_code == 403
