"""Framework-free knowledge graph: entities and relations, GraphSAGE embeddings, entity linking.

Nothing here imports Django, DRF, Channels, Celery, ``apps`` or ``cs_platform`` (import-linter).
"""
