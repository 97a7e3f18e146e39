#!/usr/bin/env bash
# A one-node Slurm cluster on localhost for the project's tests, every file under one folder:
#   slurm-cluster.sh install        install Debian's slurm-wlm and munge when missing (root only)
#   slurm-cluster.sh start DIR      munged, slurmctld and slurmd with a config written to DIR;
#                                   prints `export SLURM_CONF=DIR/slurm.conf` on success
#   slurm-cluster.sh stop DIR       stops the daemons started in DIR and removes DIR
# Never touches /etc: munge's key, socket and Slurm's state, spool, logs and pid files are in DIR.
set -uo pipefail
cmd="${1:-}"; dir="${2:-}"

need_daemons() {
  for b in munged mungekey slurmctld slurmd sbatch squeue scancel; do
    command -v "$b" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin" command -v "$b" >/dev/null 2>&1 || return 1
  done
}
PATH="$PATH:/usr/sbin:/sbin"

case "$cmd" in
install)
  if need_daemons; then exit 0; fi
  if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null; then
    echo "slurm-cluster: not root or no apt-get; the Slurm test will be skipped" >&2; exit 0
  fi
  (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge \
    || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge)) >/dev/null 2>&1 \
    || echo "slurm-cluster: apt-get install slurm-wlm munge failed; the Slurm test will be skipped" >&2
  exit 0
  ;;
start)
  [ -n "$dir" ] || { echo "usage: slurm-cluster.sh start DIR" >&2; exit 2; }
  need_daemons || { echo "slurm-cluster: slurm-wlm or munge is not installed" >&2; exit 3; }
  [ "$(id -u)" = "0" ] || { echo "slurm-cluster: the daemons need root" >&2; exit 3; }
  mkdir -p "$dir"/{state,spool,log,run} && chmod 700 "$dir"
  dir="$(cd "$dir" && pwd)"
  # munge: a fresh key and a private socket
  mungekey --create --keyfile="$dir/munge.key" --force >/dev/null 2>&1 || dd if=/dev/urandom of="$dir/munge.key" bs=1024 count=1 2>/dev/null
  chmod 600 "$dir/munge.key"
  munged --force --key-file="$dir/munge.key" --socket="$dir/run/munge.socket" \
    --pid-file="$dir/run/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/run/munge.seed" \
    || { echo "slurm-cluster: munged did not start (see $dir/log/munged.log)" >&2; exit 4; }
  host="$(hostname -s)"
  # free ports near Slurm's own (6817/6818), so a real Slurm on the machine is not disturbed
  port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
  ctld_port="$(port)"; d_port="$(port)"
  cpus="$(nproc)"; mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 3 / 4 ))
  cat > "$dir/slurm.conf" <<CONF
ClusterName=neuroemu-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$d_port
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/run/munge.socket
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
KillWait=5
MinJobAge=600
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF="$dir/slurm.conf"
  slurmctld -f "$dir/slurm.conf" -i || { echo "slurm-cluster: slurmctld did not start (see $dir/log/slurmctld.log)" >&2; exit 4; }
  slurmd -f "$dir/slurm.conf" || { echo "slurm-cluster: slurmd did not start (see $dir/log/slurmd.log)" >&2; exit 4; }
  for _ in $(seq 1 60); do
    if sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then echo "export SLURM_CONF=$dir/slurm.conf"; exit 0; fi
    sleep 0.5
  done
  echo "slurm-cluster: the node did not come up within 30 s (sinfo: $(sinfo -h -o '%T %E' 2>&1 | head -1))" >&2; exit 4
  ;;
stop)
  [ -n "$dir" ] && [ -d "$dir" ] || exit 0
  for p in slurmd slurmctld munged; do
    f="$dir/run/$p.pid"; [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
  done
  for _ in $(seq 1 20); do
    alive=0; for p in slurmd slurmctld munged; do f="$dir/run/$p.pid"; [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break; sleep 0.25
  done
  for p in slurmd slurmctld munged; do f="$dir/run/$p.pid"; [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done
  # job steps left behind (slurmstepd) of this cluster's spool
  pkill -f "slurmstepd.*$dir" 2>/dev/null
  rm -rf "$dir"
  exit 0
  ;;
*)
  echo "usage: slurm-cluster.sh install | start DIR | stop DIR" >&2; exit 2 ;;
esac
