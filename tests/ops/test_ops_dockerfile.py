"""deploy/Dockerfile: one image definition for every service (no Docker daemon here, so
these read the file; the health check command is run for real)."""
import http.server
import json
import os
import re
import shlex
import subprocess
import sys
import threading

import pytest
import yaml
from opshelpers import ROOT, free_port

from guanxi_common.config import DEFAULT_HTTP_PORTS

DOCKERFILE = ROOT / "deploy" / "Dockerfile"
SERVICES = ("customer", "sales", "gateway")


def instructions():
    """(stage, instruction, arguments) for every instruction, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    stage, found = None, []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, arguments = line.partition(" ")
        if instruction == "FROM":
            stage = arguments.split(" AS ")[-1] if " AS " in arguments else arguments
        found.append((stage, instruction, arguments))
    return found


def stage_chain(target):
    """The stages ``target`` is built from, base first."""
    bases = {stage: args.split(" AS ")[0] for stage, ins, args in instructions()
             if ins == "FROM"}
    chain = [target]
    while bases.get(chain[0]) in bases:
        chain.insert(0, bases[chain[0]])
    return chain


def of_target(target, instruction):
    chain = stage_chain(target)
    return [args for stage, ins, args in instructions() if ins == instruction and stage in chain]


def expand(text, service):
    return text.replace("${SERVICE}", service)


def test_the_per_service_dockerfiles_are_gone():
    assert not list((ROOT / "services").glob("*/Dockerfile"))
    assert (ROOT / ".dockerignore").is_file()


def test_images_run_as_non_root_from_python_slim():
    froms = [args for _, ins, args in instructions() if ins == "FROM"]
    assert froms[0].startswith("python:3.11-slim AS build")
    for target in ("service", "gateway"):
        assert of_target(target, "USER") == ["10001:10001"]
        assert "${HTTP_PORT}" in of_target(target, "EXPOSE")
        assert of_target(target, "WORKDIR")[-1] == "/app"
        assert any("GUANXI_HOME=/app" in env and "GUANXI_SERVICE=${SERVICE}" in env
                   for env in of_target(target, "ENV"))
        assert of_target(target, "STOPSIGNAL") == ["SIGTERM"]
        assert len(of_target(target, "HEALTHCHECK")) == 1


def test_a_nameko_service_image_runs_the_runner_as_pid_1():
    [cmd] = of_target("service", "CMD")
    # shell form, so the build argument is read at run time; exec keeps the runner PID 1
    assert shlex.split(cmd) == ["exec", "python", "-m", "guanxi_common.runner",
                                "$GUANXI_SERVICE"]
    # the default target (the last stage) is the Nameko service
    assert instructions()[-1][0] == "service"


def test_the_gateway_target_runs_gunicorn_as_kubernetes_does():
    [cmd] = of_target("gateway", "CMD")
    deployment = yaml.safe_load_all((ROOT / "deploy/k8s/gateway/deployment-patch.yaml").read_text())
    [patch] = list(deployment)
    command = next(op["value"] for op in patch
                   if op["path"] == "/spec/template/spec/containers/0/command")
    assert json.loads(cmd) == command == ["python", "-m", "gunicorn", "-c",
                                          "services/gateway/gunicorn.conf.py"]
    copies = of_target("gateway", "COPY")
    assert "services/gateway/gunicorn.conf.py services/gateway/gunicorn.conf.py" in copies


@pytest.mark.parametrize("service", SERVICES)
def test_every_copy_source_exists_for_each_service(service):
    target = "gateway" if service == "gateway" else "service"
    # the target's own stages and the build stage its venv is copied from
    copies = [expand(args, service)
              for args in of_target(target, "COPY") + of_target("build", "COPY")
              if not args.startswith("--from")]
    assert copies
    for args in copies:
        source = args.split()[0]
        assert (ROOT / source).exists(), source
    for needed in (f"services/{service}/migrations", f"services/{service}/alembic.ini",
                   f"services/{service}/pyproject.toml", f"services/{service}/{service}"):
        assert f"{needed} {needed}" in copies


BUILD_LINE = re.compile(r"docker build -f deploy/Dockerfile (?P<args>[^`\n]*?) -t "
                        r"guanxi/(?P<image>[a-z_-]+)(?::[\w.]+)? \.")


def build_lines():
    for path in (ROOT / "README.md", ROOT / "deploy/k8s/README.md", DOCKERFILE):
        for match in BUILD_LINE.finditer(path.read_text()):
            yield path.name, match["image"], shlex.split(match["args"])


def test_documented_build_commands_pass_the_service_its_port_and_target():
    seen = set()
    for where, image, args in build_lines():
        build_args = dict(args[i + 1].split("=", 1) for i, a in enumerate(args)
                          if a == "--build-arg")
        service = build_args["SERVICE"]
        assert image == service.replace("_", "-"), where
        assert int(build_args["HTTP_PORT"]) == DEFAULT_HTTP_PORTS[service], where
        assert ("--target" in args and args[args.index("--target") + 1] == "gateway") == \
            (service == "gateway"), where
        seen.add(service)
    assert seen == set(SERVICES)


class Healthz(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *args):
        pass


def healthcheck_argv():
    [check] = of_target("service", "HEALTHCHECK")
    return json.loads(check[check.index("CMD ") + 4:])


@pytest.mark.slow  # runs the health check command as a process
@pytest.mark.parametrize("service, port_setting", [("customer", "CUSTOMER_HTTP_PORT"),
                                                   ("gateway", "GATEWAY_PORT")])
def test_the_health_check_asks_the_port_the_service_reads(service, port_setting):
    port = free_port()
    server = http.server.HTTPServer(("127.0.0.1", port), Healthz)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    argv = [sys.executable if a == "python" else a for a in healthcheck_argv()]
    env = {**os.environ, "GUANXI_SERVICE": service, port_setting: str(port)}
    try:
        assert subprocess.run(argv, env=env, timeout=10).returncode == 0
    finally:
        server.shutdown()
        server.server_close()
    down = subprocess.run(argv, env=env, timeout=10, capture_output=True)
    assert down.returncode != 0
