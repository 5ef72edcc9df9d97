"""The admin's training runs say why each run stopped, and warn when the safety net cut one."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from apps.nlu.models import TrainingRun

BUDGET = {"steps": 400, "steps_planned": 400, "epochs_planned": 8, "epochs_completed": 8.0}
CUT = {
    "stop_reason": "time_limit",
    "steps": 120,
    "steps_planned": 400,
    "epochs_planned": 8,
    "epochs_completed": 2.4,
    "warning": "the time limit (training.max_minutes, a safety net) cut training after 120 of "
    "400 planned steps",
}


@pytest.mark.django_db
def test_run_list_shows_why_each_run_stopped(admin_client: Client, workspace_a: Any) -> None:
    TrainingRun.objects.create(
        workspace=workspace_a,
        status=TrainingRun.Status.SUCCEEDED,
        metrics={**BUDGET, "stop_reason": "patience", "steps": 250},
    )
    TrainingRun.objects.create(
        workspace=workspace_a, status=TrainingRun.Status.SUCCEEDED, metrics=CUT
    )
    page = admin_client.get(reverse("admin:nlu_trainingrun_changelist")).content.decode()
    assert "patience (250 of 400 steps)" in page
    assert '<strong style="color: #ba2121">&#9888; time_limit (120 of 400 steps)</strong>' in page


@pytest.mark.django_db
def test_a_run_cut_by_the_safety_net_is_warned_about(
    admin_client: Client, workspace_a: Any
) -> None:
    cut = TrainingRun.objects.create(
        workspace=workspace_a, status=TrainingRun.Status.SUCCEEDED, metrics=CUT
    )
    done = TrainingRun.objects.create(
        workspace=workspace_a,
        status=TrainingRun.Status.SUCCEEDED,
        metrics={**BUDGET, "stop_reason": "epochs_done"},
    )
    page = admin_client.get(reverse("admin:nlu_trainingrun_change", args=[cut.pk])).content
    assert f"Run {cut.pk}: {CUT['warning']}.".encode() in page
    assert b"&#9888; time_limit (120 of 400 steps)" in page
    page = admin_client.get(reverse("admin:nlu_trainingrun_change", args=[done.pk])).content
    assert b"epochs_done (400 of 400 steps)" in page
    assert b"safety net" not in page
