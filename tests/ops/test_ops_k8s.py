"""deploy/k8s: every manifest parses and the customer deployment keeps its promises."""
from pathlib import Path

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
