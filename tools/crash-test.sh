#!/usr/bin/env bash
# Crash test for `tdr serve`: while a feeder writes event lines into two files and rotates them
# (rename + create with delayed gzip, and copytruncate), kill -9 the daemon at random moments
# KILLS times, restarting it each time. Then let it catch up, stop it with SIGTERM (it must exit
# 0 within 10 s), and compare its store with a clean import of the feeder's ledger (every line
# in write order): the same bindings, and exactly as many records read as lines written. A line
# lost or read twice fails the test.
#
#   tools/crash-test.sh [KILLS] [LINES] [RATE]      defaults: 20 kills, 60000 lines, 2000 lines/s
#
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tdr-target}"
# `tdr-bench dump` (the store comparison) is a test helper: built with the testkit feature.
cargo build --release --locked --workspace --features testkit --bins >/dev/null 2>&1 ||
  cargo build --release --locked --workspace --features testkit --bins

KILLS="${1:-20}"
LINES="${2:-60000}"
RATE="${3:-2000}"
BIN="$CARGO_TARGET_DIR/release"
TDR="$BIN/tdr"
BENCH="$BIN/tdr-bench"
for b in "$TDR" "$BENCH"; do
  [ -x "$b" ] || { echo "missing $b: run cargo build --release --workspace --bins first"; exit 1; }
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/tdr-crash.XXXXXX")"
PORT=$((20000 + RANDOM % 20000))
cleanup() {
  [ -n "${SERVE_PID:-}" ] && kill -9 "$SERVE_PID" 2>/dev/null || true
  [ -n "${FEED_PID:-}" ] && kill "$FEED_PID" 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

cat >"$WORK/tdr.toml" <<EOF
version = 1
data_dir = "$WORK/serve-data"
syslog = []
[serve]
http_listen = "127.0.0.1:$PORT"
spool = false
poll_interval_ms = 200
flush_interval_ms = 100
[store]
batch_events = 5000
[[file]]
name = "a"
path = "$WORK/feed/a/current.log*"
format = "events"
[[file]]
name = "b"
path = "$WORK/feed/b/app.log*"
format = "events"
EOF
mkdir -p "$WORK/feed"

start_serve() {
  "$TDR" serve --config "$WORK/tdr.toml" >>"$WORK/serve.log" 2>&1 &
  SERVE_PID=$!
}

"$BENCH" feed --dir "$WORK/feed" --lines "$LINES" --rate "$RATE" --rotate-every 2000 \
  --split 0.02 --seed "$RANDOM" >"$WORK/feed.log" 2>&1 &
FEED_PID=$!

kills=0
while [ "$kills" -lt "$KILLS" ]; do
  start_serve
  # 0.3 to 1.5 s: long enough to start, read and commit; short enough to die mid-batch.
  sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.2f", 0.3 + (r % 1200) / 1000 }')"
  kill -9 "$SERVE_PID" 2>/dev/null || true
  wait "$SERVE_PID" 2>/dev/null || true
  SERVE_PID=
  kills=$((kills + 1))
done
echo "killed the daemon $kills times (kill -9) while the feeder wrote and rotated"
wait "$FEED_PID"
FEED_PID=
cat "$WORK/feed.log"
WRITTEN=$(wc -l <"$WORK/feed/ledger.jsonl")

# Let it catch up: every line written is read once it has committed as many records.
start_serve
deadline=$((SECONDS + 120))
while :; do
  committed=$( ("$BENCH" dump --data-dir "$WORK/serve-data" 2>/dev/null || true) | awk '/^frames / { s += $3 } END { print s + 0 }')
  [ "$committed" -ge "$WRITTEN" ] && break
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "FAIL: the daemon did not catch up: $committed of $WRITTEN records committed"
    exit 1
  fi
  sleep 0.5
done
sleep 1 # anything beyond the ledger (a record read twice) would show now
t0=$(date +%s.%N)
kill -TERM "$SERVE_PID"
code=0
wait "$SERVE_PID" || code=$?
SERVE_PID=
took=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
if [ "$code" -ne 0 ]; then
  echo "FAIL: tdr serve exited $code on SIGTERM"; tail -20 "$WORK/serve.log"; exit 1
fi
awk -v t="$took" 'BEGIN { exit !(t < 10) }' || { echo "FAIL: SIGTERM took ${took}s (limit 10 s)"; exit 1; }
echo "SIGTERM: exit 0 after ${took}s"

# The same subscriber-index key as the daemon's store, so the index entries (keyed hashes)
# are compared too.
# (It is wrapped by the master key in the key store: both are copied; values are compared
# opened, so the day keys may differ.)
install -d -m 0700 "$WORK/clean-data" "$WORK/clean-data/keys" "$WORK/clean-data/keystore"
install -m 0600 "$WORK/serve-data/keys/master.key" "$WORK/clean-data/keys/master.key"
install -m 0600 "$WORK/serve-data/keystore/subject-index.key" "$WORK/clean-data/keystore/subject-index.key"
"$TDR" --data-dir "$WORK/clean-data" import --format events --source ledger "$WORK/feed/ledger.jsonl" >/dev/null
"$BENCH" dump --data-dir "$WORK/serve-data" >"$WORK/serve.dump"
"$BENCH" dump --data-dir "$WORK/clean-data" >"$WORK/clean.dump"
committed=$(awk '/^frames / { s += $3 } END { print s + 0 }' "$WORK/serve.dump")
if [ "$committed" -ne "$WRITTEN" ]; then
  echo "FAIL: $WRITTEN lines written, $committed records committed by tdr serve"
  KEEP=1; exit 1
fi
clean_frames=$(awk '/^frames / { s += $3 } END { print s + 0 }' "$WORK/clean.dump")
if [ "$clean_frames" -ne "$WRITTEN" ]; then
  echo "FAIL: $WRITTEN lines written, $clean_frames records counted by the clean import"
  KEEP=1; exit 1
fi
# Frame counters are per source (the daemon's files, the clean import's ledger): compared above.
if ! diff <(grep -v '^frames ' "$WORK/serve.dump") <(grep -v '^frames ' "$WORK/clean.dump") >"$WORK/diff.txt"; then
  echo "FAIL: the store differs from a clean import of the same lines ($(grep -c '^[<>]' "$WORK/diff.txt") lines differ):"
  head -20 "$WORK/diff.txt"
  KEEP=1; exit 1
fi
quarantined=$( (cat "$WORK"/serve-data/quarantine/*.jsonl 2>/dev/null || true) | wc -l)
echo "PASS: $KILLS kills, $WRITTEN lines written, $committed records committed exactly once," \
  "$(wc -l <"$WORK/clean.dump") store entries identical to a clean import, $quarantined quarantined"
