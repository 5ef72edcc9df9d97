"""Serving the generator behind one interface (``ChatEngine.stream_chat``): vLLM over HTTP,
transformers in process, and the fallback chain between them. See README.md."""
