"""Writes and searches of the knowledge base. Modules by concern:

- ``articles``: create, edit, publish, delete articles (versions and audit);
- ``documents``: upload and ingest documents (parsing, PII scan, chunks);
- ``indexing``: chunks into the workspace's Qdrant collection, full re-index with alias switch;
- ``graph``: entities and relations, graph build and GraphSAGE training;
- ``search``: ``knowledge_retrieve`` (all channels, injection check on passages).
"""
