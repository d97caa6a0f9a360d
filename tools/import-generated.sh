#!/usr/bin/env bash
# Imports what `tdr-gen generate --output real` wrote into a tdr data directory, one
# `tdr import` per producer, each with the options its format needs (all times are UTC; dhcpd
# logs no lease time, so the generator's is given).
# Usage: tools/import-generated.sh GEN_DIR DATA_DIR [DAY_GLOB=*]   (DAY_GLOB e.g. 20261115)
# NO_CDR=1 leaves out the Asterisk CDRs (the baselines have no calls).
set -euo pipefail
gen="$1"; data="$2"; day="${3:-*}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tdr-target}"
tdr="${TDR:-$CARGO_TARGET_DIR/release/tdr}"
lease=$(grep -m 1 -o '"lease_secs": *[0-9]*' "$gen/meta.json" | grep -o '[0-9]*$')
imp() { "$tdr" --data-dir "$data" import --tz UTC --complete "$@"; }
shopt -s nullglob
# Existing files, each once (with DAY_GLOB=* the plain pattern matches the .gz files too).
files() { local f; for f in "$@"; do [ -e "$f" ] && printf '%s\n' "$f"; done | sort -u; }
run() {
  local fmt="$1" src="$2"; shift 2
  local list; mapfile -t list < <(files "$@")
  [ ${#list[@]} -eq 0 ] && return 0
  echo "== $fmt ($src): ${#list[@]} file(s)"
  imp --format "$fmt" --source "$src" "${extra[@]}" "${list[@]}"
}
extra=(); run radius-detail radius "$gen"/radacct/*/detail-$day "$gen"/radacct/*/detail-$day.gz
extra=(--lease-time "$lease"); run dhcpd-syslog dhcpd "$gen"/dhcpd/dhcpd.log-$day "$gen"/dhcpd/dhcpd.log-$day.gz
extra=(); run kea-legal kea "$gen"/kea/kea-legal.$day.txt "$gen"/kea/kea-legal.$day.txt.gz
run juniper-nat cgnat "$gen"/cgnat/juniper-nat.log-$day "$gen"/cgnat/juniper-nat.log-$day.gz
[ -n "${NO_CDR:-}" ] && exit 0
extra=(--class billing); run asterisk-cdr pbx "$gen"/cdr-csv/Master.csv-$day "$gen"/cdr-csv/Master.csv-$day.gz
