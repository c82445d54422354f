"""A service whose process ends unexpectedly ``OPSCRASH_AFTER`` seconds after start."""
import os
import sys

import eventlet
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc


class CrashLater(DependencyProvider):
    def start(self):
        self.container.spawn_managed_thread(self._crash)

    def _crash(self):
        eventlet.sleep(float(os.environ.get("OPSCRASH_AFTER", "1")))
        sys.stdout.write("opscrash: crashing on purpose\n")
        sys.stdout.flush()
        os._exit(3)


class OpsCrashService:
    name = "opscrash"
    crash = CrashLater()

    @rpc
    def ping(self):
        return "pong"
