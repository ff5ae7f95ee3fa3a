"""Conversations: resolving a follow-up against earlier turns, and the session every front end asks through."""
