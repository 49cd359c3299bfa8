#!/usr/bin/env bash
# The one prepared check for a machine with an NVIDIA GPU (see docs/cuda.md, /work/shared/DEVICE.md).
# Run from the repository root with Node at .device/node (or .device/node-*.xz, or node on PATH) and
# node_modules and dist/ (from `npx tsc -p .`; else tsc runs there) carried along:
#
#   scripts/gpu-check.sh            logs and bench.json under $OUT (default ./gpu-check-out)
#
# Steps: build alexnet_native.node + alexnet_cuda.node with cmake-js against the CUDA toolkit found
# there (SASS for this GPU only: ALEXNET_CUDA_ARCHS, to save device time), ctest (native kernel test),
# compute-sanitizer memcheck of it, the JS CUDA tests (kernels vs references, end to end vs the CPU
# path), and a benchmark of the seed architecture at batch 256 (fp32 with TF32 off, and BF16) against
# PyTorch + cuDNN on the same batch. Prints a short table last. Exits 2 at once without a GPU
# ("no GPU"), 1 when a step failed, 0 when all passed.
set -u -o pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

# --- here, before the run: `scripts/gpu-check.sh --prepare` packs what the GPU machine needs into
# .device/ (Node 20 compressed, the node_modules the build needs) and builds dist/; then call the
# device tool with carry [".device", "dist"] (about 30 MB; all of node_modules would be 350 MB).
if [ "${1:-}" = --prepare ]; then
  mkdir -p .device
  grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >>.git/info/exclude
  cp "${NODE_XZ:-$ROOT/../shared/tools/node-v20.20.2-linux-x64.xz}" .device/ || exit 1
  # cmake-js, node-addon-api, node-api-headers and their dependencies (the tests and the benchmark
  # import nothing from node_modules)
  mods=$(node -e "
    const fs = require('fs'), path = require('path'), seen = new Set(), top = new Set();
    // node's lookup: <dir>/node_modules/<name>, then the parents' node_modules
    const resolve = (from, n) => { for (let d = from; ; d = path.dirname(d)) {
      const c = path.join(d, 'node_modules', n); if (fs.existsSync(c)) return c; if (d === '.' || d === '/') return null; } };
    const add = (dir) => { if (!dir || seen.has(dir)) return; seen.add(dir);
      const rel = path.relative('node_modules', dir).split(path.sep);
      top.add(rel[0].startsWith('@') ? rel[0] + '/' + rel[1] : rel[0]);
      const j = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
      Object.keys(j.dependencies || {}).forEach((n) => add(resolve(dir, n))); };
    ['cmake-js', 'node-addon-api', 'node-api-headers'].forEach((n) => add(path.join('node_modules', n)));
    console.log([...top].join(' '));") || exit 1
  tar -cJf .device/node_modules.tar.xz -C node_modules $mods || exit 1
  npx tsc -p . || exit 1
  du -sh .device dist
  echo 'now: run with carry [".device", "dist"], command scripts/gpu-check.sh'
  exit 0
fi
if [ ! -d node_modules/cmake-js ] && [ -f .device/node_modules.tar.xz ]; then
  mkdir -p node_modules && tar -xJf .device/node_modules.tar.xz -C node_modules
fi
OUT=${OUT:-$ROOT/gpu-check-out}
mkdir -p "$OUT"
BATCH=${BATCH:-256}

# --- a GPU, or stop here -----------------------------------------------------------------------
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >"$OUT/gpu.txt" 2>&1 || ! grep -q '^GPU ' "$OUT/gpu.txt"; then
  echo "no GPU: nvidia-smi $(command -v nvidia-smi >/dev/null 2>&1 && echo 'lists no device' || echo 'not found') ($(head -c 200 "$OUT/gpu.txt" 2>/dev/null | tr '\n' ' '))" >&2
  exit 2
fi
cat "$OUT/gpu.txt"

# --- tools ------------------------------------------------------------------------------------------
# Node 20 may come compressed (the carry limit is 64 MiB): .device/node-*.xz is unpacked to .device/node
if [ ! -x "$ROOT/.device/node" ]; then
  for packed in "$ROOT"/.device/node*.xz; do
    [ -f "$packed" ] && xz -dc "$packed" >"$ROOT/.device/node" && chmod +x "$ROOT/.device/node" && break
  done
fi
[ -x "$ROOT/.device/node" ] && export PATH="$ROOT/.device:$PATH"  # CMakeLists.txt runs `node` too
[ -d /usr/local/cuda/bin ] && export PATH="$PATH:/usr/local/cuda/bin"
if ! command -v node >/dev/null 2>&1; then echo "no node: put it at .device/node" >&2; exit 2; fi
if [ -z "${ALEXNET_CUDA_ARCHS:-}" ]; then
  cap=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')
  [ -n "$cap" ] && export ALEXNET_CUDA_ARCHS="${cap}-real"
fi
export ALEXNET_CLI_TEST_CUDA_DEVICE=${ALEXNET_CLI_TEST_CUDA_DEVICE:-cuda:0}
echo "node $(node --version), $(nvcc --version 2>/dev/null | tail -1), archs ${ALEXNET_CUDA_ARCHS:-default}"

declare -A RESULT
step() {  # step NAME TIMEOUT_S COMMAND...: runs it with its log in $OUT/NAME.log, records pass/FAIL
  local name=$1 limit=$2; shift 2
  local start=$SECONDS
  echo "== $name"
  timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
  local rc=$?
  tail -n 15 "$OUT/$name.log"
  if [ $rc -eq 0 ]; then RESULT[$name]="pass ($((SECONDS - start)) s)"; else RESULT[$name]="FAIL rc=$rc ($((SECONDS - start)) s)"; fi
  return $rc
}

# --- build ------------------------------------------------------------------------------------------
step build 420 node node_modules/cmake-js/bin/cmake-js compile --parallel "$(nproc)"
if [ ! -f build/Release/alexnet_cuda.node ]; then
  echo "alexnet_cuda.node was not built: see $OUT/build.log" >&2
  RESULT[build]="FAIL (no alexnet_cuda.node)"
fi
if [ ! -f dist/lib/native.js ] || [ "${REBUILD_TS:-0}" = 1 ]; then
  step tsc 120 node node_modules/typescript/bin/tsc -p .
fi

# --- tests ------------------------------------------------------------------------------------------
step ctest 120 bash -c 'cd build && ctest --output-on-failure'
if command -v compute-sanitizer >/dev/null 2>&1; then
  step memcheck 240 compute-sanitizer --tool memcheck --error-exitcode 1 build/alexnet_cuda_kernels_test
fi
step js-tests 300 node --test --test-concurrency=1 dist/test/cuda.test.js

# --- benchmark: ours ---------------------------------------------------------------------------------
cat >"$OUT/bench-ours.mjs" <<'JS'
// seed at batch BATCH on cuda:0: median wall time of Model.forward (input H2D + layers + output D2H)
// and the median sum of the layers' GPU times (cudaEvent), per precision
import { pathToFileURL } from 'node:url';
const root = process.argv[2], batch = Number(process.argv[3]);
const { buildArchitecture } = await import(pathToFileURL(`${root}/dist/lib/model/archs.js`).href);
const { Model } = await import(pathToFileURL(`${root}/dist/lib/model/model.js`).href);
const { cudaBinding } = await import(pathToFileURL(`${root}/dist/lib/native.js`).href);
const b = cudaBinding('cuda:0');
const arch = buildArchitecture('seed');
const shape = [batch, 3, 227, 227];
const input = Float32Array.from({ length: batch * 3 * 227 * 227 }, (_, i) => Math.sin(i) * 0.5);
const model = await Model.random(arch, 1, 'cuda:0');
const median = (v) => [...v].sort((a, c) => a - c)[Math.floor(v.length / 2)];
const results = {};
for (const precision of ['fp32', 'bf16']) {
  b.setPrecision(precision);
  const walls = [], gpus = [];
  for (let i = 0; i < 12; i++) {
    let gpuNs = 0;
    const t0 = process.hrtime.bigint();
    await model.forward(input, shape, { onLayer: (l) => { gpuNs += l.ns; } });
    const wall = Number(process.hrtime.bigint() - t0) / 1e6;
    if (i >= 2) { walls.push(wall); gpus.push(gpuNs / 1e6); }
  }
  results[precision] = { wallMs: median(walls), gpuMs: median(gpus) };
}
console.log(JSON.stringify(results));
JS
step bench-ours 240 node "$OUT/bench-ours.mjs" "$ROOT" "$BATCH"

# --- benchmark: PyTorch + cuDNN ----------------------------------------------------------------------
cat >"$OUT/bench-torch.py" <<'PY'
# seed (= lib/model/archs.ts) at batch BATCH: fp32 with TF32 off, and BF16 autocast; median ms of the
# forward with the input already on the GPU ("gpu"), and with the host->device copy and the result's
# copy back ("wall", as our Model.forward does)
import json, sys, time
import torch
import torch.nn as nn
batch = int(sys.argv[1])
torch.backends.cudnn.allow_tf32 = False
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.benchmark = True
model = nn.Sequential(
    nn.Conv2d(3, 96, 11, 4), nn.ReLU(), nn.MaxPool2d(3, 2),
    nn.Conv2d(96, 256, 5, 1, 2), nn.ReLU(), nn.MaxPool2d(3, 2),
    nn.Conv2d(256, 384, 3, 1, 1), nn.ReLU(), nn.Conv2d(384, 384, 3, 1, 1), nn.ReLU(),
    nn.Conv2d(384, 256, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(3, 2), nn.Flatten(),
    nn.Linear(9216, 4096), nn.ReLU(), nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, 1000), nn.Softmax(1),
).cuda().eval()
host = torch.randn(batch, 3, 227, 227)
x = host.cuda()
results = {}
for precision in ['fp32', 'bf16']:
    def run(inp):
        with torch.no_grad(), torch.autocast('cuda', dtype=torch.bfloat16, enabled=precision == 'bf16'):
            return model(inp)
    for _ in range(3):
        run(x)
    torch.cuda.synchronize()
    gpu, wall = [], []
    for _ in range(10):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record(); run(x); stop.record(); torch.cuda.synchronize()
        gpu.append(start.elapsed_time(stop))
        t0 = time.perf_counter(); run(host.cuda()).float().cpu(); wall.append((time.perf_counter() - t0) * 1e3)
    results[precision] = {'gpuMs': sorted(gpu)[len(gpu) // 2], 'wallMs': sorted(wall)[len(wall) // 2]}
print(json.dumps({'torch': torch.__version__, 'cudnn': torch.backends.cudnn.version(), **results}))
PY
step bench-torch 240 python3 "$OUT/bench-torch.py" "$BATCH"

# --- summary (last) ------------------------------------------------------------------------------------
ours=$(tail -n 1 "$OUT/bench-ours.log" 2>/dev/null)
torch=$(tail -n 1 "$OUT/bench-torch.log" 2>/dev/null)
echo "{\"ours\": ${ours:-null}, \"torch\": ${torch:-null}}" >"$OUT/bench.json" 2>/dev/null
echo
echo "== gpu-check: $(head -1 "$OUT/gpu.txt")"
failed=0
for name in build tsc ctest memcheck js-tests bench-ours bench-torch; do
  [ -n "${RESULT[$name]:-}" ] || continue
  printf '%-12s %s\n' "$name" "${RESULT[$name]}"
  case "${RESULT[$name]}" in FAIL*) failed=1 ;; esac
done
OURS="$ours" TORCH="$torch" BATCH="$BATCH" python3 - <<'PY' || true
import json, os
def load(name):
    try: return json.loads(os.environ.get(name) or 'null')
    except ValueError: return None
ours, torch = load('OURS'), load('TORCH')
batch = int(os.environ['BATCH'])
print(f"\nseed, batch {batch}   {'ours GPU ms':>12} {'ours wall ms':>13} {'torch GPU ms':>13} {'torch wall ms':>14} {'GPU ratio':>10}")
for p in ['fp32', 'bf16']:
    o = (ours or {}).get(p) or {}; t = (torch or {}).get(p) or {}
    f = lambda v: f'{v:.2f}' if isinstance(v, (int, float)) else '-'
    ratio = f"{o['gpuMs'] / t['gpuMs']:.2f}x" if o.get('gpuMs') and t.get('gpuMs') else '-'
    print(f"{p + (' (TF32 off)' if p == 'fp32' else ''):<18} {f(o.get('gpuMs')):>12} {f(o.get('wallMs')):>13} {f(t.get('gpuMs')):>13} {f(t.get('wallMs')):>14} {ratio:>10}")
if torch: print(f"torch {torch.get('torch')}, cuDNN {torch.get('cudnn')}; GPU ratio = ours / torch (lower is better)")
PY
exit $failed
