from celery import shared_task

from apps.safety.services import originals_purge_expired as purge


@shared_task(acks_late=True)
def originals_purge_expired() -> int:
    """Hourly (beat): deletes encrypted originals past their workspace's retention period."""
    return purge()
