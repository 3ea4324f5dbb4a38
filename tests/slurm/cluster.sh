#!/usr/bin/env bash
# A throwaway single-node SLURM cluster on this machine, for tests/test_slurm.py.
#
#   tests/slurm/cluster.sh start DIR   prints the path to export as SLURM_CONF
#   tests/slurm/cluster.sh stop DIR    stops exactly the daemons `start DIR` started
#
# Everything lives under DIR: slurm.conf, a private munge key and socket, state, spool,
# logs and the daemons' pids (DIR/pids/). One thing outside it: /etc/slurm/slurm.conf,
# SLURM's default location, is made a symlink to DIR/slurm.conf while the cluster runs
# (`stop` removes it), because the executor plugin's job step drops SLURM_CONF from the
# environment of the `srun` it runs inside each job; `start` refuses to replace a
# configuration of the machine's own. Debian's slurm-wlm and munge are installed with
# apt-get when a daemon is missing (as root only). The cluster: one node named after
# `hostname -s` with the machine's CPUs and most of its memory, one partition `debug`,
# SLURM 22.05 without an accounting database (sacct has nothing to say; squeue keeps
# finished jobs for MinJobAge=1 h).
# Ports: SLURM_TEST_CTLD_PORT (default 6817) and SLURM_TEST_SLURMD_PORT (6818).
set -euo pipefail

DAEMONS=(munged slurmctld slurmd)
MARK="# Written by tests/slurm/cluster.sh"
DEFAULT_CONF=/etc/slurm/slurm.conf

die() {
    echo "cluster.sh: $*" >&2
    exit 1
}

say() { echo "cluster.sh: $*" >&2; }

usage() { die "usage: $0 start|stop DIR"; }

# ---- pids: only processes this script started, recognised by their command line
alive() { # alive NAME [DIR]: the recorded pid still runs that daemon with DIR's files
    local dir=${2:-$DIR}
    local pidfile="$dir/pids/$1" pid
    [[ -s $pidfile ]] || return 1
    pid=$(<"$pidfile")
    [[ -r /proc/$pid/cmdline ]] || return 1
    local cmd
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline")
    [[ $cmd == *"$1"*"$dir"* ]] || return 1
    echo "$pid"
}

launch() { # launch NAME CMD...: start a daemon in the foreground of a background job
    local name=$1
    shift
    "$@" </dev/null >>"$DIR/log/$name.out" 2>&1 &
    echo $! >"$DIR/pids/$name"
}

