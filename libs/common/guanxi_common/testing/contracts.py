"""What the contract tests of every service share: who consumes an event, and the checks
that a producer's payloads and schemas suit every consumer's.

A consumer declares what it reads in its contract module as ``CONSUMED_EVENTS`` =
``{(source, event_type): {schema_version: schema class}}``; a producer as
``PUBLISHED_EVENTS`` = ``{event_type: {schema_version: schema class}}``.
"""
import importlib
import pkgutil

import guanxi_common.contracts
from guanxi_common.contracts import compatibility


def consumers_of(source, event_type):
    """``{contract module: {schema_version: schema}}`` of everyone who reads this event."""
    modules = (importlib.import_module(info.name) for info in pkgutil.walk_packages(
        guanxi_common.contracts.__path__, guanxi_common.contracts.__name__ + "."))
    return {module.__name__: versions for module in modules
            if (versions := getattr(module, "CONSUMED_EVENTS", {}).get((source, event_type)))}


def samples(envelopes, event_type):
    """The envelopes of ``event_type``, in order."""
    return [envelope for envelope in envelopes if envelope["type"] == event_type]


def valid(schema, answer, many=False):
    """The answer loads in the contract's schema (it is what the contract says)."""
    return schema(many=many).load(answer)


def assert_every_consumer_loads(published, source, envelopes):
    """Each envelope's data loads in the producer's schema of its version and in every
    consumer's, and every consumer reads that version."""
    for envelope in envelopes:
        event_type, version = envelope["type"], envelope["schema_version"]
        assert envelope["source"] == source
        published[event_type][version]().load(envelope["data"])
        for module, versions in consumers_of(source, event_type).items():
            assert version in versions, f"{module} does not read version {version}"
            versions[version]().load(envelope["data"])


def assert_no_consumer_narrows(published, source, event_type):
    """No consumer reads a version never published, requires what the producer may leave
    out, or refuses what it may send (:func:`compatibility.problems`)."""
    producer = published[event_type]
    for module, versions in consumers_of(source, event_type).items():
        for version, consumer in versions.items():
            assert version in producer, f"{module} reads version {version}, never published"
            assert compatibility.problems(producer[version], consumer) == [], module
