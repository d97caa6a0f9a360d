# Sourced by the benchmark scripts that load a running daemon (api-bench.sh, desk-bench.sh):
# `bench_serve BINDINGS DIR` builds the binaries, builds (once) a store of BINDINGS synthetic
# bindings in DIR, starts `tdr serve` on it over HTTPS with a self-signed certificate on a free
# port, waits for it, and bootstraps its two administrators once per store (kept, 0600, in
# DIR.admins). It sets tdr, bench, work (a temp dir, removed at exit), port, pid, ADMIN1 and
# ADMIN2, defines tdr_cli and stop_daemon, and sources people.sh.
bench_serve() {
  local n="$1" dir="$2"
  cargo build --release --locked --workspace --bin tdr --bin tdr-bench
  tdr="$CARGO_TARGET_DIR/release/tdr"
  bench="$CARGO_TARGET_DIR/release/tdr-bench"
  if [ ! -f "$dir/bench-meta.json" ] || [ "$(python3 -c "import json;print(json.load(open('$dir/bench-meta.json'))['bindings'] >= $n)")" != True ]; then
    rm -rf "$dir" "$dir.admins"
    echo "== build: $n bindings into $dir"
    "$bench" build --data-dir "$dir" --bindings "$n" --days 30
  fi
  python3 -c "import json;m=json.load(open('$dir/bench-meta.json'));print('== store:', m['bindings'], 'bindings,', m['events'], 'events')"
  work="$(mktemp -d)"
  pid=
  trap 'stop_daemon; rm -rf "$work"' EXIT
  "$bench" cert --dir "$work"
  port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
  cat > "$work/tdr.toml" <<CFG
data_dir = "$dir"
syslog = []
[serve]
spool = false
http_listen = "127.0.0.1:$port"
tls_cert = "$work/cert.pem"
tls_key = "$work/key.pem"
CFG
  "$tdr" serve --config "$work/tdr.toml" 2>"$work/serve.log" &
  pid=$!
  for _ in $(seq 1 1200); do
    [ -S "$dir/run/tdr.sock" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
  tdr_cli() { "$tdr" --data-dir "$dir" "$@"; }
  # shellcheck source=tools/people.sh
  . tools/people.sh
  if [ -s "$dir.admins" ]; then
    { read -r ADMIN1; read -r ADMIN2; } <"$dir.admins"
  else
    tdr_admins bench-admin
    (umask 077 && printf '%s\n%s\n' "$ADMIN1" "$ADMIN2" >"$dir.admins")
  fi
}

stop_daemon() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=; fi; }
