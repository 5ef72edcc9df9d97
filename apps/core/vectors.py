"""The process-wide Qdrant client, opened from settings on first use."""

import atexit

from django.conf import settings
from qdrant_client import QdrantClient

from apps.core.process import process_wide
from ml.vectors import QdrantLocation, qdrant_open


@process_wide
def qdrant_client() -> QdrantClient:
    location = QdrantLocation(
        url=settings.QDRANT_URL or None,
        path=None if settings.QDRANT_URL else settings.QDRANT_PATH,
        api_key=settings.QDRANT_API_KEY or None,
    )
    client = qdrant_open(location)
    # Close while the interpreter is whole: local mode releases its folder lock on close.
    atexit.register(client.close)
    return client
