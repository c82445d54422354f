"""deploy/k8s: every manifest parses, renders from one base per service, and the customer,
sales and gateway deployments keep their promises."""
import re
import shutil
from functools import lru_cache
from pathlib import PurePosixPath

import pytest
import yaml
from k8s_render import RENDERED_FOLDERS, kubectl_reference, kubectl_render, render
from opshelpers import ROOT

from guanxi_common.config import DEFAULT_HTTP_PORTS

K8S = ROOT / "deploy" / "k8s"
NAMEKO_SERVICES = ("customer", "sales")


def load(name):
    return [doc for doc in yaml.safe_load_all((K8S / name).read_text()) if doc]


@lru_cache(maxsize=None)
def _rendered(folder):
    return tuple(render(K8S / folder))


def rendered(folder=""):
    """The documents ``kubectl kustomize deploy/k8s/<folder>`` gives (copies)."""
    return yaml.safe_load(yaml.safe_dump(list(_rendered(folder))))


def by_kind(docs, kind):
    return [d for d in docs if d["kind"] == kind]


def named(docs, kind, name):
    [doc] = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def all_docs():
    return rendered()


def kustomizations():
    return sorted(K8S.rglob("kustomization.yaml"))


def referenced_files(path):
    [kustomization] = load(path.relative_to(K8S))
    entries = kustomization.get("resources", []) + [
        p["path"] for p in kustomization.get("patches", []) if "path" in p]
    return {(path.parent / entry).resolve() for entry in entries}


