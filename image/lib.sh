# shellcheck shell=bash
# Helpers shared by image/build.sh, image/run.sh and image/engine.sh.
# Source it; it defines functions and variables only and runs nothing.
#
#   MIGRATOR_ENGINE   force "docker" or "podman" (default: docker when its daemon
#                     answers `docker info`, else podman)
#   MIGRATOR_IMAGE    image reference to run (default: localhost/migrator:<appVersion>)

MIGRATOR_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MIGRATOR_BASE_IMAGE="${MIGRATOR_BASE_IMAGE:-docker.io/library/debian:bookworm-slim}"

# podman's default OCI runtime here (crun) cannot start containers in this sandbox,
# and there is no systemd to manage cgroups: every podman call goes through these.
PODMAN_GLOBAL_FLAGS=(--runtime runc --cgroup-manager=cgroupfs)

# Options every `run` gets: host networking (no CNI/netavark/slirp needed, and the
# databases the tests talk to listen on 127.0.0.1), bounded ulimits (the defaults
# of this host are above what the runtime may set).
# shellcheck disable=SC2034  # used by run.sh
MIGRATOR_RUN_FLAGS=(--rm --network host --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

# The chart's appVersion is the image tag; before chart/ exists,
# the package version from pyproject.toml stands in.
migrator_app_version() {
    local chart="$MIGRATOR_ROOT/chart/Chart.yaml" v=""
    if [[ -f "$chart" ]]; then
        v="$(sed -n -E 's/^appVersion:[[:space:]]*["'\'']?([^"'\''[:space:]#]+).*$/\1/p' "$chart" | head -n1)"
    fi
    if [[ -z "$v" ]]; then
        v="$(migrator_pyproject_field version)"
    fi
    printf '%s\n' "${v:-0.0.0}"
}

# First `KEY = "value"` of the [project] table of pyproject.toml (plain sed: the
# host may have no Python 3.11 for tomllib).
migrator_pyproject_field() {
    sed -n -E '/^\[project\]/,/^\[/{s/^'"$1"'[[:space:]]*=[[:space:]]*"([^"]*)".*$/\1/p}' \
        "$MIGRATOR_ROOT/pyproject.toml" | head -n1
}

migrator_image_ref() {
    printf '%s\n' "${MIGRATOR_IMAGE:-localhost/migrator:$(migrator_app_version)}"
}

# Prints docker or podman, or nothing when neither can be used.
migrator_detect_engine() {
    if [[ -n "${MIGRATOR_ENGINE:-}" ]]; then
        if command -v "$MIGRATOR_ENGINE" >/dev/null 2>&1; then printf '%s\n' "$MIGRATOR_ENGINE"; fi
    elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
        echo docker
    elif command -v podman >/dev/null 2>&1; then
        echo podman
    fi
}

# Runs the container engine with the global flags it needs here.
migrator_engine() {
    local engine
    engine="$(migrator_detect_engine)"
    case "$engine" in
        docker) docker "$@" ;;
        podman) podman "${PODMAN_GLOBAL_FLAGS[@]}" "$@" ;;
        *) echo "migrator image: neither a Docker daemon nor podman is available" >&2; return 127 ;;
    esac
}
