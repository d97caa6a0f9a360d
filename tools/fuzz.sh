#!/usr/bin/env bash
# Fuzzes each format's framer and parser (fuzz/fuzz_targets/) for SECS seconds each (default
# 600), seeded with the golden inputs under tests/data/<format>/. Needs cargo-fuzz
# (`cargo install cargo-fuzz`); runs on stable via RUSTC_BOOTSTRAP=1. Prints one summary line
# per target; a crash leaves its input in fuzz/artifacts/<target>/ and fails the script.
#   tools/fuzz.sh [SECS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-600}"; shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  targets=(events radius_detail dhcpd_syslog dhcpd_leases kea_legal kea_leases juniper_nat junos_ngs_nat nfdump_nat vpp_nat jool asterisk_cdr freeswitch_cdr kea_log mikrotik_dhcp accel_ppp radius_packet ipfix)
fi
export RUSTC_BOOTSTRAP=1
(cd fuzz && cargo fuzz build -O >/dev/null)
status=0
for t in "${targets[@]}"; do
  corpus="fuzz/corpus/$t"
  mkdir -p "$corpus"
  data="tests/data/${t//_/-}"
  if [ -d "$data" ]; then
    find "$data" -maxdepth 1 -type f ! -name '*.expected*' ! -name '*.ctx.toml' ! -name 'SOURCE.md' ! -name '*.py' \
      -exec cp -n {} "$corpus/" \;
  fi
  log="fuzz/$t.log"
  if (cd fuzz && cargo fuzz run -O "$t" "corpus/$t" -- -max_total_time="$secs" -max_len=16384 \
        -rss_limit_mb=2048 -timeout=10 -print_final_stats=1) >"$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo '?')
    echo "$t: ${secs}s, $runs executions, coverage $cov edges, no crash"
  else
    echo "$t: CRASH or error, see $log and fuzz/artifacts/$t/"
    status=1
  fi
done
exit $status
