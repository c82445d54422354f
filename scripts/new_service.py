#!/usr/bin/env python3
"""Create a new Nameko service from the service template (docs/development.md):

    make service NAME=<name> PORT=<port>
    python scripts/new_service.py <name> <port> [--root DIR]

Writes services/<name>/ (a minimal working service: one `notes` area with a command, a
query, a domain rule, its table and first migration), the contracts module
guanxi_common/contracts/<name>.py, tests/<name>_service/ (a worker_factory test and a
container test) and its Kubernetes overlay deploy/k8s/services/<name>/; registers the port
in guanxi_common.config.DEFAULT_HTTP_PORTS, the overlay in deploy/k8s/kustomization.yaml
and placeholder Secrets in deploy/k8s/secrets.yaml. Standard library only.

The template lives in scripts/service_template/: every path segment ``__name__`` (and
``__kname__``, the Kubernetes spelling) is replaced; files ending in ``.tmpl`` have
``${name}``, ``${Class}``, ``${NAME}``, ``${kname}``, ``${title}`` and ``${port}``
substituted, other files are copied as they are.
"""
import argparse
import ast
import keyword
import re
import string
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = Path(__file__).resolve().parent / "service_template"
CONFIG = Path("libs/common/guanxi_common/config.py")
KUSTOMIZATION = Path("deploy/k8s/kustomization.yaml")
SECRETS = Path("deploy/k8s/secrets.yaml")
NAME = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")
PORTS = re.compile(r"^DEFAULT_HTTP_PORTS = (\{.*?\})\n", re.MULTILINE | re.DOTALL)

PLACEHOLDER_SECRETS = """---
apiVersion: v1
kind: Secret
metadata:
  name: ${kname}-secrets
type: Opaque
stringData:
  AMQP_URI: "amqp://guanxi:replace-me@rabbitmq.guanxi.svc.cluster.local:5672/"
  ${NAME}_DATABASE_URL: "postgresql://${name}:replace-me@${kname}-db.guanxi.svc.cluster.local:5432/${name}"
---
apiVersion: v1
kind: Secret
metadata:
  name: ${kname}-db-secrets
type: Opaque
stringData:
  POSTGRES_USER: "${name}"
  POSTGRES_PASSWORD: "replace-me"
  POSTGRES_DB: "${name}"
"""


class ScaffoldError(Exception):
    pass


def names(name, port):
    """The spellings of a service's name that the template uses."""
    return {"name": name, "Class": "".join(part.title() for part in name.split("_")),
            "NAME": name.upper(), "kname": name.replace("_", "-"),
            "title": name.replace("_", " "), "port": str(port)}


def render(text, values):
    return string.Template(text).substitute(values)


def planned_files(values):
    """{relative path: content} of the template for one service."""
    files = {}
    for source in sorted(TEMPLATE.rglob("*")):
        if source.is_dir() or "__pycache__" in source.parts:
            continue
        relative = str(source.relative_to(TEMPLATE))
        relative = relative.replace("__kname__", values["kname"]).replace(
            "__name__", values["name"])
        if relative.endswith(".tmpl"):
            files[relative[:-len(".tmpl")]] = render(source.read_text(), values)
        else:
            files[relative] = source.read_text()
    return files


def registered_ports(root):
    match = PORTS.search((root / CONFIG).read_text())
    if match is None:
        raise ScaffoldError(f"DEFAULT_HTTP_PORTS not found in {CONFIG}")
    return ast.literal_eval(match[1])


def register_port(root, name, port):
    """Add ``name: port`` to DEFAULT_HTTP_PORTS (wrapped like the original)."""
    path = root / CONFIG
    ports = registered_ports(root)
    if ports.get(name) == port:
        return
    ports[name] = port
    prefix = "DEFAULT_HTTP_PORTS = {"
    lines, line = [], prefix
    for item in (f"{key!r}: {value}".replace("'", '"') for key, value in ports.items()):
        if len(line) + len(item) + 2 > 90:
            lines.append(line.rstrip())
            line = " " * len(prefix)
        line += item + ", "
    lines.append(line[:-2] + "}")
    text = path.read_text()
    path.write_text(PORTS.sub(lambda _: "\n".join(lines) + "\n", text, count=1))


def register_overlay(root, values):
    path = root / KUSTOMIZATION
    entry = f"  - services/{values['kname']}\n"
    lines = path.read_text().splitlines(keepends=True)
    if entry in lines:
        return
    overlays = [i for i, line in enumerate(lines) if line.startswith("  - services/")]
    if not overlays:
        raise ScaffoldError(f"no '  - services/<name>' entry in {KUSTOMIZATION} to add to")
    lines.insert(overlays[-1] + 1, entry)
    path.write_text("".join(lines))


def add_placeholder_secrets(root, values):
    path = root / SECRETS
    text = path.read_text()
    if f"name: {values['kname']}-secrets\n" not in text:
        path.write_text(text.rstrip("\n") + "\n" + render(PLACEHOLDER_SECRETS, values))


def check(root, name, port):
    if not NAME.fullmatch(name) or keyword.iskeyword(name):
        raise ScaffoldError(f"{name!r}: a service name is lower-case words joined by '_'")
    if not 1024 <= port <= 65535:
        raise ScaffoldError(f"port {port}: choose one from 1024 to 65535")
    if (root / "services" / name).exists():
        raise ScaffoldError(f"services/{name} exists already")
    ports = registered_ports(root)
    if name in ports and ports[name] != port:
        raise ScaffoldError(f"{name} has port {ports[name]} in {CONFIG}; use that one")
    taken = {p: n for n, p in ports.items() if n != name}
    if port in taken:
        raise ScaffoldError(f"port {port} belongs to {taken[port]}")


def scaffold(root, name, port):
    """Create the service under ``root``; returns the paths written, relative to it."""
    root = Path(root)
    check(root, name, port)
    values = names(name, port)
    files = planned_files(values)
    existing = [path for path in files if (root / path).exists()]
    if existing:
        raise ScaffoldError(f"would overwrite {', '.join(existing)}")
    for relative, content in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    register_port(root, name, port)
    register_overlay(root, values)
    add_placeholder_secrets(root, values)
    return sorted(files) + [str(CONFIG), str(KUSTOMIZATION), str(SECRETS)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", help="the Nameko service name, e.g. service_desk")
    parser.add_argument("port", type=int, help="its HTTP port (/healthz, /readyz, /metrics)")
    parser.add_argument("--root", default=str(ROOT), help="the repository (default: this one)")
    args = parser.parse_args(argv)
    try:
        written = scaffold(args.root, args.name, args.port)
    except ScaffoldError as error:
        print(f"new_service: {error}", file=sys.stderr)
        return 2
    print("\n".join(f"  {path}" for path in written))
    print(f"""
{args.name} is ready. Next:
  make venv                                  installs it (editable) with the others
  make test PYTEST_ARGS=tests/{args.name}_service  its tests
  replace the notes area with the service's own; write docs/rpc/{args.name}.md; add its
  settings to the README's configuration table; build its image with
  make image SERVICE={args.name}""")
    return 0


if __name__ == "__main__":
    sys.exit(main())
