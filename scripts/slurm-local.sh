#!/usr/bin/env bash
# A throwaway single-node Slurm for tests: munged, slurmctld and slurmd run as root on
# this machine, with every file they write (config, munge key and socket, state, spool,
# pid files, logs) inside DIR, so it does not collide with a system install.
#
#   scripts/slurm-local.sh start DIR        install if missing, start, wait for the node
#   scripts/slurm-local.sh env DIR          print the line to source: export SLURM_CONF=...
#   scripts/slurm-local.sh wait DIR JOBID [TIMEOUT]
#                                           wait until job JOBID (every task of an array)
#                                           has left the queue; fail unless all COMPLETED
#   scripts/slurm-local.sh status DIR       daemons, sinfo, squeue
#   scripts/slurm-local.sh stop DIR         cancel the jobs, stop the daemons by the pids
#                                           in their pid files, wait for them to exit
#
# From a test (as root, e.g. on a fresh Debian 12 machine):
#
#   dir=$(mktemp -d)
#   eval "$(scripts/slurm-local.sh start "$dir")"      # exports SLURM_CONF
#   jid=$(sbatch --parsable --array=0-1 --chdir="$dir" job.sbatch)
#   scripts/slurm-local.sh wait "$dir" "$jid" 120
#   scripts/slurm-local.sh stop "$dir"
#
# start prints only the export line on stdout (progress goes to stderr), is idempotent
# (a running instance in DIR is left alone; stop it to change its settings) and clears
# the job state of an earlier instance in DIR. When the node is not idle in time, it
# prints the tails of the logs, stops what it started and fails. Clients (sinfo,
# sbatch, squeue, scontrol, scancel) need SLURM_CONF; without it they look for
# /etc/slurm/slurm.conf and then DNS SRV records ("Could not establish a
# configuration source"). wait's TIMEOUT defaults to 600 s.
#
# Packages: slurmctld, slurmd, slurm-client and munge from Debian's archive (Slurm 22.05
# on Debian 12), installed with apt-get when a command is missing. On a machine with
# systemd, the package scripts also start the system munged (/etc/munge, /run/munge);
# it is not used here and is left running. Debian's slurmd and slurmctld units do not
# start without /etc/slurm/slurm.conf.
#
# Environment (defaults in brackets):
#   SLURM_LOCAL_CPUS      CPUs the node offers [nproc]; each task takes one unless it
#                         asks for more, so two tasks run at once on two CPUs
#   SLURM_LOCAL_PORT      slurmctld port; slurmd listens on the next one [16817]
#   SLURM_LOCAL_TIMEOUT   seconds start waits for the node to become idle [60]
#   SLURM_LOCAL_INSTALL   0: never run apt-get, fail if Slurm is missing [1]
#   SLURM_LOCAL_GPUS      N > 0: the node also offers N fake GPUs (gres/gpu backed by
#                         copies of /dev/null in DIR, no real GPU), so --gres=gpu:1
#                         jobs run and get SLURM_JOB_GPUS, CUDA_VISIBLE_DEVICES [0]
set -euo pipefail

