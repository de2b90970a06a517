#!/usr/bin/env bash
# Builds the migrator image (what `make image` runs), from the repository root.
#
#   bash image/build.sh            # -> localhost/migrator:<chart appVersion>
#   bash image/build.sh --no-cache # extra arguments go to `podman/docker build`
#
# Idempotent, and works on a fresh Debian 12 as root from nothing:
#   - a Docker daemon that answers `docker info` is used as is;
#   - otherwise podman (+ buildah, runc, debootstrap) is installed from Debian when
#     missing, and when podman has no docker.io/library/debian:bookworm-slim, one is
#     made with debootstrap and imported under that name (the import is the cache;
#     nothing is kept in the repository).
# Prints the image size and what it adds to the base image (the budget: at most 120 MB).
#
# The base is pinned by digest in every build: MIGRATOR_BASE_DIGEST when given (the
# image is then pulled if it is not there yet, and never debootstrapped), else the
# digest of the base image found under MIGRATOR_BASE_IMAGE. Both go into the
# labels org.opencontainers.image.base.name / .base.digest:
#   MIGRATOR_BASE_DIGEST=sha256:<64 hex> bash image/build.sh
#
# Environment:
#   MIGRATOR_ENGINE         docker|podman (default: detected)
#   MIGRATOR_IMAGE          tag to build (default: localhost/migrator:<appVersion>)
#   MIGRATOR_BASE_IMAGE     base image (default docker.io/library/debian:bookworm-slim)
#   MIGRATOR_BASE_DIGEST    sha256:... of the base to build on (default: the digest of
#                           MIGRATOR_BASE_IMAGE as it is on this machine)
#   MIGRATOR_IMAGE_SOURCE   org.opencontainers.image.source (default: the git remote
#                           "origin", else pyproject's [project.urls], else a placeholder)
#   MIGRATOR_IMAGE_LICENSES org.opencontainers.image.licenses (default: pyproject's
#                           `license`, else NOASSERTION)
#   MIGRATOR_IMAGE_REVISION org.opencontainers.image.revision (default: git HEAD,
#                           else "unknown"; for builds from a tarball)
#   DEBIAN_MIRROR           mirror for debootstrap (default http://deb.debian.org/debian)
set -euo pipefail

# shellcheck source=image/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$MIGRATOR_ROOT"

log() { printf '==> %s\n' "$*" >&2; }

