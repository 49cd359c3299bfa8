#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, in one folder, from Debian's packages (munge,
# slurm-wlm): munged, slurmctld and slurmd started directly (no systemd: CI runs in containers),
# configured for this host with its cores, on free ports, with a munge socket and key of its own, so
# that several can run side by side and nothing under /etc is touched.
#
#   test/slurm/cluster.sh start DIR   # prints the SLURM_CONF to export; exits 1 with the reason when a
#                                     # daemon is missing or does not come up
#   test/slurm/cluster.sh stop DIR    # stops the three daemons started in DIR (by their pid files)
#
# Used by test/slurm.test.ts and bench/slurm-array.sh.
set -euo pipefail

cmd=${1:?usage: cluster.sh start|stop DIR}
dir=${2:?usage: cluster.sh start|stop DIR}

fail() {
  echo "cluster.sh: $*" >&2
  exit 1
}

stop() {
  for name in slurmd slurmctld munged; do
    pidfile="$dir/$name.pid"
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
}

if [ "$cmd" = stop ]; then
  stop
  exit 0
fi
[ "$cmd" = start ] || fail "expected start or stop but received $cmd"

for tool in munged slurmctld slurmd sbatch scontrol; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (Debian: apt-get install munge slurm-wlm)"
done
[ "$(id -u)" = 0 ] || fail "slurmd must run as root to start jobs (running as $(id -un))"

mkdir -p "$dir"/state "$dir"/spool "$dir"/munge
dir=$(cd "$dir" && pwd)
chmod 700 "$dir"/munge

# a free TCP port (bound by nothing now; the daemons take them a moment later)
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

host=$(hostname -s)
cpus=$(nproc)
ctld_port=$(free_port)
slurmd_port=$(free_port)
while [ "$slurmd_port" = "$ctld_port" ]; do slurmd_port=$(free_port); done

# munge: a key of our own (1024 random bytes, as mungekey makes)
dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
chmod 600 "$dir/munge/munge.key"
# --force: the parent folders (/tmp) are world-writable, which munged otherwise refuses
munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
  --pid-file="$dir/munged.pid" --log-file="$dir/munged.log" --seed-file="$dir/munge/munge.seed" \
  || fail "munged did not start: $(tail -n 3 "$dir/munged.log" 2>/dev/null | tr '\n' ' ')"

cat > "$dir/slurm.conf" <<EOF
ClusterName=alexnet-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
# no cgroups: processes are tracked by their parent ids, tasks are not bound
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobRequeue=1
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=300
KillWait=5
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$dir/slurm.conf"

# -i: ignore state left by an earlier cluster in the same folder
slurmctld -i -f "$SLURM_CONF" || { stop; fail "slurmctld did not start: $(tail -n 3 "$dir/slurmctld.log" 2>/dev/null | tr '\n' ' ')"; }
slurmd -f "$SLURM_CONF" -N "$host" || { stop; fail "slurmd did not start: $(tail -n 3 "$dir/slurmd.log" 2>/dev/null | tr '\n' ' ')"; }

# wait until the node takes jobs
for _ in $(seq 150); do
  state=$(sinfo -h -n "$host" -o %t 2>/dev/null || true)
  case "$state" in
    idle|mix|alloc) echo "$SLURM_CONF"; exit 0 ;;
  esac
  sleep 0.2
done
log=$(tail -n 3 "$dir/slurmd.log" "$dir/slurmctld.log" 2>/dev/null | tr '\n' ' ')
stop
fail "the node did not become idle in 30 s (state: ${state:-none}): $log"
