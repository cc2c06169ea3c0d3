#!/usr/bin/env bash
# slurm_cluster.sh -- start / use / stop a REAL single-node Slurm cluster whose
# every file (config, munge key + socket, state, spool, pid files, logs) lives
# inside one directory.  Meant for tests: every failure prints a clear error
# plus the tail of the relevant log and exits non-zero (it never "skips").
#
# Needs (Debian 12): slurmctld slurmd slurm-client munge
#   (apt-get install -y --no-install-recommends slurm-wlm munge   also works)
# Must run as root (SlurmUser=root, SlurmdUser=root, munged as root).
#
# Usage:
#   slurm_cluster.sh start    DIR                 # write config, start munged,
#                                                 # slurmctld, slurmd; wait idle
#   slurm_cluster.sh env      DIR                 # print: export SLURM_CONF=DIR/slurm.conf
#   slurm_cluster.sh wait-job DIR JOBID TIMEOUT_S # wait until JOBID (all array
#                                                 # tasks) left the queue; prints
#                                                 # each task's final state; exits
#                                                 # 1 on timeout or if any task
#                                                 # is not COMPLETED (exit != 0)
#   slurm_cluster.sh stop     DIR                 # stop everything (idempotent)
#   slurm_cluster.sh status   DIR                 # sinfo + squeue (diagnostics)
#
# Clients (sbatch, squeue, sinfo, scontrol, scancel) must be given
# SLURM_CONF=DIR/slurm.conf, e.g.  eval "$(slurm_cluster.sh env DIR)".
#
# Environment knobs (optional):
#   SLURM_TEST_CTLD_PORT  (default 16817)   SLURM_TEST_SLURMD_PORT (default 16818)
#   SLURM_TEST_START_TIMEOUT (seconds, default 30)
#   SLURM_TEST_STOP_TIMEOUT  (seconds per daemon before SIGKILL, default 10)

set -u -o pipefail

PROG=$(basename "$0")

die() {
    fail "$*"
}

# show_log FILE [LINES]: print the tail of a log file to stderr.
show_log() {
    local f=$1 n=${2:-40}
    if [[ -s $f ]]; then
        echo "----- last $n lines of $f -----" >&2
        tail -n "$n" "$f" >&2
        echo "----- end of $f -----" >&2
    else
        echo "($f is missing or empty)" >&2
    fi
}

# fail MSG LOG...: error with log tails, exit 1.
fail() {
    local msg=$1
    shift
    echo "$PROG: ERROR: $msg" >&2
    local f
    for f in "$@"; do show_log "$f"; done
    if [[ -n ${CLEANUP_DIR:-} ]]; then
        echo "$PROG: stopping what was started in $CLEANUP_DIR" >&2
        local d=$CLEANUP_DIR
        CLEANUP_DIR=""
        cmd_stop "$d" >&2
    fi
    exit 1
}

usage() {
    sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

abs_dir() {
    # absolute path of DIR (which may not exist yet)
    local d=$1
    [[ -n $d ]] || die "DIR argument is empty"
    case $d in
        /*) ;;
        *) d="$PWD/$d" ;;
    esac
    printf '%s\n' "${d%/}"
}

need_cmd() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 ||
            die "'$c' not found in PATH. Install: apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge"
    done
}

# running PID: true if PID exists and is not a zombie. (kill -0 succeeds on
# zombies, and PID 1 on these machines reaps orphans only lazily, so a stopped
# daemon can linger as <defunct> for a few seconds.)
running() {
    local st
    st=$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\) .*/\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $st && $st != Z && $st != X ]]
}

# pid_alive PIDFILE NAME: prints the pid if the pid file names a live process
# whose executable name matches NAME (guards against recycled pids).
pid_alive() {
    local pf=$1 name=$2 pid comm
    [[ -r $pf ]] || return 1
    pid=$(tr -dc '0-9' <"$pf")
    [[ -n $pid ]] || return 1
    running "$pid" || return 1
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
    # Debian's binaries are slurmctld-wlm / slurmd-wlm behind alternatives,
    # but comm is the (<=15 char) name the process was exec'd with.
    [[ $comm == "$name"* ]] || return 1
    echo "$pid"
}

