#!/usr/bin/env bash
# The simulation over HTTP against its physical limit, side by side in one run (issue 15):
#   ours      the local runner (release build, embedded store, sample catalog), POST
#             /pvt/orderForms/simulation on loopback;
#   reference a bare hyper 1.x server (functions/simulation/examples/reference_server.rs) that
#             answers every request with our own answer bytes for that same body.
# Both under wrk (Debian package `wrk`, installed here if missing), same body, same settings, one
# after the other for each cart; prints req/s, p99 and the ratio ours / reference.
#
#   tests/bench/simulation_vs_hyper.sh                 # wrk -t2 -c32 -d5s, 3 rounds, 2 and 50 items
#   WRK_DURATION=4s WRK_CONNECTIONS=64 ROUNDS=5 tests/bench/simulation_vs_hyper.sh
#
# Each round measures ours, then the reference, back to back; the table shows each one's median
# req/s over the rounds and the median of the rounds' ratios (a round's two runs share the
# machine's load of the moment, which moves more between runs than any change here), plus the CPU
# each server spent per request (user + kernel, from /proc/<pid>/stat over all its rounds).
#   SKIP_BUILD=1 tests/bench/simulation_vs_hyper.sh    # reuse target/release as it is
#   BEFORE_BIN=/tmp/connector-local-old tests/bench/simulation_vs_hyper.sh
#                     # also an older build of the runner, in the same run against the same
#                     # reference (its answers must be byte-for-byte ours, or the run stops)
#
# Builds with the workspace's release profile (fat LTO; opt-level 3 for the simulation's crates and
# the runner, "z" for everything else: the root Cargo.toml) into the shared target/release; set
# CARGO_PROFILE_RELEASE_* to measure another profile.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
THREADS="${WRK_THREADS:-2}"
CONNECTIONS="${WRK_CONNECTIONS:-32}"
DURATION="${WRK_DURATION:-5s}"
ROUNDS="${ROUNDS:-3}"

if ! command -v wrk >/dev/null; then
  echo "==> installing wrk (apt)"
  (apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; })
fi
if [ -z "${SKIP_BUILD:-}" ]; then
  echo "==> cargo build --release (connector-local, reference_server)"
  cargo build --release -p local --bin connector-local -p simulation --example reference_server
fi
OURS_BIN="$ROOT/target/release/connector-local"
REF_BIN="$ROOT/target/release/examples/reference_server"

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "nothing listens on $1" >&2
  return 1
}

OURS_PORT=$(free_port)
PORT="$OURS_PORT" STANDIN_PORT="$(free_port)" CONNECTOR_DATA="$WORK/bench.db" RUST_LOG=warn \
  "$OURS_BIN" >"$WORK/ours.log" 2>&1 &
PIDS+=($!)
wait_port "$OURS_PORT"
if [ -n "${BEFORE_BIN:-}" ]; then
  BEFORE_PORT=$(free_port)
  PORT="$BEFORE_PORT" STANDIN_PORT="$(free_port)" CONNECTOR_DATA="$WORK/before.db" RUST_LOG=warn \
    "$BEFORE_BIN" >"$WORK/before.log" 2>&1 &
  PIDS+=($!)
  wait_port "$BEFORE_PORT"
fi
URL_PATH=/pvt/orderForms/simulation

# The carts: the README's two items, and the sample catalog's first 50 SKUs (one unit each),
# checkout to Rio de Janeiro (the carts of functions/simulation/benches/simulation.rs).
python3 - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
skus = json.load(open("shared/sample/catalog.json"))["skus"]
carts = {
    "2": [{"id": "2000037", "quantity": 1, "seller": "1"}, {"id": "34562", "quantity": 2, "seller": "1"}],
    "50": [{"id": s["id"], "quantity": 1, "seller": "1"} for s in skus[:50]],
}
for n, items in carts.items():
    body = {"items": items, "postalCode": "22051-030", "country": "BRA"}
    open(f"{work}/cart-{n}.json", "w").write(json.dumps(body))
    open(f"{work}/cart-{n}.lua", "w").write(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.body = {json.dumps(json.dumps(body))}\n')
PY

# wrk's "Requests/sec" and its 99th percentile (in ms).
run_wrk() {
  local url=$1 lua=$2 out
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$lua" "$url")
  if echo "$out" | grep -q "Non-2xx"; then
    echo "$out" >&2
    echo "non-2xx answers from $url" >&2
    return 1
  fi
  local rps p99 reqs
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  p99=$(echo "$out" | awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v=v*1000}; printf "%.2f", v}')
  echo "$rps $p99 $reqs"
}

