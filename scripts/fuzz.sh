#!/usr/bin/env bash
# Fuzzes the HTTP API from its own OpenAPI document: schemathesis (from PyPI, into a venv under
# target/) generates requests for every operation of GET /openapi.json, valid and invalid, NUL
# bytes included, against a real `syncd` on SQLite and, when SYNCD_TEST_DATABASE_URL is set, on
# a PostgreSQL database of its own. The run fails on any 5xx, on a response whose body does not
# match the document, or on a response that is not the declared content type.
#
#   bash scripts/fuzz.sh                  # 20 examples per operation and phase
#   FUZZ_EXAMPLES=200 bash scripts/fuzz.sh
#
# Servers listen on free ports of 127.0.0.1 and are stopped by their pid.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

EXAMPLES=${FUZZ_EXAMPLES:-20}
SCHEMATHESIS=schemathesis==4.32.5
VENV=$ROOT/target/fuzz-venv
WORK=$(mktemp -d)
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('schemathesis') != '${SCHEMATHESIS#*==}')" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "$SCHEMATHESIS"
fi

cargo build --locked --bin syncd
BIN=$PWD/target/debug/syncd
SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(32))')

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# fuzz NAME DATABASE_URL
fuzz() {
  local name=$1 url=$2 port dir pid token
  port=$(free_port)
  dir="$WORK/$name"
  mkdir -p "$dir"
  (
    cd "$dir"
    exec env SYNCD_BIND="127.0.0.1:$port" SYNCD_DATABASE_URL="$url" SYNCD_JWT_SECRET="$SECRET" \
      SYNCD_SYNC__ENTITIES_FILE="$ROOT/examples/entities.toml" \
      SYNCD_LIMITS__REQUESTS_PER_SECOND=1000000 SYNCD_LIMITS__BURST=1000000 \
      SYNCD_LOG=warn "$BIN" serve >"$dir/server.log" 2>&1
  ) &
  pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 200); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { cat "$dir/server.log"; echo "fuzz ($name): the server exited" >&2; return 1; }
    sleep 0.1
  done
  token=$(SYNCD_JWT_SECRET="$SECRET" "$BIN" token --tenant fuzz --sub fuzzer --client-id fuzz-app --role admin)
  echo "== fuzz ($name): $EXAMPLES examples per operation"
  local status=0
  # Run from the scratch directory: schemathesis keeps a cache in its working directory. One
  # worker: the generator's caches are not safe across threads in this version.
  (cd "$dir" && "$VENV/bin/schemathesis" run "http://127.0.0.1:$port/openapi.json" \
    --header "Authorization: Bearer $token" \
    --checks not_a_server_error,response_schema_conformance,content_type_conformance \
    --max-examples "$EXAMPLES" --seed 16 --workers 1 --request-timeout 20 \
    --generation-allow-x00 true --generation-database none \
    --suppress-health-check all --no-color --warnings off) || status=$?
  if grep -qi "panicked" "$dir/server.log"; then
    echo "fuzz ($name): the server panicked:" >&2
    grep -i -A5 "panicked" "$dir/server.log" >&2
    status=1
  fi
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  return "$status"
}

fuzz sqlite "sqlite://$WORK/fuzz.db?mode=rwc"

if [ -n "${SYNCD_TEST_DATABASE_URL:-}" ]; then
  db="syncd_fuzz_$(python3 -c 'import uuid; print(uuid.uuid4().hex)')"
  psql "$SYNCD_TEST_DATABASE_URL" -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $db" >/dev/null
  base=${SYNCD_TEST_DATABASE_URL%/*}
  status=0
  fuzz postgres "$base/$db" || status=$?
  psql "$SYNCD_TEST_DATABASE_URL" -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null || true
  [ "$status" = 0 ] || exit "$status"
else
  echo "fuzz (postgres): skipped, SYNCD_TEST_DATABASE_URL not set"
fi
