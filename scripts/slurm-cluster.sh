#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A throwaway Slurm cluster for tests and the demo: its own slurm.conf, state
# and logs under build/cluster/, loopback only, ports $CLUSTER_PORT and
# $CLUSTER_PORT+1 (default 16817/16818, no clash with a system Slurm; set
# CLUSTER_PORT to run several clusters side by side, each with its own
# CLUSTER_DIR). Runs as root. Never stops munged (shared by every cluster).
#   scripts/slurm-cluster.sh install | start | stop | status
# Which Slurm: Debian's packages (default, 22.05.8 on bookworm), or a release
# built from source by scripts/slurm-build.sh: SLURM_VERSION=25.11.7 (its
# cached install) or SLURM_PREFIX=/that/prefix; the plugin is then
# build/prep_deno-VERSION.so (deno task build-plugin VERSION).
# NODES=N (default 1): N slurmd nodes n1..nN on this machine, slurmd ports
# $SLURMD_PORT_BASE.. (default $CLUSTER_PORT+13); needs a Slurm built with
# --enable-multiple-slurmd (scripts/slurm-build.sh does, Debian's is not).
# Per node: slurmd-nX.pid, log/slurmd-nX.log, spool/nX.
# start reads the hook set-up from the environment:
#   PREP_PLUGINS (default prep/deno), PREP_PARAMS, PROLOG, EPILOG,
#   PROLOG_SLURMCTLD, EPILOG_SLURMCTLD, PROLOG_EPILOG_TIMEOUT (default 30),
#   PROLOG_FLAGS (PrologFlags=, e.g. Alloc,Contain), several lines of one
#   hook key: separate them with a newline,
#   CLUSTER_DIR (default build/cluster),
#   WARM=1: also start `prep-deno serve` on $CLUSTER_DIR/run/serve.sock and
#           add mode=warm,socket=... to PrEpParameters
#   EXTRA_CONF: more slurm.conf lines, newline-separated (e.g. DebugFlags=Script)
#   CONFIGLESS=1: SlurmctldParameters=enable_configless, and every slurmd
#           started with --conf-server instead of -f: it fetches slurm.conf
#           (and the files relative Prolog=/Epilog= name, which must be in
#           $CLUSTER_DIR beside slurm.conf) into SlurmdSpoolDir/conf-cache.
#           slurmd also links /run/slurm/conf there; stop removes that link.
# Clients: export SLURM_CONF=$CLUSTER_DIR/slurm.conf
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${CLUSTER_DIR:-$top/build/cluster}
libdir=/usr/lib/x86_64-linux-gnu/slurm-wlm
node=$(hostname -s)
port=${CLUSTER_PORT:-16817}
nodes=${NODES:-1}
log() { echo "slurm-cluster: $*" >&2; }

# Where the daemons and commands come from, and which plugin build they load.
prefix=${SLURM_PREFIX:-}
if [ -z "$prefix" ] && [ -n "${SLURM_VERSION:-}" ]; then
  prefix=$("$top/scripts/slurm-build.sh" --prefix "$SLURM_VERSION") || exit 1
fi
if [ -n "$prefix" ]; then
  [ -x "$prefix/sbin/slurmd" ] || { log "$prefix has no sbin/slurmd (build it: scripts/slurm-build.sh VERSION)"; exit 1; }
  libdir="$prefix/lib/slurm"
  export PATH="$prefix/bin:$prefix/sbin:$PATH"
  version=$("$prefix/sbin/slurmd" -V | awk '{print $2}')
  plugin="$top/build/prep_deno-$version.so"
else
  plugin="$top/build/prep_deno.so"
fi
if [ "$nodes" -gt 1 ] && [ -z "$prefix" ]; then
  log "NODES=$nodes needs a Slurm built with --enable-multiple-slurmd (Debian's is not): set SLURM_VERSION=25.11.7 (scripts/slurm-build.sh)"
  exit 2
fi
slurmd_base=${SLURMD_PORT_BASE:-$((port + 13))}
# The node names: the host itself for one node, n1..nN for several.
node_names() { if [ "$nodes" -gt 1 ]; then seq -f 'n%g' 1 "$nodes"; else echo "$node"; fi; }
# pid file of the slurmd of node $1.
slurmd_pid() { if [ "$nodes" -gt 1 ]; then echo "$dir/slurmd-$1.pid"; else echo "$dir/slurmd.pid"; fi; }

