"""What existed before the registry is registered once; the admin shows versions, decisions and
the release policy."""

import importlib
from typing import Any

import pytest
from django.apps import apps
from django.urls import reverse

from apps.mlops import services
from apps.mlops.models import Decision, ModelVersion, RegistryRevision, ReleasePolicy

migration = importlib.import_module("apps.mlops.migrations.0002_register_active_runs")


@pytest.mark.django_db
def test_the_migration_registers_each_active_run_as_champion(
    workspace_a: Any, workspace_b: Any, make_run: Any
) -> None:
    active = make_run(workspace_a, score=0.9, is_active=True)
    make_run(workspace_a, score=0.5)  # not active: not registered
    make_run(workspace_b, score=0.5)
    migration.register(apps, None)
    migration.register(apps, None)  # once only
    version = ModelVersion.objects.get()
    assert (version.workspace, version.number, version.state) == (workspace_a, 1, "champion")
    assert version.training_run == active
    assert version.evaluation == {"score": 0.9, "intent_accuracy": 0.9}
    assert version.data_snapshot["intents"] == {
        "card_arrival": 2,
        "exchange_rate": 1,
        "out_of_scope": 1,
    }
    services.version_manifest_verify(version=version)  # the folder's manifest, recorded
    assert Decision.objects.get().action == "promote"
    assert RegistryRevision.objects.get(workspace=workspace_a).revision == 1


@pytest.mark.django_db
def test_the_admin_lists_versions_decisions_and_policies(
    client: Any, admin_user: Any, workspace_a: Any, make_run: Any
) -> None:
    version = services.version_register_nlu(run=make_run(workspace_a), trigger="person")
    services.version_promote(version=version, decider=Decision.Decider.PERSON)
    policy = ReleasePolicy.objects.create(workspace=workspace_a)
    assert (policy.nlu_schedule, policy.canary_share) == ("0 3 * * *", 0.2)
    client.force_login(admin_user)
    for name in ("modelversion", "decision", "releasepolicy"):
        response = client.get(reverse(f"admin:mlops_{name}_changelist"))
        assert response.status_code == 200, name
    response = client.post(
        reverse("admin:mlops_releasepolicy_change", args=[policy.pk]),
        {
            "workspace": workspace_a.pk,
            "nlu_schedule": "every night",
            "adapter_schedule": "0 4 * * 0",
            "min_new_labels": 50,
            "canary_share": 0.2,
            "macro_f1_margin": 0.01,
            "oos_recall_margin": 0.02,
            "resolution_margin": 0.02,
            "min_canary_conversations": 200,
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert "is not a five-field cron expression" in response.content.decode()
