"""Framework-free machine learning: NLU, retrieval, generation, serving, explanation, evaluation.

Nothing here imports Django, DRF, Channels, Celery, ``apps`` or ``cs_platform`` (import-linter).
"""
