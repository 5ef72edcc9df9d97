from collections.abc import Iterator

import pytest

from apps.core.vectors import qdrant_client
from apps.knowledge.services import search
from ml.retrieval import index as index_module
from ml.retrieval.index import ChunkIndex


@pytest.fixture(autouse=True)
def _empty_vector_store() -> Iterator[None]:
    """Workspace ids come back after a rolled-back test: every test starts with no collection."""
    yield
    client = qdrant_client()
    for alias in client.get_aliases().aliases:
        ChunkIndex(client, alias.alias_name).drop()
    for collection in client.get_collections().collections:
        client.delete_collection(collection.name)
    index_module._mirrors.clear()
    search._channels.clear()
