"""The wire contracts, defined once: what crosses RPC, events and the gateway.

Layout:
- ``fields``: reusable marshmallow fields and helpers (money with currency and places,
  aware datetimes, strict schemas, bounded pages) that every contract is built from;
- ``enums``: the closed value sets shared across services (order states, payment
  methods, customer statuses, tiers, ...);
- ``roles``: the role catalogue (names, what each is for, how the access rules group
  them), since roles travel in the RPC context and the gateway assigns them;
- one module per service (``customer``, ``sales``, ...): its RPC inputs and outputs and
  its event payload schemas, versioned where a published payload is concerned.

Services load and dump through these schemas; the gateway imports them and adds only
HTTP concerns (OpenAPI metadata, paging links, headers). A consumer may read a subset of
an event payload, but ``tests/contracts`` proves it accepts everything the producer can
emit. Nothing here imports Nameko or SQLAlchemy.
"""
