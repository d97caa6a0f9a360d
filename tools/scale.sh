#!/usr/bin/env bash
# Builds a store of N bindings (default 50 M) from synthetic events through the real import
# path and reports import events/s, bytes per binding, lookup p50/p99 without and with the audit
# fsync, and peak RSS (also measured from outside with /usr/bin/time when available).
# Usage: tools/scale.sh [BINDINGS] [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tdr-target}"
n="${1:-50000000}"
dir="${2:-/tmp/tdr-scale}"
cargo build --release --locked --workspace --bin tdr-bench
bench="$CARGO_TARGET_DIR/release/tdr-bench"
rm -rf "$dir"; mkdir -p "$dir"
timer=()
[ -x /usr/bin/time ] && timer=(/usr/bin/time -f 'outside view: %e s wall, peak RSS %M KiB')
echo "== build: $n bindings into $dir"
"${timer[@]}" "$bench" build --data-dir "$dir" --bindings "$n" --days 30
echo "== lookups"
"${timer[@]}" "$bench" lookups --data-dir "$dir" --n 100000
