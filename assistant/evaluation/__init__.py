"""Measuring answers against gold questions: retrieval, correctness, citations and abstention."""
