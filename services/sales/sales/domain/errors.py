"""The refusals of the pure sales rules.

Every rule module raises ``DomainRuleError`` (the chassis' base, re-exported here so the
domain names one import); ``guanxi_common.errors.domain_rules`` turns it into a
``BusinessRuleViolation`` carrying ``code`` as its rule and ``details`` (always a dict:
which partner function lacks which role, ...) on the wire.
"""
from guanxi_common.rules import DomainRuleError

__all__ = ["DomainRuleError"]
