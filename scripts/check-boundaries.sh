#!/usr/bin/env bash
# The dependency rules of docs/architecture.md, as commands that fail: a library crate never
# depends on actix; only syncd-store-sea and the migrations depend on SeaORM; the model and the
# conflict strategies need no async runtime.
set -euo pipefail
cd "$(dirname "$0")/.."

failed=0
forbid() { # crate dependency
  local out
  # `cargo tree -i` prints nothing (and says so on stderr) when the crate does not reach it.
  out=$(cargo tree --locked -p "$1" -e normal -i "$2" 2>/dev/null || true)
  if [ -n "$out" ]; then
    echo "boundary broken: $1 depends on $2:" >&2
    echo "$out" >&2
    failed=1
  fi
}

for dep in actix-web sea-orm sqlx tokio; do
  forbid syncd-model "$dep"
  forbid syncd-conflict "$dep"
done
for dep in actix-web sea-orm sqlx; do
  forbid syncd-store "$dep"
  forbid syncd-core "$dep"
done
forbid syncd-hub actix-web
forbid syncd-hub sea-orm
forbid syncd-store-sea actix-web
forbid syncd-store-contract sea-orm
forbid embed-axum actix-web

[ "$failed" = 0 ] && echo "dependency boundaries hold"
exit "$failed"
