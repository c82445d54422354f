"""Nameko dependencies specific to the customer service."""
from nameko.extensions import DependencyProvider

from customer.domain.pool import PoolPolicy
from guanxi_common.config import env

POOL_DEFAULTS = {"POOL_MAX_CLAIMS": 50, "POOL_FOLLOW_UP_DAYS": 30, "POOL_RECLAIM_COOLDOWN_DAYS": 15}


def pool_policy_from(config):
    """Container config first (tests), then the environment, then the defaults."""
    def value(key):
        return int(config.get(key, env(key, POOL_DEFAULTS[key], int)))

    return PoolPolicy(max_claims_per_rep=value("POOL_MAX_CLAIMS"),
                      follow_up_days=value("POOL_FOLLOW_UP_DAYS"),
                      reclaim_cooldown_days=value("POOL_RECLAIM_COOLDOWN_DAYS"))


class PoolPolicyProvider(DependencyProvider):
    """The customer pool's rules (claim limit, follow-up days, reclaim cooldown)."""

    def setup(self):
        self.policy = pool_policy_from(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.policy
