"""Adapters that let other frameworks use the engine (llama-index)."""
