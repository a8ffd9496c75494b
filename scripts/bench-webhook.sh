#!/usr/bin/env bash
# Webhook acknowledgements: `stepgate serve --config` (durable start on the
# embedded SQLite store) against the ceiling (crates/stepgate/examples/ceiling.rs:
# the same 200 body from the same HTTP stack, storing nothing), in the same run,
# with wrk. After each stepgate run the server is killed with SIGKILL and the
# store is counted: every acknowledged webhook must be there.
#
# Usage: scripts/bench-webhook.sh [CONNECTIONS=64] [SECONDS=20] [TYPE=EXPRESS]
# Needs: wrk (apt-get install -y wrk), python3.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CONNECTIONS="${1:-64}"
SECONDS_="${2:-20}"
TYPE="${3:-EXPRESS}"
THREADS=2
WORK="$(mktemp -d)"
trap 'kill -9 $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
cd "$ROOT"
cargo build --release -q -p stepgate --bin stepgate --example ceiling
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"

cat > "$WORK/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
-- A long bracket string: no Lua escapes, the JSON arrives as written.
wrk.body = [[{"action": "opened", "repository": {"full_name": "octo/hello", "id": 1296269}, "sender": {"login": "octocat"}, "text": "it's \"quoted\" \\ and unicode é 日本"}]]
LUA

cat > "$WORK/stepgate.toml" <<TOML
[server]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
store = "sqlite://store.db"

[state_machines.sample]
type = "$TYPE"
definition = '{"StartAt":"Receive","States":{"Receive":{"Type":"Pass","Next":"SuccessState"},"SuccessState":{"Type":"Pass","End":true}}}'

[[routes]]
method = "POST"
path = "/"
state_machine = "sample"
mode = "async"
responses.success = { status = 200, body = '{"status": "webhook submitted"}' }
responses.failure = { status = 500, body = '{"status": "webhook failed"}' }
TOML

# Waits for the {"listen": ...} line a server prints on stdout; echoes the address.
listen_of() {
  local out="$1"
  for _ in $(seq 1 200); do
    if grep -q listen "$out" 2>/dev/null; then
      python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["listen"])' "$out"
      return
    fi
    sleep 0.05
  done
  echo "server did not start" >&2; cat "$out" >&2; exit 1
}

run_wrk() {
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_}s" --latency -s "$WORK/post.lua" "http://$1/" > "$2"
}

# stepgate
(cd "$WORK" && RUST_LOG=warn exec "$BIN/stepgate" serve --config stepgate.toml > "$WORK/stepgate.out" 2> "$WORK/stepgate.err") &
SG=$!
ADDR="$(listen_of "$WORK/stepgate.out")"
run_wrk "$ADDR" "$WORK/stepgate.wrk"
kill -9 "$SG"; wait "$SG" 2>/dev/null || true
STORED="$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from executions").fetchone()[0])' "$WORK/store.db")"

# ceiling
"$BIN/examples/ceiling" 127.0.0.1:0 > "$WORK/ceiling.out" &
CE=$!
ADDR="$(listen_of "$WORK/ceiling.out")"
run_wrk "$ADDR" "$WORK/ceiling.wrk"
kill "$CE"; wait "$CE" 2>/dev/null || true

python3 - "$WORK/stepgate.wrk" "$WORK/ceiling.wrk" "$STORED" "$CONNECTIONS" "$TYPE" <<'PY'
import re, sys
def parse(path):
    text = open(path).read()
    def lat(p):
        m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)\s*$" % p, text, re.M)
        v, u = float(m.group(1)), m.group(2)
        return v / 1000 if u == "us" else v * 1000 if u == "s" else v
    total = int(re.search(r"(\d+) requests in", text).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: (.*)", text)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
        "p50": lat("50"), "p99": lat("99"), "total": total,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "errors": errors.group(1) if errors else "none",
    }
s, c = parse(sys.argv[1]), parse(sys.argv[2])
stored, conns, typ = int(sys.argv[3]), sys.argv[4], sys.argv[5]
acked = s["total"] - s["non2xx"]
print(f"| server | connections | acks/s | p50 ms | p99 ms | non-2xx | socket errors |")
print(f"| --- | ---: | ---: | ---: | ---: | ---: | --- |")
print(f"| stepgate serve ({typ}, durable start) | {conns} | {s['rps']:,.0f} | {s['p50']:.2f} | {s['p99']:.2f} | {s['non2xx']} | {s['errors']} |")
print(f"| ceiling (axum, stores nothing) | {conns} | {c['rps']:,.0f} | {c['p50']:.2f} | {c['p99']:.2f} | {c['non2xx']} | {c['errors']} |")
print()
print(f"ratio: {s['rps'] / c['rps']:.0%} of the ceiling's throughput; stepgate p99 {s['p99']:.2f} ms")
print(f"durability: wrk counted {acked:,} acknowledged webhooks; after kill -9 the store holds {stored:,} executions"
      + (" (OK: all acknowledged are stored)" if stored >= acked else " (LOST ACKNOWLEDGED WEBHOOKS)"))
sys.exit(0 if stored >= acked else 1)
PY
