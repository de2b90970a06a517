#!/usr/bin/env bash
# The container engine the image scripts use, with the global flags it needs here:
#   docker ...                                              when a Docker daemon answers
#   podman --runtime runc --cgroup-manager=cgroupfs ...     otherwise (crun fails here)
#
#   bash image/engine.sh image inspect localhost/migrator:0.1.0
#   bash image/engine.sh --print-engine      # docker | podman (exit 127: neither)
#   bash image/engine.sh --print-image       # the ref build.sh tags (MIGRATOR_IMAGE or
#                                            # localhost/migrator:<chart appVersion>)
set -euo pipefail
# shellcheck source=image/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case "${1:-}" in
    --print-engine)
        engine="$(migrator_detect_engine)"
        [[ -n "$engine" ]] || exit 127
        echo "$engine" ;;
    --print-image) migrator_image_ref ;;
    *) migrator_engine "$@" ;;
esac