install_podman() {
    local missing=() cmd
    for cmd in podman buildah runc debootstrap; do
        command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
    done
    # The host's CA bundle is mounted into the build (see below): make sure it exists.
    [[ -s /etc/ssl/certs/ca-certificates.crt ]] || missing+=(ca-certificates)
    if ((${#missing[@]})); then
        log "installing ${missing[*]} from Debian"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update
        apt-get install -y --no-install-recommends podman buildah runc debootstrap ca-certificates
    fi
}

# A debootstrap'd bookworm trimmed the way the official "slim" variant is (no docs,
# man pages or locales, and dpkg told to keep them out), imported under the
# official name so the Dockerfile's FROM resolves without a registry.
make_base_image() {
    local dir mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
    dir="$(mktemp -d /var/tmp/migrator-debootstrap.XXXXXX)"
    # shellcheck disable=SC2064
    trap "rm -rf '$dir'" EXIT
    log "debootstrap --variant=minbase bookworm ($mirror)"
    debootstrap --variant=minbase bookworm "$dir" "$mirror" >&2
    cat >"$dir/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
# "slim" variant of the Debian base image: files that are normally unnecessary in
# containers are excluded, and this configuration file keeps them that way.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
    cat >"$dir/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    echo 'Acquire::Languages "none";' >"$dir/etc/apt/apt.conf.d/docker-no-languages"
    rm -f "$dir/etc/apt/sources.list"
    cat >"$dir/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    find "$dir/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete
    find "$dir/usr/share/doc" -mindepth 1 -type d -empty -delete
    rm -rf "$dir"/usr/share/{groff,info,linda,lintian,locale,man}/* \
        "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/var/cache/apt/archives/*.deb \
        "$dir"/var/log/* "$dir"/tmp/* "$dir"/var/tmp/*
    log "importing it as $MIGRATOR_BASE_IMAGE"
    tar --numeric-owner -C "$dir" -c . | podman import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["bash"]' \
        --message 'debootstrap --variant=minbase bookworm (slim)' \
        - "$MIGRATOR_BASE_IMAGE" >/dev/null
    rm -rf "$dir"
    trap - EXIT
}

image_source() {
    local url=""
    if [[ -n "${MIGRATOR_IMAGE_SOURCE:-}" ]]; then
        url="$MIGRATOR_IMAGE_SOURCE"
    elif url="$(git -C "$MIGRATOR_ROOT" config --get remote.origin.url 2>/dev/null)" && [[ -n "$url" ]]; then
        :
    else
        url="$(sed -n -E '/^\[project\.urls\]/,/^\[/{s/^(Source|Repository|Homepage)[[:space:]]*=[[:space:]]*"([^"]*)".*$/\2/p}' pyproject.toml | head -n1)"
    fi
    printf '%s\n' "${url:-https://example.invalid/migrator}"
}

image_size() { migrator_engine image inspect --format '{{.Size}}' "$1"; }

# sha256:... of a local image (podman: its manifest digest; docker: its repo digest,
# none for an image that was never pushed or pulled). Empty when there is none.
image_digest() {
    if [[ "$(migrator_detect_engine)" == docker ]]; then
        migrator_engine image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$1" 2>/dev/null |
            sed -n 's/^[^@]*@//p' | head -n1
    else
        migrator_engine image inspect --format '{{.Digest}}' "$1" 2>/dev/null || true
    fi
}

# A pinned base: present, or pulled. A digest names one image: debootstrap cannot
# make it, so a base that cannot be pulled is an error.
ensure_pinned_base() {
    local ref="$1"
    podman image exists "$ref" && return 0
    log "pulling $ref"
    if ! podman pull "$ref" >&2; then
        printf 'Error: base image %s is not on this machine and cannot be pulled\n' "$ref" >&2
        exit 1
    fi
}

main() {
    local engine version ref revision started base_digest base_ref
    started=$SECONDS
    base_digest="${MIGRATOR_BASE_DIGEST:-}"
    if [[ -n "$base_digest" && ! "$base_digest" =~ ^sha256:[0-9a-f]{64}$ ]]; then
        printf 'Error: MIGRATOR_BASE_DIGEST must be sha256:<64 hex digits>, got %q\n' "$base_digest" >&2
        exit 2
    fi
    engine="$(migrator_detect_engine)"
    if [[ "$engine" != docker ]]; then
        install_podman
        engine=podman
        export MIGRATOR_ENGINE=podman
        if [[ -n "$base_digest" ]]; then
            ensure_pinned_base "$MIGRATOR_BASE_IMAGE@$base_digest"
        elif ! podman image exists "$MIGRATOR_BASE_IMAGE"; then
            make_base_image
        fi
    fi
    # Unpinned: pin the base found now, so both stages and the labels name one image
    # even if the tag moves during the build.
    [[ -n "$base_digest" ]] || base_digest="$(image_digest "$MIGRATOR_BASE_IMAGE")"
    base_ref="$MIGRATOR_BASE_IMAGE${base_digest:+@$base_digest}"

    version="$(migrator_app_version)"
    ref="$(migrator_image_ref)"
    revision="${MIGRATOR_IMAGE_REVISION:-}"
    if [[ -z "$revision" ]]; then
        revision="$(git -C "$MIGRATOR_ROOT" rev-parse --verify -q HEAD 2>/dev/null)" || revision=unknown
    fi
    # Every label goes in twice: as the build arg the Dockerfile's LABEL reads (for a
    # plain `docker build` of the Dockerfile), and as --label. The second is what makes
    # it right: buildah's layer cache keys a LABEL step on its unexpanded text, so a
    # build whose only change is the commit reused the previous commit's label layer
    # (buildah issue #5501); --label values are part of its cache key.
    local labels=(
        "title=migrator"
        "version=$version"
        "revision=$revision"
        "source=$(image_source)"
        "base.name=$MIGRATOR_BASE_IMAGE"
    )
    # Empty values keep the Dockerfile's defaults.
    local description licenses
    description="$(migrator_pyproject_field description)"
    licenses="${MIGRATOR_IMAGE_LICENSES:-$(migrator_pyproject_field license)}"
    [[ -n "$description" ]] && labels+=("description=$description")
    [[ -n "$licenses" ]] && labels+=("licenses=$licenses")
    [[ -n "$base_digest" ]] && labels+=("base.digest=$base_digest")
    local build_args=(--build-arg "BASE_IMAGE=$MIGRATOR_BASE_IMAGE" --build-arg "BASE_DIGEST=$base_digest"
        -f image/Dockerfile -t "$ref") label key
    for label in "${labels[@]}"; do
        key="${label%%=*}"
        [[ "$key" == base.* ]] ||
            build_args+=(--build-arg "$(tr '[:lower:]' '[:upper:]' <<<"$key")=${label#*=}")
        build_args+=(--label "org.opencontainers.image.$label")
    done
    log "building $ref with $engine"
    if [[ "$engine" == docker ]]; then
        # BuildKit reads image/Dockerfile.dockerignore by itself.
        DOCKER_BUILDKIT=1 docker build "${build_args[@]}" "$@" .
    else
        # chroot isolation: no nested user namespaces or OCI runtime needed for RUN.
        # The host's CA bundle is overlay-mounted so pip trusts this machine's proxy;
        # whatever a RUN writes under /etc/ssl/certs is thrown away with it (the
        # Dockerfile builds Debian's bundle elsewhere and COPYs it).
        local mounts=()
        [[ -d /etc/ssl/certs ]] && mounts+=(-v /etc/ssl/certs:/etc/ssl/certs:O)
        [[ -d /usr/local/share/ca-certificates ]] &&
            mounts+=(-v /usr/local/share/ca-certificates:/usr/local/share/ca-certificates:ro)
        podman build --isolation chroot --network host --pull=never \
            --ignorefile image/Dockerfile.dockerignore \
            "${mounts[@]}" "${build_args[@]}" "$@" .
    fi

    # The labels are what an operator reads to know which commit runs: never leave
    # a stale one behind, whatever the engine's cache did.
    local got
    got="$(migrator_engine image inspect --format '{{index .Config.Labels "org.opencontainers.image.revision"}}' "$ref")"
    if [[ "$got" != "$revision" ]]; then
        printf 'Error: image %s was built with revision label %s, expected %s (stale build cache: re-run with --no-cache)\n' \
            "$ref" "$got" "$revision" >&2
        exit 1
    fi

    local size base delta
    size="$(image_size "$ref")"
    base="$(image_size "$base_ref")"
    delta=$((size - base))
    printf 'image %s: %d bytes (%.1f MB); base %s: %.1f MB; delta %.1f MB (limit 120 MB); built in %ds\n' \
        "$ref" "$size" "$(bc_mb "$size")" "$base_ref" "$(bc_mb "$base")" "$(bc_mb "$delta")" \
        $((SECONDS - started))
}

bc_mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1000000 }'; }

main "$@"
