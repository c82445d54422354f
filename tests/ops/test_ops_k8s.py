"""deploy/k8s: every manifest parses and the customer, sales and gateway deployments keep
their promises."""
import json
import re
from pathlib import Path, PurePosixPath

import yaml
from opshelpers import ROOT

K8S = ROOT / "deploy" / "k8s"


def load(name):
    return [doc for doc in yaml.safe_load_all((K8S / name).read_text()) if doc]


def by_kind(docs, kind):
    return [d for d in docs if d["kind"] == kind]


def all_docs():
    return [doc for path in sorted(K8S.glob("*.yaml")) for doc in load(path.name)]


def test_every_manifest_parses_and_is_listed_in_the_kustomization():
    kustomization = load("kustomization.yaml")[0]
    listed = set(kustomization["resources"])
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == files
    for doc in all_docs():
        assert doc["apiVersion"] and doc["kind"]
        if doc["kind"] != "Kustomization":
            assert doc["metadata"]["name"]


def test_customer_deployment_probes_shutdown_and_config():
    docs = load("customer.yaml")
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
    docs = load("customer.yaml")
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
    db = by_kind(load("customer-db.yaml"), "StatefulSet")[0]
    assert db["metadata"]["name"] == "customer-db"


def test_dockerfile_runs_the_customer_service():
    text = (ROOT / "services" / "customer" / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in text
    assert 'CMD ["python", "-m", "guanxi_common.runner", "customer"]' in text
    assert "EXPOSE 8101" in text and "HEALTHCHECK" in text
    assert "\nUSER " in text
    assert Path(ROOT / ".dockerignore").is_file()


def test_sales_deployment_mirrors_the_customer_one():
    docs = load("sales.yaml")
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
    assert {"sales.yaml", "sales-db.yaml"} <= set(kustomization["resources"])


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
    return by_kind(load("gateway.yaml"), "Deployment")[0]


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

    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == "8000"


def nginx_size(text):
    units = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}
    number, unit = re.fullmatch(r"(\d+)([kmg]?)", text.strip().lower()).groups()
    return int(number) * units[unit]


def test_gateway_is_exposed_by_service_and_ingress():
    docs = load("gateway.yaml")
    pod_template = gateway_deployment()["spec"]["template"]
    container = pod_template["spec"]["containers"][0]
    service = by_kind(docs, "Service")[0]
    assert service["metadata"]["name"] == "gateway"
    assert service["spec"]["selector"].items() <= pod_template["metadata"]["labels"].items()
    [service_port] = service["spec"]["ports"]
    assert service_port["targetPort"] == "http"
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
    assert {"gateway.yaml", "gateway-db.yaml"} <= set(kustomization["resources"])
    assert {"name": "guanxi/gateway", "newTag": "0.1.0"} in kustomization["images"]
    assert by_kind(load("gateway-db.yaml"), "StatefulSet")[0]["metadata"]["name"] == "gateway-db"


def test_gateway_dockerfile_runs_gunicorn():
    text = (ROOT / "services" / "gateway" / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in text
    assert "\nUSER " in text and "EXPOSE 8000" in text
    assert "HEALTHCHECK" in text and "http://127.0.0.1:8000/healthz" in text
    assert "GUANXI_HOME=/app" in text and "\nWORKDIR /app" in text
    [cmd] = re.findall(r"^CMD (\[.*\])$", text, re.MULTILINE)
    assert json.loads(cmd) == ["python", "-m", "gunicorn", "-c",
                               "services/gateway/gunicorn.conf.py"]
    assert json.loads(cmd) == gateway_deployment()["spec"]["template"]["spec"][
        "containers"][0]["command"]
    for needed in ("services/gateway/gunicorn.conf.py", "services/gateway/migrations",
                   "services/gateway/alembic.ini"):
        assert f"COPY {needed} {needed}" in text
    for source in re.findall(r"^COPY (?!--from)(\S+) ", text, re.MULTILINE):
        assert (ROOT / source).exists(), source


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
