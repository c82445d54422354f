"""Configuration of the sales service turned into frozen settings.

The replica's catch-up is driven by a timer, whose interval Nameko needs when the class
is defined: so these settings come from the environment, read once at import.
``REPLICA_CATCH_UP_INTERVAL`` seconds between catch-up attempts (default 30; the first
runs when the service starts), ``REPLICA_CATCH_UP_BATCH`` records per export batch
(default 1000, clamped to 1-5000).
"""
from dataclasses import dataclass

from guanxi_common.config import env

EXPORT_BATCH_MAX = 5000


@dataclass(frozen=True)
class ReplicaCatchUp:
    interval: float
    batch_size: int
    #: the eager first tick may lose its answer while the container starts: one more try
    #: this many seconds later covers that without waiting a whole interval
    retry_delay: float = 1.0


def replica_catch_up_from_env():
    return ReplicaCatchUp(interval=env("REPLICA_CATCH_UP_INTERVAL", 30.0, float),
                          batch_size=min(max(env("REPLICA_CATCH_UP_BATCH", 1000, int), 1),
                                         EXPORT_BATCH_MAX))


REPLICA_CATCH_UP = replica_catch_up_from_env()
