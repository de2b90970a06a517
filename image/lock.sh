#!/usr/bin/env bash
# Regenerates the image's hash-pinned lock files from pyproject.toml (`make lock`):
#
#   image/requirements.lock        [project].dependencies, what the image's venv holds
#   image/build-requirements.lock  [build-system].requires, the build backend that
#                                  installs the migrator itself into that venv
#
#   bash image/lock.sh            # writes both into image/
#   bash image/lock.sh DIR        # writes them into DIR (tests/image compares the two)
#
# The Dockerfile installs them with `pip install --require-hashes --no-deps`: every
# file that goes into the venv is checked against PyPI's sha256 at build time.
# One resolution for every platform (uv's --universal; markers decide per platform at
# install time) and every Python from 3.11 on. Pins already in DIR are kept when they
# still satisfy pyproject.toml (uv prefers an output file's existing pins), so an
# unchanged pyproject.toml regenerates the same files; to move to the newest
# releases, delete the lock files first (or pass UV_ARGS=--upgrade).
#
# Environment:
#   UV       the uv binary (default: .cache/tools/uv/bin/uv as `make lock` installs it,
#            else `uv` on PATH)
#   UV_ARGS  extra arguments for `uv pip compile` (e.g. --upgrade-package structlog)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$(realpath -m "${1:-$ROOT/image}")"
cd "$ROOT"

uv="${UV:-$ROOT/.cache/tools/uv/bin/uv}"
[[ -x "$uv" ]] || uv="$(command -v uv || true)"
if [[ -z "$uv" ]]; then
    echo "image/lock.sh: uv not found (run \`make lock\`, which installs it into .cache/tools/uv)" >&2
    exit 127
fi
# A proxy's CA on this host is in the system bundle; uv trusts only its own roots otherwise.
[[ -z "${SSL_CERT_FILE:-}" && -s /etc/ssl/certs/ca-certificates.crt ]] &&
    export SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt

# Every file the same way: what the header says to run, and no host-specific paths.
# shellcheck disable=SC2206  # UV_ARGS is a list of words on purpose
compile=("$uv" pip compile --quiet --universal --python-version 3.11 --generate-hashes
    --custom-compile-command "make lock" ${UV_ARGS:-})

mkdir -p "$OUT"
"${compile[@]}" pyproject.toml -o "$OUT/requirements.lock"

# [build-system].requires has no file of its own for uv to read: hand it over on stdin.
python3 -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"]))' |
    "${compile[@]}" - -o "$OUT/build-requirements.lock"