# wait_for_pidfile PIDFILE NAME TIMEOUT_S: wait until the daemon is alive.
wait_for_pidfile() {
    local pf=$1 name=$2 t=$3 i
    for ((i = 0; i < t * 10; i++)); do
        pid_alive "$pf" "$name" >/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# stop_daemon PIDFILE NAME TIMEOUT_S: SIGTERM, wait, SIGKILL. Never fails.
stop_daemon() {
    local pf=$1 name=$2 t=$3 pid i
    pid=$(pid_alive "$pf" "$name") || {
        rm -f "$pf"
        echo "$PROG: $name not running"
        return 0
    }
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < t * 10; i++)); do
        running "$pid" || break
        sleep 0.1
    done
    if running "$pid"; then
        echo "$PROG: WARNING: $name (pid $pid) ignored SIGTERM for ${t}s, sending SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null
        for ((i = 0; i < 50; i++)); do
            running "$pid" || break
            sleep 0.1
        done
    fi
    rm -f "$pf"
    echo "$PROG: stopped $name (pid $pid)"
    return 0
}

# wait_zombies_gone TIMEOUT_S: the daemons are orphans of PID 1, which reaps
# them lazily; wait (bounded, never fails) until no <defunct> slurmctld,
# slurmd, slurmstepd or munged is left, so that `pgrep slurm` right after
# `stop` is empty.
wait_zombies_gone() {
    local t=$1 i z
    for ((i = 0; i < t * 10; i++)); do
        z=$(ps -eo stat=,comm= 2>/dev/null |
            awk '$1 ~ /^Z/ && ($2 == "slurmctld" || $2 == "slurmd" || $2 == "slurmstepd" || $2 == "munged")')
        [[ -z $z ]] && return 0
        sleep 0.1
    done
    echo "$PROG: WARNING: defunct daemon processes not reaped by their parent after ${t}s" >&2
    return 0
}

CTLD_PORT=${SLURM_TEST_CTLD_PORT:-16817}
SLURMD_PORT=${SLURM_TEST_SLURMD_PORT:-16818}
START_TIMEOUT=${SLURM_TEST_START_TIMEOUT:-30}
STOP_TIMEOUT=${SLURM_TEST_STOP_TIMEOUT:-10}

set_paths() {
    DIR=$(abs_dir "$1")
    CONF="$DIR/slurm.conf"
    MUNGE_SOCK="$DIR/munge.socket"
    MUNGE_KEY="$DIR/munge.key"
    MUNGE_PID="$DIR/munged.pid"
    MUNGE_LOG="$DIR/munged.log"
    MUNGE_SEED="$DIR/munged.seed"
    CTLD_PID="$DIR/slurmctld.pid"
    CTLD_LOG="$DIR/slurmctld.log"
    SLURMD_PID="$DIR/slurmd.pid"
    SLURMD_LOG="$DIR/slurmd.log"
    STATE_DIR="$DIR/state"
    SPOOL_DIR="$DIR/spool"
}

