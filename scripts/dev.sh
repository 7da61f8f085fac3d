#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Fresh-machine entry point: installs what prep/deno needs (the pinned Deno
# from npm, bubblewrap, a C toolchain), then runs a deno.json task.
#   scripts/dev.sh demo    scripts/dev.sh test
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
version=$(cat scripts/deno-version)
deno="$top/build/npm/node_modules/@deno/linux-x64-glibc/deno"
if [ ! -x "$deno" ] || [ "$("$deno" --version | head -1 | cut -d' ' -f2)" != "$version" ]; then
  mkdir -p build/npm
  [ -f build/npm/package.json ] || echo '{"private":true}' > build/npm/package.json
  (cd build/npm && npm install --no-audit --no-fund --loglevel=error "deno@$version" >&2)
fi
need=()
command -v bwrap >/dev/null || need+=(bubblewrap)
command -v cc >/dev/null || need+=(gcc)
command -v make >/dev/null || need+=(make)
command -v curl >/dev/null || need+=(curl ca-certificates)
command -v pgrep >/dev/null || need+=(procps)
# The metrics test serves the textfile through Debian's real node_exporter.
command -v prometheus-node-exporter >/dev/null || need+=(prometheus-node-exporter)
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "dev.sh: install ${need[*]} (needs root)" >&2; exit 1; }
  # Said and stopped on failure (apt's lock held by another apt, say): `set -e`
  # does not stop at a failed `&&` list, and nothing works without these.
  { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2; } ||
    { echo "dev.sh: could not install ${need[*]} with apt-get (see above)" >&2; exit 1; }
fi
export PATH="$(dirname "$deno"):$PATH" DENO_NO_UPDATE_CHECK=1
task=${1:?usage: scripts/dev.sh TASK [ARGS...]}
shift
exec deno task "$task" "$@"
