"""Training data for the generator: corpus rows (redacted) and the multi-task SFT mixture."""
