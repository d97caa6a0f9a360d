#!/usr/bin/env bash
# Ground-truth check at any scale: generate an ISP, import it, answer sampled lookups, compare.
# Usage: tools/truth-check.sh [SUBSCRIBERS=2000] [DAYS=3] [QUERIES=100000] [DIR=/tmp/tdr-truth]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tdr-target}"
subs="${1:-2000}"; days="${2:-3}"; n="${3:-100000}"; dir="${4:-/tmp/tdr-truth}"
cargo build --release --locked --bins
B="$CARGO_TARGET_DIR/release"
rm -rf "$dir"; mkdir -p "$dir"
timer=()
[ -x /usr/bin/time ] && timer=(/usr/bin/time -f '%C: %e s, peak RSS %M KiB')
"$B/tdr-gen" generate --out "$dir/gen" --subscribers "$subs" --days "$days" --seed 1
"${timer[@]}" "$B/tdr" --data-dir "$dir/data" import --format events "$dir/gen/events.jsonl"
"$B/tdr-gen" queries --truth "$dir/gen/truth.jsonl" --expect "$dir/gen/expect.jsonl" --out "$dir/gen/queries.jsonl" --n "$n" --seed 2
# Lookups run inside approved cases: one legal officer registers, another approves. A case names
# at most 1000 items, so one law-enforcement case per 1000 queries, each query one item (a query
# line {"addr","port","at"} is also a scope item), run in order so the answers line up.
tdr() { "$B/tdr" --data-dir "$dir/data" "$@"; }
registrar=$(tdr user add truth-registrar --role legal 2>/dev/null)
approver=$(tdr user add truth-approver --role legal 2>/dev/null)
split -l 1000 -d -a 6 "$dir/gen/queries.jsonl" "$dir/gen/chunk-"
: >"$dir/answers.jsonl"
start=$(date +%s.%N)
for chunk in "$dir/gen"/chunk-*; do
  printf '{"request_type":"law_enforcement","authority":"truth-check","case_number":"TRUTH","decision_date":"%s","order_sha256":"%s","scope":[%s]}\n' \
    "$(date -u +%F)" "$(sha256sum "$chunk" | cut -d' ' -f1)" "$(paste -sd, "$chunk")" >"$chunk.case"
  id=$(TDR_TOKEN=$registrar tdr case create --file "$chunk.case" 2>/dev/null |
    grep -m 1 -o '"id": *"[^"]*"' | cut -d'"' -f4)
  TDR_TOKEN=$approver tdr case approve "$id" >/dev/null
  TDR_TOKEN=$registrar tdr lookup --batch "$chunk" --purpose law-enforcement --case "$id" >>"$dir/answers.jsonl"
done
awk -v s="$start" -v e="$(date +%s.%N)" -v n="$n" \
  'BEGIN { printf "%d lookups in %d cases (registered, approved, run): %.1f s\n", n, (n + 999) / 1000, e - s }'
"$B/tdr-gen" check --expect "$dir/gen/expect.jsonl" --answers "$dir/answers.jsonl"
