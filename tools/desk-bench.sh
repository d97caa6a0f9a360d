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
# shellcheck source=tools/bench-serve.sh
. tools/bench-serve.sh
bench_serve "$n" "$dir"
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
