#!/usr/bin/env bash
# How close a multi-producer backlog import comes to the machine's ceiling, in one run:
#   ceiling: the time to inflate, frame and parse the same files on both cores, nothing
#            stored (`tdr-bench ceiling --readers 2`; also shown on one core);
#   import:  `tdr import --sources` of those files into an empty store (tools/import-generated.sh).
# Prints both and import efficiency = ceiling / import (the redesign's target: >= 75 %).
# Usage: tools/import-ceiling.sh [GEN_DIR] [WORK_DIR]
#   GEN_DIR: what `tdr-gen generate --output real --gzip` wrote (default: 10 000 subscribers x
#            2 days, generated into WORK_DIR/gen if absent).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tdr-target}"
work="${2:-/tmp/tdr-ceiling}"
gen="${1:-$work/gen}"
B="$CARGO_TARGET_DIR/release"
[ -x "$B/tdr" ] && [ -x "$B/tdr-bench" ] && [ -x "$B/tdr-gen" ] ||
  cargo build --release --locked --workspace --bin tdr --bin tdr-bench --bin tdr-gen
mkdir -p "$work"
[ -f "$gen/meta.json" ] ||
  "$B/tdr-gen" generate --out "$gen" --subscribers 10000 --days 2 --seed 1 --output real --gzip
rm -rf "$work/data"
cfg="$work/import.toml"
# Both runs read the files from the page cache: the import would otherwise pay the disk.
cat "$gen"/*/* "$gen"/*/*/* >/dev/null 2>&1 || true
sync
t0=$(date +%s.%N)
CONFIG="$cfg" tools/import-generated.sh "$gen" "$work/data" >"$work/import.out"
t1=$(date +%s.%N)
import=$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')
one=$("$B/tdr-bench" ceiling --config "$cfg" --readers 1)
two=$("$B/tdr-bench" ceiling --config "$cfg" --readers 2)
secs() { grep -o '"secs":[0-9.]*' <<<"$1" | cut -d: -f2; }
c1=$(secs "$one"); c2=$(secs "$two")
printf 'files: %s (%s compressed)\n' "$(grep -o '"files":[0-9]*' <<<"$two" | cut -d: -f2)" "$(du -sh "$gen" | cut -f1)"
printf 'inflate+parse, 1 core : %6.2f s\n' "$c1"
printf 'inflate+parse, 2 cores: %6.2f s   (the ceiling)\n' "$c2"
printf 'tdr import --sources  : %6.2f s\n' "$import"
[ -z "${BEFORE:-}" ] || {
  # BEFORE=DIR: an older build's tdr and scripts (tdr + import-generated.sh) on the same files.
  rm -rf "$work/data-before"
  t0=$(date +%s.%N); TDR="$BEFORE/tdr" "$BEFORE/import-generated.sh" "$gen" "$work/data-before" >/dev/null; t1=$(date +%s.%N)
  printf 'before (%s)       : %6.2f s\n' "$BEFORE" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')"
}
printf 'import efficiency     : %6.1f %%  (ceiling / import; target >= 75 %%)\n' "$(awk -v c="$c2" -v i="$import" 'BEGIN{print 100*c/i}')"
tail -1 "$work/import.out"
