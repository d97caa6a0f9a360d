#!/usr/bin/env bash
# Audited lookups through the HTTPS API of a running `tdr serve`: builds (once) a store of
# BINDINGS synthetic bindings, starts the daemon with a self-signed certificate, adds a
# security user, and runs CLIENTS concurrent keep-alive clients sending abuse lookups for
# SECONDS. Each lookup is answered only after its audit entry is fsynced (group commit).
# Prints throughput and latency (p50/p99/max) as JSON, then verifies the audit chain.
# Usage: tools/api-bench.sh [BINDINGS] [DIR]   env: CLIENTS (8), SECONDS_RUN (30)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tdr-target}"
n="${1:-10000000}"
dir="${2:-/tmp/tdr-api-store}"
clients="${CLIENTS:-8}"
seconds="${SECONDS_RUN:-30}"
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
cat > "$work/tdr.toml" <<EOF
data_dir = "$dir"
syslog = []
[serve]
spool = false
http_listen = "127.0.0.1:$port"
tls_cert = "$work/cert.pem"
tls_key = "$work/key.pem"
EOF
before=$("$tdr" --data-dir "$dir" audit verify 2>/dev/null | sed -n 's/.* \([0-9]*\) entries.*/\1/p' || echo 0)
"$tdr" serve --config "$work/tdr.toml" 2>"$work/serve.log" &
pid=$!
for _ in $(seq 1 1200); do
    [ -S "$dir/run/tdr.sock" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done
# One door: the security user is added through the daemon by its administrators, bootstrapped
# once per store and kept (0600) beside it.
tdr_cli() { "$tdr" --data-dir "$dir" "$@"; }
# shellcheck source=tools/people.sh
. tools/people.sh
if [ -s "$dir.admins" ]; then
    { read -r ADMIN1; read -r ADMIN2; } <"$dir.admins"
else
    tdr_admins bench-admin
    (umask 077 && printf '%s\n%s\n' "$ADMIN1" "$ADMIN2" >"$dir.admins")
fi
user="bench-$$"
tdr_user "$user" security > "$work/token"
echo "== $clients clients, ${seconds}s, https://localhost:$port"
"$bench" api --url "https://localhost:$port" --ca "$work/cert.pem" --token-file "$work/token" \
    --meta-dir "$dir" --clients "$clients" --seconds "$seconds" | tee "$work/result.json"
TDR_TOKEN=$ADMIN1 tdr_cli user revoke "$user" >/dev/null
stop_daemon
echo "== audit"
"$tdr" --data-dir "$dir" audit verify
after=$("$tdr" --data-dir "$dir" audit verify | sed -n 's/.* \([0-9]*\) entries.*/\1/p')
python3 - "$work/result.json" "$before" "$after" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
added = int(sys.argv[3]) - int(sys.argv[2])
print(f"audit entries added: {added} for {r['requests']} requests")
EOF
