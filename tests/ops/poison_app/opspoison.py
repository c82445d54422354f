"""A service whose process dies (``os._exit``) on one message, RPC or event, as a
segfault or an out-of-memory kill in the middle of a handler would. Every handled key is
appended to the file ``OPSPOISON_LOG`` names."""
import os

import eventlet

from guanxi_common.chassis import ServiceBase
from guanxi_common.consumers import event_handler
from guanxi_common.rpc import rpc


def record(key):
    with open(os.environ["OPSPOISON_LOG"], "a") as log:
        log.write(f"{os.getpid()} {key}\n")


def die_on_poison(key):
    if key == "poison":
        record("dying")
        os._exit(3)


class OpsPoisonService(ServiceBase):
    name = "opspoison"

    @rpc
    def handle(self, key, seconds=0):
        die_on_poison(key)
        record(f"start:{key}")
        eventlet.sleep(seconds)
        record(key)
        return key

    @event_handler("upstream", "thing.happened")
    def on_thing(self, event):
        key = event["data"]["key"]
        die_on_poison(key)
        eventlet.sleep(event["data"].get("seconds", 0))
        record(f"event:{key}")
