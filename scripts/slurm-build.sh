#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds and installs an upstream Slurm release from its source tarball, once
# per machine: the install prefix is the cache, keyed by the tarball's checksum,
#   ${SLURM_BUILD_CACHE:-/var/cache/prep-deno}/slurm-VERSION-<sha256:12>/
# and a build counts as done only when its stamp file (.prep-deno-installed)
# exists, so a half-finished build is redone, never taken as done. Configured
# with --enable-multiple-slurmd (several slurmd on one machine, the multi-node
# tests) and --disable-debug; `make -j2`; the log is <prefix>.log.
#   scripts/slurm-build.sh VERSION          build if needed, print the prefix
#   scripts/slurm-build.sh --prefix VERSION print the prefix if built, else fail
#   scripts/slurm-build.sh --tarball VERSION print the checked tarball's path
# Tarballs: $SLURM_TARBALLS, else <repo>/../shared/slurm, else /work/shared/slurm
# (slurm-VERSION.tar.xz, checked against SHA256SUMS there when present).
set -euo pipefail
# The whole script is one block, read before it runs: editing the file while
# a build runs cannot change what that build does.
{
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${SLURM_BUILD_CACHE:-/var/cache/prep-deno}
log() { echo "slurm-build: $*" >&2; }

mode=build
case "${1:-}" in --prefix | --tarball) mode=${1#--}; shift ;; esac
version=${1:-}
[ -n "$version" ] || { log "usage: scripts/slurm-build.sh [--prefix] VERSION (e.g. 25.11.7)"; exit 2; }

# Prints the tarball's path, or fails naming every place looked at.
find_tarball() {
  local d looked=()
  for d in ${SLURM_TARBALLS:+"$SLURM_TARBALLS"} "$top/../shared/slurm" /work/shared/slurm; do
    looked+=("$d")
    if [ -f "$d/slurm-$version.tar.xz" ]; then echo "$d/slurm-$version.tar.xz"; return; fi
  done
  log "NO TARBALL: slurm-$version.tar.xz is in none of: ${looked[*]} (set SLURM_TARBALLS to the folder that has it)"
  return 1
}

tarball=$(find_tarball)
sums="$(dirname "$tarball")/SHA256SUMS"
sha=$(sha256sum "$tarball" | cut -c1-64)
if [ -f "$sums" ]; then
  want=$(awk -v f="slurm-$version.tar.xz" '$2 == f || $2 == "*" f { print $1 }' "$sums")
  if [ -n "$want" ] && [ "$want" != "$sha" ]; then
    log "CHECKSUM MISMATCH: $tarball is $sha, $sums says $want"
    exit 1
  fi
fi
if [ "$mode" = tarball ]; then echo "$tarball"; exit 0; fi
prefix="$cache/slurm-$version-${sha:0:12}"
stamp="$prefix/.prep-deno-installed"

if [ -f "$stamp" ]; then echo "$prefix"; exit 0; fi
if [ "$mode" = prefix ]; then log "slurm $version is not built yet (run scripts/slurm-build.sh $version)"; exit 1; fi

# One build at a time per prefix.
mkdir -p "$cache"
exec 9>"$prefix.lock"
flock 9
if [ -f "$stamp" ]; then echo "$prefix"; exit 0; fi

install_build_deps() {
  local need=() p
  for p in build-essential libmunge-dev libjson-c-dev munge xz-utils python3; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need+=("$p")
  done
  if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
  fi
}
install_build_deps

buildlog="$prefix.log"
src="$cache/src-$version-${sha:0:12}"
start=$(date +%s)
log "building slurm $version into $prefix (9-18 min on 2 cores; log: $buildlog)"
rm -rf "$src" "$prefix"
mkdir -p "$src"
# Each step chained with && (set -e does not apply inside a || list).
build() {
  echo "== $(date -u) slurm $version from $tarball ($sha)" &&
    tar -xJf "$tarball" -C "$src" --strip-components=1 &&
    cd "$src" &&
    # The compiler's temporary files beside the build: a /tmp cleaned by
    # someone else mid-build must not break it.
    mkdir -p "$src/.tmp" && export TMPDIR="$src/.tmp" &&
    ./configure --quiet --prefix="$prefix" --sysconfdir="$prefix/etc" \
      --enable-multiple-slurmd --disable-debug &&
    make -j2 >/dev/null &&
    make install >/dev/null &&
    # config.h of this very build: scripts/build-plugin.sh compiles
    # prep_deno.so for this install against it.
    mkdir -p "$prefix/share/prep-deno" &&
    cp config.h "$prefix/share/prep-deno/config.h" &&
    echo "== $(date -u) done"
}
(build) >>"$buildlog" 2>&1 || {
  log "BUILD FAILED for slurm $version, see $buildlog"
  tail -n 30 "$buildlog" >&2
  exit 1
}
rm -rf "$src"
secs=$(($(date +%s) - start))
echo "slurm $version sha256=$sha built in ${secs}s on $(date -u)" >"$stamp"
log "slurm $version built in ${secs}s: $prefix"
echo "$prefix"
exit 0
}
