"""Feedback: what the bot could not answer and how people rated its answers, and the report on it."""
