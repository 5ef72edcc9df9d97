from ml.retrieval.contracts import FusionConfig, ScoredChunk
from ml.retrieval.fusion import rrf_fuse
from ml.retrieval.sparse import Bm25Encoder, matched_terms, term_index, terms


def test_terms_stem_plurals_and_drop_stopwords() -> None:
    assert terms("What are the refunds for my orders?") == ["refund", "order"]
    assert terms("退款政策") == ["退", "款", "退款", "政", "款政", "策", "政策"]


def test_document_vector_saturates_and_is_deterministic() -> None:
    encoder = Bm25Encoder()
    one = encoder.encode_document("refund")
    many = encoder.encode_document("refund refund refund refund")
    assert one.indices == many.indices == (term_index("refund"),)
    assert one.values[0] < many.values[0] < encoder.k1 + 1
    assert encoder.encode_query("refund refund policy").values == (1.0, 1.0)


def test_matched_terms() -> None:
    assert matched_terms("cancel my order", "Orders can be cancelled") == ("order",)


def test_rrf_keeps_each_channel() -> None:
    fused = rrf_fuse(
        {
            "dense": [ScoredChunk("a", 0.9), ScoredChunk("b", 0.8)],
            "sparse": [ScoredChunk("b", 7.0, ("refund",))],
        },
        FusionConfig(rrf_k=60),
    )
    assert [cid for cid, _, _ in fused] == ["b", "a"]
    b_hits = fused[0][2]
    assert [(h.channel, h.rank, h.score, h.reasons) for h in b_hits] == [
        ("dense", 2, 0.8, ()),
        ("sparse", 1, 7.0, ("refund",)),
    ]
    assert abs(fused[0][1] - (1 / 62 + 1 / 61)) < 1e-12
