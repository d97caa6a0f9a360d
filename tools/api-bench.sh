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
# shellcheck source=tools/bench-serve.sh
. tools/bench-serve.sh
bench_serve "$n" "$dir"
before=$("$tdr" --data-dir "$dir" audit verify 2>/dev/null | sed -n 's/.* \([0-9]*\) entries.*/\1/p' || echo 0)
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
