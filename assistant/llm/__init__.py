"""The LLM side: an OpenAI-compatible server drafts answers and rewrites follow-ups; nothing it says reaches a user unchecked."""
