#!/usr/bin/env bash
# A real single-node SLURM cluster on this machine, for the slurm executor's tests (Debian's slurm-wlm + munge).
#
#   scripts/slurm/cluster.sh start      install (apt, as root, if missing), configure, start munged/slurmctld/slurmd
#   scripts/slurm/cluster.sh status     print whether the cluster answers and the node state (exit 0 when up)
#   scripts/slurm/cluster.sh stop       stop the daemons this script started (by their pid files), keep the config
#   scripts/slurm/cluster.sh teardown   stop, then remove the config and state this script wrote
#
# Idempotent and fast when already up (one `scontrol ping`). Safe on CI: when SLURM cannot be installed or
# started (not root, no apt, a sandbox that refuses the daemons) `start` prints why and exits 0, so a test
# set-up goes on and the SLURM tests skip; pass --strict (or XLT_SLURM_STRICT=1) to exit 1 instead.
# It never overwrites an /etc/slurm/slurm.conf it did not write (marker line below); set XLT_SLURM_NO_INSTALL=1
# to forbid apt. State and logs: $XLT_SLURM_STATE (default /var/lib/xlt-slurm).
set -uo pipefail

MARKER="# written by xlt-harness scripts/slurm/cluster.sh"
CONF=/etc/slurm/slurm.conf
STATE=${XLT_SLURM_STATE:-/var/lib/xlt-slurm}
STRICT=${XLT_SLURM_STRICT:-0}
ACTION=${1:-start}
[[ "${2:-}" == "--strict" || "${1:-}" == "--strict" ]] && STRICT=1
[[ "$ACTION" == "--strict" ]] && ACTION=start

say() { echo "slurm-cluster: $*" >&2; }
give_up() {
  say "$*"
  if [[ "$STRICT" == 1 ]]; then exit 1; fi
  say "continuing without SLURM (the slurm executor tests will skip)"
  exit 0
}

is_up() {
  command -v scontrol >/dev/null 2>&1 || return 1
  timeout 5 scontrol ping 2>/dev/null | grep -q "is UP" || return 1
  local state
  state=$(timeout 5 sinfo -h -N -o "%T" 2>/dev/null | head -1)
  [[ "$state" == idle* || "$state" == mix* || "$state" == alloc* ]]
}

install_packages() {
  command -v sbatch >/dev/null 2>&1 && command -v munged >/dev/null 2>&1 && command -v slurmctld >/dev/null 2>&1 \
    && return 0
  [[ "${XLT_SLURM_NO_INSTALL:-0}" == 1 ]] && give_up "slurm-wlm/munge not installed and XLT_SLURM_NO_INSTALL=1"
  [[ $(id -u) == 0 ]] || give_up "slurm-wlm/munge not installed and not root (cannot apt-get install)"
  command -v apt-get >/dev/null 2>&1 || give_up "slurm-wlm/munge not installed and no apt-get here"
  say "installing slurm-wlm and munge with apt-get (about a minute)"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q slurm-wlm munge >"$STATE/apt.log" 2>&1; then
    apt-get update -q >>"$STATE/apt.log" 2>&1
    apt-get install -y -q slurm-wlm munge >>"$STATE/apt.log" 2>&1 || give_up "apt-get install failed, see $STATE/apt.log"
  fi
}

start_munge() {
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then return 0; fi
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  if [[ ! -s /etc/munge/munge.key ]]; then
    (command -v mungekey >/dev/null && mungekey --create --force) \
      || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 2>/dev/null
  fi
  chown -R munge:munge /etc/munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null
  chmod 0700 /etc/munge; chmod 0400 /etc/munge/munge.key; chmod 0755 /run/munge
  if command -v runuser >/dev/null; then
    runuser -u munge -- /usr/sbin/munged || /usr/sbin/munged --force
  else
    /usr/sbin/munged --force
  fi
  for _ in $(seq 50); do
    munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  give_up "munged did not start (see /var/log/munge/munged.log)"
}

