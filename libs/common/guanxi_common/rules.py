"""The one base class of every refusal a pure domain rule raises.

Pure (no Nameko, no SQLAlchemy): a service's ``domain/`` imports it. Why one base for all
services: the chassis turns every ``DomainRuleError`` into a ``BusinessRuleViolation``
whose ``details['rule']`` is ``code`` (``guanxi_common.errors.domain_rules``), so the same
kind of refusal reads the same on the wire whichever service refused it.
"""


class DomainRuleError(ValueError):
    """A business rule refused an operation.

    ``code`` is stable and machine-readable (it becomes ``details.rule``); ``message`` is
    for humans; ``details`` carries JSON-safe specifics (which partner function lacks
    which role), always a dict.
    """

    def __init__(self, code: str, message: str, details: dict | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = dict(details or {})
