#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `deno task demo`: builds the runner and runs the example hooks as Slurm
# would, with fake jobs, through the real sandbox.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
deno run -A scripts/build.ts
mkdir -p /var/tmp/prep-deno-demo
for ctx in prolog_slurmctld prolog_slurmd epilog_slurmd epilog_slurmctld; do
  echo
  build/prep-deno try scripts/demo/hooks.ts --context "$ctx" --job-id 101 --timeout 10
done
echo
echo "== a prolog that fails =="
build/prep-deno try scripts/demo/hooks.ts --job-id 102 --env 'SLURM_JOB_COMMENT=please fail' || true
echo
echo "== what the hooks wrote (/var/tmp/prep-deno-demo/hooks.log) =="
tail -n 5 /var/tmp/prep-deno-demo/hooks.log
