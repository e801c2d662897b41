#!/usr/bin/env bash
# Regenerates every figure and report under docs/ from fksim itself (release build):
#   docs/report/       fksim report on Django's Open edX schemas and model/workloads/openedx-report.toml
#   docs/load-clients.svg   fksim load's sweep of clients on model/workloads/calibration.toml
# `bash docs/figures.sh` rewrites them; CI runs it and fails if the checked-in files differ from
# what it makes now (`bash docs/figures.sh --check`). Every run is seeded: same binary, same bytes.
set -euo pipefail
cd "$(dirname "$0")/.."
fksim=${FKSIM:-target/release/fksim}
[ -x "$fksim" ] || cargo build --release

"$fksim" report --schema innodb=model/schemas/openedx.mysql.sql --schema postgres=model/schemas/openedx.postgres.sql \
  --workload model/workloads/openedx-report.toml --seed 1 --out docs/report >/dev/null
"$fksim" load model/workloads/calibration.toml --engine both --fk both --seed 1 \
  --sweep clients=1,2,4,8,16,32,64 --plot docs/load-clients.svg >/dev/null

if [ "${1:-}" = "--check" ]; then
  changed=$(git status --porcelain -- docs/report docs/load-clients.svg)
  if [ -n "$changed" ]; then
    echo "docs/figures.sh: the checked-in figures are not what fksim makes now:" >&2
    echo "$changed" >&2
    git diff --stat -- docs/report docs/load-clients.svg >&2
    exit 1
  fi
  echo "docs/figures.sh: every checked-in figure and report is what fksim makes now"
fi
