#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `deno task build-plugin [VERSION]`: builds build/prep_deno.so for the
# installed Slurm, or with a VERSION (e.g. 24.11.5) a compile check against
# that upstream source: build/prep_deno-VERSION.so, not linked.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
src=$("$top/scripts/slurm-source.sh" "$@")
libdir=/usr/lib/x86_64-linux-gnu/slurm-wlm
if [ $# -eq 0 ]; then
  out="$top/build/prep_deno.so"
  link=(-L"$libdir" -lslurmfull -Wl,-rpath,"$libdir")
else
  out="$top/build/prep_deno-$1.so"
  link=()
fi
# Every C file of ffi/ is the plugin (the runner's launcher is not in ffi/).
sources=()
for f in "$top"/ffi/*.c; do
  [ "$(basename "$f")" = prep_deno_launcher.c ] || sources+=("$f")
done
# Slurm's headers are -isystem: -Werror holds our code to account, not theirs.
cc -shared -fPIC -O2 -g -pthread -Wall -Wextra -Werror \
  -DHAVE_CONFIG_H -DPREP_DENO_VERSION="\"$(cat "$top/VERSION")\"" -iquote "$top/ffi" -isystem "$src" \
  "${sources[@]}" \
  "${link[@]}" -o "$out"
version=$(sed -n 's/^#define SLURM_VERSION_STRING "\(.*\)"/\1/p' "$src/config.h")
echo "build/$(basename "$out"): prep/deno for Slurm $version (from $src)"
