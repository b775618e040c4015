#!/usr/bin/env bash
# Build the virtualenv the integration tests run in: the real Glance image
# API (run under uWSGI, as Glance ships no server of its own), this package
# installed editable so Glance's paste deploy can load the filter, and the
# test tools.
#
#   tools/glance-venv.sh && .cache/glance-venv/bin/python -m pytest tests/integration
#
# Every dependency is pinned by tools/glance-constraints.txt. Idempotent: a
# stamp file records what was installed; a rerun with the same pins,
# constraints and setup.cfg returns at once. GLANCE_VENV_PYTHON chooses
# the interpreter (default: python3; Glance 33 needs Python >= 3.11).
set -euo pipefail

GLANCE_VERSION=33.0.0
UWSGI_VERSION=2.0.31
PYTEST_VERSION=9.2.0
OPENSTACKSDK_VERSION=4.22.0

repo=$(cd "$(dirname "$0")/.." && pwd)
venv="$repo/.cache/glance-venv"
stamp="$venv/.installed"
constraints="$repo/tools/glance-constraints.txt"
python=${GLANCE_VENV_PYTHON:-python3}

die() {
    echo "glance-venv: $*" >&2
    exit 1
}

command -v "$python" >/dev/null || die "no $python to build the virtualenv with"
python_version() { "$1" -c 'import sys; print(sys.version.split()[0])'; }

# The stamp key: the pins, the interpreter, the constraints, and our own
# packaging metadata (entry points live in setup.cfg; a change there needs a
# reinstall).
key="glance==$GLANCE_VERSION uwsgi==$UWSGI_VERSION pytest==$PYTEST_VERSION"
key+=" openstacksdk==$OPENSTACKSDK_VERSION python=$(python_version "$python")"
key+=" files=$(cat "$constraints" "$repo/setup.cfg" "$repo/setup.py" |
               sha256sum | cut -c1-16)"

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$key" ]]; then
    exit 0
fi

"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    die "Glance $GLANCE_VERSION needs Python >= 3.11; $python is" \
        "$(python_version "$python"). Set GLANCE_VENV_PYTHON to a newer one."

# uWSGI is compiled at install time: it needs a C compiler and Python.h.
python_h() {
    [[ -f "$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')/Python.h" ]]
}
need_packages=()
command -v gcc >/dev/null || need_packages+=(gcc)
python_h || need_packages+=(python3-dev)
if ((${#need_packages[@]})); then
    [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null ||
        die "uWSGI needs ${need_packages[*]} to build; install them and rerun."
    echo "glance-venv: installing ${need_packages[*]} to build uWSGI" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_packages[@]}" ||
        die "apt-get could not install ${need_packages[*]}"
    python_h || die "no Python.h for $python even after installing python3-dev;" \
        "install the headers of that interpreter"
fi

rm -f "$stamp"
# A virtualenv of another interpreter cannot be updated in place.
if [[ -x "$venv/bin/python" &&
      "$(python_version "$venv/bin/python")" != "$(python_version "$python")" ]]; then
    rm -rf "$venv"
fi
[[ -x "$venv/bin/python" ]] || "$python" -m venv "$venv" ||
    die "could not create the virtualenv at $venv"

pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)
echo "glance-venv: installing glance==$GLANCE_VERSION, uwsgi==$UWSGI_VERSION" \
     "and the test tools into $venv" >&2
"${pip[@]}" install -c "$constraints" \
    "glance==$GLANCE_VERSION" "uwsgi==$UWSGI_VERSION" \
    "pytest==$PYTEST_VERSION" "openstacksdk==$OPENSTACKSDK_VERSION" ||
    die "could not install Glance $GLANCE_VERSION and uWSGI $UWSGI_VERSION" \
        "(see pip's output above)"
# With the fast-json extra, as the README recommends (a server of the tests
# hides orjson to try the standard library's JSON too), and the client
# extra, whose openstack command the tests run against Glance.
"${pip[@]}" install -c "$constraints" -e "$repo[fast-json,client]" ||
    die "could not install $repo into $venv"

# Check that what the tests need is really there before saying so (our own
# code is only located, not imported: whether it works is the tests' call).
PYTHONWARNINGS=ignore "$venv/bin/python" -c '
import importlib.util, glance.common.wsgi_app
assert importlib.util.find_spec("loc_strategy_filter")' ||
    die "Glance does not import, or this package is not installed, in $venv"
[[ -x "$venv/bin/uwsgi" && -x "$venv/bin/glance-manage" ]] ||
    die "uwsgi or glance-manage is missing from $venv/bin"

echo "$key" >"$stamp"
echo "glance-venv: ready at $venv" >&2
