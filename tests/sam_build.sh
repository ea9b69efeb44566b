#!/usr/bin/env bash
# `sam build` of every function (cargo-lambda, arm64, provided.al2023), on a fresh clone or a used one.
#
# Installs what it needs, idempotently: a Python venv (.venv-sam, git-ignored) with the SAM CLI,
# cargo-lambda and Zig (the arm64 cross linker cargo-lambda drives), and the aarch64 Rust target.
# Then runs `sam build --beta-features` (rust-cargolambda is a beta build method) and prints the
# build time and each function's bootstrap size, failing if one is missing or over the 10 MB budget.
#
#   tests/sam_build.sh                       # build every function into .aws-sam/build
#   tests/sam_build.sh --parallel            # extra arguments go to `sam build`
#   TEMPLATE=other.yaml tests/sam_build.sh   # another template (default template.yaml)
#
# The cross build uses its own Cargo target directory (CARGO_TARGET_DIR, default target/lambda-arm64)
# so a long release build never holds the lock of the default target dir that `cargo test` uses.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV="$ROOT/.venv-sam"
MAX_BYTES=$((10 * 1024 * 1024))

if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating $VENV"
  python3 -m venv "$VENV"
fi
need=()
[ -x "$VENV/bin/sam" ] || need+=('aws-sam-cli')
[ -x "$VENV/bin/cargo-lambda" ] || need+=('cargo-lambda>=1.8,<2')
"$VENV/bin/python" -c 'import ziglang' 2>/dev/null || need+=('ziglang')
if [ ${#need[@]} -gt 0 ]; then
  echo "==> installing ${need[*]} into $VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "${need[@]}"
fi
# cargo-lambda looks for `zig` on PATH; the ziglang wheel ships the binary inside the package.
if [ ! -x "$VENV/bin/zig" ]; then
  ZIG_DIR=$("$VENV/bin/python" -c 'import ziglang, os; print(os.path.dirname(ziglang.__file__))')
  ln -sf "$ZIG_DIR/zig" "$VENV/bin/zig"
fi
if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  echo "==> rustup target add aarch64-unknown-linux-gnu"
  rustup target add aarch64-unknown-linux-gnu
fi

export PATH="$VENV/bin:$PATH"
export SAM_CLI_TELEMETRY=0
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target/lambda-arm64}"
TEMPLATE="${TEMPLATE:-template.yaml}"

echo "==> sam build --beta-features (target dir $CARGO_TARGET_DIR)"
start=$(date +%s)
sam build --beta-features -t "$TEMPLATE" "$@"
elapsed=$(($(date +%s) - start))

echo "==> sam build took ${elapsed}s; bootstraps (arm64):"
status=0
found=0
for dir in .aws-sam/build/*/; do
  boot="$dir/bootstrap"
  [ -f "$boot" ] || continue
  found=$((found + 1))
  size=$(stat -c %s "$boot")
  # ELF e_machine at offset 18: 0xb7 = aarch64, 0x3e = x86-64.
  machine=$(od -An -tx1 -j18 -N1 "$boot" | tr -d ' ')
  case "$machine" in b7) arch=arm64 ;; 3e) arch=x86_64 ;; *) arch="e_machine=0x$machine" ;; esac
  printf '  %-32s %10d bytes  %6.2f MiB  %s\n' "$(basename "$dir")" "$size" \
    "$(awk -v s="$size" 'BEGIN { print s / 1048576 }')" "$arch"
  if [ "$arch" != arm64 ]; then
    echo "  ^ not an arm64 binary" >&2
    status=1
  fi
  if [ "$size" -gt "$MAX_BYTES" ]; then
    echo "  ^ over the 10 MB bootstrap budget" >&2
    status=1
  fi
done
expected=$(grep -c 'BuildMethod: rust-cargolambda' "$TEMPLATE")
if [ "$found" -lt "$expected" ]; then
  echo "only $found bootstraps built; template.yaml declares $expected cargo-lambda functions" >&2
  status=1
fi
exit $status
