"""Errors raised by the pure customer rules.

Why a shared base: the service layer turns every ``DomainRuleError`` into a
``BusinessRuleViolation`` carrying ``code`` as its rule, and every
``InvalidContact`` (see :mod:`.contact`) into a ``ValidationFailed`` naming the field,
without knowing each module's exception class.
"""


class DomainRuleError(ValueError):
    """A business rule refused an operation; ``code`` is stable, ``message`` is for humans."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
