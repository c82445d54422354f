"""Guanxi sales service."""
