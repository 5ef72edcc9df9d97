from celery import shared_task

from apps.chat.services import conversations_purge_expired as purge


@shared_task(acks_late=True)
def conversations_purge_expired() -> int:
    """Hourly (beat): deletes closed conversations past their workspace's retention period."""
    return purge()
