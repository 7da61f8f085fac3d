#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `deno task demo`: builds the runner and the plugin, starts a throwaway
# single-node Slurm with PrEpPlugins=prep/deno and the example TypeScript
# hooks (scripts/demo/hooks.ts), runs two jobs, and shows what the hooks did.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
log=/var/tmp/prep-deno-demo
export SLURM_CONF="$top/build/cluster/slurm.conf"

scripts/slurm-cluster.sh install
deno run -A scripts/build.ts
scripts/build-plugin.sh
mkdir -p "$log"
: > "$log/hooks.log"

hooks="$top/scripts/demo/hooks.ts"
PREP_PLUGINS=prep/deno PREP_PARAMS="runner=$top/build/prep-deno" \
  PROLOG="$hooks" EPILOG="$hooks" PROLOG_SLURMCTLD="$hooks" EPILOG_SLURMCTLD="$hooks" \
  PROLOG_EPILOG_TIMEOUT=30 scripts/slurm-cluster.sh start

echo
echo "== a job: sbatch -J 'demo job' --comment 'hello from the demo'"
ok=$(sbatch --parsable -o /dev/null -J 'demo job' --comment 'hello from the demo' --wrap 'echo hi')
echo "== a job whose comment makes the prolog fail"
bad=$(sbatch --parsable -o /dev/null --comment 'please fail' --wrap 'echo never')

for _ in $(seq 120); do
  [ "$(grep -c "job=$ok" "$log/hooks.log")" -ge 4 ] && grep -q "job=$bad" "$log/hooks.log" && break
  sleep 0.5
done
sleep 2

echo
echo "== what the hooks recorded ($log/hooks.log)"
cat "$log/hooks.log"
echo
echo "== the job that ran:"
scontrol show job "$ok" --oneliner | grep -oE '(JobId|JobName|JobState|ExitCode)=([^=]*)( |$)' | sed -E 's/ [A-Za-z]+$//'
echo
echo "== the job whose prolog failed, and the node (as under prep/script):"
scontrol show job "$bad" --oneliner | grep -oE '(JobId|JobState|Reason)=[^ ]*'
sinfo -R -o '%70E %N'
echo
echo "== prep/deno in the daemons' logs:"
grep -h "prep/deno: \(runner\|Prolog=\|PrologSlurmctld=\)" build/cluster/log/slurmctld.log build/cluster/log/slurmd.log
grep -h -A1 "prolog failed: rc" build/cluster/log/slurmd.log
scontrol update NodeName="$(hostname -s)" State=RESUME >/dev/null 2>&1 || true
scripts/slurm-cluster.sh stop
