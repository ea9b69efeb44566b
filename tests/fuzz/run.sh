#!/usr/bin/env bash
# Fuzzes every inbound parser, one target after the other (libFuzzer via cargo-fuzz).
#
#   tests/fuzz/run.sh            # every target, 60 s each
#   tests/fuzz/run.sh 600        # every target, 10 min each
#   tests/fuzz/run.sh 300 cancel # one target
#
# Works on a stable toolchain: cargo-fuzz needs nightly-only flags, which RUSTC_BOOTSTRAP=1
# allows. No sanitizer: the code under test is safe Rust over an in-memory store, so AddressSanitizer
# would find nothing and halve the speed; panics (including integer overflow, checked in this
# build) are what we look for. Corpora are seeded from events/ and the protocol examples, and grow
# in tests/fuzz/corpus/<target>; crashes land in tests/fuzz/artifacts/<target> and reproduce with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run -s none --fuzz-dir tests/fuzz <target> <artifact>
# Not part of tests/run.sh (CI has no time for it).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
FUZZ=$ROOT/tests/fuzz
SECONDS_PER_TARGET=${1:-60}
shift || true
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "==> installing cargo-fuzz (a few minutes, once)"
  cargo install cargo-fuzz --locked
fi

TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  mapfile -t TARGETS < <(cargo fuzz list --fuzz-dir "$FUZZ")
fi

EXAMPLES="${VTEX_EXAMPLES_DIR:-$ROOT/../shared/protocol/examples}"
echo "==> seeding corpora from events/ and $EXAMPLES"
python3 "$FUZZ/seed.py" "$ROOT/events" "$EXAMPLES" "$FUZZ/corpus"

mkdir -p "$FUZZ/logs"
echo "==> building"
cargo fuzz build -s none --fuzz-dir "$FUZZ"

status=0
for t in "${TARGETS[@]}"; do
  echo "==> $t for ${SECONDS_PER_TARGET}s"
  mkdir -p "$FUZZ/corpus/$t" "$FUZZ/artifacts/$t"
  if cargo fuzz run -s none --fuzz-dir "$FUZZ" "$t" "$FUZZ/corpus/$t" -- \
      -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -dict="$FUZZ/json.dict" >"$FUZZ/logs/$t.log" 2>&1; then
    grep -E '^#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::peak_rss_mb' "$FUZZ/logs/$t.log" || true
  else
    status=1
    echo "!! $t failed; see $FUZZ/logs/$t.log and $FUZZ/artifacts/$t"
    grep -E 'panicked|Test unit written|SUMMARY' "$FUZZ/logs/$t.log" | head -5 || true
  fi
done
exit $status