# ---------------------------------------------------------------- start ----
cmd_start() {
    set_paths "$1"
    [[ $(id -u) -eq 0 ]] || die "must run as root (SlurmUser=root, munged as root)"
    need_cmd munged mungekey slurmctld slurmd sinfo squeue scontrol hostname nproc

    if pid_alive "$CTLD_PID" slurmctld >/dev/null || pid_alive "$SLURMD_PID" slurmd >/dev/null ||
        pid_alive "$MUNGE_PID" munged >/dev/null; then
        die "a cluster is already running in $DIR (run: $PROG stop $DIR)"
    fi

    local host ncpu
    host=$(hostname -s) || die "hostname -s failed"
    [[ $host =~ ^[A-Za-z0-9][A-Za-z0-9_-]*$ ]] ||
        die "hostname -s gave '$host', which is not usable as a Slurm node name"
    ncpu=$(nproc) || die "nproc failed"

    mkdir -p "$DIR" || die "cannot create $DIR"
    # munged refuses group/world-writable key/socket/log directories.
    chmod 0755 "$DIR" || die "cannot chmod $DIR"
    rm -rf "$STATE_DIR" "$SPOOL_DIR"
    mkdir -p "$STATE_DIR" "$SPOOL_DIR" || die "cannot create state/spool dirs in $DIR"
    chmod 0755 "$STATE_DIR" "$SPOOL_DIR"
    rm -f "$MUNGE_SOCK" "$MUNGE_SOCK.lock" "$MUNGE_PID" "$CTLD_PID" "$SLURMD_PID" \
        "$MUNGE_LOG" "$CTLD_LOG" "$SLURMD_LOG"
    # From here on, a failed start stops whatever it had started.
    CLEANUP_DIR=$DIR

    # --- config --------------------------------------------------------------
    cat >"$CONF" <<EOF
# Generated by $PROG for a throw-away single-node test cluster.
ClusterName=epsim-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCK
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
# Schedule batch jobs (incl. array tasks) at once, not up to 3 s later.
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MailProg=/bin/true
StateSaveLocation=$STATE_DIR
SlurmdSpoolDir=$SPOOL_DIR
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$CTLD_LOG
SlurmdLogFile=$SLURMD_LOG
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$DIR/plugstack.conf
KillWait=5
InactiveLimit=0
MinJobAge=300
NodeName=$host NodeAddr=127.0.0.1 NodeHostname=$host CPUs=$ncpu RealMemory=512 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    # Empty SPANK plugin stack: do not pick up /etc/slurm/plugstack.conf.d.
    : >"$DIR/plugstack.conf"
    # cgroup.conf: slurmd 22.05 always initialises a cgroup plugin, even with
    # no cgroup-based plugin configured (proctrack/linuxproc, task/none,
    # jobacct_gather/none), and "CgroupPlugin=disabled" does not exist before
    # 23.x ("cannot find cgroup plugin for disabled" -> slurmd exits).
    # autodetect picks cgroup/v1 on these machines (hybrid hierarchy, no
    # systemd) and only inspects the mounts; nothing is created or limited.
    cat >"$DIR/cgroup.conf" <<EOF
CgroupPlugin=autodetect
EOF

    # --- munge ---------------------------------------------------------------
    rm -f "$MUNGE_KEY"
    mungekey --create --keyfile="$MUNGE_KEY" >"$DIR/mungekey.out" 2>&1 ||
        fail "mungekey --create failed" "$DIR/mungekey.out"
    chmod 0400 "$MUNGE_KEY"

    # --force: only warn (in munged.log) about group/world-writable parent
    # directories of DIR instead of refusing to start.
    munged --force --socket="$MUNGE_SOCK" --key-file="$MUNGE_KEY" --pid-file="$MUNGE_PID" \
        --log-file="$MUNGE_LOG" --seed-file="$MUNGE_SEED" >"$DIR/munged.out" 2>&1 ||
        fail "munged failed to start" "$DIR/munged.out" "$MUNGE_LOG"
    wait_for_pidfile "$MUNGE_PID" munged 10 ||
        fail "munged did not come up (no live pid in $MUNGE_PID)" "$DIR/munged.out" "$MUNGE_LOG"
    local i
    for ((i = 0; i < 100; i++)); do
        [[ -S $MUNGE_SOCK ]] && break
        sleep 0.1
    done
    [[ -S $MUNGE_SOCK ]] || fail "munged socket $MUNGE_SOCK did not appear" "$MUNGE_LOG"
    if command -v munge >/dev/null && command -v unmunge >/dev/null; then
        munge --socket="$MUNGE_SOCK" -n 2>"$DIR/munge-check.out" |
            unmunge --socket="$MUNGE_SOCK" >>"$DIR/munge-check.out" 2>&1 ||
            fail "munge credential round trip through $MUNGE_SOCK failed" \
                "$DIR/munge-check.out" "$MUNGE_LOG"
    fi

    # --- slurmctld -----------------------------------------------------------
    export SLURM_CONF="$CONF"
    # -i: ignore (there is none) saved state; daemonizes, writes its pid file.
    slurmctld -f "$CONF" -i >"$DIR/slurmctld.out" 2>&1 ||
        fail "slurmctld failed to start" "$DIR/slurmctld.out" "$CTLD_LOG"
    wait_for_pidfile "$CTLD_PID" slurmctld 15 ||
        fail "slurmctld did not come up (no live pid in $CTLD_PID)" "$DIR/slurmctld.out" "$CTLD_LOG"
    for ((i = 0; i < START_TIMEOUT * 5; i++)); do
        scontrol ping >/dev/null 2>&1 && break
        pid_alive "$CTLD_PID" slurmctld >/dev/null ||
            fail "slurmctld died during start-up" "$DIR/slurmctld.out" "$CTLD_LOG"
        sleep 0.2
    done
    scontrol ping >"$DIR/ping.out" 2>&1 ||
        fail "slurmctld does not answer 'scontrol ping' after ${START_TIMEOUT}s" \
            "$DIR/ping.out" "$CTLD_LOG"

    # --- slurmd --------------------------------------------------------------
    slurmd -f "$CONF" -N "$host" >"$DIR/slurmd.out" 2>&1 ||
        fail "slurmd failed to start" "$DIR/slurmd.out" "$SLURMD_LOG"
    wait_for_pidfile "$SLURMD_PID" slurmd 15 ||
        fail "slurmd did not come up (no live pid in $SLURMD_PID)" "$DIR/slurmd.out" "$SLURMD_LOG"

    # --- wait for the node to be idle ---------------------------------------
    local state=""
    for ((i = 0; i < START_TIMEOUT * 5; i++)); do
        state=$(sinfo -h -N -n "$host" -o '%T' 2>/dev/null | head -n 1)
        [[ $state == idle ]] && break
        pid_alive "$SLURMD_PID" slurmd >/dev/null ||
            fail "slurmd died during start-up" "$DIR/slurmd.out" "$SLURMD_LOG" "$CTLD_LOG"
        pid_alive "$CTLD_PID" slurmctld >/dev/null ||
            fail "slurmctld died during start-up" "$DIR/slurmctld.out" "$CTLD_LOG"
        sleep 0.2
    done
    if [[ $state != idle ]]; then
        sinfo -N -l >&2 2>&1
        scontrol show node "$host" >&2 2>&1
        fail "node $host not idle after ${START_TIMEOUT}s (state: '${state:-none}')" \
            "$SLURMD_LOG" "$CTLD_LOG"
    fi
    CLEANUP_DIR=""
    echo "$PROG: cluster up in $DIR (node $host, $ncpu CPUs, partition debug)"
    echo "export SLURM_CONF=$CONF"
}

