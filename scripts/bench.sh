#!/usr/bin/env bash
# Benchmarks (`just bench`): builds release binaries, runs syncd on SQLite and on PostgreSQL, drives
# each with syncd-loadgen, then runs the CouchDB-protocol peer (pouchdb-server) on the same machine
# in the same run. Everything listens on 127.0.0.1, every step has a time limit, and every process
# and temporary database is removed at the end.
#
#   bash scripts/bench.sh                 # everything
#   BACKENDS=sqlite bash scripts/bench.sh # one backend
#   BACKENDS=postgres-plain bash scripts/bench.sh # PostgreSQL without TLS (sslmode=disable)
#   PEER=0 bash scripts/bench.sh          # without the peer
#   SYNCD=/path/to/old/syncd TAG=old bash scripts/bench.sh # another server binary (an A/B run:
#                                         # alternate two binaries, results tagged apart)
#   SCENARIOS="push-16apps notify-4apps" bash scripts/bench.sh # some scenarios only
#
# Results: target/bench/<backend>-<scenario>[-<tag>].json and a summary on stdout. Every push and
# notify scenario reports median, p90, p99 and max latency.
set -euo pipefail
cd "$(dirname "$0")/.."

BACKENDS=${BACKENDS:-"sqlite postgres"}
PEER=${PEER:-1}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PEER_DIR=${PEER_DIR:-../shared/peers/pouchdb}
OUT=target/bench
mkdir -p "$OUT"

# SYNCD and LOADGEN may name binaries built elsewhere (e.g. from the commit before a change);
# only what is not given is built here.
if [ -z "${SYNCD:-}" ] || [ -z "${LOADGEN:-}" ]; then
  cargo build --release -p syncd -p syncd-loadgen
fi
SYNCD=${SYNCD:-$PWD/target/release/syncd}
LOADGEN=${LOADGEN:-$PWD/target/release/syncd-loadgen}
TAG=${TAG:-}
SCENARIOS=${SCENARIOS:-}
SECRET="bench-$(date +%s)-$RANDOM"

# shellcheck source=bench-server.sh
. scripts/bench-server.sh
trap stop_server EXIT

loadgen() { # backend scenario args...
  local backend=$1 name=$2
  shift 2
  if [ -n "$SCENARIOS" ] && [[ " $SCENARIOS " != *" $name "* ]]; then return 0; fi
  echo "--- $backend: $name${TAG:+ ($TAG)}"
  timeout 900 "$LOADGEN" --url "http://127.0.0.1:$PORT" --secret "$SECRET" \
    --json "$OUT/$backend-$name${TAG:+-$TAG}.json" "$@"
}

run_backend() { # name url
  local backend=$1
  start_server "$2" "ws_connections_per_tenant = 20000"
  loadgen "$backend" push-1app push --apps 1 --batches 200 --batch-size 100
  loadgen "$backend" push-2apps push --apps 2 --batches 100 --batch-size 100
  loadgen "$backend" push-4apps push --apps 4 --batches 50 --batch-size 100
  loadgen "$backend" push-4apps-4tenants push --apps 4 --tenants 4 --batches 50 --batch-size 100
  # Many devices of one tenant writing at once: what group commit is for.
  loadgen "$backend" push-16apps push --apps 16 --batches 25 --batch-size 100
  loadgen "$backend" pull-10k pull --records 10000 --page 10000 --rounds 5
  loadgen "$backend" pull-100k pull --records 100000 --page 10000 --rounds 3
  loadgen "$backend" notify notify --trials 200
  # Notification latency under load, the figure users feel.
  loadgen "$backend" notify-4apps notify --trials 200 --background 4
  loadgen "$backend" fanout-100 fanout --listeners 100 --rounds 10
  loadgen "$backend" fanout-1000 fanout --listeners 1000 --rounds 10
  loadgen "$backend" idle idle --connections 10000 --server-pid "$SERVER_PID"
  stop_server
}

for backend in $BACKENDS; do
  case $backend in
    sqlite)
      dir=$(mktemp -d)
      run_backend sqlite "sqlite://$dir/bench.db?mode=rwc"
      rm -rf "$dir"
      ;;
    postgres|postgres-plain)
      # postgres: sqlx's default sslmode=prefer (TLS, also on loopback); postgres-plain: no TLS,
      # as a server on the database's own machine would connect.
      db="syncd_bench_$(date +%s)_$RANDOM"
      params=""
      if [ "$backend" = postgres-plain ]; then params="?sslmode=disable"; fi
      psql -q "$PG_ADMIN_URL" -c "CREATE DATABASE $db" >/dev/null
      run_backend "$backend" "${PG_ADMIN_URL%/*}/$db$params"
      psql -q "$PG_ADMIN_URL" -c "DROP DATABASE $db WITH (FORCE)" >/dev/null
      ;;
    *) echo "unknown backend $backend" >&2; exit 2 ;;
  esac
done

if [ "$PEER" = 1 ]; then
  if [ -x "$PEER_DIR/run.sh" ]; then
    echo "--- peer: pouchdb-server (LevelDB)"
    (cd "$PEER_DIR" && MODES=leveldb timeout 900 ./run.sh) || echo "the peer run failed" >&2
  else
    echo "--- peer: $PEER_DIR/run.sh not found; skipped" >&2
  fi
fi
