#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A throwaway single-node Slurm cluster from Debian's packages, for tests and
# the demo: its own slurm.conf, state and logs under build/cluster/, loopback
# only, ports $CLUSTER_PORT and $CLUSTER_PORT+1 (default 16817/16818, no clash
# with a system Slurm; set CLUSTER_PORT to run several clusters side by side,
# each with its own CLUSTER_DIR). Runs as root.
#   scripts/slurm-cluster.sh install | start | stop | status
# start reads the hook set-up from the environment:
#   PREP_PLUGINS (default prep/deno), PREP_PARAMS, PROLOG, EPILOG,
#   PROLOG_SLURMCTLD, EPILOG_SLURMCTLD, PROLOG_EPILOG_TIMEOUT (default 30),
#   CLUSTER_DIR (default build/cluster),
#   WARM=1: also start `prep-deno serve` on $CLUSTER_DIR/run/serve.sock and
#           add mode=warm,socket=... to PrEpParameters
# Clients: export SLURM_CONF=$CLUSTER_DIR/slurm.conf
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${CLUSTER_DIR:-$top/build/cluster}
libdir=/usr/lib/x86_64-linux-gnu/slurm-wlm
node=$(hostname -s)
port=${CLUSTER_PORT:-16817}
log() { echo "slurm-cluster: $*" >&2; }

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

write_conf() {
  mkdir -p "$dir"/{state,spool,log,plugins}
  ln -sf "$top/build/prep_deno.so" "$dir/plugins/prep_deno.so"
  local mem
  mem=$(awk '/MemTotal/{print int($2/1024/2)}' /proc/meminfo)
  {
    echo "ClusterName=prepdeno"
    echo "SlurmctldHost=$node(127.0.0.1)"
    echo "SlurmctldPort=$port"
    echo "SlurmdPort=$((port + 1))"
    echo "SlurmUser=root"
    echo "SlurmdUser=root"
    echo "AuthType=auth/munge"
    echo "PluginDir=$dir/plugins:$libdir"
    echo "StateSaveLocation=$dir/state"
    echo "SlurmdSpoolDir=$dir/spool"
    echo "SlurmctldPidFile=$dir/slurmctld.pid"
    echo "SlurmdPidFile=$dir/slurmd.pid"
    echo "SlurmctldLogFile=$dir/log/slurmctld.log"
    echo "SlurmdLogFile=$dir/log/slurmd.log"
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
    echo "PrEpPlugins=${PREP_PLUGINS:-prep/deno}"
    local params=${PREP_PARAMS:-}
    if [ "${WARM:-0}" = 1 ]; then params="${params:+$params,}mode=warm,socket=$dir/run/serve.sock"; fi
    [ -z "$params" ] || echo "PrEpParameters=$params"
    [ -z "${PROLOG:-}" ] || echo "Prolog=$PROLOG"
    [ -z "${EPILOG:-}" ] || echo "Epilog=$EPILOG"
    [ -z "${PROLOG_SLURMCTLD:-}" ] || echo "PrologSlurmctld=$PROLOG_SLURMCTLD"
    [ -z "${EPILOG_SLURMCTLD:-}" ] || echo "EpilogSlurmctld=$EPILOG_SLURMCTLD"
    echo "PrologEpilogTimeout=${PROLOG_EPILOG_TIMEOUT:-30}"
    echo "NodeName=$node NodeAddr=127.0.0.1 CPUs=8 RealMemory=$mem Gres=gpu:2 State=UNKNOWN"
    echo "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES"
  } > "$dir/slurm.conf"
  printf 'NodeName=%s Name=gpu File=/dev/null\nNodeName=%s Name=gpu File=/dev/zero\n' "$node" "$node" > "$dir/gres.conf"
}

stop() {
  for d in slurmd slurmctld serve; do
    if pid_alive "$dir/$d.pid"; then
      local pid
      pid=$(cat "$dir/$d.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/$d.pid"
  done
}

wait_idle() {
  for _ in $(seq 150); do
    if SLURM_CONF="$dir/slurm.conf" sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then return 0; fi
    sleep 0.2
  done
  log "the node did not come up; see $dir/log/"
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
    : > "$dir/log/slurmd.log"
    (cd "$dir/log" && SLURM_CONF="$dir/slurm.conf" slurmctld -i -f "$dir/slurm.conf")
    (cd "$dir/log" && SLURM_CONF="$dir/slurm.conf" slurmd -N "$node" -f "$dir/slurm.conf")
    wait_idle
    log "up: SLURM_CONF=$dir/slurm.conf (${PREP_PLUGINS:-prep/deno})"
    ;;
  stop)
    stop
    if [ -f "$dir/munged.pid" ]; then
      pid=$(cat "$dir/munged.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      rm -f "$dir/munged.pid"
    fi
    log "stopped"
    ;;
  status)
    for d in slurmctld slurmd serve; do
      if pid_alive "$dir/$d.pid"; then echo "$d: running (pid $(cat "$dir/$d.pid"))"; else echo "$d: stopped"; fi
    done
    SLURM_CONF="$dir/slurm.conf" sinfo 2>/dev/null || true
    ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
