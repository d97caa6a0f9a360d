#!/usr/bin/env bash
# Installs the product — and only the product — under DESTDIR (default /): the tdr binary,
# the systemd unit and sysusers file, and the example configuration (kept if one is there).
# The development tools (tdr-gen, tdr-bench: a generator and benchmarks that open stores
# directly, without the daemon's door or its audit) are never installed on an appliance.
# Usage: tools/install.sh [DESTDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tdr-target}"
dest="${1:-/}"
cargo build --release --locked --bin tdr
install -D -m 0755 "$CARGO_TARGET_DIR/release/tdr" "$dest/usr/bin/tdr"
install -D -m 0644 systemd/tdr.service "$dest/usr/lib/systemd/system/tdr.service"
install -D -m 0644 systemd/tdr.sysusers "$dest/usr/lib/sysusers.d/tdr.conf"
if [ ! -e "$dest/etc/tdr/tdr.toml" ]; then
  install -D -m 0640 systemd/tdr.toml "$dest/etc/tdr/tdr.toml"
fi
echo "installed tdr into $dest (run systemd-sysusers, then systemctl enable --now tdr)"
