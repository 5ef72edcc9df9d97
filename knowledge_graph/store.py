"""Node embeddings in Qdrant: one collection per workspace graph, GraphSAGE vectors with the
entity's name-feature vector and its name as payload."""

import uuid
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
from qdrant_client import QdrantClient
from qdrant_client import models as qm

from ml.vectors import local_fast_writes

FloatArray = npt.NDArray[np.float32]
_NAMESPACE = uuid.UUID("0b7e2f64-3f1a-4d2b-9a55-7f2f0c3f9e10")


def point_id(entity_id: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, entity_id))


class NodeEmbeddingStore:
    def __init__(self, client: QdrantClient, collection: str):
        self.client = client
        self.collection = collection

    def save(
        self,
        sage: Mapping[str, FloatArray],
        features: Mapping[str, FloatArray],
        names: Mapping[str, str],
    ) -> None:
        """Replaces the stored embeddings with these."""
        if self.client.collection_exists(self.collection):
            self.client.delete_collection(self.collection)
        if not sage:
            return
        sage_dim = len(next(iter(sage.values())))
        feature_dim = len(next(iter(features.values())))
        self.client.create_collection(
            self.collection,
            vectors_config={
                "sage": qm.VectorParams(size=sage_dim, distance=qm.Distance.COSINE),
                "feature": qm.VectorParams(size=feature_dim, distance=qm.Distance.COSINE),
            },
        )
        local_fast_writes(self.client, self.collection)
        ids = sorted(sage)
        for start in range(0, len(ids), 512):
            self.client.upsert(
                self.collection,
                points=[
                    qm.PointStruct(
                        id=point_id(entity_id),
                        vector={
                            "sage": sage[entity_id].tolist(),
                            "feature": features[entity_id].tolist(),
                        },
                        payload={"entity_id": entity_id, "name": names.get(entity_id, "")},
                    )
                    for entity_id in ids[start : start + 512]
                ],
                wait=True,
            )

    def load(self) -> tuple[dict[str, FloatArray], dict[str, FloatArray]]:
        """(GraphSAGE vectors, feature vectors) by entity id; empty if nothing is stored."""
        sage: dict[str, FloatArray] = {}
        features: dict[str, FloatArray] = {}
        if not self.client.collection_exists(self.collection):
            return sage, features
        offset = None
        while True:
            records, offset = self.client.scroll(
                self.collection, limit=1024, offset=offset, with_payload=True, with_vectors=True
            )
            for record in records:
                entity_id = str((record.payload or {})["entity_id"])
                vectors = record.vector
                assert isinstance(vectors, dict)
                sage[entity_id] = np.asarray(vectors["sage"], dtype=np.float32)
                features[entity_id] = np.asarray(vectors["feature"], dtype=np.float32)
            if offset is None:
                return sage, features

    def drop(self) -> None:
        if self.client.collection_exists(self.collection):
            self.client.delete_collection(self.collection)
