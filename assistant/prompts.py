"""Fixed phrases: what the assistant says when the documents don't answer."""

NOT_COVERED = "The documents don't cover this question, so I can't answer it from them."
EMPTY_QUESTION = "Ask a question about the documents."
