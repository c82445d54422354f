"""scripts/ensure_broker.sh against the broker the suite already uses."""
import os
import subprocess
import time

import pytest
from opshelpers import ROOT

SCRIPT = ROOT / "scripts" / "ensure_broker.sh"

pytestmark = pytest.mark.integration


def run(**env):
    full = dict(os.environ)
    full.update(env)
    started = time.monotonic()
    result = subprocess.run(["bash", str(SCRIPT)], cwd=ROOT, env=full, capture_output=True,
                            text=True, timeout=30)
    return result, time.monotonic() - started


def test_no_op_when_the_broker_is_up():
    # the suite runs against this broker, so it is up (make test runs the script first)
    result, elapsed = run()
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""
    assert elapsed < 3


def test_a_remote_broker_that_does_not_answer_is_an_error_not_an_install():
    result, elapsed = run(AMQP_URI="amqp://guest:guest@broker.invalid:5672/")
    assert result.returncode == 1
    assert "no broker answers at broker.invalid:5672" in result.stderr
    assert "apt-get" not in result.stderr
    assert elapsed < 10