log() { echo "slurm-local: $*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}

need_root() {
  [ "$(id -u)" = 0 ] || die "must run as root (the daemons run as root)"
}

# --- paths -----------------------------------------------------------------------------
set_paths() {
  [ -n "${1:-}" ] || usage
  mkdir -p "$1"
  DIR=$(cd "$1" && pwd)
  CONF="$DIR/slurm.conf"
  MUNGE_DIR="$DIR/munge"
  MUNGE_KEY="$MUNGE_DIR/munge.key"
  MUNGE_SOCKET="$MUNGE_DIR/munge.socket"
  MUNGE_PID="$MUNGE_DIR/munged.pid"
  CTLD_PID="$DIR/slurmctld.pid"
  SLURMD_PID="$DIR/slurmd.pid"
  LOG_DIR="$DIR/log"
  export SLURM_CONF="$CONF"
}

# --- install ---------------------------------------------------------------------------
missing_commands() {
  local c
  for c in munged mungekey slurmctld slurmd sbatch sinfo squeue scontrol scancel; do
    command -v "$c" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin" command -v "$c" \
      >/dev/null 2>&1 || echo "$c"
  done
}

apt_install() {
  # DPkg::Lock::Timeout waits for another apt/dpkg (apt >= 1.9.11, Debian 11+).
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -y -q \
    --no-install-recommends install slurmctld slurmd slurm-client munge >&2
}

install_if_missing() {
  export PATH="$PATH:/usr/sbin:/sbin"
  local missing
  missing=$(missing_commands | tr '\n' ' ')
  [ -z "$missing" ] && return 0
  [ "${SLURM_LOCAL_INSTALL:-1}" = 0 ] && die "missing: $missing(SLURM_LOCAL_INSTALL=0)"
  command -v apt-get >/dev/null || die "missing: $missing and no apt-get"
  log "installing slurmctld slurmd slurm-client munge (missing: $missing)"
  if ! apt_install; then
    log "apt-get install failed; apt-get update and again"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q update >&2
    apt_install || die "apt-get install failed"
  fi
  missing=$(missing_commands | tr '\n' ' ')
  [ -z "$missing" ] || die "still missing after install: $missing"
}

# --- processes -------------------------------------------------------------------------
# The pid in a pid file, if that process is alive and not a zombie.
live_pid() {
  local f=$1 pid state
  [ -s "$f" ] || return 1
  pid=$(tr -dc '0-9' 2>/dev/null <"$f") || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  state=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ] || return 1
  echo "$pid"
}

# Send TERM to the process in pid file $2 (named $1), wait up to $3 s, then KILL.
stop_pid() {
  local name=$1 f=$2 wait_s=$3 pid i
  if ! pid=$(live_pid "$f"); then
    rm -f "$f"
    return 0
  fi
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < wait_s * 10; i++)); do
    live_pid "$f" >/dev/null || { rm -f "$f"; return 0; }
    sleep 0.1
  done
  log "$name (pid $pid) still running after ${wait_s}s: KILL"
  kill -KILL "$pid" 2>/dev/null || true
  sleep 0.2
  rm -f "$f"
}

# slurmstepd processes of this instance: started by our slurmd, they carry our
# SLURM_CONF in their environment (checked by pid, never by name alone).
our_stepds() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(cat "$p/comm" 2>/dev/null)" = slurmstepd ] || continue
    [ "$(sed 's/^.*) //' "$p/stat" 2>/dev/null | cut -d' ' -f1)" != Z ] || continue
    tr '\0' '\n' 2>/dev/null <"$p/environ" | grep -qxF "SLURM_CONF=$CONF" || continue
    echo "${p#/proc/}"
  done
}

# --- configuration ---------------------------------------------------------------------
write_conf() {
  local host cpus mem_total mem port gpus gres_line node_gres i
  host=$(hostname -s)
  cpus=${SLURM_LOCAL_CPUS:-$(nproc)}
  mem_total=$(free -m | awk '/^Mem:/ {print $2}')
  mem=$((mem_total > 1024 ? mem_total - 512 : mem_total / 2))
  port=${SLURM_LOCAL_PORT:-16817}
  gpus=${SLURM_LOCAL_GPUS:-0}
  mkdir -p "$DIR/state" "$DIR/spool" "$LOG_DIR"
  gres_line='' node_gres=''
  rm -f "$DIR/gres.conf"
  if [ "$gpus" -gt 0 ]; then
    mkdir -p "$DIR/fake-gpu"
    # Slurm wants device files: character devices with /dev/null's numbers (1, 3).
    for ((i = 0; i < gpus; i++)); do
      [ -c "$DIR/fake-gpu/gpu$i" ] || mknod -m 0666 "$DIR/fake-gpu/gpu$i" c 1 3
    done
    # gres.conf is read from the folder of slurm.conf.
    echo "NodeName=$host Name=gpu File=$DIR/fake-gpu/gpu[0-$((gpus - 1))]" >"$DIR/gres.conf"
    gres_line="GresTypes=gpu"
    node_gres=" Gres=gpu:$gpus"
  fi
  cat >"$CONF" <<EOF
# Generated by scripts/slurm-local.sh for a throwaway single-node cluster.
ClusterName=flopcost-local
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups (containers, cgroup v1/v2 differences): plain /proc tracking, no binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
MailProg=/bin/true
# CPUs are the consumable: one-CPU tasks share the node.
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
# Schedule a batch job when it is submitted (the default batches them for up to 3 s).
SchedulerParameters=batch_sched_delay=0
# The config is authoritative (no draining for a socket/core layout or memory mismatch).
SlurmdParameters=config_overrides
ReturnToService=2
SlurmdTimeout=60
SlurmctldTimeout=60
InactiveLimit=0
KillWait=5
# Keep finished jobs visible to scontrol for 10 minutes (there is no accounting).
MinJobAge=600
$gres_line
NodeName=$host NodeAddr=127.0.0.1 NodeHostname=$host CPUs=$cpus RealMemory=$mem$node_gres State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}

