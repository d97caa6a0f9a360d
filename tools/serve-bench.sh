#!/usr/bin/env bash
# Benchmarks `tdr serve` as ops run it (release build, WAL fsync on, 2 cores):
#  1. live file ingest: a realistic mix of real formats (FreeRADIUS detail, Kea legal log,
#     Juniper port-block syslog, Asterisk CDR CSV) appended to four followed files side by
#     side, as four producers logging the same hours, over LIVE_SECONDS (default 8: about
#     250 000 events/s for the default corpus); events/s from the first byte written to the
#     last event committed, and the daemon's peak RSS. Target: >= 200 000 events/s, RSS <= 1
#     GiB. LIVE_SECONDS=0 writes everything at once (a backlog after downtime).
#  2. syslog over TCP from one sender (Juniper port-block messages, LF framing): messages/s
#     from the first byte sent to the last message committed, and that none was lost.
#     Target: >= 100 000 msg/s.
#  3. latency from a line appended to a followed file to its event being committed (hence
#     queryable), at 500 lines/s. Target: p99 <= 2 s.
#
#   tools/serve-bench.sh [CORPUS_DIR]
# CORPUS_DIR holds radius.detail, kea-legal.log, juniper-nat.log and Master.csv as written by
# `tdr-gen convert`; without it one is generated (about 1 GB, a few minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tdr-target}"
BIN="$CARGO_TARGET_DIR/release"
TDR="$BIN/tdr"; BENCH="$BIN/tdr-bench"; GEN="$BIN/tdr-gen"
cargo build --release --locked --workspace --bins >/dev/null 2>&1 || cargo build --release --locked --workspace --bins
WORK="$(mktemp -d "${TMPDIR:-/tmp}/tdr-bench.XXXXXX")"
SERVE_PID=
trap '[ -n "$SERVE_PID" ] && kill -9 "$SERVE_PID" 2>/dev/null; rm -rf "$WORK"' EXIT
HTTP="127.0.0.1:$((20000 + RANDOM % 20000))"
SYSLOG_PORT=$((40000 + RANDOM % 10000))

CORPUS="${1:-}"
PHASES="${PHASES:-1 2 3}" # which measurements to run
if [ -z "$CORPUS" ]; then
  CORPUS="$WORK/corpus"
  echo "generating a corpus in $CORPUS ..."
  "$GEN" generate --out "$WORK/gen" --subscribers 20000 --days 1 --interim-secs 3600 --seed 7 >/dev/null
  "$GEN" convert --events "$WORK/gen/events.jsonl" --out "$CORPUS" >/dev/null
  rm -rf "$WORK/gen"
fi
for f in radius.detail kea-legal.log juniper-nat.log Master.csv; do
  [ -s "$CORPUS/$f" ] || { echo "missing $CORPUS/$f"; exit 1; }
done

metric() { # metric NAME [LABEL-SUBSTRING]: the summed samples, 0 if none
  (curl -s "http://$HTTP/metrics" || true) | awk -v n="$1" -v l="${2:-}" \
    'index($0, n) == 1 && index($0, l) > 0 { s += $NF } END { printf "%.0f", s + 0 }'
}

start_serve() { # start_serve CONFIG-BODY
  cat >"$WORK/tdr.toml" <<EOF
version = 1
data_dir = "$WORK/data"
$1
[serve]
http_listen = "$HTTP"
spool = false
${SERVE_EXTRA:-}
EOF
  rm -rf "$WORK/data"
  "$TDR" serve --config "$WORK/tdr.toml" 2>"$WORK/serve.log" &
  SERVE_PID=$!
  for _ in $(seq 100); do curl -sf "http://$HTTP/health" >/dev/null && return 0; sleep 0.1; done
  echo "tdr serve did not start:"; cat "$WORK/serve.log"; exit 1
}

stop_serve() {
  local t0 code=0
  t0=$(date +%s.%N)
  kill -TERM "$SERVE_PID"; wait "$SERVE_PID" || code=$?
  SERVE_PID=
  echo "  SIGTERM: exit $code after $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }') s"
}

