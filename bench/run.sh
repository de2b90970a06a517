#!/usr/bin/env bash
# `make bench`: migrator against dbmate, alembic, yoyo and the floor (bench/README.md).
#
#   bash bench/run.sh [--quick] [any option of bench/compare.py]
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

status=0
"$VENV/bin/python" bench/compare.py "$@" || status=$?

# Scenario 3 (verify on 2,000 tables) is another engineer's script; run it when present.
if [ -f bench/verify_bench.py ]; then
  echo
  echo "### 3. verify on a schema of 2,000 tables (bench/verify_bench.py)"
  vpy=.venv/bin/python
  [ -x "$vpy" ] || vpy="$VENV/bin/python"
  vargs=()
  for a in "$@"; do  # --quick: fewer runs there too, if it takes such an option
    if [ "$a" = "--quick" ]; then
      vhelp=$("$vpy" bench/verify_bench.py --help 2>/dev/null || true)
      if grep -q -- --quick <<<"$vhelp"; then vargs+=(--quick)
      elif grep -q -- --runs <<<"$vhelp"; then vargs+=(--runs 3)
      fi
    fi
  done
  # bytecode cached as compare.py does it (an installed package ships its .pyc)
  env -u PYTHONDONTWRITEBYTECODE PYTHONPYCACHEPREFIX="$PWD/bench/.work/pycache" \
    "$vpy" bench/verify_bench.py "${vargs[@]}" || status=$?
fi
# Scenario 5: backfill vs one plain UPDATE, 1,000,000 rows on PostgreSQL (bench/backfill_bench.py).
if [ -f bench/backfill_bench.py ]; then
  echo
  echo "### 5. backfill vs one plain UPDATE, 1,000,000 rows on PostgreSQL (bench/backfill_bench.py)"
  bpy=.venv/bin/python
  [ -x "$bpy" ] || bpy="$VENV/bin/python"
  bargs=()
  for a in "$@"; do [ "$a" = "--quick" ] && bargs+=(--repeat 1); done
  "$bpy" bench/backfill_bench.py "${bargs[@]}" || status=$?
fi
exit $status
