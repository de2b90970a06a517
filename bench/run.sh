#!/usr/bin/env bash
# `make bench`: migrator, before and after a change, against dbmate, alembic and the floor
# (bench/README.md).
#
#   bash bench/run.sh [--before REF | --no-before] [--backfill] [--quick] [any option of bench/compare.py]
#
# --before REF  the build to compare with: the migrator package at git commit REF (default
#               afb3da8, the data layer before SQLAlchemy), exported with `git archive` into
#               bench/.work and installed like ours into bench/.venv-before (kept while REF
#               stays the same commit). The checkout is never touched.
# --backfill    also run bench/backfill_bench.py (1,000,000 rows on PostgreSQL, a few minutes)
#
# The peers live in their own venv, bench/.venv (bench/requirements.txt): they are
# benchmark-only dependencies, never the product's. "Ours" is this tree installed the
# way the image installs it, into bench/.venv-ours (or BENCH_MIGRATOR, when set).
# PostgreSQL (127.0.0.1:5432, user postgres, trust) and MariaDB (127.0.0.1:3306, root,
# no password) must answer (`make servers`); a dialect whose server does not answer is
# skipped and said so.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=bench/.venv
REQ=bench/requirements.txt
BEFORE_REF=afb3da8
BACKFILL=0
QUICK=0
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --before) BEFORE_REF=${2:?--before needs a git ref}; shift 2 ;;
    --before=*) BEFORE_REF=${1#--before=}; shift ;;
    --no-before) BEFORE_REF=; shift ;;
    --backfill) BACKFILL=1; shift ;;
    --quick) QUICK=1; args+=("$1"); shift ;;
    *) args+=("$1"); shift ;;
  esac
done

if [ ! -x "$VENV/bin/python" ] || ! cmp -s "$REQ" "$VENV/.requirements"; then
  echo "bench: installing the peers into $VENV" >&2
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQ"
  cp "$REQ" "$VENV/.requirements"
fi

# Ours is measured as the image installs it: a regular (not editable) install of this
# tree, with compiled bytecode, in a venv of its own. Reinstalled on every run, so it
# is always the working tree.
if [ -z "${BENCH_MIGRATOR:-}" ]; then
  OURS=bench/.venv-ours
  [ -x "$OURS/bin/python" ] || "$PYTHON" -m venv "$OURS"
  echo "bench: installing this tree into $OURS (not editable)" >&2
  # pip always reinstalls a project given as a folder; its dependencies only when missing
  "$OURS/bin/pip" install -q --disable-pip-version-check .
  export BENCH_MIGRATOR="$PWD/$OURS/bin/migrator"
fi

# Before: the package as it was at BEFORE_REF, installed the same way.
if [ -n "$BEFORE_REF" ]; then
  sha=$(git rev-parse --verify --quiet "$BEFORE_REF^{commit}") || { echo "bench: no commit $BEFORE_REF" >&2; exit 2; }
  BEFORE=bench/.venv-before
  if [ "$(cat "$BEFORE/.commit" 2>/dev/null)" != "$sha" ]; then
    echo "bench: installing migrator at ${sha:0:7} into $BEFORE (not editable)" >&2
    src=bench/.work/before-src
    rm -rf "$src" "$BEFORE"
    mkdir -p "$src"
    git archive "$sha" | tar -x -C "$src"
    "$PYTHON" -m venv "$BEFORE"
    "$BEFORE/bin/pip" install -q --disable-pip-version-check "./$src"
    echo "$sha" >"$BEFORE/.commit"
  fi
  args+=(--before "$BEFORE/bin/migrator" --before-label "$(git rev-parse --short "$sha")")
fi

status=0
"$VENV/bin/python" bench/compare.py "${args[@]}" || status=$?

# Backfill vs one plain UPDATE, 1,000,000 rows on PostgreSQL: on request (it takes minutes).
if [ "$BACKFILL" = 1 ]; then
  echo
  echo "### Backfill vs one plain UPDATE, 1,000,000 rows on PostgreSQL (bench/backfill_bench.py)"
  bpy=.venv/bin/python
  [ -x "$bpy" ] || bpy="$VENV/bin/python"
  bargs=()
  [ "$QUICK" = 1 ] && bargs+=(--repeat 1)
  "$bpy" bench/backfill_bench.py "${bargs[@]}" || status=$?
fi
exit $status