# CPU ticks (user + system) a process has used so far.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
median() { python3 -c "import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }

echo
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $ROUNDS rounds, loopback, POST $URL_PATH"
echo
if [ -n "${BEFORE_BIN:-}" ]; then
  printf '| %-22s | %-24s | %-5s | %-24s | %-24s | %-5s |\n' "cart (checkout, Rio)" "before" "ratio" "ours" "bare hyper, same bytes" "ratio"
  printf '|%s|%s|%s|%s|%s|%s|\n' "------------------------" "--------------------------" "-------" "--------------------------" "--------------------------" "-------"
else
  printf '| %-22s | %-24s | %-24s | %-5s | %-22s |\n' "cart (checkout, Rio)" "ours" "bare hyper, same bytes" "ratio" "CPU/request ours / ref"
  printf '|%s|%s|%s|%s|%s|\n' "------------------------" "--------------------------" "--------------------------" "-------" "------------------------"
fi
for n in 2 50; do
  curl -fsS -o "$WORK/answer-$n.json" -H 'content-type: application/json' \
    --data-binary @"$WORK/cart-$n.json" "http://127.0.0.1:$OURS_PORT$URL_PATH"
  bytes=$(stat -c %s "$WORK/answer-$n.json")
  if [ -n "${BEFORE_BIN:-}" ]; then
    curl -fsS -o "$WORK/before-$n.json" -H 'content-type: application/json' \
      --data-binary @"$WORK/cart-$n.json" "http://127.0.0.1:$BEFORE_PORT$URL_PATH"
    cmp "$WORK/before-$n.json" "$WORK/answer-$n.json" || { echo "answers differ at $n items" >&2; exit 1; }
  fi
  REF_PORT=$(free_port)
  "$REF_BIN" "127.0.0.1:$REF_PORT" "$WORK/answer-$n.json" >"$WORK/ref-$n.log" 2>&1 &
  REF_PID=$!
  PIDS+=($REF_PID)
  wait_port "$REF_PORT"
  # Warm both (caches, connections), then measure ours and the reference back to back.
  wrk -t1 -c4 -d1s -s "$WORK/cart-$n.lua" "http://127.0.0.1:$OURS_PORT$URL_PATH" >/dev/null
  wrk -t1 -c4 -d1s -s "$WORK/cart-$n.lua" "http://127.0.0.1:$REF_PORT$URL_PATH" >/dev/null
  if [ -n "${BEFORE_BIN:-}" ]; then
    wrk -t1 -c4 -d1s -s "$WORK/cart-$n.lua" "http://127.0.0.1:$BEFORE_PORT$URL_PATH" >/dev/null
  fi
  OURS_PID=${PIDS[0]}
  b_rps=(); b_p99=(); o_rps=(); o_p99=(); r_rps=(); r_p99=(); ratios=(); b_ratios=()
  o_cpu=0; r_cpu=0; o_reqs=0; r_reqs=0
  for _ in $(seq 1 "$ROUNDS"); do
    if [ -n "${BEFORE_BIN:-}" ]; then
      read -r rps p99 _ < <(run_wrk "http://127.0.0.1:$BEFORE_PORT$URL_PATH" "$WORK/cart-$n.lua")
      b_rps+=("$rps"); b_p99+=("$p99")
    fi
    t0=$(ticks "$OURS_PID")
    read -r rps p99 reqs < <(run_wrk "http://127.0.0.1:$OURS_PORT$URL_PATH" "$WORK/cart-$n.lua")
    o_cpu=$((o_cpu + $(ticks "$OURS_PID") - t0)); o_reqs=$((o_reqs + reqs))
    o_rps+=("$rps"); o_p99+=("$p99")
    t0=$(ticks "$REF_PID")
    read -r rps p99 reqs < <(run_wrk "http://127.0.0.1:$REF_PORT$URL_PATH" "$WORK/cart-$n.lua")
    r_cpu=$((r_cpu + $(ticks "$REF_PID") - t0)); r_reqs=$((r_reqs + reqs))
    r_rps+=("$rps"); r_p99+=("$p99")
    ratios+=("$(python3 -c "print(${o_rps[-1]} / ${r_rps[-1]})")")
    if [ -n "${BEFORE_BIN:-}" ]; then
      b_ratios+=("$(python3 -c "print(${b_rps[-1]} / ${r_rps[-1]})")")
    fi
  done
  kill "$REF_PID" 2>/dev/null || true
  ours_rps=$(median "${o_rps[@]}"); ours_p99=$(median "${o_p99[@]}")
  ref_rps=$(median "${r_rps[@]}"); ref_p99=$(median "${r_p99[@]}")
  ratio=$(printf '%.2f' "$(median "${ratios[@]}")")
  tick_us=$((1000000 / $(getconf CLK_TCK)))
  cpu=$(python3 -c "print(f'{$o_cpu * $tick_us / $o_reqs:.1f} / {$r_cpu * $tick_us / $r_reqs:.1f} µs')")
  label="$n items ($((bytes / 1024)) KB answer)"
  if [ -n "${BEFORE_BIN:-}" ]; then
    before_rps=$(median "${b_rps[@]}"); before_p99=$(median "${b_p99[@]}")
    before_ratio=$(printf '%.2f' "$(median "${b_ratios[@]}")")
    printf '| %-22s | %-24s | %-5s | %-24s | %-24s | %-5s |\n' "$label" \
      "$(printf '%.0f req/s, p99 %s ms' "$before_rps" "$before_p99")" "$before_ratio" \
      "$(printf '%.0f req/s, p99 %s ms' "$ours_rps" "$ours_p99")" \
      "$(printf '%.0f req/s, p99 %s ms' "$ref_rps" "$ref_p99")" "$ratio"
  else
    printf '| %-22s | %-24s | %-24s | %-5s | %-22s |\n' "$label" \
      "$(printf '%.0f req/s, p99 %s ms' "$ours_rps" "$ours_p99")" \
      "$(printf '%.0f req/s, p99 %s ms' "$ref_rps" "$ref_p99")" "$ratio" "$cpu"
  fi
done
echo; echo "load after: $(cut -d" " -f1-3 /proc/loadavg)"