if [[ " $PHASES " == *" 1 "* ]]; then
echo "== 1. live file ingest (realistic mix of real formats) =="
mkdir -p "$WORK/logs"/{radius,kea,nat,cdr}
start_serve "syslog = []
[[file]]
name = \"radius\"
path = \"$WORK/logs/radius/detail*\"
format = \"radius-detail\"
timezone = \"UTC\"
[[file]]
name = \"dhcp\"
path = \"$WORK/logs/kea/kea-legal*\"
format = \"kea-legal\"
timezone = \"UTC\"
[[file]]
name = \"cgnat\"
path = \"$WORK/logs/nat/messages*\"
format = \"juniper-nat\"
timezone = \"UTC\"
[[file]]
name = \"pbx\"
path = \"$WORK/logs/cdr/Master.csv*\"
format = \"asterisk-cdr\"
timezone = \"UTC\"
class = \"statutory\""
total=$(cat "$CORPUS"/{radius.detail,kea-legal.log,juniper-nat.log,Master.csv} | wc -c)
t0=$(date +%s.%N)
# Four producers logging side by side over LIVE_SECONDS (0: everything at once, a backlog).
"$BENCH" append --seconds "${LIVE_SECONDS:-8}" \
  "$CORPUS/radius.detail=$WORK/logs/radius/detail-20261122" \
  "$CORPUS/kea-legal.log=$WORK/logs/kea/kea-legal.txt" \
  "$CORPUS/juniper-nat.log=$WORK/logs/nat/messages" \
  "$CORPUS/Master.csv=$WORK/logs/cdr/Master.csv" >/dev/null
written=$(date +%s.%N)
maxlag=0
while [ "$(metric tdr_checkpoint_offset_bytes)" -lt "$total" ]; do
  lag=$(metric tdr_checkpoint_lag_bytes); [ "$lag" -gt "$maxlag" ] && maxlag=$lag
  sleep 0.2
done
t1=$(date +%s.%N)
events=$(metric tdr_events_total)
frames=$(metric tdr_frames_total)
rss=$(awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$SERVE_PID/status")
awk -v e="$events" -v f="$frames" -v b="$total" -v a="$t0" -v w="$written" -v c="$t1" -v r="$rss" -v l="$maxlag" 'BEGIN {
  printf "  %d bytes, %d records, %d events; written over %.1f s, all committed %.2f s after the last write (largest lag seen %.1f MB)\n", b, f, e, w - a, c - w, l / 1e6
  printf "  RESULT live file ingest: %.0f events/s (%.0f records/s, %.1f MB/s), peak RSS %d MiB\n", e / (c - a), f / (c - a), b / (c - a) / 1e6, r }'
echo "  quarantined: $(metric tdr_quarantined_total)"
ps -L -o comm=,time= -p "$SERVE_PID" | sort | awk '{ printf "  thread %-14s %s\n", $1, $2 }'
stop_serve
fi

if [[ " $PHASES " == *" 2 "* ]]; then
echo "== 2. syslog over TCP, one sender =="
start_serve "[[syslog]]
name = \"tcp\"
listen = \"127.0.0.1:$SYSLOG_PORT\"
transport = \"tcp\"
format = \"juniper-nat\"
timezone = \"UTC\""
REPEAT="${REPEAT:-10}" # the file again and again: repeats are duplicates, stored once
n=$(( $(grep -c . "$CORPUS/juniper-nat.log") * REPEAT ))
t0=$(date +%s.%N)
"$BENCH" send --addr "127.0.0.1:$SYSLOG_PORT" --repeat "$REPEAT" "$CORPUS/juniper-nat.log" | sed 's/^/  sender: /'
deadline=$((SECONDS + 300))
while [ "$(metric tdr_frames_total 'source="tcp"')" -lt "$n" ]; do
  [ "$SECONDS" -lt "$deadline" ] || { echo "  FAIL: only $(metric tdr_frames_total) of $n messages arrived"; exit 1; }
  sleep 0.05
done
# Applied; committed with the next batch.
b0=$(metric tdr_batches_total)
while [ "$(metric tdr_batches_total)" -le "$b0" ]; do sleep 0.02; done
t1=$(date +%s.%N)
got=$(metric tdr_frames_total 'source="tcp"')
events=$(metric tdr_events_total 'source="tcp"')
quar=$(metric tdr_quarantined_total)
awk -v n="$n" -v g="$got" -v e="$events" -v q="$quar" -v a="$t0" -v c="$t1" 'BEGIN {
  printf "  RESULT syslog TCP: %d messages sent, %d received (%d events, %d quarantined), %.0f msg/s to committed (frames are counted when applied; the batch commits within the flush interval)\n", n, g, e, q, n / (c - a) }'
[ "$got" -eq "$n" ] || { echo "  FAIL: $((n - got)) messages lost"; exit 1; }
stop_serve
fi

if [[ " $PHASES " == *" 3 "* ]]; then
echo "== 3. line written -> queryable =="
mkdir -p "$WORK/logs/lat"
start_serve "syslog = []
[[file]]
name = \"lat\"
path = \"$WORK/logs/lat/*.jsonl\"
format = \"events\""
"$BENCH" latency --http "$HTTP" --file "$WORK/logs/lat/events.jsonl" --lines 5000 --rate 500 | sed 's/^/  RESULT /'
stop_serve
fi
