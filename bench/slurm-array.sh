#!/usr/bin/env bash
# Throughput of examples/slurm/ as an array of TASKS tasks against the same script as one task, on
# the single-node Slurm cluster of test/slurm/cluster.sh (munged, slurmctld, slurmd on this host's
# cores), over the same dataset, each followed by the merge job. Run as root after `npm ci`:
#
#   bash bench/slurm-array.sh [IMAGES=256] [TASKS=4] [score options...]
#
# The dataset is IMAGES hard links of the real photographs in test/fixtures/images (JPEG and PNG,
# 256x256 to 512x512) in 4 ImageNet class folders. The default network is torchvision's AlexNet with
# random weights (what is scored does not change the speed). Each run is timed from `sbatch` to the
# end of its merge job, as a user waits for it, scheduling latency included; the runs alternate
# (one, array, one, array) so that both see the same machine. Prints one line per run and the ratio.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
images=${1:-256}
tasks=${2:-4}
shift $(( $# > 2 ? 2 : $# ))
options=("$@")
[ ${#options[@]} -gt 0 ] || options=(--arch torchvision --weights random:1 --batch 8)

work=$(mktemp -d /tmp/alexnet-slurm-bench-XXXXXX)
cleanup() { bash "$root/test/slurm/cluster.sh" stop "$work/cluster" || true; }
trap cleanup EXIT
export SLURM_CONF
SLURM_CONF=$(bash "$root/test/slurm/cluster.sh" start "$work/cluster")
mkdir -p "$work/bin"
ln -s "$root/dist/bin/alexnet-cli.js" "$work/bin/alexnet-cli"
export PATH="$work/bin:$PATH"
cd "$work"

# the dataset: real photographs, linked round-robin into 4 class folders
mapfile -t photos < <(ls "$root"/test/fixtures/images/{chelsea-progressive.jpg,coffee-baseline.jpg,astronaut.png,camera-gray.png,chelsea-exif6.jpg})
classes=(n01440764 n01443537 n01484850 n01491361)
for i in $(seq 0 $((images - 1))); do
  cls=${classes[$((i % 4))]}
  mkdir -p "data/$cls"
  src=${photos[$((i % ${#photos[@]}))]}
  ln "$src" "data/$cls/img$i.${src##*.}"
done

wait_job() { # until every element of job $1 has ended
  while scontrol show job -o "$1" 2>/dev/null | grep -q 'JobState=\(PENDING\|RUNNING\|CONFIGURING\|COMPLETING\)'; do sleep 0.2; done
}

cpus=$(nproc)
per_task=$(( cpus / tasks > 0 ? cpus / tasks : 1 ))
one_run() { # $1 = array size, $2 = cpus per task; prints seconds and the merged count
  local n=$1 c=$2 out="$work/results-$1-$RANDOM" start end array merge
  start=$(date +%s.%N)
  array=$(sbatch --parsable --array=0-$((n - 1)) --cpus-per-task="$c" "$root/examples/slurm/score.sbatch" "$work/data" "$out" "${options[@]}")
  merge=$(sbatch --parsable --dependency=afterany:"$array" "$root/examples/slurm/merge.sbatch" "$out")
  wait_job "$array"
  wait_job "$merge"
  end=$(date +%s.%N)
  local scored
  scored=$(node -e 'const m = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); process.stdout.write(String(m.scored))' "$out/metrics.json")
  [ "$scored" = "$images" ] || { echo "slurm-array: $n task(s) merged $scored of $images images (see $out)" >&2; exit 1; }
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }'
}

echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $cpus cores; $images images; score ${options[*]}"
declare -a one arr
for round in 1 2; do
  one[$round]=$(one_run 1 "$cpus")
  echo "round $round: 1 task x $cpus cpus:        ${one[$round]} s, $(awk -v n="$images" -v t="${one[$round]}" 'BEGIN { printf "%.1f", n / t }') img/s"
  arr[$round]=$(one_run "$tasks" "$per_task")
  echo "round $round: $tasks tasks x $per_task cpus (array): ${arr[$round]} s, $(awk -v n="$images" -v t="${arr[$round]}" 'BEGIN { printf "%.1f", n / t }') img/s"
done
best_one=$(printf '%s\n' "${one[@]}" | sort -g | head -1)
best_arr=$(printf '%s\n' "${arr[@]}" | sort -g | head -1)
echo "best of 2: array/one-task throughput ratio $(awk -v a="$best_one" -v b="$best_arr" 'BEGIN { printf "%.2f", a / b }')"
