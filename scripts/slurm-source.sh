#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Prints the folder of a configured Slurm source tree (with config.h),
# getting and configuring it once, cached under build/slurm-src/.
#   scripts/slurm-source.sh            the installed Slurm (Debian source package)
#   scripts/slurm-source.sh 25.11.7    an upstream release: its tarball from the
#                                      shared folder (scripts/slurm-build.sh
#                                      --tarball), else Debian's pool (24.11.5)
# SLURM_SRC=/path overrides both (configured there if it has no config.h).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cache="$top/build/slurm-src"
mkdir -p "$cache"
log() { echo "slurm-source: $*" >&2; }

configure() { # folder
  if [ ! -f "$1/config.h" ]; then
    log "configuring $1 (once; ~15 s)"
    (cd "$1" && ./configure --quiet --without-munge --disable-debug >"$1/.prep-deno-configure.log" 2>&1) ||
      { log "configure failed, see $1/.prep-deno-configure.log"; exit 1; }
  fi
  echo "$1"
}

# The mirror apt already uses, from its sources (no host is written here).
apt_mirror() {
  awk '/^URIs:/ && $2 !~ /security/ { print $2; exit }
       /^deb / && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; exit } }' \
    /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null
}

if [ -n "${SLURM_SRC:-}" ]; then
  configure "$SLURM_SRC"
  exit 0
fi

want=${1:-}
if [ -z "$want" ]; then
  deb_version=$(dpkg-query -W -f='${Version}' slurmd 2>/dev/null || true)
  [ -n "$deb_version" ] || { log "Slurm is not installed (apt-get install slurmd) and no version or SLURM_SRC was given"; exit 1; }
  dir="$cache/debian-$deb_version"
  if [ ! -d "$dir" ]; then
    if ! grep -rqs '^Types:.*deb-src\|^deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
      log "adding a deb-src entry for apt-get source"
      sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
        > /etc/apt/sources.list.d/prep-deno-src.sources
      apt-get update -qq >&2
    fi
    command -v dpkg-source >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dpkg-dev >&2
    tmp=$(mktemp -d "$cache/get.XXXXXX")
    (cd "$tmp" && apt-get source -qq "slurm-wlm=$deb_version" >&2)
    mv "$tmp"/slurm-wlm-*/ "$dir"
    rm -rf "$tmp"
  fi
  configure "$dir"
else
  dir="$cache/upstream-$want"
  if [ ! -d "$dir" ] && shared=$("$top/scripts/slurm-build.sh" --tarball "$want" 2>/dev/null); then
    tmp=$(mktemp -d "$cache/get.XXXXXX")
    tar -xJf "$shared" -C "$tmp"
    mv "$tmp"/*/ "$dir"
    rm -rf "$tmp"
  fi
  if [ ! -d "$dir" ]; then
    tarball="$cache/slurm-wlm_$want.orig.tar.gz"
    if [ ! -f "$tarball" ]; then
      mirror=$(apt_mirror)
      [ -n "$mirror" ] || { log "cannot tell which Debian mirror apt uses (no URIs: in /etc/apt/sources.list.d/)"; exit 1; }
      log "downloading slurm-wlm_$want.orig.tar.gz from apt's mirror"
      curl -fsSL -o "$tarball.part" "$mirror/pool/main/s/slurm-wlm/slurm-wlm_$want.orig.tar.gz" ||
        {
          log "download failed: $mirror/pool/main/s/slurm-wlm/slurm-wlm_$want.orig.tar.gz"
          # A release Debian's pool does not carry (25.11.7, 26.05.3) comes
          # only from the shared tarballs: say where they were looked for.
          "$top/scripts/slurm-build.sh" --tarball "$want" >/dev/null || true
          exit 1
        }
      mv "$tarball.part" "$tarball"
    fi
    tmp=$(mktemp -d "$cache/get.XXXXXX")
    tar -xzf "$tarball" -C "$tmp"
    mv "$tmp"/*/ "$dir"
    rm -rf "$tmp"
  fi
  configure "$dir"
fi
