#!/usr/bin/env bash
# Every check, as CI runs them: OpenStack's style (flake8 with hacking), the
# Sphinx documentation and the release notes built with warnings as errors,
# unit and functional tests in .venv, then the integration tier against the
# real Glance in .cache/glance-venv.
set -euo pipefail
cd "$(dirname "$0")/.."
# The shared location-health tests run a real memcached (Debian's package).
if ! command -v memcached >/dev/null; then
    [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null || {
        echo "run-tests: the tests need memcached; install it and rerun" >&2
        exit 1
    }
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq memcached
fi
python3 -m venv .venv
.venv/bin/pip install -q -e '.[test,pep8,doc]'
.venv/bin/flake8
rm -rf doc/build releasenotes/build
.venv/bin/sphinx-build -q -W --keep-going -b html doc/source doc/build/html
.venv/bin/reno -q lint
.venv/bin/sphinx-build -q -W --keep-going -b html releasenotes/source \
    releasenotes/build/html
.venv/bin/python -m pytest tests/unit tests/functional
bash tools/glance-venv.sh
.cache/glance-venv/bin/python -m pytest tests/integration
