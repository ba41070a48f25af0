#!/bin/sh
# test_slurm.sh WB_BIN TRAINER SRC_DIR [SWEEP_TRAINER]: the sbatch scripts of
# integrations/slurm on a real single-node Slurm (Debian's slurm-wlm and
# munge): munged, slurmctld and slurmd are started here on loopback with a
# generated slurm.conf (a stock one: MpiDefault=none), a real `wb server`
# on a free port, and the script submitted with sbatch as its header says
# for one machine. Its two ranks must land as one finished group, ranks 0
# and 1, each recorded with launcher slurm, world size 2 and its local rank.
# With SWEEP_TRAINER (tests/e2e/sweep_trainer.c), a sweep of 4 trials as a
# job array (sweep.sbatch, --array=0-3): 4 agents, 4 distinct trials, each
# finished with its metric and each a run of its own (no Slurm rank).
# Skipped (77) only when not root: slurmd must start jobs as their user.
set -eu
wb=$1 trainer=$2 src=$3 sweep_trainer=${4:-}
[ "$(id -u)" -eq 0 ] || { echo "skipped: slurmd needs root"; exit 77; }

tmp=$(mktemp -d /tmp/wb-slurm.XXXXXX)
chmod 755 "$tmp" # munged wants a socket directory others may traverse
srv=""
cleanup() {
	set +e
	[ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
	for p in slurmd slurmctld; do
		[ -f "$tmp/$p.pid" ] && kill "$(cat "$tmp/$p.pid")" 2>/dev/null
	done
	[ -f "$tmp/munge/pid" ] && kill "$(cat "$tmp/munge/pid")" 2>/dev/null
	# wait for the daemons to go before their files do
	i=0
	while [ $i -lt 100 ] && pgrep -f "$tmp/slurm.conf" >/dev/null; do
		i=$((i + 1))
		sleep 0.1 # polling the daemons' exit against a deadline
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	for f in "$tmp"/log/* "$tmp"/job-*.out "$tmp"/sweep-*.out "$tmp/server.log"; do
		[ -f "$f" ] && { echo "== $f"; tail -20 "$f"; }
	done
	exit 1
}

# A free loopback port (bound, then released for the daemon).
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# until CMD: poll every 0.1 s for at most 30 s.
until_ok() {
	i=0
	until "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -gt 300 ] && return 1
		sleep 0.1 # polling the condition against a deadline
	done
}

mkdir -p "$tmp/munge" "$tmp/state" "$tmp/spool" "$tmp/log" "$tmp/data" "$tmp/config"
chmod 700 "$tmp/munge"
mungekey --create --keyfile="$tmp/munge/munge.key"
chmod 755 "$tmp/munge"
munged --force --key-file="$tmp/munge/munge.key" --socket="$tmp/munge/sock" --pid-file="$tmp/munge/pid" \
	--log-file="$tmp/log/munged.log" --seed-file="$tmp/munge/seed"
until_ok test -S "$tmp/munge/sock" || fail "munged did not start"

host=$(hostname -s)
cat >"$tmp/slurm.conf" <<EOF
ClusterName=wbtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
AuthType=auth/munge
AuthInfo=socket=$tmp/munge/sock
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
NodeName=$host NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=wbtest Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
EOF
export SLURM_CONF="$tmp/slurm.conf"
slurmctld -f "$SLURM_CONF" || fail "slurmctld did not start"
slurmd -f "$SLURM_CONF" || fail "slurmd did not start"
idle() { sinfo -h -o %T -p wbtest | grep -qx idle; }
until_ok idle || fail "the node did not become idle: $(sinfo 2>&1)"

WB_CONFIG_DIR=$tmp/config "$wb" server --data "$tmp/data" --port 0 2>"$tmp/server.log" >/dev/null &
srv=$!
until_ok test -s "$tmp/data/server.url" || fail "wb server did not start"
url=$(cat "$tmp/data/server.url")
key=$(sed -n 's/^api_key=//p' "$tmp/config/settings" | head -1)
[ -n "$key" ] || fail "no key in the settings file"

# As the script's header says for one machine; sbatch passes this
# environment on to the job (its default --export=ALL).
cd "$src"
OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 WB_CONFIG_DIR=$tmp/config WB_BASE_URL=$url \
	WB_ENTITY=tester WB_PROJECT=slurm WB_TRAINER=$trainer WB_DIR=$tmp/runs \
	timeout 600 sbatch --wait --nodes=1 --ntasks-per-node=2 --output="$tmp/job-%j.out" \
	integrations/slurm/fashion_mnist_mpi.sbatch --epochs 1 --limit 1600 || fail "the job failed"

WB_URL=$url WB_KEY=$key python3 - <<'EOF' || fail "the group is not as submitted"
import json, os, sys, urllib.request

def get(path):
    req = urllib.request.Request(os.environ["WB_URL"] + path,
                                 headers={"Authorization": "Bearer " + os.environ["WB_KEY"]})
    return json.load(urllib.request.urlopen(req))

groups = get("/api/v1/projects/tester/slurm/groups")["groups"]
assert len(groups) == 1, groups
g = groups[0]
assert g["group"].startswith("slurm-"), g
assert g["state"] == "finished" and g["runs"] == 2, g
ranks = get("/api/v1/projects/tester/slurm/groups/" + g["group"])["ranks"]
assert sorted(r["rank"] for r in ranks) == [0, 1], ranks
for r in ranks:
    d = get("/api/v1/projects/tester/slurm/runs/" + r["id"])["metadata"]["distributed"]
    assert d["launcher"] == "slurm", d
    assert d["world_size"] == 2, d
    assert d["rank"] == r["rank"] and d["local_rank"] == r["rank"], d
    assert d["job_id"] == g["group"][len("slurm-"):], d
print("group", g["group"], "ranks 0 and 1, world size 2")
EOF

[ -n "$sweep_trainer" ] || { echo "ok"; exit 0; }
mkdir -p "$tmp/sweep"
cat >"$tmp/spec.json" <<'EOF'
{"method": "random", "metric": {"name": "loss", "goal": "minimize"}, "run_cap": 4,
 "parameters": {"x": {"min": 0.0, "max": 1.0}, "y": {"min": 0.0, "max": 4.0}}}
EOF
id=$(WB_CONFIG_DIR=$tmp/config WB_BASE_URL=$url "$wb" sweep create "$tmp/spec.json" --project tester/slurm-sweep) ||
	fail "wb sweep create failed"
WB_CONFIG_DIR=$tmp/config WB_BASE_URL=$url WB_ENTITY=tester WB_BIN=$wb WB_DIR=$tmp/sweep-runs WB_DISABLE_GIT=1 \
	timeout 600 sbatch --wait --array=0-3 --output="$tmp/sweep-%A_%a.out" integrations/slurm/sweep.sbatch \
	"tester/slurm-sweep/$id" -- "$sweep_trainer" "$tmp/sweep" 0 || fail "the sweep's job array failed"

WB_URL=$url WB_KEY=$key WB_SWEEP_ID=$id python3 - <<'EOF' || fail "the sweep is not as run by the array"
import json, os, urllib.request

def get(path):
    req = urllib.request.Request(os.environ["WB_URL"] + path,
                                 headers={"Authorization": "Bearer " + os.environ["WB_KEY"]})
    return json.load(urllib.request.urlopen(req))

base = "/api/v1/projects/tester/slurm-sweep"
s = get(base + "/sweeps/" + os.environ["WB_SWEEP_ID"])
assert s["state"] == "finished" and s["counts"]["finished"] == 4, s
trials = get(base + "/sweeps/" + s["id"] + "/trials")["trials"]
assert sorted(t["num"] for t in trials) == [0, 1, 2, 3], trials
assert len(set(t["agent"] for t in trials)) == 4, trials  # one agent per array task
for t in trials:
    p = t["params"]
    want = (p["x"] - 0.3) ** 2 + (p["y"] - 2) ** 2 / 100
    assert t["state"] == "finished" and abs(t["value"] - want) < 1e-9, t
    run = get(base + "/runs/" + t["run_id"])
    assert run["metadata"]["sweep"] == {"id": s["id"], "trial": t["num"]}, run["metadata"]
    assert "distributed" not in run["metadata"], run["metadata"]  # not "rank 0" of the array task
print("sweep", s["id"], "4 trials from 4 array tasks")
EOF
echo "ok"
