#!/usr/bin/env bash
# Print the Markdown table of docs/innodb.md: for every scenario in model/scenarios, what
# `fksim run --json` reports with the FK and without it (waiting steps, deadlocks, other errors,
# orphans, summed over the scenario's permutations).
# Usage: docs/scenario-table.sh [ENGINE]   (from the repository root, after cargo build --release)
set -euo pipefail
engine=${1:-innodb}
bin=target/release/fksim
echo "| scenario | permutations | FK on: waits / deadlocks / errors / orphans | FK off: waits / deadlocks / errors / orphans |"
echo "|---|---|---|---|"
for spec in model/scenarios/*.spec model/scenarios/django/*.spec; do
  name=$(basename "$spec" .spec)
  # A spec for one engine only (PostgreSQL's deferrable constraints) has no recording of the other.
  [ -f "$(dirname "$spec")/expected/$name.$engine.fk-on.jsonl" ] || continue
  # The specs on Django's DDL are named by their directory.
  case "$spec" in model/scenarios/django/*) name="django/$name" ;; esac
  cells=()
  for fk in on off; do
    cells+=("$("$bin" run "$spec" --engine "$engine" --fk "$fk" --json | python3 -c '
import sys, json
perms = waits = deadlocks = orphans = 0
errors = {}
for line in sys.stdin:
    d = json.loads(line)
    if "permutation" in d: perms += 1
    elif d.get("outcome") == "waiting": waits += 1
    if d.get("error") == "deadlock": deadlocks += 1
    elif d.get("error"): errors[d["error"]] = errors.get(d["error"], 0) + 1
    if "orphans" in d: orphans += d["orphans"]
err = ", ".join(f"{v} {k}" for k, v in sorted(errors.items())) or "0"
print(f"{perms}|{waits} / {deadlocks} / {err} / {orphans}")
')")
  done
  echo "| $name | ${cells[0]%%|*} | ${cells[0]#*|} | ${cells[1]#*|} |"
done
