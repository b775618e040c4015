#!/usr/bin/env bash
# Build the virtualenv the integration tests run in: the real Glance image
# API (run under uWSGI, as Glance ships no server of its own), this package
# installed editable so Glance's paste deploy can load the filter, and the
# test tools.
#
#   tools/glance-venv.sh && .cache/glance-venv/bin/python -m pytest tests/integration
#
# Idempotent: a stamp file records what was installed; a rerun with the same
# pins (and the same setup.cfg) returns at once. GLANCE_VENV_PYTHON chooses
# the interpreter (default: python3; Glance 33 needs Python >= 3.11).
set -euo pipefail

GLANCE_VERSION=33.0.0
UWSGI_VERSION=2.0.31
PYTEST_VERSION=9.2.0
OPENSTACKSDK_VERSION=4.22.0

repo=$(cd "$(dirname "$0")/.." && pwd)
venv="$repo/.cache/glance-venv"
stamp="$venv/.installed"
python=${GLANCE_VENV_PYTHON:-python3}

die() {
    echo "glance-venv: $*" >&2
    exit 1
}

# The stamp key: the pins, the interpreter, and our own packaging metadata
# (entry points live in setup.cfg; a change there needs a reinstall).
key="glance==$GLANCE_VERSION uwsgi==$UWSGI_VERSION pytest==$PYTEST_VERSION"
key+=" openstacksdk==$OPENSTACKSDK_VERSION"
key+=" python=$("$python" -c 'import sys; print(sys.version.split()[0])')"
key+=" setup=$(cat "$repo/setup.cfg" "$repo/setup.py" | sha256sum | cut -c1-16)"

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$key" ]]; then
    exit 0
fi

"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    die "Glance $GLANCE_VERSION needs Python >= 3.11; $python is $("$python" -V 2>&1)." \
        "Set GLANCE_VENV_PYTHON to a newer interpreter."

# uWSGI is compiled at install time: it needs a C compiler and Python.h.
need_packages=()
command -v gcc >/dev/null || need_packages+=(gcc)
include=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
[[ -f "$include/Python.h" ]] || need_packages+=(python3-dev)
if ((${#need_packages[@]})); then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        echo "glance-venv: installing ${need_packages[*]} to build uWSGI" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_packages[@]}" ||
            die "apt-get could not install ${need_packages[*]}"
    else
        die "uWSGI needs ${need_packages[*]} to build; install them and rerun."
    fi
fi

rm -f "$stamp"
[[ -x "$venv/bin/python" ]] || "$python" -m venv "$venv" ||
    die "could not create the virtualenv at $venv"

pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)
echo "glance-venv: installing glance==$GLANCE_VERSION, uwsgi==$UWSGI_VERSION" \
     "and the test tools into $venv" >&2
"${pip[@]}" install "glance==$GLANCE_VERSION" "uwsgi==$UWSGI_VERSION" \
    "pytest==$PYTEST_VERSION" "openstacksdk==$OPENSTACKSDK_VERSION" ||
    die "could not install Glance $GLANCE_VERSION and uWSGI $UWSGI_VERSION" \
        "(see pip's output above)"
"${pip[@]}" install -e "$repo" ||
    die "could not install $repo into $venv"

# Check that what the tests need is really there before saying so.
"$venv/bin/python" -c 'import glance.common.wsgi_app, loc_strategy_filter.middleware' ||
    die "Glance or the filter does not import in $venv"
[[ -x "$venv/bin/uwsgi" && -x "$venv/bin/glance-manage" ]] ||
    die "uwsgi or glance-manage is missing from $venv/bin"

echo "$key" >"$stamp"
echo "glance-venv: ready at $venv" >&2
