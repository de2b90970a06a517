#!/usr/bin/env bash
# Runs the migrator image with the flags this machine needs (the tests and the e2e
# harness use it too):
#   podman --runtime runc --cgroup-manager=cgroupfs run --rm --network host \
#       --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 [RUN OPTIONS] IMAGE [ARGS]
# (docker run with the same options when a Docker daemon answers).
#
# Usage:
#   bash image/run.sh [ARGS...]                      # migrator ARGS...
#   bash image/run.sh [RUN OPTIONS...] -- [ARGS...]  # extra engine run options first
#
# Examples:
#   bash image/run.sh version
#   bash image/run.sh --read-only -e MIGRATOR_DATABASE_URL="$DSN" -- up --service auth
#   bash image/run.sh --read-only --tmpfs /data -- --database sqlite:////data/a.db up
#   bash image/run.sh --entrypoint python3 -- -c 'import ssl; print(ssl.OPENSSL_VERSION)'
#
# The image is MIGRATOR_IMAGE, default localhost/migrator:<chart appVersion>, as
# tagged by image/build.sh. Host networking: a DSN with 127.0.0.1 reaches the
# host's databases.
set -euo pipefail
# shellcheck source=image/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

opts=()
args=("$@")
for ((i = 0; i < $#; i++)); do
    if [[ "${args[i]}" == "--" ]]; then
        opts=("${args[@]:0:i}")
        args=("${args[@]:i+1}")
        break
    fi
done

# -t only when we really have a terminal (migrator's console vs JSON log choice
# follows it); -i when stdin is a terminal, so `down` can ask for confirmation.
[[ -t 0 && -t 1 ]] && opts=(-it "${opts[@]}")

exec_ref="$(migrator_image_ref)"
migrator_engine run "${MIGRATOR_RUN_FLAGS[@]}" "${opts[@]}" "$exec_ref" "${args[@]}"
