#!/usr/bin/env bash
# The run command (README): sets up a bare machine, builds tdr, and runs its main job on the
# embedded defaults, data in ./tdr-data: the ingest daemon `tdr serve` (syslog on
# 127.0.0.1:5514 UDP+TCP, the spool folder ./tdr-data/incoming/, /metrics and /health on
# 127.0.0.1:9514). To show it working at once, a synthetic day of a 2 000-subscriber ISP is
# dropped into the spool, and once it is committed a few audited lookups are answered from it
# while the daemon runs. The daemon then keeps running until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tdr-target}"
if ! dpkg -s libclang-dev >/dev/null 2>&1 || ! command -v clang >/dev/null; then
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-dev pkg-config
fi
cargo build --release --locked --bins
TDR="$CARGO_TARGET_DIR/release/tdr"
GEN="$CARGO_TARGET_DIR/release/tdr-gen"
BENCH="$CARGO_TARGET_DIR/release/tdr-bench"
HTTP=127.0.0.1:9514

"$TDR" serve &
SERVE=$!
trap 'kill -TERM $SERVE 2>/dev/null; wait $SERVE' INT TERM
for _ in $(seq 100); do
  [ "$("$BENCH" metric --http $HTTP tdr_ready)" = 1 ] && break
  sleep 0.1
done

demo=./tdr-data/demo
mkdir -p "$demo"
"$GEN" generate --out "$demo" --subscribers 2000 --days 2 --seed 1 >/dev/null
# Into the spool by rename, so the daemon never sees a half-copied file.
cp "$demo/events.jsonl" ./tdr-data/incoming/.demo.tmp
mv ./tdr-data/incoming/.demo.tmp ./tdr-data/incoming/demo-events.jsonl
size=$(wc -c <./tdr-data/incoming/demo-events.jsonl)
echo "--- waiting for the daemon to commit the spool file ($size bytes) ---"
until [ "$("$BENCH" metric --http $HTTP tdr_checkpoint_offset_bytes 'source="spool"')" -ge "$size" ]; do
  sleep 0.2
done
"$BENCH" metric --http $HTTP tdr_events_total | sed 's/^/events applied: /'
"$GEN" queries --truth "$demo/truth.jsonl" --n 5 --seed 1 --out "$demo/queries.jsonl" --expect "$demo/expect.jsonl"
echo "--- five audited lookups while the daemon runs (case DEMO-1, purpose law-enforcement) ---"
"$TDR" lookup --batch "$demo/queries.jsonl" --purpose law-enforcement --case DEMO-1
"$TDR" audit verify
cat <<EOF
--- tdr serve is running (pid $SERVE) ---
  metrics:  curl http://$HTTP/metrics        health: curl http://$HTTP/health
  syslog:   127.0.0.1:5514 UDP and TCP (programs: tdr = events, NAT = vpp-nat, kernel = jool)
  spool:    drop files into ./tdr-data/incoming/ (events format) or ./tdr-data/incoming/<format>/
  Ctrl-C stops it (it commits what it read and exits 0).
EOF
wait $SERVE
