# List the recipes
help:
    @just --list

# Run the server on the embedded SQLite database (development mode prints a token)
run:
    cargo run --release --bin syncd

# Run every test; PostgreSQL suites run when SYNCD_TEST_DATABASE_URL is set
test:
    bash scripts/test.sh

# Formatting check and clippy with warnings as errors
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings

# Exactly what CI runs (starts PostgreSQL if it is down)
ci:
    bash .ci/run

# Benchmarks: syncd on SQLite and PostgreSQL beside the CouchDB-protocol peer
bench:
    bash scripts/bench.sh
