"""Gemini upstreams end to end."""
