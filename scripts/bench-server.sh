# Sourced by the benchmark scripts: one syncd server at a time on a free port of 127.0.0.1, with
# its own directory and configuration, stopped by its pid. Needs SYNCD and SECRET set.

SERVER_PID=""
WORKDIR=""

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Stops the server and removes its directory; safe to call when none runs (an EXIT trap).
stop_server() {
  if [ -n "$SERVER_PID" ]; then kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  SERVER_PID=""
  if [ -n "$WORKDIR" ]; then rm -rf "$WORKDIR"; fi
  WORKDIR=""
}

start_server() { # url [more TOML, appended after the [limits] table]
  WORKDIR=$(mktemp -d)
  PORT=$(free_port)
  cat > "$WORKDIR/syncd.toml" <<TOML
log = "warn"
[server]
bind = "127.0.0.1:$PORT"
[limits]
# The load generator is one tenant hammering from one machine; the per-subject rate limit
# would measure the limiter, not the server.
requests_per_second = 1000000
burst = 1000000
${2:-}
TOML
  # The idle scenario holds 10,000 WebSockets beside the load generator's other connections:
  # above the default server.max_connections (10,000), past which connections wait in the
  # backlog. Set from the environment, which binaries from before that setting ignore.
  (cd "$WORKDIR" && SYNCD_SERVER__MAX_CONNECTIONS=20000 SYNCD_DATABASE_URL="$1" SYNCD_JWT_SECRET="$SECRET" exec "$SYNCD" --config syncd.toml serve >"$WORKDIR/server.log" 2>&1) &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    if curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "syncd did not become ready; its log:" >&2
  cat "$WORKDIR/server.log" >&2
  return 1
}