write_conf() {
  if [[ -f "$CONF" ]] && ! grep -qF "$MARKER" "$CONF"; then
    say "$CONF exists and was not written by this script: using it as is"
    return 0
  fi
  local host node_line gres="" gpus=0
  host=$(hostname -s)
  node_line=$(slurmd -C 2>/dev/null | head -1)
  [[ "$node_line" == NodeName=* ]] || node_line="NodeName=$host CPUs=$(nproc)"
  node_line=${node_line/NodeName=* CPUs/NodeName=$host CPUs}
  # RealMemory from slurmd -C can exceed what the node registers with later: leave 10% headroom.
  local defmem=""
  if [[ "$node_line" =~ RealMemory=([0-9]+) ]]; then
    local mem=$((BASH_REMATCH[1] * 9 / 10)) cpus=1
    node_line=${node_line/RealMemory=${BASH_REMATCH[1]}/RealMemory=$mem}
    [[ "$node_line" =~ CPUs=([0-9]+) ]] && cpus=${BASH_REMATCH[1]}
    # Without a default, a job that asks for no memory is given the whole node and jobs never share it.
    defmem="DefMemPerCPU=$((mem / cpus))"
  fi
  if command -v nvidia-smi >/dev/null 2>&1; then
    gpus=$(nvidia-smi -L 2>/dev/null | grep -c "^GPU" || true)
  fi
  if [[ "$gpus" -gt 0 ]]; then
    gres="Gres=gpu:$gpus"
    : >/etc/slurm/gres.conf.tmp
    for i in $(seq 0 $((gpus - 1))); do echo "NodeName=$host Name=gpu File=/dev/nvidia$i" >>/etc/slurm/gres.conf.tmp; done
    mv /etc/slurm/gres.conf.tmp /etc/slurm/gres.conf
  fi
  mkdir -p /etc/slurm
  cat >"$CONF.tmp" <<EOF
$MARKER
ClusterName=xlt
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
ReturnToService=2
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
${gres:+GresTypes=gpu}
$defmem
MinJobAge=300
KillWait=5
SlurmdTimeout=60
InactiveLimit=0
$node_line ${gres} State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
  grep -q "^NodeName" "$CONF.tmp" || { rm -f "$CONF.tmp"; give_up "could not write $CONF"; }
  if [[ -f "$CONF" ]] && cmp -s "$CONF.tmp" "$CONF"; then rm -f "$CONF.tmp"; return 0; fi
  mv "$CONF.tmp" "$CONF"
  CONF_CHANGED=1
}

alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
  mkdir -p "$STATE/ctld" "$STATE/d"
  CONF_CHANGED=0
  if is_up; then
    write_conf
    if [[ "$CONF_CHANGED" == 1 ]]; then scontrol reconfigure >/dev/null 2>&1 && say "configuration updated"; fi
    say "already up ($(sinfo -h -o '%P %D %T' | head -1))"
    exit 0
  fi
  install_packages
  start_munge
  write_conf
  alive "$STATE/slurmctld.pid" || /usr/sbin/slurmctld -i 2>>"$STATE/start.err" \
    || give_up "slurmctld did not start: $(tail -3 "$STATE/slurmctld.log" "$STATE/start.err" 2>/dev/null)"
  alive "$STATE/slurmd.pid" || /usr/sbin/slurmd 2>>"$STATE/start.err" \
    || give_up "slurmd did not start: $(tail -3 "$STATE/slurmd.log" "$STATE/start.err" 2>/dev/null)"
  for i in $(seq 100); do
    if is_up; then say "up: $(sinfo -h -o '%P %D %T %C' | head -1) (conf $CONF, logs $STATE)"; exit 0; fi
    # A node left DOWN/DRAIN by an earlier crash comes back once told to resume.
    if (( i % 10 == 0 )); then scontrol update nodename="$(hostname -s)" state=resume >/dev/null 2>&1; fi
    sleep 0.2
  done
  give_up "cluster did not come up within 20 s: $(sinfo -h -N -o '%N %T %E' 2>&1 | head -1); logs in $STATE"
}

stop() {
  for d in slurmd slurmctld; do
    if alive "$STATE/$d.pid"; then kill "$(cat "$STATE/$d.pid")" 2>/dev/null; fi
  done
  for _ in $(seq 50); do
    alive "$STATE/slurmd.pid" || alive "$STATE/slurmctld.pid" || break
    sleep 0.1
  done
  if [[ -f /run/munge/munged.pid ]] && kill -0 "$(cat /run/munge/munged.pid)" 2>/dev/null; then
    kill "$(cat /run/munge/munged.pid)" 2>/dev/null
  fi
  say "stopped"
}

case "$ACTION" in
  start) start ;;
  status) if is_up; then sinfo; exit 0; else say "down"; exit 1; fi ;;
  stop) stop ;;
  teardown)
    stop
    if [[ -f "$CONF" ]] && grep -qF "$MARKER" "$CONF"; then rm -f "$CONF" /etc/slurm/gres.conf; fi
    rm -rf "$STATE"
    say "removed config and state" ;;
  *) echo "usage: $0 start|status|stop|teardown [--strict]" >&2; exit 2 ;;
esac
