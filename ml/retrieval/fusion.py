"""Reciprocal rank fusion that keeps, for every chunk, each channel's rank, score and reasons."""

from collections.abc import Mapping, Sequence

from ml.retrieval.contracts import ChannelHit, FusionConfig, Scored

# (chunk id, fused score, each channel's finding), best first.
Fused = list[tuple[str, float, tuple[ChannelHit, ...]]]


def rrf_fuse(results: Mapping[str, Sequence[Scored]], config: FusionConfig) -> Fused:
    """Chunks by fused score, best first; ties keep the order of the best single rank."""
    fused: dict[str, float] = {}
    hits: dict[str, list[ChannelHit]] = {}
    best_rank: dict[str, int] = {}
    for channel, ranked in results.items():
        weight = config.weights.get(channel, 1.0)
        for rank, item in enumerate(ranked[: config.depth], start=1):
            fused[item.chunk_id] = fused.get(item.chunk_id, 0.0) + weight / (config.rrf_k + rank)
            hits.setdefault(item.chunk_id, []).append(
                ChannelHit(channel=channel, rank=rank, score=item.score, reasons=item.reasons)
            )
            best_rank[item.chunk_id] = min(best_rank.get(item.chunk_id, rank), rank)
    order = sorted(fused, key=lambda cid: (-fused[cid], best_rank[cid], cid))
    return [(cid, fused[cid], tuple(hits[cid])) for cid in order]
