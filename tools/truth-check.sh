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
"${timer[@]}" "$B/tdr" --data-dir "$dir/data" lookup --batch "$dir/gen/queries.jsonl" --purpose law-enforcement --case TRUTH > "$dir/answers.jsonl"
"$B/tdr-gen" check --expect "$dir/gen/expect.jsonl" --answers "$dir/answers.jsonl"