install_packages() {
  local need=()
  for p in slurmctld slurmd slurm-client munge; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need+=("$p")
  done
  if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
  fi
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

munge_works() { munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; }

start_munge() {
  munge_works && return
  [ -f /etc/munge/munge.key ] || mungekey --create >&2
  mkdir -p /run/munge && chown munge:munge /run/munge 2>/dev/null || true
  # A munged on its way out (a stop just now) must be gone first.
  for _ in $(seq 50); do pgrep -x munged >/dev/null || break; sleep 0.1; done
  # Root-owned cluster: munged as root needs --force.
  munged --force --pid-file="$dir/munged.pid" 2>/dev/null || true
  for _ in $(seq 100); do munge_works && { log "started munged"; return; }; sleep 0.1; done
  log "munged does not answer"
  exit 1
}

# One Key=value line per newline-separated value (24.05+ takes several).
hook_lines() { # key values
  local v
  [ -n "$2" ] || return 0
  while IFS= read -r v; do
    [ -n "$v" ] || continue
    v=${v#"$1="} # a line may name its key already
    echo "$1=$v"
  done <<<"$2"
}

write_conf() {
  mkdir -p "$dir"/{state,spool,log,plugins}
  ln -sf "$plugin" "$dir/plugins/prep_deno.so"
  local mem
  mem=$(awk '/MemTotal/{print int($2/1024/2)}' /proc/meminfo)
  {
    echo "ClusterName=prepdeno"
    echo "SlurmctldHost=$node(127.0.0.1)"
    echo "SlurmctldPort=$port"
    [ "$nodes" -gt 1 ] || echo "SlurmdPort=$((port + 1))"
    echo "SlurmUser=root"
    echo "SlurmdUser=root"
    echo "AuthType=auth/munge"
    echo "PluginDir=$dir/plugins:$libdir"
    echo "StateSaveLocation=$dir/state"
    echo "SlurmctldPidFile=$dir/slurmctld.pid"
    echo "SlurmctldLogFile=$dir/log/slurmctld.log"
    if [ "$nodes" -gt 1 ]; then
      echo "SlurmdSpoolDir=$dir/spool/%n"
      echo "SlurmdPidFile=$dir/slurmd-%n.pid"
      echo "SlurmdLogFile=$dir/log/slurmd-%n.log"
    else
      echo "SlurmdSpoolDir=$dir/spool"
      echo "SlurmdPidFile=$dir/slurmd.pid"
      echo "SlurmdLogFile=$dir/log/slurmd.log"
    fi
    echo "SlurmctldDebug=debug2"
    echo "SlurmdDebug=debug2"
    echo "ProctrackType=proctrack/pgid"
    echo "TaskPlugin=task/none"
    echo "SelectType=select/cons_tres"
    # Cores only, and more CPUs than the machine has: test jobs run side
    # by side instead of queueing behind each other's memory.
    echo "SelectTypeParameters=CR_Core"
    echo "SlurmdParameters=config_overrides"
    echo "SchedulerType=sched/builtin"
    echo "MpiDefault=none"
    echo "JobCompType=jobcomp/none"
    echo "AccountingStorageType=accounting_storage/none"
    echo "ReturnToService=2"
    echo "MinJobAge=300"
    echo "GresTypes=gpu"
    [ "${CONFIGLESS:-0}" != 1 ] || echo "SlurmctldParameters=enable_configless"
    echo "PrEpPlugins=${PREP_PLUGINS:-prep/deno}"
    local params=${PREP_PARAMS:-}
    if [ "${WARM:-0}" = 1 ]; then params="${params:+$params,}mode=warm,socket=$dir/run/serve.sock"; fi
    # prep/deno's journal stays in the cluster's folder unless the test names one.
    case ",$params," in *,journal=*) ;; *) params="${params:+$params,}journal=$dir/journal" ;; esac
    [ -z "$params" ] || echo "PrEpParameters=$params"
    hook_lines Prolog "${PROLOG:-}"
    hook_lines Epilog "${EPILOG:-}"
    hook_lines PrologSlurmctld "${PROLOG_SLURMCTLD:-}"
    hook_lines EpilogSlurmctld "${EPILOG_SLURMCTLD:-}"
    [ -z "${PROLOG_FLAGS:-}" ] || echo "PrologFlags=$PROLOG_FLAGS"
    echo "PrologEpilogTimeout=${PROLOG_EPILOG_TIMEOUT:-30}"
    if [ "$nodes" -gt 1 ]; then
      local i=0 n
      for n in $(node_names); do
        echo "NodeName=$n NodeHostname=localhost NodeAddr=127.0.0.1 Port=$((slurmd_base + i)) CPUs=8 RealMemory=$((mem / nodes)) Gres=gpu:2 State=UNKNOWN"
        i=$((i + 1))
      done
    else
      echo "NodeName=$node NodeAddr=127.0.0.1 CPUs=8 RealMemory=$mem Gres=gpu:2 State=UNKNOWN"
    fi
    echo "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES"
    [ -z "${EXTRA_CONF:-}" ] || printf '%s\n' "$EXTRA_CONF"
  } > "$dir/slurm.conf"
  local n
  for n in $(node_names); do
    printf 'NodeName=%s Name=gpu File=/dev/null\nNodeName=%s Name=gpu File=/dev/zero\n' "$n" "$n"
  done > "$dir/gres.conf"
}