# --- start -----------------------------------------------------------------------------
log_tail() {
  local f
  for f in "$MUNGE_DIR/munged.log" "$LOG_DIR/slurmctld.log" "$LOG_DIR/slurmd.log"; do
    [ -f "$f" ] || continue
    echo "---- tail $f" >&2
    tail -n 25 "$f" >&2
  done
}

fail_start() {
  log "error: $*"
  log_tail
  sinfo -N -o '%N %T %E' >&2 2>/dev/null || true
  log "stopping what did start; the logs stay in $DIR"
  stop_all
  exit 1
}

start_munged() {
  mkdir -p "$MUNGE_DIR"
  # munged wants its socket directory (and the ones above) searchable by everyone and
  # the key readable by its user only; --force accepts a DIR under a private folder
  # (mktemp -d gives 0700), which is fine for a root-only test cluster.
  chmod 0755 "$MUNGE_DIR"
  if [ ! -s "$MUNGE_KEY" ]; then
    if command -v mungekey >/dev/null; then
      mungekey --create --keyfile="$MUNGE_KEY" >&2
    else
      dd if=/dev/urandom of="$MUNGE_KEY" bs=1024 count=1 status=none
    fi
  fi
  chown root:root "$MUNGE_KEY"
  chmod 0600 "$MUNGE_KEY"
  rm -f "$MUNGE_SOCKET" "$MUNGE_SOCKET.lock"
  munged --force --key-file="$MUNGE_KEY" --socket="$MUNGE_SOCKET" \
    --pid-file="$MUNGE_PID" --log-file="$MUNGE_DIR/munged.log" \
    --seed-file="$MUNGE_DIR/munged.seed" ||
    fail_start "munged did not start"
  local i
  for ((i = 0; i < 50; i++)); do
    munge -n -S "$MUNGE_SOCKET" 2>/dev/null | unmunge -S "$MUNGE_SOCKET" >/dev/null 2>&1 &&
      return 0
    sleep 0.1
  done
  fail_start "munged does not answer on $MUNGE_SOCKET"
}

cmd_start() {
  need_root
  set_paths "${1:-}"
  local t0=$SECONDS host timeout state i
  install_if_missing
  host=$(hostname -s)
  if live_pid "$CTLD_PID" >/dev/null && live_pid "$SLURMD_PID" >/dev/null &&
    live_pid "$MUNGE_PID" >/dev/null; then
    log "already running in $DIR"
    echo "export SLURM_CONF=$CONF"
    return 0
  fi
  # Whatever is left of a half-started instance goes first.
  stop_all
  getent hosts "$host" >/dev/null ||
    log "warning: $host does not resolve; the config uses 127.0.0.1 for it anyway"
  write_conf
  start_munged
  slurmctld -f "$CONF" -c || fail_start "slurmctld did not start"
  slurmd -f "$CONF" || fail_start "slurmd did not start"
  timeout=${SLURM_LOCAL_TIMEOUT:-60}
  state=
  for ((i = 0; i < timeout * 5; i++)); do
    state=$(sinfo -h -N -n "$host" -o '%T' 2>/dev/null | head -n 1) || state=
    case "$state" in
      idle) break ;;
      drain* | down* | fail*)
        # ReturnToService=2 brings a registered node back; help it along once.
        scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true ;;
    esac
    live_pid "$CTLD_PID" >/dev/null || fail_start "slurmctld exited"
    live_pid "$SLURMD_PID" >/dev/null || fail_start "slurmd exited"
    sleep 0.2
  done
  [ "$state" = idle ] || fail_start "node $host not idle after ${timeout}s (state: ${state:-none})"
  log "up in $((SECONDS - t0))s: node $host idle, $(sinfo -h -o '%c') CPUs; config $CONF"
  echo "export SLURM_CONF=$CONF"
}

