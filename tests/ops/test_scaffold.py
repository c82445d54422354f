"""scripts/new_service.py (`make service NAME=<name> PORT=<port>`): a new service made
from the template imports, passes its own generated tests (worker_factory without a
broker, a Nameko container on the real broker answering RPC) and deploys like the others."""
import importlib.util
import shutil
import subprocess
import sys

import pytest
import yaml
from k8s_render import render
from opshelpers import ROOT

NAME, PORT = "sample_desk", 8199


def load_script():
    spec = importlib.util.spec_from_file_location("new_service",
                                                  ROOT / "scripts" / "new_service.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


new_service = load_script()


def repository_copy(tmp_path):
    """The parts of the repository the script edits or the generated tests need."""
    root = tmp_path / "repo"
    (root / "libs/common/guanxi_common").mkdir(parents=True)
    shutil.copy(ROOT / new_service.CONFIG, root / new_service.CONFIG)
    shutil.copytree(ROOT / "deploy/k8s", root / "deploy/k8s")
    (root / "tests").mkdir()
    shutil.copy(ROOT / "pytest.ini", root / "pytest.ini")
    # the repository's test set-up, plus the generated contracts module on the package's
    # path (in a real checkout it is written into the installed package itself)
    contracts = root / "libs/common/guanxi_common/contracts"
    (root / "tests/conftest.py").write_text(
        (ROOT / "tests/conftest.py").read_text()
        + "\nimport guanxi_common.contracts  # noqa: E402\n"
        + f"guanxi_common.contracts.__path__.append({str(contracts)!r})\n")
    return root


@pytest.fixture
def scaffolded(tmp_path):
    root = repository_copy(tmp_path)
    written = new_service.scaffold(root, NAME, PORT)
    return root, written


def test_the_template_tree_is_the_documented_one(scaffolded):
    root, written = scaffolded
    package = f"services/{NAME}/{NAME}"
    for path in (f"services/{NAME}/pyproject.toml", f"services/{NAME}/alembic.ini",
                 f"services/{NAME}/migrations/env.py",
                 f"services/{NAME}/migrations/versions/0001_initial_{NAME}_schema.py",
                 f"{package}/service.py", f"{package}/entrypoints/notes.py",
                 f"{package}/application/notes.py", f"{package}/queries/notes.py",
                 f"{package}/domain/notes.py", f"{package}/adapters/models.py",
                 f"{package}/access.py", f"{package}/dependencies.py",
                 f"{package}/exceptions.py", f"{package}/tools/__init__.py",
                 f"libs/common/guanxi_common/contracts/{NAME}.py",
                 f"tests/{NAME}_service/test_{NAME}_worker.py",
                 f"tests/{NAME}_service/test_{NAME}_service.py"):
        assert path in written and (root / path).is_file(), path
    env_py = (root / f"services/{NAME}/migrations/env.py").read_text().strip().splitlines()
    assert len(env_py) == 5
    # nothing left unsubstituted, every Python file compiles
    for path in root.rglob("*"):
        if path.is_file() and path.suffix in (".py", ".toml", ".ini", ".yaml"):
            text = path.read_text()
            assert "${" not in text or path.name == "script.py.mako", path
            if path.suffix == ".py":
                compile(text, str(path), "exec")
    assert not list(root.rglob("*.tmpl"))
    # the domain stays pure
    domain = (root / f"{package}/domain/notes.py").read_text()
    assert "nameko" not in domain and "sqlalchemy" not in domain


def test_the_port_overlay_and_secrets_are_registered(scaffolded):
    root, _ = scaffolded
    assert new_service.registered_ports(root)[NAME] == PORT
    docs = render(root / "deploy/k8s")
    [deployment] = [d for d in docs if d["kind"] == "Deployment"
                    and d["metadata"]["name"] == "sample-desk"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["python", "-m", "guanxi_common.runner", NAME]
    assert container["env"] == [{"name": "SAMPLE_DESK_HTTP_PORT", "value": str(PORT)}]
    assert container["ports"] == [{"name": "http", "containerPort": PORT}]
    secrets = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Secret"}
    assert "SAMPLE_DESK_DATABASE_URL" in secrets["sample-desk-secrets"]["stringData"]
    assert "sample-desk-db-secrets" in secrets
    assert {d["metadata"]["name"] for d in docs if d["kind"] == "StatefulSet"} >= {"sample-desk-db"}


def test_the_existing_overlays_are_the_template_rendered():
    for service, port in (("customer", 8101), ("sales", 8102)):
        files = new_service.planned_files(new_service.names(service, port))
        path = f"deploy/k8s/services/{service}/kustomization.yaml"
        assert (ROOT / path).read_text() == files[path], path


def test_refuses_a_taken_name_or_port_and_bad_names(tmp_path):
    root = repository_copy(tmp_path)
    (root / "services/customer").mkdir(parents=True)
    for name, port in (("customer", 8101), ("billing", 8102), ("Billing", 8190),
                       ("class", 8190), ("service_desk", 8190), ("billing", 80)):
        with pytest.raises(new_service.ScaffoldError):
            new_service.scaffold(root, name, port)
    assert not (root / "services/billing").exists()
    assert yaml.safe_load((root / "deploy/k8s/kustomization.yaml").read_text())["resources"] == \
        yaml.safe_load((ROOT / "deploy/k8s/kustomization.yaml").read_text())["resources"]


@pytest.mark.slow
def test_the_generated_service_passes_its_own_tests_on_the_broker(scaffolded, rabbit_config,
                                                                   request):
    root, _ = scaffolded
    env = {"PATH": "/usr/bin:/bin", "HOME": str(root), "GUANXI_HOME": str(root),
           "PYTHONPATH": str(root / "services" / NAME)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", f"tests/{NAME}_service", "-q", "-p", "no:cacheprovider",
         f"--amqp-uri={request.config.getoption('RABBIT_AMQP_URI')}",
         f"--rabbit-api-uri={request.config.getoption('RABBIT_API_URI')}"],
        cwd=root, env=env, capture_output=True, text=True, timeout=150)
    assert result.returncode == 0, result.stdout + result.stderr
    # two worker_factory tests and the container test, none skipped
    assert "3 passed" in result.stdout and "skipped" not in result.stdout, result.stdout