stop_pidfile() { # pid file
  if pid_alive "$1"; then
    local pid
    pid=$(cat "$1")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    # SIGKILL is not instant either: stop returns once the process is gone.
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$1"
}

# The daemons of this cluster by their command line: `scontrol reconfigure`
# (25.11) makes slurmctld fork a new daemon and exit, and its pid file then
# names the old one. Only command lines this script runs, with this folder's
# slurm.conf or this cluster's --conf-server, match.
cluster_pids() {
  local p args
  for p in /proc/[0-9]*; do
    args=$(tr '\0' ' ' < "$p/cmdline" 2>/dev/null) || continue
    case "$args" in
      "slurmctld -i -f $dir/slurm.conf "|"slurmd -N "*" -f $dir/slurm.conf "|"slurmd -N "*" --conf-server 127.0.0.1:$port ")
        echo "${p#/proc/}" ;;
    esac
  done
}

# Every daemon this cluster folder started, whatever NODES it ran with.
stop() {
  local f pid
  for f in "$dir"/slurmd.pid "$dir"/slurmd-*.pid; do [ -e "$f" ] && stop_pidfile "$f"; done
  stop_pidfile "$dir/slurmctld.pid"
  stop_pidfile "$dir/serve.pid"
  for pid in $(cluster_pids); do
    echo "$pid" > "$dir/left.pid"
    stop_pidfile "$dir/left.pid"
  done
  # A configless slurmd of this cluster linked /run/slurm/conf to its cache.
  if [ -L /run/slurm/conf ] && [[ "$(readlink /run/slurm/conf)" == "$dir/"* ]]; then
    rm -f /run/slurm/conf
    rmdir /run/slurm 2>/dev/null || true
  fi
}

wait_idle() {
  for _ in $(seq 150); do
    if [ "$(SLURM_CONF="$dir/slurm.conf" sinfo -h -N -o %T 2>/dev/null | grep -cE '^(idle|mixed|allocated)$')" -ge "$nodes" ]; then return 0; fi
    sleep 0.2
  done
  log "the nodes did not come up; see $dir/log/"
  SLURM_CONF="$dir/slurm.conf" sinfo -R >&2 || true
  return 1
}

case "${1:-}" in
  install)
    install_packages
    ;;
  start)
    install_packages
    stop
    mkdir -p "$dir"
    rm -rf "$dir/state" "$dir/spool"
    write_conf
    start_munge
    if [ "${WARM:-0}" = 1 ]; then
      rm -rf "$dir/run"
      "$top/build/prep-deno" serve --socket "$dir/run/serve.sock" >> "$dir/log/serve.log" 2>&1 &
      echo $! > "$dir/serve.pid"
      for _ in $(seq 100); do [ -S "$dir/run/serve.sock" ] && break; sleep 0.05; done
    fi
    : > "$dir/log/slurmctld.log"
    rm -f "$dir"/log/slurmd*.log
    if [ "${CONFIGLESS:-0}" = 1 ]; then
      # Only -f: the controller's slurm.conf is where no default points.
      (cd "$dir/log" && env -u SLURM_CONF slurmctld -i -f "$dir/slurm.conf")
    else
      (cd "$dir/log" && SLURM_CONF="$dir/slurm.conf" slurmctld -i -f "$dir/slurm.conf")
    fi
    for n in $(node_names); do
      [ "$nodes" -gt 1 ] && mkdir -p "$dir/spool/$n"
      if [ "${CONFIGLESS:-0}" = 1 ]; then
        (cd "$dir/log" && env -u SLURM_CONF slurmd -N "$n" --conf-server "127.0.0.1:$port")
      else
        (cd "$dir/log" && SLURM_CONF="$dir/slurm.conf" slurmd -N "$n" -f "$dir/slurm.conf")
      fi
    done
    wait_idle
    log "up: SLURM_CONF=$dir/slurm.conf (${PREP_PLUGINS:-prep/deno}; Slurm $("$(command -v slurmctld)" -V | awk '{print $2}'); $nodes node(s))"
    ;;
  stop)
    # munged stays: other clusters on this machine share it.
    stop
    log "stopped"
    ;;
  status)
    for f in "$dir"/slurmctld.pid "$dir"/slurmd.pid "$dir"/slurmd-*.pid "$dir"/serve.pid; do
      d=$(basename "$f" .pid)
      [ "$d" != "slurmd-*" ] || continue
      # Several nodes: their own pid files, no plain slurmd.pid.
      [ "$d" != slurmd ] || [ -e "$f" ] || ! compgen -G "$dir/slurmd-*.pid" >/dev/null || continue
      if pid_alive "$f"; then echo "$d: running (pid $(cat "$f"))"; else echo "$d: stopped"; fi
    done
    SLURM_CONF="$dir/slurm.conf" sinfo 2>/dev/null || true
    ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
