#!/usr/bin/env bash
# What sealing costs, measured in one run: the same synthetic events (N bindings over DAYS
# days) imported into a sealed store (as tdr runs) and into an unsealed one (a benchmark-only
# mode), then the same lookups on both, alternated ROUNDS times so the machine's drift falls
# on both alike. Prints import events/s, lookup p50/p99 and bytes per binding per mode, and
# the sealed/unsealed ratios (the issue's bound: import and lookup p99 within 10 %).
# Usage: tools/at-rest-bench.sh [BINDINGS=2000000] [DAYS=30] [ROUNDS=3] [DIR=/tmp/tdr-at-rest]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tdr-target}"
n="${1:-2000000}"; days="${2:-30}"; rounds="${3:-3}"; dir="${4:-/tmp/tdr-at-rest}"
cargo build --release --locked --workspace --features testkit --bin tdr-bench
bench="$CARGO_TARGET_DIR/release/tdr-bench"
rm -rf "$dir"; mkdir -p "$dir"
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
for r in $(seq 1 "$rounds"); do
  for mode in sealed unsealed; do
    flag=(); [ "$mode" = unsealed ] && flag=(--unsealed)
    rm -rf "$dir/$mode"
    "$bench" build --data-dir "$dir/$mode" --bindings "$n" --days "$days" "${flag[@]}" \
      > "$dir/build-$mode-$r.json"
    "$bench" lookups --data-dir "$dir/$mode" --n 100000 > "$dir/lookups-$mode-$r.json"
  done
done
python3 - "$dir" "$rounds" <<'PY'
import json, statistics, sys
d, rounds = sys.argv[1], int(sys.argv[2])
def load(kind, mode):
    return [json.load(open(f"{d}/{kind}-{mode}-{r}.json")) for r in range(1, rounds + 1)]
row = {}
for mode in ("sealed", "unsealed"):
    b, l = load("build", mode), load("lookups", mode)
    med = lambda xs, k: statistics.median(x[k] for x in xs)
    row[mode] = {
        "import_events_per_sec": med(b, "import_events_per_sec"),
        "sst_bytes_per_binding": med(b, "sst_bytes_per_binding"),
        "dir_bytes_per_binding": med(b, "dir_bytes_per_binding"),
        "lookup_p50_ms": statistics.median(x["lookup_ms"]["p50"] for x in l),
        "lookup_p99_ms": statistics.median(x["lookup_ms"]["p99"] for x in l),
    }
s, u = row["sealed"], row["unsealed"]
row["sealed_over_unsealed"] = {k: round(s[k] / u[k], 3) for k in s}
print(json.dumps(row, indent=2))
PY
