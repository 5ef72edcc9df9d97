"""Hybrid retrieval over a workspace's knowledge: dense (MiniLM) and sparse (BM25-style) vectors in
one Qdrant collection, plus a graph channel, fused by reciprocal rank. No Django imports."""
