"""Answering: follow-ups, retrieval, abstention, answer composition, the engine and its evaluation."""