# ------------------------------------------------------------------ env ----
cmd_env() {
    set_paths "$1"
    printf 'export SLURM_CONF=%q\n' "$CONF"
}

# ------------------------------------------------------------- wait-job ----
# Prints "JOBID STATE" lines of the job/array tasks still in the queue.
queued_tasks() {
    local jobid=$1
    # %A = job id, %F = array job id (== %A for non-array jobs), %T = state.
    # Default state filter = pending/running/completing/suspended/configuring.
    squeue -h -r -o '%A %F %T' 2>"$DIR/squeue.err" | awk -v j="$jobid" '$1 == j || $2 == j'
}

cmd_wait_job() {
    set_paths "$1"
    local jobid=$2 timeout=$3
    [[ $jobid =~ ^[0-9]+$ ]] || die "JOBID must be a number, got '$jobid'"
    [[ $timeout =~ ^[0-9]+$ ]] || die "TIMEOUT_S must be a whole number, got '$timeout'"
    [[ -r $CONF ]] || die "$CONF not found: is a cluster started in $DIR?"
    export SLURM_CONF="$CONF"
    pid_alive "$CTLD_PID" slurmctld >/dev/null ||
        fail "slurmctld is not running in $DIR" "$CTLD_LOG"

    local deadline=$((SECONDS + timeout)) left errs=0
    while :; do
        if left=$(queued_tasks "$jobid") && ! [[ -s $DIR/squeue.err ]]; then
            errs=0
            [[ -z $left ]] && break
        else
            errs=$((errs + 1))
            ((errs >= 10)) && fail "squeue keeps failing while waiting for job $jobid" \
                "$DIR/squeue.err" "$CTLD_LOG"
        fi
        if ((SECONDS >= deadline)); then
            echo "$PROG: ERROR: job $jobid still in the queue after ${timeout}s:" >&2
            squeue -r -o '%.12i %.9T %.20R %.10M' 2>&1 |
                awk -v j="$jobid" 'NR == 1 || $1 == j || index($1, j "_") == 1' >&2
            fail "timeout waiting for job $jobid" "$CTLD_LOG" "$SLURMD_LOG"
        fi
        pid_alive "$CTLD_PID" slurmctld >/dev/null ||
            fail "slurmctld died while waiting for job $jobid" "$CTLD_LOG"
        sleep 0.5
    done

    # Final states (kept by slurmctld for MinJobAge=300 s). Non-COMPLETED
    # tasks make wait-job fail, so a test cannot miss a failing task.
    local states bad
    states=$(scontrol -o show job "$jobid" 2>&1 |
        sed -n 's/^JobId=\([0-9]*\).*ArrayTaskId=\([^ ]*\).*JobState=\([A-Z_]*\).*ExitCode=\([^ ]*\).*/\1 task=\2 \3 exit=\4/p; t; s/^JobId=\([0-9]*\).*JobState=\([A-Z_]*\).*ExitCode=\([^ ]*\).*/\1 \2 exit=\3/p')
    if [[ -z $states ]]; then
        echo "$PROG: WARNING: job $jobid left the queue but scontrol has no record of it" >&2
        return 0
    fi
    echo "$states"
    bad=$(grep -v ' COMPLETED ' <<<"$states")
    if [[ -n $bad ]]; then
        echo "$PROG: ERROR: job $jobid finished, but not all tasks COMPLETED:" >&2
        echo "$bad" >&2
        fail "job $jobid failed" "$SLURMD_LOG"
    fi
    echo "$PROG: job $jobid completed"
}

