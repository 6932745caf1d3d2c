#!/usr/bin/env bash
# Every test of the project: the Rust workspace, then each JavaScript package (the client SDK, the
# React bindings, the console's browser tests) against the workspace's own `syncd` binary.
#
#   bash scripts/test.sh            # everything
#   JS=0 bash scripts/test.sh       # Rust only
#   RUST=0 bash scripts/test.sh     # JavaScript only (builds the syncd binary first)
#
# PostgreSQL suites run when SYNCD_TEST_DATABASE_URL is set (`.ci/run` sets it).
set -euo pipefail
cd "$(dirname "$0")/.."

RUST=${RUST:-1}
JS=${JS:-1}

if [ "$RUST" = 1 ]; then
  cargo test --workspace --locked
fi

if [ "$JS" = 1 ]; then
  # The browser tests (the SDK's IndexedDB storage, the console) drive Debian's Chromium; a fresh
  # machine gets it from the package registry first, so that no browser test is skipped.
  if [ ! -x /usr/bin/chromium ]; then
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
  fi
  # The JavaScript suites start this binary on free ports of 127.0.0.1.
  cargo build --locked --bin syncd
  export SYNCD_BIN="$PWD/target/debug/syncd"
  for pkg in clients/js clients/react console; do
    [ -f "$pkg/package.json" ] || continue
    echo "== $pkg"
    (cd "$pkg" && npm ci --no-audit --no-fund && npm run --if-present typecheck && npm test)
  done
fi
