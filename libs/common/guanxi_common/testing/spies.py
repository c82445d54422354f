"""Recording which functions a piece of code calls, while they still run.

With pytest (the ``guanxi_common.testing`` plugin)::

    def test_create_calls_its_command(service, calls):
        calls.watch(parties, "create_customer")
        service.create({...})
        assert calls.names() == ["application.parties.create_customer"]
        area_and_name, args, kwargs = calls[0]
"""
import pytest


class Calls(list):
    """``(area.name, args, kwargs)`` of every call of a watched function, in call order;
    ``area`` is the last two parts of the module's name (``application.parties``)."""

    def __init__(self, monkeypatch):
        super().__init__()
        self._monkeypatch = monkeypatch

    def watch(self, module, name):
        real = getattr(module, name)
        area = ".".join(module.__name__.split(".")[-2:])

        def spy(*args, **kwargs):
            self.append((f"{area}.{name}", args, kwargs))
            return real(*args, **kwargs)
        self._monkeypatch.setattr(module, name, spy)

    def names(self):
        return [name for name, _, _ in self]


@pytest.fixture
def calls(monkeypatch):
    """``calls.watch(module, "name")`` records each call of ``module.name`` (which still
    runs); the real functions are back after the test."""
    return Calls(monkeypatch)
