"""The process-wide pieces retrieval needs: the encoder, each workspace's index."""

from pathlib import Path

from django.conf import settings

from apps.accounts.models import Workspace
from apps.core.process import process_wide
from apps.core.vectors import qdrant_client
from ml.retrieval.encoder import DenseEncoder
from ml.retrieval.index import ChunkIndex
from ml.retrieval.sparse import Bm25Encoder


@process_wide
def dense_encoder() -> DenseEncoder:
    encoder = DenseEncoder()
    if settings.INFERENCE_BATCHING:
        encoder.batch_across_callers(
            max_batch=settings.INFERENCE_BATCH_MAX,
            max_wait_s=settings.INFERENCE_BATCH_WAIT_MS / 1000,
        )
    return encoder


@process_wide
def sparse_encoder() -> Bm25Encoder:
    return Bm25Encoder()


def collection_alias(workspace_id: int) -> str:
    """One collection (behind this alias) per workspace: nothing is shared, nothing filtered."""
    return f"ws{workspace_id}_kb"


def chunk_index(workspace: Workspace | int) -> ChunkIndex:
    workspace_id = workspace if isinstance(workspace, int) else workspace.pk
    return ChunkIndex(qdrant_client(), collection_alias(workspace_id))


def graph_model_path(workspace_id: int) -> Path:
    folder = Path(settings.VAR_DIR) / "knowledge" / f"ws{workspace_id}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "graphsage.pt"
