"""Guanxi customer master-data service."""
