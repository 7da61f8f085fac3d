#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `deno task test`: everything, on a fresh machine as on a warm one.
#  1. builds the runner and the plugin for the installed Slurm (22.05.8) and
#     compile-checks it with -Werror against 24.11.5, 25.11.7 and 26.05.3;
#  2. builds the Slurm releases of $PREP_DENO_RELEASES (default 25.11.7) from
#     source, once per machine (scripts/slurm-build.sh; cached under
#     /var/cache/prep-deno), in the background and at low priority while
#  3. every test runs on Debian's Slurm (tests/ src/), then
#  4. the cluster suites run on the real daemons of each built release
#     (scripts/test-slurm.sh VERSION), single-node and on 3 slurmd.
# A release whose tarball is not on this machine is said loudly and its
# tests are reported as ignored; it never fails the 22.05.8 run.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
releases=${PREP_DENO_RELEASES:-25.11.7}
say() { echo "test: $*" >&2; }
# The clusters share one munged (scripts/slurm-cluster.sh starts it when
# none answers); one the tests started goes with them, so the host is left
# as the tests found it.
munged_before=$(pgrep -x munged || true)
set -e
scripts/slurm-cluster.sh install
deno run --allow-all scripts/build.ts
scripts/build-plugin.sh
scripts/build-plugin.sh 24.11.5
have=()
for v in 25.11.7 26.05.3; do
  if scripts/slurm-build.sh --tarball "$v" >/dev/null; then
    scripts/build-plugin.sh "$v"
    have+=("$v")
  else
    say "*** NO SOURCE TARBALL FOR SLURM $v: its plugin build and its cluster suites are IGNORED (set SLURM_TARBALLS) ***"
  fi
done
set +e
builder=
builders=()
for v in $releases; do
  if [[ " ${have[*]} " == *" $v "* ]] && ! scripts/slurm-build.sh --prefix "$v" >/dev/null 2>&1; then
    say "building Slurm $v in the background (log: build/slurm-build.out)"
    builders+=("$v")
  fi
done
if [ -n "${builders[*]:-}" ]; then
  (for v in "${builders[@]}"; do nice -n 19 scripts/slurm-build.sh "$v"; done) \
    >build/slurm-build.out 2>&1 &
  builder=$!
fi
deno test --doc --allow-all --unstable-worker-options tests/ src/ ffi/
rc=$?
if [ -n "$builder" ]; then
  say "waiting for the Slurm build(s) ${builders[*]}"
  wait "$builder" || { say "the Slurm build failed:"; tail -n 20 build/slurm-build.out >&2; rc=1; }
fi
for v in $releases; do
  scripts/test-slurm.sh "$v" || rc=1
done
if [ -z "$munged_before" ]; then
  pkill -x munged || true
fi
exit "$rc"
