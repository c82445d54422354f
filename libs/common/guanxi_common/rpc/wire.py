"""How RPC errors and messages travel: error serialisation and delivery options.

Errors are serialised so that :mod:`guanxi_common.errors` types keep JSON-native
``details`` (Nameko's ``serialize`` stringifies numbers and ``None``) and carry the paths
of their registered base classes, so a service-specific subclass the caller has not
imported is raised as its nearest registered base (e.g. ``Conflict``) instead of
``RemoteError``. Both sides of the wire use this module: the service's entrypoint when it
replies, every client (``ServiceRpc``, ``cluster_rpc``, the gateway's pool) when it reads
a reply.
"""
import json
import math

from nameko.exceptions import RemoteError, get_module_path, registry, serialize

from guanxi_common.errors import GuanxiError
from guanxi_common.reconnect import PUBLISH_RETRY_POLICY

# An RPC is answered or times out: a request or reply that dies with the broker is
# retried by the caller, so persistence (a disk write per message on the durable request
# queue) buys nothing. Requests keep publisher confirms, which is how an unroutable request
# (no service listening) fails at once instead of at the timeout; replies need neither.
# Events are another matter: the outbox publishes them persistent and confirmed.
# Publishing retries quickly (see guanxi_common.reconnect); the caller's timeout bounds it.
RPC_REQUEST_OPTIONS = {"delivery_mode": 1, "retry_policy": PUBLISH_RETRY_POLICY}
RPC_REPLY_OPTIONS = {"use_confirms": False, "delivery_mode": 1,
                     "retry_policy": PUBLISH_RETRY_POLICY}


def request_expiration_ms(timeout):
    """The AMQP ``expiration`` of a request (milliseconds, as text): the caller's timeout.

    A caller that gave up has answered "unavailable"; a request still queued then (the
    service down or backed up) must not run minutes later when nobody waits for it, so
    the broker drops it. The service may still run a request it took just before the
    deadline: a timeout means "may or may not have happened", never "did not happen".
    """
    return str(max(1, math.ceil(float(timeout) * 1000)))


def serialize_error(exc):
    """Nameko's error dict, with JSON-native args for our errors and registered bases."""
    data = serialize(exc)
    if isinstance(exc, GuanxiError):
        try:
            args = [exc.message, exc.details]
            json.dumps(args)
            data["exc_args"] = args
        except (TypeError, ValueError):
            pass  # keep Nameko's stringified args: details were not JSON-safe
    bases = [get_module_path(base) for base in type(exc).__mro__[1:]
             if issubclass(base, BaseException) and get_module_path(base) in registry]
    if bases:
        data["exc_bases"] = bases
    return data


def deserialize_error(data):
    """Rebuild the registered exception (or its nearest registered base), else RemoteError."""
    exc_args = data.get("exc_args") or ()
    for path in [data.get("exc_path")] + list(data.get("exc_bases") or []):
        cls = registry.get(path)
        if cls is None:
            continue
        try:
            return cls(*exc_args)
        except Exception:  # args that do not fit the constructor: try the next base
            continue
    return RemoteError(exc_type=data.get("exc_type"), value=data.get("value"))
