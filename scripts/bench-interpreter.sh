#!/usr/bin/env bash
# Runs the pure-interpreter benchmarks of stepgate and of aws-local-stepfunctions
# (the npm package, installed by ../shared/peers/aws-local-stepfunctions/install.sh)
# in the same run, and prints both plus the ratios as a markdown table.
# Usage: scripts/bench-interpreter.sh            (needs node and npm for the peer)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PEERS="$ROOT/../shared/peers/aws-local-stepfunctions"
export PEER_DIR="${PEER_DIR:-$HOME/.cache/stepgate-peers/alsf}"
OUT="$(mktemp -d)"

if [ ! -d "$PEER_DIR/node_modules/aws-local-stepfunctions" ]; then
  bash "$PEERS/install.sh" >/dev/null
fi

cd "$ROOT"
cargo bench -p asl --bench interpreter 2>/dev/null | grep '^{' > "$OUT/stepgate.jsonl"
for s in chain1000 choice10k map10k; do
  for i in 1 2 3; do node "$PEERS/bench.mjs" "$s"; done
done > "$OUT/peer.jsonl"

python3 - "$OUT/stepgate.jsonl" "$OUT/peer.jsonl" <<'PY'
import json, statistics, sys, collections
ours = {json.loads(l)["scenario"]: json.loads(l) for l in open(sys.argv[1]) if l.strip()}
peer = collections.defaultdict(list)
for l in open(sys.argv[2]):
    if l.strip():
        r = json.loads(l); peer[r["scenario"]].append(r)
def med(s, k): return statistics.median(r[k] for r in peer[s])
rows = [
    ("chain1000: 1,000 Pass transitions, one execution", "transitions/s",
     1000 / (med("chain1000", "run_ms") / 1000), "chain1000"),
    ("choice10k: 10,000 executions of Pass → Choice → Succeed", "executions/s", med("choice10k", "exec_per_s"), "choice10k"),
    ("map10k: inline Map over 10,000 items", "items/s", med("map10k", "items_per_s"), "map10k"),
]
key = {"chain1000": "transitions_per_s", "choice10k": "exec_per_s", "map10k": "items_per_s"}
print("| workload | unit | aws-local-stepfunctions | stepgate (history on) | ratio | stepgate (history off) | ratio |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
for label, unit, p, s in rows:
    a = ours[s][key[s]]; b = ours[s + "_nohistory"][key[s]]
    print(f"| {label} | {unit} | {p:,.0f} | {a:,.0f} | {a/p:.0f}× | {b:,.0f} | {b/p:.0f}× |")
PY
rm -rf "$OUT"
