#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `deno task test-slurm VERSION`: the cluster suites (parity, failures,
# several nodes and PrologFlags) on real daemons of an upstream Slurm release
# built from source (scripts/slurm-build.sh: once per machine, 9-18 min on
# 2 cores), prep/script against prep/deno. Without VERSION: on Debian's
# installed Slurm. When the release's tarball is not on this machine the suites
# still run and report every test as IGNORED with the reason (never passed).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
version=${1:-}
# The parity, failure and multi-node suites, and the spec's rows that only
# real daemons show (spec_*_test.ts), and configless clusters (configless_test.ts:
# several slurmd, so source-built releases only).
suites=(tests/slurm/parity_test.ts tests/slurm/failures_test.ts tests/slurm/multinode_test.ts tests/slurm/spec_*_test.ts tests/slurm/configless_test.ts)
if [ -n "$version" ]; then
  if scripts/slurm-build.sh --tarball "$version" >/dev/null; then
    prefix=$(scripts/slurm-build.sh "$version")
    scripts/build-plugin.sh "$version"
    # Every Slurm command the tests run (sinfo, sbatch, ...) is the release's.
    export PATH="$prefix/bin:$prefix/sbin:$PATH"
  else
    echo "test-slurm: *** NO SOURCE FOR SLURM $version: its tests will be reported as IGNORED ***" >&2
  fi
  export PREP_DENO_SLURM="$version"
fi
[ -x build/prep-deno ] || deno run --allow-all scripts/build.ts
exec deno test --allow-all --unstable-worker-options "${suites[@]}"
