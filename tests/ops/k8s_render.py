"""Renders deploy/k8s the way `kubectl kustomize` does, for the subset of kustomize the
manifests use, so that the manifest tests run on machines without kubectl. Anything
outside that subset raises. test_ops_k8s.py checks the result against kubectl's own
render, kept in k8s_kubectl_render.yaml (``python tests/ops/k8s_render.py`` writes it anew
with kubectl), and against live kubectl where it is installed."""
import copy
import re
import shutil
import subprocess
from pathlib import Path

import yaml

SUPPORTED_KEYS = {"apiVersion", "kind", "namespace", "labels", "resources", "components",
                  "configMapGenerator", "replacements", "patches", "images"}
CLUSTER_SCOPED = {"Namespace"}
LOCAL_CONFIG = "config.kubernetes.io/local-config"


def kubectl_render(path):
    """`kubectl kustomize path` as a list of documents, or None without kubectl."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return None
    out = subprocess.run([kubectl, "kustomize", str(path)], check=True, capture_output=True,
                         text=True, timeout=60).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


#: the folders of deploy/k8s that render on their own
RENDERED_FOLDERS = ("", "gateway", "services/customer", "services/sales")
KUBECTL_RENDER = Path(__file__).with_name("k8s_kubectl_render.yaml")


def kubectl_reference():
    """kubectl's render of each folder as it was recorded: ``{folder: [documents]}``."""
    return yaml.safe_load(KUBECTL_RENDER.read_text())


def render(path):
    """The documents a kustomization at ``path`` produces (local-config ones left out)."""
    return [doc for doc in _build(Path(path))
            if (doc["metadata"].get("annotations") or {}).get(LOCAL_CONFIG) != "true"]


def _load_yaml_docs(path):
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _build(folder):
    [kustomization] = _load_yaml_docs(folder / "kustomization.yaml")
    unknown = set(kustomization) - SUPPORTED_KEYS
    if unknown:
        raise NotImplementedError(f"{folder}: kustomize fields {sorted(unknown)}")
    docs = []
    for entry in kustomization.get("resources", []):
        target = folder / entry
        docs += _build(target) if target.is_dir() else _load_yaml_docs(target)
    for generator in kustomization.get("configMapGenerator", []):
        docs.append(_config_map(generator))
    for entry in kustomization.get("components", []):
        docs = _apply_component(folder / entry, docs)
    for replacement in kustomization.get("replacements", []):
        _replace(docs, replacement)
    for patch in kustomization.get("patches", []):
        _patch(folder, docs, patch)
    _transform(docs, kustomization)
    return docs


def _config_map(generator):
    options = generator.get("options", {})
    if not options.get("disableNameSuffixHash"):
        raise NotImplementedError("configMapGenerator with a name hash")
    data = dict(literal.split("=", 1) for literal in generator["literals"])
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": generator["name"],
                         "annotations": dict(options.get("annotations", {}))},
            "data": data}


def _apply_component(folder, docs):
    [component] = _load_yaml_docs(folder / "kustomization.yaml")
    assert component["kind"] == "Component", folder
    if set(component) - {"apiVersion", "kind", "resources", "replacements"}:
        raise NotImplementedError(f"{folder}: component fields {sorted(component)}")
    docs = docs + [doc for entry in component.get("resources", [])
                   for doc in _load_yaml_docs(folder / entry)]
    for replacement in component.get("replacements", []):
        _replace(docs, replacement)
    return docs


def _field_path(text):
    """``a.b\\.c.0`` -> ["a", "b.c", 0]."""
    parts = re.split(r"(?<!\\)\.", text)
    return [int(p) if p.isdigit() else p.replace("\\.", ".") for p in parts]


def _selected(docs, select):
    if set(select) - {"kind", "name"}:
        raise NotImplementedError(f"select {select}")
    return [d for d in docs if d["kind"] == select["kind"]
            and select.get("name", d["metadata"]["name"]) == d["metadata"]["name"]]


def _replace(docs, replacement):
    source = replacement["source"]
    if set(source) - {"kind", "name", "fieldPath"}:
        raise NotImplementedError(f"source {source}")
    [origin] = _selected(docs, {k: v for k, v in source.items() if k != "fieldPath"})
    value = _get(origin, _field_path(source["fieldPath"]))
    for target in replacement["targets"]:
        options = target.get("options", {})
        if set(options) - {"delimiter", "index"}:
            raise NotImplementedError(f"options {options}")
        for doc in _selected(docs, target["select"]):
            for text in target["fieldPaths"]:
                path = _field_path(text)
                current = _get(doc, path)
                new = value
                if "delimiter" in options:
                    pieces = current.split(options["delimiter"])
                    pieces[options["index"]] = value
                    new = options["delimiter"].join(pieces)
                # kustomize keeps the target's type: a port stays an integer
                _set(doc, path, type(current)(new))


def _get(node, path):
    for key in path:
        node = node[key]
    return node


def _set(node, path, value):
    _get(node, path[:-1])[path[-1]] = value


def _patch(folder, docs, patch):
    operations = yaml.safe_load((folder / patch["path"]).read_text() if "path" in patch
                                else patch["patch"])
    for doc in _selected(docs, patch["target"]):
        for operation in operations:
            if operation["op"] != "replace":
                raise NotImplementedError(f"patch op {operation['op']}")
            path = [int(p) if p.isdigit() else p.replace("~1", "/").replace("~0", "~")
                    for p in operation["path"].lstrip("/").split("/")]
            _get(doc, path)  # replace needs an existing field
            _set(doc, path, copy.deepcopy(operation["value"]))


def _transform(docs, kustomization):
    for doc in docs:
        metadata = doc["metadata"]
        if "namespace" in kustomization and doc["kind"] not in CLUSTER_SCOPED:
            metadata["namespace"] = kustomization["namespace"]
            for subject in doc.get("subjects", []):
                if subject["kind"] == "ServiceAccount":
                    subject["namespace"] = kustomization["namespace"]
        for labels in kustomization.get("labels", []):
            if labels.get("includeSelectors") or labels.get("includeTemplates"):
                raise NotImplementedError("labels on selectors or templates")
            metadata.setdefault("labels", {}).update(labels["pairs"])
        for image in kustomization.get("images", []):
            pod = _pod_spec(doc)
            for container in (pod or {}).get("initContainers", []) + (pod or {}).get(
                    "containers", []):
                if container["image"].split(":")[0] == image["name"]:
                    container["image"] = f"{image['name']}:{image['newTag']}"


def _pod_spec(doc):
    template = doc.get("spec", {}).get("template")
    return template["spec"] if template else None


if __name__ == "__main__":
    k8s = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
    reference = {folder: kubectl_render(k8s / folder) for folder in RENDERED_FOLDERS}
    if None in reference.values():
        raise SystemExit("kubectl is not installed")
    KUBECTL_RENDER.write_text(yaml.safe_dump(reference, allow_unicode=True, sort_keys=True))
    print(f"wrote {KUBECTL_RENDER}")
