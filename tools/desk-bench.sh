#!/usr/bin/env bash
# Desk page render times on a large store: builds (once) a store of BINDINGS synthetic bindings,
# starts the daemon with a self-signed certificate, registers, approves and executes a
# law-enforcement case of ITEMS (1000) scope items, then signs a new legal officer, an auditor
# and a security user in to the desk (one-time password, own password, TOTP) and fetches each
# of their pages ROUNDS times on one keep-alive HTTPS connection. Prints p50/p99/max per page
# as JSON. Targets (issue 16): every page p99 <= 50 ms, the 1000-item case page <= 300 ms.
# Usage: tools/desk-bench.sh [BINDINGS] [DIR]   env: ITEMS (1000), ROUNDS (200)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tdr-target}"
n="${1:-10000000}"
dir="${2:-/tmp/tdr-api-store}"
items="${ITEMS:-1000}"
rounds="${ROUNDS:-200}"
cargo build --release --locked --workspace --bin tdr --bin tdr-bench
tdr="$CARGO_TARGET_DIR/release/tdr"
bench="$CARGO_TARGET_DIR/release/tdr-bench"

if [ ! -f "$dir/bench-meta.json" ] || [ "$(python3 -c "import json;print(json.load(open('$dir/bench-meta.json'))['bindings'] >= $n)")" != True ]; then
    rm -rf "$dir" "$dir.admins"
    echo "== build: $n bindings into $dir"
    "$bench" build --data-dir "$dir" --bindings "$n" --days 30
fi
python3 -c "import json;m=json.load(open('$dir/bench-meta.json'));print('== store:', m['bindings'], 'bindings,', m['events'], 'events')"

work="$(mktemp -d)"
pid=
stop_daemon() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=; fi; }
trap 'stop_daemon; rm -rf "$work"' EXIT
"$bench" cert --dir "$work"
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
cat > "$work/tdr.toml" <<CFG
data_dir = "$dir"
syslog = []
[serve]
spool = false
http_listen = "127.0.0.1:$port"
tls_cert = "$work/cert.pem"
tls_key = "$work/key.pem"
CFG
"$tdr" serve --config "$work/tdr.toml" 2>"$work/serve.log" &
pid=$!
for _ in $(seq 1 1200); do
    [ -S "$dir/run/tdr.sock" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done
tdr_cli() { "$tdr" --data-dir "$dir" "$@"; }
# shellcheck source=tools/people.sh
. tools/people.sh
if [ -s "$dir.admins" ]; then
    { read -r ADMIN1; read -r ADMIN2; } <"$dir.admins"
else
    tdr_admins bench-admin
    (umask 077 && printf '%s\n%s\n' "$ADMIN1" "$ADMIN2" >"$dir.admins")
fi
s=$$
officer=$(tdr_account "desk-legal-$s" legal "$work/legal.pw")
second=$(tdr_user "desk-legal2-$s" legal)
tdr_account "desk-auditor-$s" auditor "$work/auditor.pw" >/dev/null
tdr_account "desk-security-$s" security "$work/security.pw" >/dev/null

echo "== a case of $items items: registered, approved, executed"
"$bench" scope --meta-dir "$dir" --items "$items" > "$work/case.json"
case_id=$(TDR_TOKEN=$officer tdr_cli case create --file "$work/case.json" 2>/dev/null |
    python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])')
[ -n "$case_id" ] || { echo "desk-bench: the case was not registered" >&2; exit 1; }
TDR_TOKEN=$second tdr_cli case approve "$case_id" >/dev/null
t0=$(date +%s.%N)
TDR_TOKEN=$officer tdr_cli case execute "$case_id" >/dev/null
echo "   executed in $(python3 -c "print(round($(date +%s.%N) - $t0, 1))") s"

echo "== pages, $rounds fetches each"
url="https://localhost:$port"
{
  echo '{"legal":'
  "$bench" desk --url "$url" --ca "$work/cert.pem" --user "desk-legal-$s" --password-file "$work/legal.pw" \
      --rounds "$rounds" --page /desk/cases --page /desk/cases/new --page /desk/cases/new/ipred \
      --page "/desk/cases/$case_id" --page /desk/access
  echo ',"auditor":'
  "$bench" desk --url "$url" --ca "$work/cert.pem" --user "desk-auditor-$s" --password-file "$work/auditor.pw" \
      --rounds "$rounds" --page /desk/audit --page "/desk/audit?action=case_lookup" --page /desk/statistics \
      --page /desk/audit/verify
  echo ',"security":'
  "$bench" desk --url "$url" --ca "$work/cert.pem" --user "desk-security-$s" --password-file "$work/security.pw" \
      --rounds "$rounds" --page /desk/abuse
  echo '}'
} > "$work/result.json"
python3 - "$work/result.json" "$case_id" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
case = "/desk/cases/" + sys.argv[2]
print(json.dumps(r, indent=1))
worst = max((v["p99_ms"], p) for who in r.values() for p, v in who.items() if p != case)
print(f"slowest page p99: {worst[0]:.1f} ms ({worst[1]}; target <= 50 ms)")
c = r["legal"][case]
print(f"case page of the executed case: p99 {c['p99_ms']:.1f} ms, {c['bytes']} bytes (target <= 300 ms)")
PY
