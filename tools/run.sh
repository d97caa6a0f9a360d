#!/usr/bin/env bash
# The run command (README): sets up a bare machine, builds tdr, and runs its main job on the
# embedded defaults with data in ./tdr-data: a synthetic day of an ISP is generated, imported,
# and a few audited lookups are answered from it. (`tdr serve`, the daemon, comes with the
# ingest issue; this script will start it then.)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tdr-target}"
if ! dpkg -s libclang-dev >/dev/null 2>&1 || ! command -v clang >/dev/null; then
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-dev pkg-config
fi
cargo build --release --locked --bins
TDR="$CARGO_TARGET_DIR/release/tdr"
GEN="$CARGO_TARGET_DIR/release/tdr-gen"
demo=./tdr-data/demo
mkdir -p "$demo"
"$GEN" generate --out "$demo" --subscribers 2000 --days 2 --seed 1
"$TDR" import --format events "$demo/events.jsonl"
echo "--- the same ISP as its real logs: FreeRADIUS detail, Juniper NAT, Asterisk CDRs (a second store) ---"
"$GEN" convert --events "$demo/events.jsonl" --out "$demo/real" --max-bytes 20000000
real=./tdr-data/real-formats
"$TDR" --data-dir "$real" import --format radius-detail --source radius "$demo/real/radius.detail"
"$TDR" --data-dir "$real" import --format juniper-nat --tz UTC --source cgnat "$demo/real/juniper-nat.log"
"$TDR" --data-dir "$real" import --format asterisk-cdr --tz UTC --source pbx "$demo/real/Master.csv"
"$TDR" quarantine list
"$GEN" queries --truth "$demo/truth.jsonl" --n 5 --seed 1 --out "$demo/queries.jsonl" --expect "$demo/expect.jsonl"
echo "--- five audited lookups (case DEMO-1, purpose law-enforcement) ---"
"$TDR" lookup --batch "$demo/queries.jsonl" --purpose law-enforcement --case DEMO-1
number=$(head -1 "$demo/real/Master.csv" | cut -d, -f2 | tr -d '"')
echo "--- calls of one number (audited) ---"
"$TDR" --data-dir "$real" cdrs --number "$number" --from 2000-01-01T00:00:00Z --to 2100-01-01T00:00:00Z \
  --purpose law-enforcement --case DEMO-2 | head -5
echo "--- the audit log ---"
"$TDR" audit verify
