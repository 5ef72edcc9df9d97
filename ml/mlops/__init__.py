"""The learning loop's framework-free parts: agreement, evaluation gates, sequential tests and
training-data hygiene. ``apps.mlops`` runs them against the database."""
