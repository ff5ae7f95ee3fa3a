"""The answer engine: sessions, answers, citations and their checks, settings and evaluation over a corpus index."""
