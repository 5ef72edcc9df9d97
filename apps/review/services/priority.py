"""Which review items are most useful to label first.

An item's priority is

    priority = 0.5 * uncertainty + 0.5 / (1 + labelled_in_cluster)

- ``uncertainty = 1 - (s1 - s2)``, the margin between the traced top two intent scores taken
  from one (``s2 = 0`` with a single intent); 1 when the turn was read as out of scope or had no
  intent at all. Scores are clamped to [0, 1].
- ``labelled_in_cluster``: how many items of the item's cluster already have a final label.
  Items are embedded with the project's shared sentence encoder (MiniLM,
  ``apps.knowledge.services.runtime.dense_encoder``) and clustered with k-means,
  ``k = clamp(round(sqrt(n / 2)), 1, 50)`` over the workspace's ``n`` embedded items (seeded,
  so a re-run gives the same clusters). A cluster nobody has labelled yet scores 0.5 on this
  term, one with 4 labels 0.1.

Both terms are in [0, 1], so the priority is too. Within one batch handed to a labeller, each
item taken counts as labelled in its cluster for the items after it, so a batch spreads over
clusters instead of filling up with near-duplicates. Ties go to the newer turn.
"""

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from django.db import transaction

from apps.accounts.models import Workspace
from apps.knowledge.services.runtime import dense_encoder
from apps.review.models import ReviewItem

UNCERTAINTY_WEIGHT = 0.5
COVERAGE_WEIGHT = 0.5
MAX_CLUSTERS = 50
# The newest items clustered per harvest (older ones keep their last cluster).
CLUSTERED_ITEMS = 20_000
ENCODE_BATCH = 256


def turn_uncertainty(nlu: dict[str, Any]) -> float:
    """``1 - (s1 - s2)`` of the traced ranking (``nlu`` is the trace's ``data["nlu"]``)."""
    intents = nlu.get("intents") or []
    if nlu.get("oos") or not intents:
        return 1.0
    scores = [min(1.0, max(0.0, float(i.get("score") or 0.0))) for i in intents[:2]]
    margin = scores[0] - (scores[1] if len(scores) > 1 else 0.0)
    return round(min(1.0, max(0.0, 1.0 - margin)), 6)


def item_priority(*, uncertainty: float, labelled_in_cluster: int) -> float:
    return UNCERTAINTY_WEIGHT * uncertainty + COVERAGE_WEIGHT / (1 + labelled_in_cluster)


def cluster_count(n: int) -> int:
    return max(1, min(MAX_CLUSTERS, round(math.sqrt(n / 2))))


def _clusters(vectors: np.ndarray) -> list[int]:
    n = len(vectors)
    k = cluster_count(n)
    if k == 1:
        return [0] * n
    from sklearn.cluster import KMeans

    model = KMeans(n_clusters=k, n_init=4, random_state=0).fit(vectors)
    return [int(label) for label in model.labels_]


def _encode(texts: Sequence[str]) -> np.ndarray:
    return np.asarray(dense_encoder().encode(list(texts)), dtype=np.float32)


def review_items_embed(*, workspace: Workspace) -> int:
    """Embeds the workspace's items that have no embedding yet; returns how many."""
    missing = list(
        ReviewItem.objects.filter(workspace=workspace, embedding__isnull=True).only("id", "text")
    )
    for start in range(0, len(missing), ENCODE_BATCH):
        batch = missing[start : start + ENCODE_BATCH]
        vectors = _encode([item.text for item in batch])
        for item, vector in zip(batch, vectors, strict=True):
            item.embedding = vector.astype(np.float32).tobytes()
        ReviewItem.objects.bulk_update(batch, ["embedding"])
    return len(missing)


def review_items_cluster(*, workspace: Workspace) -> int:
    """Clusters the workspace's newest embedded items (k-means, see the module docstring);
    returns the number of clusters."""
    rows = list(
        ReviewItem.objects.filter(workspace=workspace, embedding__isnull=False)
        .order_by("-turn_at", "-id")
        .values_list("id", "embedding")[:CLUSTERED_ITEMS]
    )
    if not rows:
        return 0
    vectors = np.stack([np.frombuffer(bytes(blob or b""), dtype=np.float32) for _, blob in rows])
    labels = _clusters(vectors)
    with transaction.atomic():
        items = [
            ReviewItem(id=item_id, cluster=label)
            for (item_id, _), label in zip(rows, labels, strict=True)
        ]
        ReviewItem.objects.bulk_update(items, ["cluster"], batch_size=500)
    return len(set(labels))
