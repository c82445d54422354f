"""Errors the sales service raises; all cross RPC as themselves (guanxi_common.errors)."""
from guanxi_common.errors import (BusinessRuleViolation, Conflict, Forbidden, NotFound,  # noqa: F401
                                  ServiceUnavailable, ValidationFailed)

#: What a caller of the sales service should expect; Nameko logs these at a lower level.
EXPECTED = (BusinessRuleViolation, Conflict, Forbidden, NotFound, ValidationFailed)
