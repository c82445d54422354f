#!/usr/bin/env bash
# Make sure the virtualenv VENV (default .venv) exists with a working pip, made with
# Python >= 3.11 (PYTHON, default python3.11, else python3).
# On Debian/Ubuntu the venv module (ensurepip) ships separately as python3.X-venv: when it
# is missing it is installed with apt-get when running as root; otherwise the exact
# command is printed and the script exits 1.
set -euo pipefail

PYTHON="${PYTHON:-python3.11}"
VENV="${VENV:-.venv}"

say() { printf 'ensure_python: %s\n' "$*" >&2; }

apt_install() {  # packages...
    if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        say "installing $* with apt-get"
        DEBIAN_FRONTEND=noninteractive apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
    else
        say "missing: $*. Run:"
        say "    sudo apt-get update && sudo apt-get install -y $*"
        exit 1
    fi
}

version_ok() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }

# A venv that already has pip is all we need.
if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    exit 0
fi

py=""
for candidate in "$PYTHON" python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && version_ok "$candidate"; then
        py="$(command -v "$candidate")"
        break
    fi
done
if [[ -z "$py" ]]; then
    apt_install python3.11 python3.11-venv
    py="$(command -v python3.11)"
fi
ver="$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"

# venv without ensurepip (Debian's split-off python3.X-venv) leaves a venv with no pip.
if ! "$py" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    apt_install "python${ver}-venv"
fi

if [[ -x "$VENV/bin/python" ]]; then
    say "$VENV has no pip: recreating it"
    "$py" -m venv --clear "$VENV"
else
    say "creating $VENV with $py (Python $ver)"
    "$py" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip --version >/dev/null
