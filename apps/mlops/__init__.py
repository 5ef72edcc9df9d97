"""The learning loop: the model registry (NLU models and generator adapters as versions with a
state), scheduled retraining, the evaluation gate, canary release and rollback."""
