"""The gateway's endpoint modules, each exposing a ``blueprint`` mounted under ``/api/v1``
(listed in ``gateway.app.API_MODULES``): ``customers`` (the customer service's operations),
``lookup`` (Customer 360 and lookup by phone, fanned out to the services in parallel).
Their wire schemas live beside them (``customer_schemas``)."""
