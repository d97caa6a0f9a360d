#!/usr/bin/env bash
# The run command (README): sets up a bare machine, builds tdr, and runs its main job on the
# embedded defaults, data in ./tdr-data: the ingest daemon `tdr serve` (syslog on
# 127.0.0.1:5514 UDP+TCP, the spool folder ./tdr-data/incoming/, /metrics and /health on
# 127.0.0.1:9514). To show it working at once, a synthetic day of a 2 000-subscriber ISP is
# dropped into the spool, and once it is committed a few audited lookups are answered from it
# while the daemon runs, inside a law-enforcement case that one demo legal officer registers
# and another approves. The daemon then keeps running until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tdr-target}"
if ! dpkg -s libclang-dev >/dev/null 2>&1 || ! command -v clang >/dev/null; then
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-dev pkg-config
fi
cargo build --release --locked --workspace --bins
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

# Lookups run inside an approved case, by authenticated legal officers. One door: this shell
# (the service user, who started the daemon) only bootstraps two administrators on the box
# over the daemon's socket; they add two demo legal officers, two persons (one admin adds, the
# other approves); one officer registers the case and the other approves it (four eyes).
# Tokens are shown once, when made, so they are kept in ./tdr-data/demo-tokens (mode 0600)
# for the next run on this data directory.
tokens=./tdr-data/demo-tokens
if [ ! -s "$tokens" ]; then
  tdr_cli() { "$TDR" "$@"; }
  # shellcheck source=tools/people.sh
  . tools/people.sh
  if ! tdr_admins demo-admin; then
    echo "run.sh: the demo administrators exist but their tokens ($tokens) are lost;" \
      "start over with a fresh data directory (rm -rf ./tdr-data)" >&2
    exit 1
  fi
  admin1=$ADMIN1 admin2=$ADMIN2
  registrar=$(tdr_account demo-registrar legal "$tokens.pw1")
  approver=$(tdr_account demo-approver legal "$tokens.pw2")
  (umask 077 && printf 'demo-registrar %s\ndemo-approver %s\ndemo-admin-1 %s\ndemo-admin-2 %s\ndesk: demo-registrar one-time password %s\ndesk: demo-approver one-time password %s\n' \
    "$registrar" "$approver" "$admin1" "$admin2" "$(cat "$tokens.pw1")" "$(cat "$tokens.pw2")" >"$tokens.tmp")
  rm -f "$tokens.pw1" "$tokens.pw2"
  mv "$tokens.tmp" "$tokens"
  echo "(the demo officers' and administrators' tokens are kept in $tokens)"
fi
chmod 600 "$tokens"
registrar=$(sed -n '1s/^[^ ]* //p' "$tokens")
approver=$(sed -n '2s/^[^ ]* //p' "$tokens")
# The case's scope names exactly the demo queries: a query line {"addr","port","at"} is also a
# scope item (a null port means any port of the address at that time).
order_sha=$(printf 'demo order %s\n' "$(date -u +%FT%TZ)" | sha256sum | cut -d' ' -f1)
printf '{"request_type":"law_enforcement","authority":"Polismyndigheten","case_number":"DEMO-1","decision_date":"%s","order_sha256":"%s","scope":[%s]}\n' \
  "$(date -u +%F)" "$order_sha" "$(grep -v '^[[:space:]]*$' "$demo/queries.jsonl" | paste -sd, -)" >"$demo/request.json"
case_id=$(TDR_TOKEN=$registrar "$TDR" case create --file "$demo/request.json" |
  grep -m 1 -o '"id": *"[^"]*"' | cut -d'"' -f4)
[ -n "$case_id" ] || { echo "run.sh: the demo case was not registered" >&2; exit 1; }
TDR_TOKEN=$approver "$TDR" case approve "$case_id" >/dev/null
echo "--- five audited lookups while the daemon runs (case $case_id, purpose law-enforcement) ---"
TDR_TOKEN=$registrar "$TDR" lookup --batch "$demo/queries.jsonl" --purpose law-enforcement --case "$case_id"
# The case answered: executed by its registrar and handed over as a delivery pack (a protected
# identity in the answer waits for the other officer's release first).
TDR_TOKEN=$registrar "$TDR" case execute "$case_id" >/dev/null
if TDR_TOKEN=$registrar "$TDR" case show "$case_id" | grep -q '"hold": *"'; then
  TDR_TOKEN=$approver "$TDR" case release "$case_id" >/dev/null
fi
pack="$demo/tdr-$case_id.zip"
TDR_TOKEN=$approver "$TDR" case pack "$case_id" --out "$pack" 2>/dev/null
"$TDR" audit verify
echo "--- what is due (TDR_TOKEN=... tdr case list --due open) ---"
TDR_TOKEN=$registrar "$TDR" case list --due open
cat <<EOF
--- the delivery pack of case $case_id: $pack ($(wc -c <"$pack") bytes) ---
  report.json (the report; its SHA-256 is printed in the others), report.pdf (PDF/A-2b),
  report.html, report.xml (ETSI TS 102 657), audit-head.json with its signature and key,
  SHA256SUMS and LÄSMIG-VERIFY.txt: how to check it all offline
EOF
cat <<EOF
--- tdr serve is running (pid $SERVE) ---
  metrics:  curl http://$HTTP/metrics        health: curl http://$HTTP/health
  syslog:   127.0.0.1:5514 UDP and TCP, loopback senders only (programs: NAT = vpp-nat,
            kernel = jool; the events format comes from the spool or tdr import, never the network)
  CLI:      TDR_TOKEN=<a token from $tokens> $TDR case list   (over ./tdr-data/run/tdr.sock)
  desk:     http://localhost:${HTTP##*:}/desk/  sign in as demo-registrar or demo-approver with the
            one-time password in $tokens (first sign-in: a password of your own, then a TOTP app)
  spool:    drop files into ./tdr-data/incoming/ (events format) or ./tdr-data/incoming/<format>/
  Ctrl-C stops it (it commits what it read and exits 0).
EOF
wait $SERVE
