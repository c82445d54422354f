"""One name per setting: the settings the code reads (every ``env()`` call and every
read of ``os.environ`` under services/, libs/ and scripts/) are exactly the ones in the
README's configuration table, and each is read in one module."""
import ast
import re

from opshelpers import ROOT

SCANNED = ("services", "libs", "scripts")
#: reads whose name is computed: the names they can read (checked to appear in the file)
DYNAMIC_READS = {
    "services/customer/customer/dependencies.py": {
        "POOL_MAX_CLAIMS", "POOL_FOLLOW_UP_DAYS", "POOL_RECLAIM_COOLDOWN_DAYS"},
}
#: another library's setting that the gateway both sets and reads in more than one place
SHARED_WITH_A_LIBRARY = {"PROMETHEUS_MULTIPROC_DIR"}
CONFIG = ROOT / "libs/common/guanxi_common/config.py"


def python_files():
    for base in SCANNED:
        for path in sorted((ROOT / base).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if "tests" not in relative.parts and "service_template" not in relative.parts:
                yield path


def _is_environ(node):
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ")


def _read_name(node):
    """The expression naming the setting ``node`` reads, or None when it reads none."""
    if isinstance(node, ast.Call):
        function = node.func
        called = (function.attr if isinstance(function, ast.Attribute)
                  else getattr(function, "id", None))
        environ_get = isinstance(function, ast.Attribute) and _is_environ(function.value) and \
            function.attr in ("get", "pop", "setdefault")
        if node.args and (called in ("env", "getenv") or environ_get):
            return node.args[0]
    elif isinstance(node, ast.Subscript) and _is_environ(node.value) and \
            isinstance(node.ctx, ast.Load):
        return node.slice
    elif isinstance(node, ast.Compare) and len(node.comparators) == 1 and \
            isinstance(node.ops[0], (ast.In, ast.NotIn)) and _is_environ(node.comparators[0]):
        return node.left
    return None


def _setting(expression):
    if isinstance(expression, ast.Constant) and isinstance(expression.value, str):
        return expression.value
    if isinstance(expression, ast.JoinedStr):
        # f"{service.upper()}_HTTP_PORT" -> <SERVICE>_HTTP_PORT
        return "".join(part.value if isinstance(part, ast.Constant) else "<SERVICE>"
                       for part in expression.values)
    return None


def settings_read():
    """{setting: {module, ...}} and the computed reads [(module, line, expression)]."""
    read, computed = {}, []
    for path in python_files():
        module = str(path.relative_to(ROOT))
        tree = ast.parse(path.read_text(), filename=module)
        own_body = set()
        if path == CONFIG:  # the body of env() itself reads whatever it is asked for
            env_function = next(n for n in tree.body
                                if isinstance(n, ast.FunctionDef) and n.name == "env")
            own_body = {id(n) for n in ast.walk(env_function)}
        for node in ast.walk(tree):
            expression = _read_name(node)
            if expression is None or id(node) in own_body:
                continue
            name = _setting(expression)
            if name is None:
                computed.append((module, node.lineno, ast.unparse(expression)))
            else:
                read.setdefault(name, set()).add(module)
    for module, names in DYNAMIC_READS.items():
        for name in names:
            read.setdefault(name, set()).add(module)
    return read, computed


#: a shell script taking a setting from the environment: NAME="${NAME:-default}"
SHELL_DEFAULT = re.compile(r'^([A-Z][A-Z0-9_]*)="\$\{\1:-', re.MULTILINE)
#: the Makefile handing a setting to every command: export NAME ?= default
MAKE_EXPORT = re.compile(r"^export ([A-Z][A-Z0-9_]*) \?=", re.MULTILINE)


def settings_of_make_and_shell():
    names = set(MAKE_EXPORT.findall((ROOT / "Makefile").read_text()))
    for path in sorted((ROOT / "scripts").glob("*.sh")):
        names.update(SHELL_DEFAULT.findall(path.read_text()))
    return names


def readme_settings():
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    names = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            names.update(re.findall(r"`([A-Z<][A-Z0-9_<>]*)`", first_cell))
    return names


def test_every_setting_read_is_in_the_readme_table_and_back():
    read, _ = settings_read()
    read = set(read) | settings_of_make_and_shell()
    documented = readme_settings()
    assert sorted(read - documented) == [], "read but not in the README's table"
    assert sorted(documented - read) == [], "in the README's table but read nowhere"


def test_computed_setting_names_are_known():
    _, computed = settings_read()
    unknown = [(module, line, expression) for module, line, expression in computed
               if module not in DYNAMIC_READS]
    assert unknown == [], "name the settings these read in DYNAMIC_READS"
    for module, names in DYNAMIC_READS.items():
        text = (ROOT / module).read_text()
        assert all(f'"{name}"' in text for name in names), module


def test_each_setting_is_read_in_one_module():
    read, _ = settings_read()
    repeated = {name: sorted(modules) for name, modules in read.items()
                if len(modules) > 1 and name not in SHARED_WITH_A_LIBRARY}
    assert repeated == {}, "read it once (guanxi_common.config) and import the reader"


def test_the_scan_sees_the_kinds_of_read_the_code_uses():
    tree = ast.parse('env("A", 1, int)\nos.environ.get("B")\nos.environ["C"]\n'
                     '"D" in os.environ\nos.getenv("E")\nenv(f"{s.upper()}_F")\n'
                     'os.environ["G"] = "1"\n')
    names = {_setting(_read_name(node)) for node in ast.walk(tree) if _read_name(node)}
    assert names == {"A", "B", "C", "D", "E", "<SERVICE>_F"}