install_packages() {
    local missing=()
    for tool in munged slurmctld slurmd sbatch squeue scontrol sinfo srun; do
        command -v "$tool" >/dev/null || missing+=("$tool")
    done
    ((${#missing[@]} == 0)) && return 0
    if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
        die "missing ${missing[*]}: install Debian's slurm-wlm and munge (needs root and apt-get)"
    fi
    say "installing slurm-wlm and munge (missing: ${missing[*]})"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends slurm-wlm munge >&2
}

write_config() {
    local host=$1 node mem_mb real_mb
    # the node's real topology (CPUs, sockets, cores, threads) from slurmd itself
    node=$(slurmd -C | head -n 1 | sed -E 's/ RealMemory=[0-9]+//; s/^NodeName=[^ ]+ //')
    mem_mb=$(($(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024))
    real_mb=$((mem_mb * 8 / 10)) # below the real memory, or slurmd drains the node
    cat >"$DIR/slurm.conf" <<EOF
$MARK: a single-node test cluster, all of it under $DIR.
ClusterName=embryo-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=${SLURM_TEST_CTLD_PORT:-6817}
SlurmdPort=${SLURM_TEST_SLURMD_PORT:-6818}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge/munge.socket
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/state/slurmctld.pid
SlurmdPidFile=$DIR/spool/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
# no cgroups, no accounting: what a container or a laptop has
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# finished jobs stay visible to squeue (the executor's status command) for an hour
MinJobAge=3600
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
DefMemPerCPU=1000
ReturnToService=2
MailProg=/bin/true
InactiveLimit=0
KillWait=5
Waittime=0
SlurmctldTimeout=30
SlurmdTimeout=60
NodeName=$host NodeAddr=127.0.0.1 $node RealMemory=$real_mb State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}

start() {
    local host
    host=$(hostname -s)
    install_packages
    mkdir -p "$DIR"
    DIR=$(cd "$DIR" && pwd -P)
    export SLURM_CONF=$DIR/slurm.conf
    if [[ -s $SLURM_CONF ]] && alive munged >/dev/null && alive slurmctld >/dev/null &&
        alive slurmd >/dev/null; then
        link_default_config
        echo "$SLURM_CONF" # already up
        return 0
    fi
    stop_daemons # whatever half of a cluster a failed start left behind
    mkdir -p "$DIR"/{pids,log,state,spool,munge}
    chmod 0700 "$DIR/munge"
    write_config "$host"
    link_default_config

    # munge: a private key and socket, so that a system munged (if any) is not touched
    local key=$DIR/munge/munge.key
    if [[ ! -s $key ]]; then
        if command -v mungekey >/dev/null; then
            mungekey --create --keyfile="$key" >&2
        else
            dd if=/dev/urandom of="$key" bs=1 count=1024 status=none
        fi
    fi
    chmod 0600 "$key"
    launch munged munged --force --foreground --socket="$DIR/munge/munge.socket" \
        --key-file="$key" --pid-file="$DIR/munge/munged.pid" \
        --seed-file="$DIR/munge/munged.seed" --log-file="$DIR/log/munged.log"
    wait_for "munged" test -S "$DIR/munge/munge.socket"

    launch slurmctld slurmctld -D -c -f "$SLURM_CONF"
    wait_for "slurmctld" scontrol ping
    launch slurmd slurmd -D -f "$SLURM_CONF" -N "$host"
    wait_for "node $host idle" node_idle "$host"
    echo "$SLURM_CONF"
}

link_default_config() { # DEFAULT_CONF -> DIR/slurm.conf, unless it is the machine's own
    if [[ -e $DEFAULT_CONF || -L $DEFAULT_CONF ]]; then
        local target other
        target=$(readlink -f "$DEFAULT_CONF" || true)
        if [[ $target != "$DIR/slurm.conf" ]]; then
            if [[ ! -L $DEFAULT_CONF ]] || { [[ -e $target ]] && ! grep -qF "$MARK" "$target"; }; then
                die "$DEFAULT_CONF is this machine's own SLURM configuration: not replacing it"
            fi
            other=$(dirname "$target")
            if alive slurmctld "$other" >/dev/null; then
                die "another test cluster runs from $other: stop it first ($0 stop $other)"
            fi
        fi
    fi
    mkdir -p "$(dirname "$DEFAULT_CONF")"
    ln -sfn "$DIR/slurm.conf" "$DEFAULT_CONF"
}

unlink_default_config() {
    if [[ -L $DEFAULT_CONF && $(readlink "$DEFAULT_CONF") == "$DIR/slurm.conf" ]]; then
        rm -f "$DEFAULT_CONF"
    fi
}

node_idle() {
    [[ $(sinfo --noheader --nodes="$1" --format=%t 2>/dev/null) == idle ]]
}

wait_for() { # wait_for WHAT CMD...: up to 60 s, then fail with the logs
    local what=$1
    shift
    for _ in $(seq 120); do
        "$@" >/dev/null 2>&1 && return 0
        for name in "${DAEMONS[@]}"; do
            # gone, not merely not yet exec'd: a loaded machine may still show the forked
            # shell (whose command line is not the daemon's yet) a moment after launch
            if [[ -s $DIR/pids/$name && ! -d /proc/$(<"$DIR/pids/$name") ]]; then
                fail "$name exited while waiting for $what"
            fi
        done
        sleep 0.5
    done
    fail "timed out waiting for $what"
}

fail() {
    say "$1; the logs:"
    for log in "$DIR"/log/*; do
        echo "==> $log <==" >&2
        tail -n 20 "$log" >&2
    done
    stop_daemons
    exit 1
}

stop_daemons() {
    local pids=() pid
    # the cluster's own jobs first, so that no slurmstepd outlives its slurmd
    if [[ -s $DIR/slurm.conf ]] && alive slurmctld >/dev/null; then
        export SLURM_CONF=$DIR/slurm.conf
        if [[ -n $(squeue --noheader --states=PENDING,RUNNING,COMPLETING --format=%i 2>/dev/null) ]]; then
            scancel --full --user="$(id -un)" 2>/dev/null || true
            for _ in $(seq 20); do
                [[ -z $(squeue --noheader --states=PENDING,RUNNING,COMPLETING --format=%i 2>/dev/null) ]] && break
                sleep 0.5
            done
        fi
    fi
    for name in slurmd slurmctld munged; do
        if pid=$(alive "$name"); then
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$pid")
        fi
    done
    for _ in $(seq 40); do
        local running=()
        for pid in "${pids[@]}"; do
            [[ -d /proc/$pid ]] && running+=("$pid")
        done
        ((${#running[@]} == 0)) && break
        sleep 0.25
    done
    for pid in "${pids[@]}"; do
        if [[ -d /proc/$pid ]]; then kill -KILL "$pid" 2>/dev/null || true; fi
    done
    rm -f "$DIR"/pids/*
    unlink_default_config
}

[[ $# == 2 ]] || usage
DIR=$2
case $1 in
start) start ;;
stop)
    [[ -d $DIR ]] || exit 0
    DIR=$(cd "$DIR" && pwd -P)
    stop_daemons
    ;;
*) usage ;;
esac