# --- stop ------------------------------------------------------------------------------
stop_all() {
  local i jobs pids
  if live_pid "$CTLD_PID" >/dev/null; then
    jobs=$(squeue -h -o '%A' 2>/dev/null | sort -u | tr '\n' ' ') || jobs=
    if [ -n "${jobs// /}" ]; then
      log "cancelling jobs: $jobs"
      # shellcheck disable=SC2086 # one word per job id
      scancel $jobs 2>/dev/null || true
      for ((i = 0; i < 100; i++)); do
        [ -z "$(squeue -h -o '%A' 2>/dev/null)" ] && [ -z "$(our_stepds)" ] && break
        sleep 0.1
      done
    fi
  fi
  stop_pid slurmd "$SLURMD_PID" 10
  stop_pid slurmctld "$CTLD_PID" 10
  pids=$(our_stepds | tr '\n' ' ')
  if [ -n "${pids// /}" ]; then
    log "warning: slurmstepd of this instance still running: $pids; KILL"
    # shellcheck disable=SC2086 # one word per pid
    kill -KILL $pids 2>/dev/null || true
  fi
  stop_pid munged "$MUNGE_PID" 10
}

cmd_stop() {
  need_root
  set_paths "${1:-}"
  [ -f "$CONF" ] || { log "nothing in $DIR"; return 0; }
  export PATH="$PATH:/usr/sbin:/sbin"
  stop_all
  log "stopped"
}

# --- wait ------------------------------------------------------------------------------
# Every task of job $2 (an array's tasks too) until none is queued or running; then
# each one's final state, and success only if all are COMPLETED with exit code 0:0.
cmd_wait() {
  set_paths "${1:-}"
  local jid=${2:-} timeout=${3:-600} i left states bad
  [ -n "$jid" ] || usage
  jid=${jid%%;*} # sbatch --parsable may print "id;cluster"
  for ((i = 0; i < timeout * 5; i++)); do
    if ! left=$(squeue -h -j "$jid" -o '%i %T' 2>&1); then
      # Unknown to the controller (never submitted, or purged after MinJobAge).
      case "$left" in *"Invalid job id"*) left=''; break ;; esac
      left="squeue: $left"
    fi
    [ -z "$left" ] && break
    sleep 0.2
  done
  [ -z "$left" ] || { log "job $jid not finished after ${timeout}s:"; echo "$left" >&2; return 1; }
  # One line per job (per task for an array): "JOBID task=N STATE exit=A:B".
  states=$(scontrol -o show job "$jid" 2>/dev/null | awk '{
      id = ""; task = ""; st = ""; ex = ""
      for (i = 1; i <= NF; i++) {
        split($i, kv, "=")
        if (kv[1] == "JobId") id = kv[2]
        else if (kv[1] == "ArrayTaskId") task = " task=" kv[2]
        else if (kv[1] == "JobState") st = kv[2]
        else if (kv[1] == "ExitCode") ex = kv[2]
      }
      if (id != "") print id task " " st " exit=" ex
    }' || true)
  [ -n "$states" ] || { log "no record of job $jid (MinJobAge passed?)"; return 1; }
  echo "$states" >&2
  bad=$(echo "$states" | grep -v ' COMPLETED exit=0:0$' || true)
  [ -z "$bad" ] || { log "job $jid: not every task completed"; return 1; }
}

cmd_status() {
  set_paths "${1:-}"
  local n f
  for n in munged slurmctld slurmd; do
    case $n in munged) f=$MUNGE_PID ;; slurmctld) f=$CTLD_PID ;; slurmd) f=$SLURMD_PID ;; esac
    if live_pid "$f" >/dev/null; then echo "$n: running (pid $(live_pid "$f"))"; else echo "$n: stopped"; fi
  done
  live_pid "$CTLD_PID" >/dev/null || return 0
  sinfo -N -o '%N %T %c %m %E'
  squeue
}

case "${1:-}" in
  start) cmd_start "${2:-}" ;;
  stop) cmd_stop "${2:-}" ;;
  env) set_paths "${2:-}"; echo "export SLURM_CONF=$CONF" ;;
  wait) cmd_wait "${2:-}" "${3:-}" "${4:-600}" ;;
  status) cmd_status "${2:-}" ;;
  *) usage ;;
esac
