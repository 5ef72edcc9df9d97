"""``HybridRetriever.retrieve(query, k)``: dense, sparse and graph channels, fused by RRF."""

from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from ml.retrieval.contracts import (
    CHANNELS,
    ChannelHit,
    FusionConfig,
    GraphSearcher,
    RetrievedPassage,
    Scored,
    Vector,
)
from ml.retrieval.encoder import DenseEncoder
from ml.retrieval.fusion import Fused, rrf_fuse
from ml.retrieval.index import ChunkIndex, IndexSnapshot
from ml.retrieval.sparse import Bm25Encoder, matched_terms

# Shared by every retriever (the app builds one per request): threads that find the names in a
# conversation for the graph channel while the query is encoded. Threads start on first use.
_NAMES = ThreadPoolExecutor(max_workers=2, thread_name_prefix="graph-names")

# (passage text) -> (blocked, flagged, rules): the injection check a caller plugs in.
PassageCheck = Callable[[str], tuple[bool, bool, tuple[str, ...]]]


class HybridRetriever:
    def __init__(
        self,
        index: ChunkIndex,
        encoder: DenseEncoder,
        *,
        sparse_encoder: Bm25Encoder | None = None,
        graph: GraphSearcher | None = None,
        fusion: FusionConfig | None = None,
        passage_check: PassageCheck | None = None,
        context_turns_in_text: int = 1,
    ):
        self.index = index
        self.encoder = encoder
        self.sparse_encoder = sparse_encoder or Bm25Encoder()
        self.graph = graph
        self.fusion = fusion or FusionConfig()
        self.passage_check = passage_check
        # Dense and sparse search read the question with the turn before it (a follow-up
        # question alone often lacks its subject); the graph links that subject itself.
        self.context_turns_in_text = context_turns_in_text

    def retrieve(
        self,
        query: str,
        k: int = 5,
        *,
        channels: Sequence[str] = CHANNELS,
        context: Sequence[str] = (),
        prefer: Collection[str] = (),
        prefer_why: str = "",
    ) -> list[RetrievedPassage]:
        """The ``k`` best passages. ``context``: earlier turns of the conversation, oldest
        first; the graph channel looks there for the entity a question refers back to.
        ``prefer``: chunk ids that come before every other result, by similarity to the
        question (the chunks of articles an operator wrote for the question's intent); each
        carries an ``intent`` hit with ``prefer_why`` as its reason."""
        unknown = set(channels) - set(CHANNELS)
        if unknown:
            raise ValueError(f"unknown channels {sorted(unknown)}; choose from {CHANNELS}")
        query = query.strip()
        if not query or k <= 0:
            return []
        snapshot = self.index.snapshot()
        if snapshot is None:
            return []
        depth = max(self.fusion.depth, k)
        earlier = list(context[-self.context_turns_in_text :]) if self.context_turns_in_text else []
        text = " ".join([*earlier, query])
        graph = self.graph if "graph" in channels else None
        # The graph channel finds the names in the conversation on the other core while the
        # encoder runs (torch lets go of the GIL inside its kernels).
        names = _NAMES.submit(graph.names, query, context) if graph is not None else None
        if text == query:
            text_vector = query_vector = self.encoder.encode_one(text)
        else:  # one forward pass for both
            text_vector, query_vector = self.encoder.encode([text, query])
        results: dict[str, Sequence[Scored]] = {}
        if "dense" in channels:
            results["dense"] = snapshot.search_dense(text_vector, depth)
        if "sparse" in channels:
            results["sparse"] = snapshot.search_sparse(
                self.sparse_encoder.encode_query(text), depth
            )
        if graph is not None and names is not None:
            results["graph"] = graph.search(
                query, query_vector, depth, snapshot, context, names.result()
            )
        fused = rrf_fuse(results, self.fusion)
        if prefer:
            fused = _preferred_first(fused, snapshot, query_vector, prefer, prefer_why)
        # Fetch a few more than k: passages the injection check blocks are dropped.
        candidates = fused[: k * 2 if self.passage_check else k]
        chunks = snapshot.chunks([cid for cid, _, _ in candidates])
        passages: list[RetrievedPassage] = []
        for chunk_id, score, hits in candidates:
            chunk = chunks.get(chunk_id)
            if chunk is None:  # deleted between the search and the fetch
                continue
            hits = tuple(
                replace(hit, reasons=matched_terms(query, chunk.indexed_text))
                if hit.channel == "sparse" and not hit.reasons
                else hit
                for hit in hits
            )
            passage = RetrievedPassage(
                chunk_id=chunk.chunk_id,
                doc_id=chunk.doc_id,
                text=chunk.text,
                heading_path=chunk.heading_path,
                source=chunk.source,
                title=chunk.title,
                score=score,
                channels=hits,
            )
            if self.passage_check is not None:
                blocked, flagged, rules = self.passage_check(chunk.text)
                if blocked:
                    continue
                passage = replace(passage, injection_flagged=flagged, injection_rules=rules)
            passages.append(passage)
            if len(passages) == k:
                break
        return passages


def _preferred_first(
    fused: Fused, snapshot: IndexSnapshot, vector: Vector, prefer: Collection[str], why: str
) -> Fused:
    """The preferred chunks (those still in the index), most similar to the question first,
    then the fused results without them."""
    vectors = snapshot.dense_vectors(list(prefer))
    similarity = {cid: float(v @ vector) for cid, v in vectors.items()}
    found = {cid: (score, hits) for cid, score, hits in fused}
    first: Fused = []
    for rank, cid in enumerate(sorted(similarity, key=lambda c: -similarity[c]), start=1):
        score, hits = found.get(cid, (0.0, ()))
        hit = ChannelHit(channel="intent", rank=rank, score=similarity[cid], reasons=(why,))
        first.append((cid, score, (hit, *hits)))
    return first + [row for row in fused if row[0] not in similarity]
