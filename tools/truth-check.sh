#!/usr/bin/env bash
# Ground-truth check at any scale: generate an ISP in the producers' real formats, import it,
# answer sampled lookups inside approved cases, compare every answer with the truth.
# Usage: tools/truth-check.sh [SUBSCRIBERS=2000] [DAYS=3] [QUERIES=100000] [DIR=/tmp/tdr-truth]
# Environment: GEN_ARGS (more tdr-gen generate options, e.g. "--interim-secs 3600 --gzip"; the
# gaps in the logs that must never make tdr say "nobody": "--cgnat-unattributed-share 0.1
# --no-interim-share 0.2" leaves a tenth of the CGNAT subscribers' inside-address assignments
# out of every log (their port blocks stay: a port in one is `inside_unknown`), and logs a
# fifth of the RADIUS sessions with Start and Stop only, some lasting days and some of their
# Stops arriving days late, by Acct-Delay-Time, in a later day's detail file);
# GEN_DIR (use what an earlier `tdr-gen generate --output real` wrote there instead);
# TOLERANCE (the checker's, default 3: tdr's 2 s plus the generator's 1 s CGNAT clock skew).
# The check prints the confusion table (truth row by tdr's status) and four counts, each a
# failure (exit status 1) when not 0: WRONG (a name the truth does not allow), UNJUSTIFIED (no
# `found`, or no `inside_unknown`, where the truth is clear), FALSE_NOT_FOUND (`not_found`
# where someone held the address, or the logs cannot exclude its last holder, or the port was
# in a logged port block) and DROPPED_EVIDENCE (a logged port block holding the port missing
# from the answer's vias and `nat_blocks`); the doc at the top of tools/tdr-gen/check.rs says
# exactly when each counts.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tdr-target}"
subs="${1:-2000}"; days="${2:-3}"; n="${3:-100000}"; dir="${4:-/tmp/tdr-truth}"
cargo build --release --locked --workspace --bins
B="$CARGO_TARGET_DIR/release"
rm -rf "$dir"; mkdir -p "$dir"
gen="${GEN_DIR:-$dir/gen}"
timer=()
[ -x /usr/bin/time ] && timer=(/usr/bin/time -f '%C: %e s, peak RSS %M KiB')
# shellcheck disable=SC2086
[ -n "${GEN_DIR:-}" ] || "$B/tdr-gen" generate --out "$gen" --subscribers "$subs" --days "$days" --seed 1 --output real ${GEN_ARGS:-}
start=$(date +%s.%N)
"${timer[@]}" tools/import-generated.sh "$gen" "$dir/data"
awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "import: %.1f s\n", e - s }'
mkdir -p "$dir/q"
"$B/tdr-gen" queries --truth "$gen/truth.jsonl" --expect "$dir/q/expect.jsonl" --out "$dir/q/queries.jsonl" --n "$n" --seed 2
# Lookups run inside approved cases: one legal officer registers, another approves. A case names
# at most 1000 items, so one law-enforcement case per 1000 queries, each query one item (a query
# line {"addr","port","at"} is also a scope item), run in order so the answers line up.
# One door: the daemon runs on the imported store (HTTP on a free loopback port, no syslog, no
# spool); the people are added through it.
tdr() { "$B/tdr" --data-dir "$dir/data" "$@"; }
tdr_cli() { tdr "$@"; }
# shellcheck source=tools/people.sh
. tools/people.sh
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
printf 'data_dir = "%s"\nsyslog = []\n[serve]\nspool = false\nhttp_listen = "127.0.0.1:%s"\n' "$dir/data" "$port" >"$dir/serve.toml"
"$B/tdr" serve --config "$dir/serve.toml" 2>"$dir/serve.log" &
serve_pid=$!
trap 'kill $serve_pid 2>/dev/null; wait $serve_pid 2>/dev/null' EXIT
until [ -S "$dir/data/run/tdr.sock" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.1; done
tdr_admins truth-admin
registrar=$(tdr_user truth-registrar legal)
approver=$(tdr_user truth-approver legal)
TDR_TOKEN=$ADMIN1 tdr identity import "$gen/identity.csv"
split -l 1000 -d -a 6 "$dir/q/queries.jsonl" "$dir/q/chunk-"
: >"$dir/answers.jsonl"
start=$(date +%s.%N)
for chunk in "$dir/q"/chunk-*; do
  printf '{"request_type":"law_enforcement","authority":"truth-check","case_number":"TRUTH","decision_date":"%s","order_sha256":"%s","scope":[%s]}\n' \
    "$(date -u +%F)" "$(sha256sum "$chunk" | cut -d' ' -f1)" "$(paste -sd, "$chunk")" >"$chunk.case"
  id=$(TDR_TOKEN=$registrar tdr case create --file "$chunk.case" 2>/dev/null |
    grep -m 1 -o '"id": *"[^"]*"' | cut -d'"' -f4)
  TDR_TOKEN=$approver tdr case approve "$id" >/dev/null
  TDR_TOKEN=$registrar tdr lookup --batch "$chunk" --purpose law-enforcement --case "$id" >>"$dir/answers.jsonl"
done
awk -v s="$start" -v e="$(date +%s.%N)" -v n="$n" \
  'BEGIN { printf "%d lookups in %d cases (registered, approved, run): %.1f s\n", n, (n + 999) / 1000, e - s }'
# The report (also kept as DIR/check.txt) ends with the counts WRONG, UNJUSTIFIED,
# FALSE_NOT_FOUND and DROPPED_EVIDENCE, then PASS or FAIL (and this script's exit status 1).
"$B/tdr-gen" check --tolerance "${TOLERANCE:-3}" --expect "$dir/q/expect.jsonl" --answers "$dir/answers.jsonl" |
  tee "$dir/check.txt"
