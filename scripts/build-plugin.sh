#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `deno task build-plugin [VERSION]`: builds the plugin.
#   (no VERSION)  build/prep_deno.so for the installed (Debian) Slurm, linked
#                 against its libslurmfull.
#   VERSION       build/prep_deno-VERSION.so against that release's source
#                 (scripts/slurm-source.sh: 24.11.5 from Debian's pool, 25.11.7
#                 and 26.05.3 from the shared tarballs). When that release is
#                 also installed from source (scripts/slurm-build.sh VERSION, or
#                 SLURM_PREFIX=/its/prefix), the plugin is built with that
#                 install's config.h and linked against its libslurmfull, so its
#                 daemons load it; otherwise it is a compile check, not linked.
# Environment (packages): PREP_DENO_RUNNER, the plugin's default runner= (else
# /usr/local/sbin/prep-deno, a source install's); PREP_DENO_PLUGIN_OUT, where
# the plugin is written instead.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
src=$("$top/scripts/slurm-source.sh" "$@")
includes=()
if [ $# -eq 0 ]; then
  out="$top/build/prep_deno.so"
  libdir=/usr/lib/x86_64-linux-gnu/slurm-wlm
  link=(-L"$libdir" -lslurmfull -Wl,-rpath,"$libdir")
  what="linked against $libdir"
else
  out="$top/build/prep_deno-$1.so"
  prefix=${SLURM_PREFIX:-$("$top/scripts/slurm-build.sh" --prefix "$1" 2>/dev/null || true)}
  if [ -n "$prefix" ]; then
    [ -f "$prefix/share/prep-deno/config.h" ] && [ -f "$prefix/lib/slurm/libslurmfull.so" ] ||
      { echo "build-plugin: $prefix is not a Slurm install of scripts/slurm-build.sh (no share/prep-deno/config.h or lib/slurm/libslurmfull.so)" >&2; exit 1; }
    # The install's own config.h comes first (-isystem order), the release's
    # headers after it.
    includes=(-isystem "$prefix/share/prep-deno")
    link=(-L"$prefix/lib/slurm" -lslurmfull -Wl,-rpath,"$prefix/lib/slurm")
    what="linked against $prefix"
  else
    link=()
    what="compile check, not linked (no install of $1)"
  fi
fi
out=${PREP_DENO_PLUGIN_OUT:-$out}
# The contract header is generated from src/contract.ts (deno task build
# writes it): never build from a stale one. Without Deno (a package's
# builder may have none) the committed header is taken as it is.
if command -v deno >/dev/null; then
  deno run --quiet --no-lock --allow-read "$top/scripts/contract.ts" --check
fi
defines=()
[ -z "${PREP_DENO_RUNNER:-}" ] || defines=(-DPD_DEFAULT_RUNNER="\"$PREP_DENO_RUNNER\"")
# Every C file of ffi/ is the plugin (the runner's launcher is src/launcher/).
sources=("$top"/ffi/*.c)
mkdir -p "$(dirname "$out")"
# Slurm's headers are -isystem: -Werror holds our code to account, not theirs.
# Debian's hardening flags, as lintian checks them in the package, but for
# -z now: the plugin calls symbols of the daemon that loads it
# (job_common_env_vars is slurmctld's), bound lazily, as Slurm's own plugins.
cc -shared -fPIC -O2 -g -pthread -D_FORTIFY_SOURCE=2 -fstack-protector-strong -Wl,-z,relro \
  -Wall -Wextra -Werror \
  -DHAVE_CONFIG_H -DPREP_DENO_VERSION="\"$(cat "$top/VERSION")\"" "${defines[@]}" -iquote "$top/ffi" "${includes[@]}" -isystem "$src" \
  "${sources[@]}" \
  "${link[@]}" -o "$out"
version=$(sed -n 's/^#define SLURM_VERSION_STRING "\(.*\)"/\1/p' "$src/config.h")
echo "${out#"$top/"}: prep/deno for Slurm $version (from $src; $what)"
