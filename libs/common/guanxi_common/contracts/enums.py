"""Closed value sets shared by the services and the gateway (plain tuples, no marshmallow),
so a gateway enum, an OpenAPI ``enum`` and the service's own check are the same tuple."""
