#!/usr/bin/env bash
# Maintenance over 1,000,000 versions (issue 14): seeds a fresh database, runs `syncd maintenance`
# once beside a running server, and measures the push latency of a steady pusher before and
# during the run. Everything listens on 127.0.0.1, every step has a time limit, and the server
# and the temporary database are removed at the end.
#
#   bash scripts/bench-maintenance.sh                   # SQLite and PostgreSQL
#   BACKENDS=sqlite bash scripts/bench-maintenance.sh   # one backend
#   BATCH=5000 bash scripts/bench-maintenance.sh        # another `sync.maintenance_batch`
#   RECORDS=1000 COPIES=9 BASELINE_SECS=2 bash scripts/bench-maintenance.sh  # a quick check
#
# Seeding: the server creates RECORDS records (a multiple of 1000) of tenant `seed`, one version
# each, through pushes; then one SQL statement copies every version row COPIES times with higher
# version numbers and `at = 0` (1970), straight into `record_versions` (the schema of
# migrations/, the same statement on both backends): RECORDS × (COPIES + 1) versions, of which
# RECORDS × COPIES are past the history window and not current, so the history purge deletes
# them; the current versions stay. The pusher writes to the same tenant.
#
# Results: target/bench/maintenance-<backend>-{baseline,during}.json, the maintenance report and
# a summary on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."

BACKENDS=${BACKENDS:-"sqlite postgres"}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
RECORDS=${RECORDS:-10000}
COPIES=${COPIES:-99}
BATCH=${BATCH:-1000}
OUT=target/bench
mkdir -p "$OUT"

if [ -z "${SYNCD:-}" ] || [ -z "${LOADGEN:-}" ]; then
  cargo build --release -p syncd -p syncd-loadgen
fi
SYNCD=${SYNCD:-$PWD/target/release/syncd}
LOADGEN=${LOADGEN:-$PWD/target/release/syncd-loadgen}
SECRET="bench-$(date +%s)-$RANDOM"

# shellcheck source=bench-server.sh
. scripts/bench-server.sh
PUSHER_PID=""
cleanup() {
  if [ -n "$PUSHER_PID" ]; then kill -TERM "$PUSHER_PID" 2>/dev/null || true; fi
  stop_server
}
trap cleanup EXIT

# No scheduled run: the one measured is started by the script.
SYNC_TOML="[sync]
maintenance_interval_secs = 0
maintenance_batch = $BATCH"

loadgen() { # args...
  timeout 900 "$LOADGEN" --url "http://127.0.0.1:$PORT" --secret "$SECRET" --tenant seed "$@"
}

# The copy statement both dialects run: a recursive series, one row per copy of each version.
COPY_SQL="WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < $COPIES)
INSERT INTO record_versions (tenant_id, entity_type, id, version, seq, kind, data, deleted,
  changed_fields, client_id, subject, at)
SELECT v.tenant_id, v.entity_type, v.id, v.version + g.n, v.seq, v.kind, v.data, v.deleted,
  v.changed_fields, v.client_id, v.subject, 0
FROM record_versions v, g WHERE v.tenant_id = 'seed';"

run_backend() { # name url sql-command...
  local backend=$1 url=$2
  shift 2
  start_server "$url" "$SYNC_TOML"
  echo "--- $backend: seeding $RECORDS records, then $((RECORDS * COPIES)) old versions by SQL"
  # The push scenario's warm-up push is one batch of the RECORDS.
  loadgen push --apps 1 --batches $((RECORDS / 1000 - 1)) --batch-size 1000 >/dev/null
  local t0=$SECONDS
  echo "$COPY_SQL" | timeout 900 "$@"
  echo "versions: $(echo "SELECT count(*) FROM record_versions;" | "$@" | tr -d ' ' | grep -E '^[0-9]+$') (copied in $((SECONDS - t0)) s)"

  echo "--- $backend: push latency, nothing else running"
  loadgen --json "$OUT/maintenance-$backend-baseline.json" steady --seconds "${BASELINE_SECS:-15}"
  echo "--- $backend: push latency during \`syncd maintenance\` (batch $BATCH)"
  touch "$WORKDIR/running"
  loadgen --json "$OUT/maintenance-$backend-during.json" steady --seconds 900 --while-file "$WORKDIR/running" &
  PUSHER_PID=$!
  sleep 2
  local started
  started=$(date +%s.%N)
  (cd "$WORKDIR" && SYNCD_DATABASE_URL="$url" timeout 900 "$SYNCD" --config syncd.toml maintenance)
  echo "maintenance wall time: $(python3 -c "import time; print(round(time.time() - $started, 2))") s"
  rm -f "$WORKDIR/running"
  wait "$PUSHER_PID"
  PUSHER_PID=""
  echo "versions left: $(echo "SELECT count(*) FROM record_versions;" | "$@" | tr -d ' ' | grep -E '^[0-9]+$')"
  stop_server
}

for backend in $BACKENDS; do
  case $backend in
    sqlite)
      dir=$(mktemp -d)
      run_backend sqlite "sqlite://$dir/bench.db?mode=rwc" sqlite3 -cmd ".timeout 60000" "$dir/bench.db"
      rm -rf "$dir"
      ;;
    postgres)
      db="syncd_bench_maint_$(date +%s)_$RANDOM"
      psql -q "$PG_ADMIN_URL" -c "CREATE DATABASE $db" >/dev/null
      run_backend postgres "${PG_ADMIN_URL%/*}/$db" psql -q -t -v ON_ERROR_STOP=1 "${PG_ADMIN_URL%/*}/$db"
      psql -q "$PG_ADMIN_URL" -c "DROP DATABASE $db WITH (FORCE)" >/dev/null
      ;;
    *) echo "unknown backend $backend" >&2; exit 2 ;;
  esac
done
