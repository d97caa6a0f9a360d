#!/usr/bin/env bash
# Imports what `tdr-gen generate --output real` wrote into a tdr data directory in ONE
# `tdr import --sources` run: a configuration names one [[file]] source per producer, each with
# the options its format needs (all times are UTC; dhcpd logs no lease time, so the
# generator's is given), and the import reads the producers' files side by side.
# Usage: tools/import-generated.sh GEN_DIR DATA_DIR [DAY_GLOB=*]   (DAY_GLOB e.g. 20261115)
# NO_CDR=1 leaves out the Asterisk CDRs (the baselines have no calls).
# The configuration is written to DATA_DIR/../import-<name>.toml (CONFIG=FILE: there instead),
# so tools/import-ceiling.sh can parse the very same files.
set -euo pipefail
gen="$(cd "$1" && pwd)"; data="$2"; day="${3:-*}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tdr-target}"
tdr="${TDR:-$CARGO_TARGET_DIR/release/tdr}"
lease=$(grep -m 1 -o '"lease_secs": *[0-9]*' "$gen/meta.json" | grep -o '[0-9]*$')
mkdir -p "$data"
cfg="${CONFIG:-$(dirname "$data")/import-$(basename "$data").toml}"
{
  echo 'version = 1'
  echo '[serve]'
  echo 'spool = false'
  src() { # NAME FORMAT GLOB [KEY = VALUE]...
    printf '[[file]]\nname = "%s"\nformat = "%s"\npath = "%s"\ntimezone = "UTC"\n' "$1" "$2" "$3"
    shift 3
    for kv in "$@"; do echo "$kv"; done
  }
  src radius radius-detail "$gen/radacct/*/detail-$day"
  src dhcpd dhcpd-syslog "$gen/dhcpd/dhcpd.log-$day" "lease_time = $lease"
  src kea kea-legal "$gen/kea/kea-legal.$day.txt*"
  src kea-log kea-log "$gen/kea/kea-dhcp4.log-$day"
  src mikrotik mikrotik-dhcp "$gen/mikrotik/routeros.log-$day"
  src bras accel-ppp "$gen/accel/*/accel-ppp.log-$day"
  src cgnat juniper-nat "$gen/cgnat/juniper-nat.log-$day"
  src cgnat-ngs junos-ngs-nat "$gen/cgnat/junos-ngs-nat.log-$day"
  src cgnat-nfdump nfdump-nat "$gen/cgnat/nfdump-nat.json-$day"
  src cgnat-ipfix ipfix "$gen/cgnat/ipfix-nat.ipfix-$day"
  [ -n "${NO_CDR:-}" ] || src pbx asterisk-cdr "$gen/cdr-csv/Master.csv-$day" 'class = "billing"'
} > "$cfg"
# With DAY_GLOB=* the plain patterns match the .gz files too; with a day, add them.
if [ "$day" != "*" ]; then sed -i 's|^path = "\(.*\)"$|path = "\1*"|' "$cfg"; fi
"$tdr" --data-dir "$data" --config "$cfg" import --sources --complete
