"""Nameko entrypoints of the sales service, one mixin per area, composed in service.py."""