# ----------------------------------------------------------------- stop ----
cmd_stop() {
    set_paths "$1"
    export SLURM_CONF="$CONF"
    # Cancel what is left so no slurmstepd outlives slurmd.
    if [[ -r $CONF ]] && pid_alive "$CTLD_PID" slurmctld >/dev/null; then
        local ids i
        ids=$(squeue -h -o '%A' 2>/dev/null | sort -u | tr '\n' ' ')
        if [[ -n ${ids// /} ]]; then
            echo "$PROG: cancelling leftover jobs: $ids"
            # shellcheck disable=SC2086
            scancel $ids 2>/dev/null
            for ((i = 0; i < 50; i++)); do
                [[ -z $(squeue -h -o '%A' 2>/dev/null) ]] && break
                sleep 0.2
            done
        fi
    fi
    stop_daemon "$SLURMD_PID" slurmd "$STOP_TIMEOUT"
    stop_daemon "$CTLD_PID" slurmctld "$STOP_TIMEOUT"
    stop_daemon "$MUNGE_PID" munged "$STOP_TIMEOUT"
    wait_zombies_gone 10
    rm -f "$MUNGE_SOCK" "$MUNGE_SOCK.lock" 2>/dev/null
    return 0
}

cmd_status() {
    set_paths "$1"
    export SLURM_CONF="$CONF"
    local n
    for n in munged:"$MUNGE_PID" slurmctld:"$CTLD_PID" slurmd:"$SLURMD_PID"; do
        if p=$(pid_alive "${n#*:}" "${n%%:*}"); then
            echo "${n%%:*}: running (pid $p)"
        else
            echo "${n%%:*}: not running"
        fi
    done
    sinfo -N -l 2>&1
    squeue -r 2>&1
}

# ----------------------------------------------------------------- main ----
[[ $# -ge 1 ]] || usage
cmd=$1
shift
case $cmd in
    start) [[ $# -eq 1 ]] || usage; cmd_start "$1" ;;
    env) [[ $# -eq 1 ]] || usage; cmd_env "$1" ;;
    wait-job) [[ $# -eq 3 ]] || usage; cmd_wait_job "$1" "$2" "$3" ;;
    stop) [[ $# -eq 1 ]] || usage; cmd_stop "$1" ;;
    status) [[ $# -eq 1 ]] || usage; cmd_status "$1" ;;
    -h | --help | help) usage ;;
    *) echo "$PROG: unknown subcommand '$cmd'" >&2; usage ;;
esac
