"""Helpers and fixtures for the ops tests: stand-in services under tests/ops/services/,
run as real processes by scripts/supervise.py and guanxi_common.runner against a
throwaway vhost. Imported by name (a tests/ops/conftest.py would replace the module that
other test directories reach with `from conftest import ...`)."""
import os
import sys
from pathlib import Path

import pytest

from guanxi_common.testing.processes import OutputLines as Lines  # noqa: F401
from guanxi_common.testing.processes import find_free_port as free_port
from guanxi_common.testing.processes import process_gone  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
OPS_SERVICES = Path(__file__).resolve().parent / "services"
SUPERVISE = ROOT / "scripts" / "supervise.py"


@pytest.fixture
def ops_env(rabbit_config, tmp_path):
    """Environment for stand-in service processes: own vhost, own var/, free ports."""
    env = dict(os.environ)
    env.update({
        "AMQP_URI": rabbit_config["AMQP_URI"],
        "GUANXI_VAR_DIR": str(tmp_path / "var"),
        "OPSDUMMY_HTTP_PORT": str(free_port()),
        "OPSCRASH_HTTP_PORT": str(free_port()),
        "SHUTDOWN_TIMEOUT": "3",
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    })
    env.pop("FORCE_COLOR", None)
    return env


@pytest.fixture
def python():
    return sys.executable
