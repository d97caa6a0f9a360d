#!/usr/bin/env bash
# The test command (README): installs system packages a bare machine lacks, then runs every
# test. Tests run in the release profile so RocksDB is compiled once for tests, benches and
# the binary alike.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tdr-target}"
need=()
if ! dpkg -s libclang-dev >/dev/null 2>&1 || ! command -v clang >/dev/null; then
  need+=(clang libclang-dev pkg-config)
fi
# The desk's browser tests: chromium driven through chromedriver, and npm for axe-core; the
# PDF court report's checks: qpdf and poppler-utils (pdfinfo, pdffonts, pdftotext, pdftoppm).
# openssl: the delivery pack test runs the signature check its text tells a receiver to run.
# freeradius-utils: radclient, the NAS-side client of the RADIUS server test; python3-scapy:
# the independent IPFIX encoder (/usr/bin/python3); nfdump: the NAT export tests; radsecproxy:
# the RADIUS/TLS (RFC 6614) client of the RadSec test.
for pkg in chromium chromium-driver qpdf poppler-utils openssl freeradius-utils python3-scapy nfdump \
  radsecproxy; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
command -v npm >/dev/null || need+=(nodejs npm)
if [ "${#need[@]}" -gt 0 ]; then
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
# axe-core, which the browser tests inject into every desk page: pinned by the lock, installed
# again when the lock is newer than the last install (npm writes node_modules/.package-lock.json).
if [ tests/axe/package-lock.json -nt tests/axe/node_modules/.package-lock.json ]; then
  npm ci --prefix tests/axe --no-audit --no-fund
fi
# `testkit`: the test-only store helpers (dumps, the in-memory store) that the crash and
# regression tests use; never in the product build.
cargo test --release --locked --workspace --features testkit "$@"
