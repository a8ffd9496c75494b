#!/usr/bin/env bash
# Fuzz the ASL parsers and the interpreter (cargo-fuzz crate in fuzz/).
#
#   scripts/fuzz.sh                  # seed the corpora, replay old findings, fuzz every target
#   scripts/fuzz.sh path intrinsic   # only these targets
#   FUZZ_SECONDS=600 scripts/fuzz.sh run
#
# 1. Seeds fuzz/corpus/<target>/ from the conformance cases, so the fuzzers
#    start from real definitions instead of having to discover JSON and ASL:
#    definitions -> definition, run; path-like strings (values of InputPath,
#    OutputPath, ResultPath, ItemsPath, Variable, any *Path field, and `.$`
#    fields that start with `$`) -> path; intrinsic calls (`States.…`) ->
#    intrinsic. Files are named by content hash, as libFuzzer names its own,
#    so seeding again adds nothing twice.
# 2. Replays every input saved in fuzz/artifacts/<target>/ (crash-*, timeout-*,
#    oom-*, leak-*, minimized-*): a finding that was fixed must stay fixed.
# 3. Runs each target for FUZZ_SECONDS (default 60), one at a time (the build
#    machine is shared). An input that takes more than FUZZ_TIMEOUT seconds
#    (default 2) is a hang; more than FUZZ_RSS_MB (default 2048) is an OOM.
#
# Exits non-zero if any replayed artifact still fails or any target found a
# crash, hang or OOM; libFuzzer then prints how to reproduce
# (`cargo +nightly fuzz run <target> fuzz/artifacts/<target>/crash-…`).
#
# Needs: a nightly toolchain, cargo-fuzz, python3. Environment:
#   CONFORMANCE  cases file (default ../shared/conformance/localstack-asl.jsonl
#                relative to the repository root)
#   FUZZ_SECONDS, FUZZ_TIMEOUT, FUZZ_RSS_MB, FUZZ_MAX_LEN (default 4096)
#   FUZZ_REPLAY=0 skips step 2.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fuzz_dir="$root/fuzz"
conformance="${CONFORMANCE:-$root/../shared/conformance/localstack-asl.jsonl}"
seconds="${FUZZ_SECONDS:-60}"
timeout="${FUZZ_TIMEOUT:-2}"
rss_mb="${FUZZ_RSS_MB:-2048}"
max_len="${FUZZ_MAX_LEN:-4096}"
all_targets=(definition path intrinsic run)
if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    targets=("${all_targets[@]}")
fi
for t in "${targets[@]}"; do
    if [[ ! -f "$fuzz_dir/fuzz_targets/$t.rs" ]]; then
        echo "fuzz.sh: unknown target '$t' (have: ${all_targets[*]})" >&2
        exit 2
    fi
done

# --- 1. seed ---------------------------------------------------------------
if [[ -f "$conformance" ]]; then
    python3 - "$conformance" "$fuzz_dir/corpus" <<'PY'
import hashlib
import json
import os
import re
import sys

cases_file, corpus = sys.argv[1], sys.argv[2]
seeds = {name: set() for name in ("definition", "run", "path", "intrinsic")}
# Every `States.Name(` inside a string: nested calls and calls inside
# JSONata-free strings are seeds of their own once their parentheses close.
call_start = re.compile(r"States\.[A-Za-z0-9]+\(")


def calls_in(text):
    """Each balanced `States.X(...)` in text, quotes ('...') respected."""
    for m in call_start.finditer(text):
        depth, i, quoted = 0, m.end() - 1, False
        while i < len(text):
            c = text[i]
            if quoted:
                if c == "\\":
                    i += 1
                elif c == "'":
                    quoted = False
            elif c == "'":
                quoted = True
            elif c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    yield text[m.start() : i + 1]
                    break
            i += 1


def is_path_key(key):
    return key in ("InputPath", "OutputPath", "ResultPath", "ItemsPath", "Variable") or key.endswith("Path")


