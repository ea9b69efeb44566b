#!/usr/bin/env bash
# The whole test suite, on a fresh machine or a used one: installs what the tests need (a Python venv
# with moto, which speaks DynamoDB and SQS), starts moto on a free port, runs every Rust test against
# it, and stops it. Idempotent: the venv is reused when present.
#
#   tests/run.sh                 # everything
#   tests/run.sh -p simulation   # extra arguments go to `cargo test`
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV="$ROOT/.venv-aws"

if [ ! -x "$VENV/bin/moto_server" ]; then
  echo "==> installing moto (DynamoDB/SQS test server) into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check 'moto[server]>=5.1,<6'
fi

# The SAM transform `sam deploy` runs (aws-sam-translator), offline; cfn-lint alone never runs it.
if ! "$VENV/bin/python" -c 'import samtranslator' 2>/dev/null; then
  echo "==> installing aws-sam-translator (the SAM transform) into $VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check 'aws-sam-translator>=1.100,<2'
fi
echo "==> template.yaml: cfn-lint, the SAM transform, sample events vs deployed routes, cfn-lint of the result"
"$VENV/bin/cfn-lint" template.yaml
"$VENV/bin/python" tests/sam_transform.py --out target/sam/template.json
# W1028: the transform nests Fn::If [ImportEnabled, …] in the API body of a conditional route.
"$VENV/bin/cfn-lint" --ignore-checks W1028 -- target/sam/template.json

# Headless Chromium and its WebDriver for the console's browser test (shared/console/tests/browser.rs).
if ! command -v chromedriver >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1; then
  echo "==> installing chromium and chromium-driver (the console's browser test)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi
# The browser test refuses to skip when this is set.
export CONNECTOR_TEST_REQUIRE_BROWSER=1

# The real `bootstrap` binaries, which tests/tests/lambda_bootstraps.rs runs under a local Lambda
# Runtime API (`sam local invoke` without Docker). Same profile as the tests, so artifacts are shared.
BIN_PKGS=()
for d in functions/*/; do BIN_PKGS+=(-p "$(basename "$d")"); done
# The local runner's binary (connector-local), which seller-check's tests play VTEX against.
BIN_PKGS+=(-p local)
echo "==> building the function bootstraps (cargo build --bins ${BIN_PKGS[*]})"
cargo build --bins "${BIN_PKGS[@]}"
export CONNECTOR_BOOTSTRAP_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/debug"

PORT=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
LOG="${TMPDIR:-/tmp}/moto-$PORT.log"
"$VENV/bin/python" "$ROOT/tests/moto_server.py" -H 127.0.0.1 -p "$PORT" >"$LOG" 2>&1 &
MOTO_PID=$!
trap 'kill $MOTO_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  curl -fsS -o /dev/null "http://127.0.0.1:$PORT/moto-api/" && break
  sleep 0.1
done
curl -fsS -o /dev/null "http://127.0.0.1:$PORT/moto-api/" || { echo "moto did not start; see $LOG"; exit 1; }
echo "==> moto listening on 127.0.0.1:$PORT"

export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_MAX_ATTEMPTS=2
# Tests that need moto refuse to silently skip when this is set.
export CONNECTOR_TEST_REQUIRE_AWS=1
# VTEX's OpenAPI files, beside the repo (see ../shared/TOOLCHAIN.md); schema tests say so if absent.
export VTEX_OPENAPI_DIR="${VTEX_OPENAPI_DIR:-$ROOT/../shared/protocol/openapi}"
export VTEX_EXAMPLES_DIR="${VTEX_EXAMPLES_DIR:-$ROOT/../shared/protocol/examples}"

if [ $# -gt 0 ]; then
  cargo test "$@"
else
  cargo test --workspace --all-targets
fi
