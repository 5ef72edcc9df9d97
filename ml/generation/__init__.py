"""Generation: a causal LM with one LoRA adapter per workspace (grounded answers with citations,
handoff summaries, query rewrites). See README.md."""
