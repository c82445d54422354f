"""Marshmallow schemas of the sales service, one module per area."""
