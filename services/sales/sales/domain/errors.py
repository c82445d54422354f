"""Errors raised by the pure sales rules.

Why a shared base: the service layer turns every ``DomainRuleError`` into a
``BusinessRuleViolation`` carrying ``code`` as its rule, without knowing each module's
exception class.  ``details`` carries machine-readable specifics (for example which
partner function lacks which role) for the error's ``details`` on the wire; it is
always a dict, empty when there is nothing to add.
"""


class DomainRuleError(ValueError):
    """A business rule refused an operation; ``code`` is stable, ``message`` is for humans."""

    def __init__(self, code: str, message: str, details: dict | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = dict(details or {})