def test_every_manifest_parses_and_is_used_by_a_kustomization():
    used = set()
    for path in kustomizations():
        used |= referenced_files(path)
        for entry in load(path.relative_to(K8S))[0].get("components", []) + \
                load(path.relative_to(K8S))[0].get("resources", []):
            assert (path.parent / entry).exists(), (path, entry)
    manifests = {p.resolve() for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml"}
    assert manifests - used == set()
    # every folder is reached from the top-level kustomization
    reached, todo = set(), [K8S]
    while todo:
        folder = todo.pop()
        reached.add(folder.resolve())
        [kustomization] = load((folder / "kustomization.yaml").relative_to(K8S))
        for entry in kustomization.get("resources", []) + kustomization.get("components", []):
            if (folder / entry).is_dir():
                todo.append(folder / entry)
    assert {p.parent.resolve() for p in kustomizations()} == reached
    for doc in all_docs():
        assert doc["apiVersion"] and doc["kind"]
        assert doc["metadata"]["name"]


def _by_key(docs):
    return sorted(docs, key=lambda doc: (doc["kind"], doc["metadata"]["name"]))


def test_the_render_matches_kubectls_render():
    """k8s_render stands in for kubectl on machines without it: it must give what kubectl
    gave for the same manifests (recorded with kubectl, re-recorded after a manifest
    change), and the recording must be what kubectl renders now wherever it is installed."""
    reference = kubectl_reference()
    assert set(reference) == set(RENDERED_FOLDERS)
    for folder in RENDERED_FOLDERS:
        assert _by_key(rendered(folder)) == _by_key(reference[folder]), folder
    if shutil.which("kubectl"):
        for folder in RENDERED_FOLDERS:
            assert _by_key(kubectl_render(K8S / folder)) == _by_key(reference[folder]), (
                f"{folder}: re-record with `python tests/ops/k8s_render.py`")


def identity(folder):
    [kustomization] = load(f"{folder}/kustomization.yaml")
    [generator] = kustomization["configMapGenerator"]
    return dict(literal.split("=", 1) for literal in generator["literals"])


@pytest.mark.parametrize("service", NAMEKO_SERVICES)
def test_a_service_overlay_is_its_identity_and_nothing_else(service):
    """Each Nameko service patches the shared components by name and port only."""
    [kustomization] = load(f"services/{service}/kustomization.yaml")
    assert set(kustomization) == {"apiVersion", "kind", "components", "configMapGenerator"}
    assert kustomization["components"] == [
        "../../components/service", "../../components/availability",
        "../../components/database"]
    assert identity(f"services/{service}") == {
        "name": service.replace("_", "-"), "service": service,
        "env-prefix": service.upper(), "port": str(DEFAULT_HTTP_PORTS[service])}


def test_no_placeholder_survives_the_render():
    text = yaml.safe_dump(all_docs())
    assert "placeholder" not in text.lower()
    assert "65535" not in text
    # the identities are read, never deployed
    assert not [d for d in by_kind(all_docs(), "ConfigMap")
                if d["metadata"]["name"].endswith("-identity")]


def test_one_service_renders_as_the_customer_one_with_its_names():
    """customer and sales differ by renames only (what the shared base promises)."""
    def renamed(docs, service):
        text = yaml.safe_dump(sorted(docs, key=lambda d: (d["kind"], d["metadata"]["name"])))
        port = str(DEFAULT_HTTP_PORTS[service])
        return (text.replace(service.upper(), "NAME").replace(service, "name")
                .replace(port, "PORT"))

    assert renamed(rendered("services/customer"), "customer") == \
        renamed(rendered("services/sales"), "sales")


def test_customer_deployment_probes_shutdown_and_config():
    docs = rendered("services/customer")
    deployment = by_kind(docs, "Deployment")[0]
    assert deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == 30
    assert pod["securityContext"]["runAsNonRoot"] is True
    container = next(c for c in pod["containers"] if c["name"] == "customer")
    assert container["command"] == ["python", "-m", "guanxi_common.runner", "customer"]
    assert container["ports"][0]["containerPort"] == 8101
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert "preStop" in container["lifecycle"]
    assert container["resources"]["requests"] and container["resources"]["limits"]
    refs = {next(iter(src.values()))["name"] for src in container["envFrom"]}
    assert refs == {"guanxi-config", "customer-secrets"}
    migrate = pod["initContainers"][0]
    assert migrate["command"] == ["python", "-m", "guanxi_common.migrate", "--all"]

    secrets = {d["metadata"]["name"]: d for d in by_kind(load("secrets.yaml"), "Secret")}
    assert {"AMQP_URI", "CUSTOMER_DATABASE_URL"} <= set(secrets["customer-secrets"]["stringData"])
    config = by_kind(load("config.yaml"), "ConfigMap")[0]["data"]
    # the graceful stop ends before Kubernetes' SIGKILL
    assert int(config["SHUTDOWN_TIMEOUT"]) + 5 < pod["terminationGracePeriodSeconds"]
    assert config["MIGRATE_ON_START"] == "false"


def test_customer_service_pdb_hpa_and_scraping():
    docs = rendered("services/customer")
    service = by_kind(docs, "Service")[0]
    assert service["spec"]["ports"][0]["port"] == 8101
    annotations = service["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == "8101"
    assert by_kind(docs, "PodDisruptionBudget")[0]["spec"]["minAvailable"] == 1
    hpa = by_kind(docs, "HorizontalPodAutoscaler")[0]["spec"]
    assert hpa["scaleTargetRef"]["name"] == "customer"
    assert hpa["minReplicas"] >= 2


def test_rabbitmq_cluster_and_customer_database():
    rabbit = load("rabbitmq.yaml")
    statefulset = by_kind(rabbit, "StatefulSet")[0]
    assert statefulset["spec"]["replicas"] == 3
    assert statefulset["spec"]["serviceName"] == "rabbitmq-headless"
    assert {s["metadata"]["name"] for s in by_kind(rabbit, "Service")} == {
        "rabbitmq", "rabbitmq-headless"}
    db = by_kind(rendered("services/customer"), "StatefulSet")[0]
    assert db["metadata"]["name"] == "customer-db"


def test_sales_deployment_mirrors_the_customer_one():
    docs = rendered("services/sales")
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = next(c for c in pod["containers"] if c["name"] == "sales")
    assert container["command"] == ["python", "-m", "guanxi_common.runner", "sales"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert {"name": "http", "containerPort": 8102} in container["ports"]
    assert {ref["secretRef"]["name"] for ref in container["envFrom"] if "secretRef" in ref} == \
        {"sales-secrets"}
    secrets = {d["metadata"]["name"]: d for d in load("secrets.yaml")}
    assert "SALES_DATABASE_URL" in secrets["sales-secrets"]["stringData"]
    kustomization = load("kustomization.yaml")[0]
    assert "services/sales" in kustomization["resources"]
    assert named(docs, "StatefulSet", "sales-db")["spec"]["template"]["spec"]["containers"][0][
        "envFrom"] == [{"secretRef": {"name": "sales-db-secrets"}}]


def containers_of(deployment):
    pod = deployment["spec"]["template"]["spec"]
    return pod.get("initContainers", []) + pod["containers"]


def test_every_http_port_variable_names_its_own_service():
    checked = 0
    for deployment in by_kind(all_docs(), "Deployment"):
        for container in containers_of(deployment):
            ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
            for var in container.get("env", []):
                match = re.fullmatch(r"([A-Z][A-Z0-9_]*)_HTTP_PORT", var["name"])
                if not match:
                    continue
                checked += 1
                # the runner reads <SERVICE>_HTTP_PORT: another service's name is ignored
                assert match.group(1).lower() == container["name"].replace("-", "_"), \
                    (deployment["metadata"]["name"], var["name"])
                assert int(var["value"]) == ports["http"]
    assert checked  # the customer and sales Deployments set one


def gateway_deployment():
    return by_kind(rendered("gateway"), "Deployment")[0]


def test_gateway_deployment_serves_http_with_probes_and_bootstrap():
    deployment = gateway_deployment()
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    pod = deployment["spec"]["template"]["spec"]
    container = next(c for c in pod["containers"] if c["name"] == "gateway")
    assert container["command"] == [
        "python", "-m", "gunicorn", "-c", "services/gateway/gunicorn.conf.py"]
    assert {"name": "http", "containerPort": 8000} in container["ports"]
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    refs = {next(iter(src.values()))["name"] for src in container["envFrom"]}
    assert refs == {"guanxi-config", "gateway-secrets"}

    bootstrap = next(c for c in pod["initContainers"] if c["name"] == "bootstrap")
    assert bootstrap["command"] == ["python", "-m", "gateway.bootstrap"]
    assert {"secretRef": {"name": "gateway-secrets"}} in bootstrap["envFrom"]

    secrets = {d["metadata"]["name"]: d for d in by_kind(load("secrets.yaml"), "Secret")}
    gateway_secrets = secrets["gateway-secrets"]["stringData"]
    assert {"AMQP_URI", "GATEWAY_DATABASE_URL", "ADMIN_USERNAME"} <= set(gateway_secrets)
    # one signing key for every replica, long enough for security.load_secret()
    assert len(gateway_secrets["GATEWAY_JWT_SECRET"].encode()) >= 32
    assert len(gateway_secrets["ADMIN_PASSWORD"]) >= 10
    assert gateway_secrets["GATEWAY_DATABASE_URL"].startswith("postgresql://")
    assert "gateway-db-secrets" in secrets

    env = {var["name"]: var.get("value") for var in container["env"]}
    assert "GATEWAY_JWT_SECRET" not in env
    assert (env["GATEWAY_WORKERS"], env["GATEWAY_THREADS"]) == ("2", "8")
    # gunicorn's graceful stop ends before Kubernetes' SIGKILL
    pause = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    assert pause == 5
    assert int(env["GATEWAY_GRACEFUL_TIMEOUT"]) + pause < pod["terminationGracePeriodSeconds"]

    # the root filesystem is read-only: the metrics directory needs a writable volume
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    metrics_dir = PurePosixPath(env["PROMETHEUS_MULTIPROC_DIR"])
    volumes = {v["name"]: v for v in pod["volumes"]}
    mount = next(m for m in container["volumeMounts"]
                 if metrics_dir.is_relative_to(m["mountPath"]))
    assert not mount.get("readOnly", False)
    assert "emptyDir" in volumes[mount["name"]]

    # metrics on the internal port only (the API port serves no /metrics)
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == env["GATEWAY_METRICS_PORT"] == "8001"
    assert {"name": "metrics", "containerPort": 8001} in container["ports"]


def nginx_size(text):
    units = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}
    number, unit = re.fullmatch(r"(\d+)([kmg]?)", text.strip().lower()).groups()
    return int(number) * units[unit]


def test_gateway_is_exposed_by_service_and_ingress():
    docs = [d for d in rendered("gateway") if d["metadata"]["name"] == "gateway"]
    pod_template = gateway_deployment()["spec"]["template"]
    container = pod_template["spec"]["containers"][0]
    service = by_kind(docs, "Service")[0]
    assert service["metadata"]["name"] == "gateway"
    assert service["spec"]["selector"].items() <= pod_template["metadata"]["labels"].items()
    [service_port] = service["spec"]["ports"]
    assert service_port["targetPort"] == "http"  # not the metrics port
    assert "http" in {p["name"] for p in container["ports"]}

    [ingress] = by_kind(docs, "Ingress")
    assert ingress["apiVersion"] == "networking.k8s.io/v1"
    paths = [path for rule in ingress["spec"]["rules"] for path in rule["http"]["paths"]]
    assert paths
    for path in paths:
        backend = path["backend"]["service"]
        assert backend["name"] == service["metadata"]["name"]
        assert backend["port"] in ({"name": service_port["name"]},
                                   {"number": service_port["port"]})
        # probes and metrics are not published
        assert path["path"].startswith("/api")
    env = {var["name"]: var.get("value") for var in container["env"]}
    body_limit = ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]
    assert nginx_size(body_limit) == int(env["GATEWAY_MAX_BODY_BYTES"]) == 1024 * 1024

    assert by_kind(docs, "PodDisruptionBudget")[0]["spec"]["minAvailable"] == 1
    hpa = by_kind(docs, "HorizontalPodAutoscaler")[0]["spec"]
    assert hpa["scaleTargetRef"]["name"] == "gateway"
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 10)
    kustomization = load("kustomization.yaml")[0]
    assert "gateway" in kustomization["resources"]
    assert {"name": "guanxi/gateway", "newTag": "0.1.0"} in kustomization["images"]
    assert by_kind(rendered("gateway"), "StatefulSet")[0]["metadata"]["name"] == "gateway-db"


def test_gateway_bootstrap_finds_alembic_ini_in_the_image_layout(tmp_path, monkeypatch):
    """The image installs the package into site-packages and copies alembic.ini to
    $GUANXI_HOME/services/gateway/: the init container must look there."""
    from guanxi_common import config
    from gateway import bootstrap

    ini = tmp_path / "services" / "gateway" / "alembic.ini"
    ini.parent.mkdir(parents=True)
    ini.write_text("[alembic]\n")
    monkeypatch.setattr(config, "PROJECT_ROOT", tmp_path)
    assert bootstrap.alembic_ini() == ini
