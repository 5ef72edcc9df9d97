"""The generator as the app sees it: one engine chain per process (vLLM, in-process, extractive),
the workspace's adapter chosen by the workspace's slug, grounded answers streamed from stored
(redacted) text. No models or views: the dialogue layer calls ``services``."""
