#!/usr/bin/env bash
# Benchmark of the real bootstraps as Lambda runs them (tests/tests/lambda_bench.rs): release bins
# of every function, built natively (x86_64 here; the deployed ones are arm64, see
# tests/sam_build.sh), started under the local Lambda Runtime API against moto. Prints a Markdown
# table (tests/BENCHMARKS.md has the latest, with the command).
#
#   tests/bench/lambda.sh                                   # 10 cold starts, 200 warm invokes
#   LAMBDA_BENCH_COLD_RUNS=20 LAMBDA_BENCH_WARM_INVOKES=500 tests/bench/lambda.sh
#
# The release bins go to their own target dir (target/bench) so the build never holds the lock
# of the default one that `cargo test` uses.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
VENV="$ROOT/.venv-aws"
BENCH_TARGET="${BENCH_TARGET_DIR:-$ROOT/target/bench}"

if [ ! -x "$VENV/bin/moto_server" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check 'moto[server]>=5.1,<6'
fi

PKGS=()
for d in functions/*/; do PKGS+=(-p "$(basename "$d")"); done
echo "==> cargo build --release --bins ${PKGS[*]} (target dir $BENCH_TARGET)"
start=$(date +%s)
CARGO_TARGET_DIR="$BENCH_TARGET" cargo build --release --bins "${PKGS[@]}"
echo "==> release build took $(($(date +%s) - start))s"

PORT=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
LOG="${TMPDIR:-/tmp}/moto-$PORT.log"
"$VENV/bin/python" "$ROOT/tests/moto_server.py" -H 127.0.0.1 -p "$PORT" >"$LOG" 2>&1 &
MOTO_PID=$!
trap 'kill $MOTO_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  curl -fsS -o /dev/null "http://127.0.0.1:$PORT/moto-api/" && break
  sleep 0.1
done

export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_MAX_ATTEMPTS=2
export CONNECTOR_TEST_REQUIRE_AWS=1
export CONNECTOR_BOOTSTRAP_DIR="$BENCH_TARGET/release"
cargo test -p connector-tests --test lambda_bench -- --ignored --nocapture --test-threads 1 2>&1 \
  | grep -v '^{"timestamp"'
