#!/usr/bin/env bash
# The test command (README): installs system packages a bare machine lacks, then runs every
# test. Tests run in the release profile so RocksDB is compiled once for tests, benches and
# the binary alike.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tdr-target}"
if ! dpkg -s libclang-dev >/dev/null 2>&1 || ! command -v clang >/dev/null; then
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-dev pkg-config
fi
# `testkit`: the test-only store helpers (dumps, the in-memory store) that the crash and
# regression tests use; never in the product build.
cargo test --release --locked --workspace --features testkit "$@"