def walk(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str):
                if value.startswith("$") and (is_path_key(key) or key.endswith(".$")):
                    seeds["path"].add(value)
                if "States." in value:
                    seeds["intrinsic"].update(calls_in(value))
            walk(value)
    elif isinstance(node, list):
        for item in node:
            walk(item)


files = [cases_file]
# AWS-rejected definitions exercise the validator's error paths.
invalid = cases_file.replace("localstack-asl.jsonl", "localstack-asl-invalid-definitions.jsonl")
if invalid != cases_file and os.path.exists(invalid):
    files.append(invalid)
for path in files:
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            definition = json.loads(line).get("definition")
            if definition is None:
                continue
            text = json.dumps(definition, ensure_ascii=False)
            seeds["definition"].add(text)
            if path == cases_file:
                seeds["run"].add(text)
            walk(definition)

for name, items in seeds.items():
    os.makedirs(os.path.join(corpus, name), exist_ok=True)
    added = 0
    for item in items:
        data = item.encode("utf-8")
        target = os.path.join(corpus, name, hashlib.sha1(data).hexdigest())
        if not os.path.exists(target):
            with open(target, "wb") as out:
                out.write(data)
            added += 1
    print(f"seed {name}: {len(items)} inputs ({added} new)")
PY
else
    echo "fuzz.sh: $conformance not found; fuzzing from the existing corpora only" >&2
fi

cd "$fuzz_dir"
# Build once up front so a compile error is reported as such, not as a finding.
cargo +nightly fuzz build

libfuzzer_flags=(-timeout="$timeout" -rss_limit_mb="$rss_mb" -malloc_limit_mb="$rss_mb" -max_len="$max_len")
failed=()

# --- 2. replay earlier findings ------------------------------------------------
if [[ "${FUZZ_REPLAY:-1}" != 0 ]]; then
    for t in "${targets[@]}"; do
        shopt -s nullglob
        saved=("artifacts/$t"/crash-* "artifacts/$t"/timeout-* "artifacts/$t"/oom-* \
            "artifacts/$t"/leak-* "artifacts/$t"/slow-unit-* "artifacts/$t"/minimized-*)
        shopt -u nullglob
        [[ ${#saved[@]} -eq 0 ]] && continue
        echo "== replay $t: ${#saved[@]} saved inputs"
        # One process per input: libFuzzer stops at the first failure.
        for input in "${saved[@]}"; do
            if ! cargo +nightly fuzz run "$t" "$input" -- "${libfuzzer_flags[@]}" >"/tmp/fuzz-replay.$$" 2>&1; then
                echo "still failing: $input"
                grep -a -E "panicked|ERROR: libFuzzer|SUMMARY" "/tmp/fuzz-replay.$$" | head -5 || true
                failed+=("$t (replay $input)")
            fi
        done
        rm -f "/tmp/fuzz-replay.$$"
    done
fi

# --- 3. fuzz ---------------------------------------------------------------------
for t in "${targets[@]}"; do
    mkdir -p "artifacts/$t" "corpus/$t"
    before="$(ls "artifacts/$t" | sort)"
    echo "== fuzz $t for ${seconds}s"
    status=0
    cargo +nightly fuzz run "$t" "corpus/$t" -- -max_total_time="$seconds" "${libfuzzer_flags[@]}" \
        -print_final_stats=1 2>&1 | grep -a -v -E '^#[0-9]+\s+(NEW|REDUCE|pulse)' || status=${PIPESTATUS[0]}
    new="$(comm -13 <(echo "$before") <(ls "artifacts/$t" | sort) | grep -E '^(crash|timeout|oom|leak|slow-unit)-' || true)"
    if [[ $status -ne 0 || -n "$new" ]]; then
        failed+=("$t${new:+ (new: $(echo "$new" | tr '\n' ' '))}")
    fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
    printf 'fuzz.sh: findings in %s\n' "${failed[@]}" >&2
    exit 1
fi
echo "fuzz.sh: no findings in ${targets[*]}"
