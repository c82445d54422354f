"""Guanxi gateway: the HTTP API for frontend teams (issue #4, in progress)."""
