"""The HTTP API (`assistant serve`): the answer JSON at /v1/ask and OpenAI-compatible chat."""
