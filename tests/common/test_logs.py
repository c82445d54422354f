"""JSON-lines logging: request id and call id of the worker, in-process and in a real process."""
import io
import json
import logging
import textwrap
from datetime import datetime

import eventlet
import pytest

from guanxi_common import logs
from guanxi_common.chassis import ServiceBase
from guanxi_common.context import Actor
from guanxi_common.logs import configure_logging
from guanxi_common.rpc import rpc

log = logging.getLogger("logdemo")


class LogDemoService(ServiceBase):
    name = "logdemo"

    @rpc
    def hello(self, who):
        log.info("hello %s", who, extra={"customer": who})
        eventlet.sleep(0.05)  # let a concurrent worker log in between
        log.info("bye %s", who)
        return who

    @rpc
    def explode(self):
        try:
            raise ValueError("kaboom")
        except ValueError:
            log.exception("could not explode quietly")
        return True


@pytest.fixture
def restore_root_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def lines(text):
    parsed = []
    for line in text.splitlines():
        if line.startswith("{"):
            parsed.append(json.loads(line))
    return parsed


def test_worker_lines_carry_the_callers_request_id_and_call_id(
        restore_root_logging, container_factory, service_config_factory, rpc_client):
    buffer = io.StringIO()
    configure_logging("logdemo", stream=buffer)
    container = container_factory(LogDemoService, service_config_factory("logdemo"))
    container.start()

    actors = [Actor("u1", request_id="req-one"), Actor("u2", request_id="req-two")]
    calls = [eventlet.spawn(lambda a=a: rpc_client(actor=a).logdemo.hello(a.user_id))
             for a in actors]
    assert [c.wait() for c in calls] == ["u1", "u2"]
    rpc_client(actor=Actor("u1", request_id="req-three")).logdemo.explode()

    records = lines(buffer.getvalue())
    by_message = {r["message"]: r for r in records}
    for user, request_id in (("u1", "req-one"), ("u2", "req-two")):
        # Interleaved workers each keep their own ids on both of their lines.
        for message in (f"hello {user}", f"bye {user}"):
            record = by_message[message]
            assert record["request_id"] == request_id
            assert record["call_id"].startswith("logdemo.hello.")
            assert record["service"] == "logdemo"
            assert record["level"] == "INFO" and record["logger"] == "logdemo"
            assert record["ts"].endswith("Z")
            assert datetime.fromisoformat(record["ts"].replace("Z", "+00:00"))
    assert by_message["hello u1"]["customer"] == "u1"
    assert by_message["hello u1"]["call_id"] != by_message["hello u2"]["call_id"]

    failure = by_message["could not explode quietly"]
    assert failure["level"] == "ERROR" and failure["request_id"] == "req-three"
    assert failure["exc_type"] == "ValueError" and "kaboom" in failure["exc"]

    # Outside a worker there is no request to name.
    logging.getLogger("outside").warning("no worker here")
    outside = lines(buffer.getvalue())[-1]
    assert outside["message"] == "no worker here" and outside["request_id"] is None


def test_configure_logging_is_idempotent(restore_root_logging):
    root = logging.getLogger()
    plain = logging.StreamHandler(io.StringIO())  # what logging.basicConfig / nameko run add
    root.addHandler(plain)
    first, second = io.StringIO(), io.StringIO()
    configure_logging("svc", stream=first)
    configure_logging("svc", level="DEBUG", stream=second)
    assert plain not in root.handlers
    assert sum(1 for h in root.handlers if getattr(h, "_guanxi_json", False)) == 1
    assert logs.is_configured()
    logging.getLogger("x").debug("once")
    assert first.getvalue() == ""
    assert [r["message"] for r in lines(second.getvalue())] == ["once"]


SERVICE_MODULE = textwrap.dedent('''
    import logging

    from guanxi_common.chassis import ServiceBase
    from guanxi_common.rpc import rpc

    log = logging.getLogger("logsvc")


    class LogService(ServiceBase):
        name = "logsvc"

        @rpc
        def hello(self, who):
            log.info("hello %s", who)
            return who
''')


def test_service_process_logs_json_lines_with_request_id(tmp_path, service_config_factory,
                                                         service_process, rpc_client):
    (tmp_path / "logsvc.py").write_text(SERVICE_MODULE)
    process = service_process("logsvc:LogService", service_config_factory("logsvc"),
                              cwd=tmp_path, pythonpath=[tmp_path])
    actor = Actor("u9", frozenset({"sales_rep"}), request_id="req-in-a-process")
    assert rpc_client(actor=actor).logsvc.hello("there") == "there"

    # SIGTERM is Nameko's graceful stop: the process must exit cleanly and promptly.
    assert process.stop(timeout=10) == 0
    records = [r for r in lines(process.output()) if r.get("message") == "hello there"]
    assert len(records) == 1
    assert records[0]["request_id"] == "req-in-a-process"
    assert records[0]["service"] == "logsvc"
    assert records[0]["call_id"].startswith("logsvc.hello.")
