"""The learning loop's beat schedule (``apps.mlops.services.schedule``): the review queue's
nightly harvest, the daily canary check and schedule sync, and each existing workspace's
retraining on its release policy's cron (the default, nightly at 03:00 UTC, without a policy)."""

from django.db import migrations

DAILY = {
    "review-harvest": ("apps.review.tasks.review_harvest_all", "0 2 * * *"),
    "mlops-schedules-sync": ("apps.mlops.tasks.mlops_schedules_sync", "30 1 * * *"),
    "mlops-canary-check": ("apps.mlops.tasks.mlops_canary_check_all", "0 6 * * *"),
}
RETRAIN = "apps.mlops.tasks.mlops_retrain"
DEFAULT_CRON = "0 3 * * *"


def _crontab(apps, cron):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    minute, hour, day_of_month, month_of_year, day_of_week = cron.split()
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=minute,
        hour=hour,
        day_of_month=day_of_month,
        month_of_year=month_of_year,
        day_of_week=day_of_week,
        timezone="UTC",
    )
    return crontab


def schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    Workspace = apps.get_model("accounts", "Workspace")
    ReleasePolicy = apps.get_model("mlops", "ReleasePolicy")
    for name, (task, cron) in DAILY.items():
        PeriodicTask.objects.get_or_create(
            name=name, defaults={"task": task, "crontab": _crontab(apps, cron)}
        )
    crons = dict(ReleasePolicy.objects.values_list("workspace_id", "nlu_schedule"))
    for workspace_id in Workspace.objects.values_list("id", flat=True):
        PeriodicTask.objects.get_or_create(
            name=f"mlops-retrain-nlu-{workspace_id}",
            defaults={
                "task": RETRAIN,
                "crontab": _crontab(apps, crons.get(workspace_id, DEFAULT_CRON)),
                "args": f"[{workspace_id}]",
            },
        )


def unschedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=list(DAILY)).delete()
    PeriodicTask.objects.filter(task=RETRAIN).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("mlops", "0003_learning_loop"),
        ("accounts", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
