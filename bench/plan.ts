// runPlan and the packed linear kernels, measured in one process against baselines from the same run:
//   - memory: read-stream and memcpy GB/s of the machine (Binding.memoryBandwidth), the ceiling of fc at batch 1
//   - peakGflops, and packed linear (fc6 9216->4096, fc7 4096->4096) at batch 1, 2, 8, 32: GB/s of weights
//     streamed and GFLOP/s, interleaved iteration by iteration with a previous build of the addon when given
//   - a whole forward pass: one runPlan call vs one awaited primitive per layer (same addon, same buffers)
// Run: npx tsc -p . && node dist/bench/plan.js [--previous path/to/old/alexnet_native.node] [--iters N] [--arch seed]
import { native, type Binding, type NativeTensor } from '../lib/native.js';
import { filled, flag, loadBuild, option } from './common.js';
import { buildArchitecture } from '../lib/model/archs.js';
import type { ArchName } from '../lib/model/layers.js';
import { Model } from '../lib/model/model.js';

const iters = Number(option('iters', '15'));
const skipForward = flag('no-forward');
const archName = option('arch', 'seed') as ArchName;
const previousPath = option('previous', '');

const current = native();
const previous = loadBuild(previousPath);
const builds: [string, Binding][] = [['current', current], ...(previous ? [['previous', previous] as [string, Binding]] : [])];
for (const [, b] of builds) b.setThreads(current.getThreads());

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const fmt = (x: number, digits = 1) => x.toFixed(digits);

console.log(`threads ${current.getThreads()}, isa ${current.cpuFeatures().isa}, ${iters} iterations (medians)${previous ? `, previous build ${previousPath}` : ''}`);

const bandwidth = current.memoryBandwidth!(256);
console.log(`memory (256 MB, all threads): read stream ${fmt(bandwidth.readGBps)} GB/s, memcpy ${fmt(bandwidth.copyGBps)} GB/s (read + written)`);
for (const [name, b] of builds) console.log(`peakGflops ${name}: ${fmt(b.peakGflops!())} GFLOP/s`);

// packed linear at the fc shapes, each build on its own copy of the same weights, interleaved
for (const [inF, outF] of [[9216, 4096], [4096, 4096]]) {
  const setups = [];
  for (const [name, b] of builds) {
    const weight = await b.packLinear!(Int32Array.of(outF, inF), filled(b, inF * outF, 2));
    setups.push({ name, b, weight, bias: filled(b, outF, 3) });
  }
  for (const rows of [1, 2, 8, 32]) {
    const dims = Int32Array.of(rows, inF, outF);
    const runs = setups.map((s) => ({ ...s, input: filled(s.b, rows * inF, 1), output: s.b.alloc('cpu', rows * outF), ns: [] as number[] }));
    for (const r of runs) await r.b.linear(dims, r.input, r.weight, r.bias, r.output, true);
    for (let i = 0; i < iters; i++) for (const r of runs) r.ns.push(await r.b.linear(dims, r.input, r.weight, r.bias, r.output, true));
    // median, and the best run (other processes on a shared machine only ever slow a run down)
    const line = runs.map((r) => {
      const ns = median(r.ns), best = Math.min(...r.ns);
      return `${r.name} ${fmt(ns / 1e6, 2)} ms = ${fmt(inF * outF * 4 / ns)} GB/s (best ${fmt(inF * outF * 4 / best)}), ` +
        `${fmt(2 * rows * inF * outF / ns)} GFLOP/s (best ${fmt(2 * rows * inF * outF / best)})`;
    });
    console.log(`linear ${rows}x${inF} -> ${outF}: ${line.join(' | ')}`);
    for (const r of runs) { r.input.dispose(); r.output.dispose(); }
  }
  for (const s of setups) { s.weight.dispose(); s.bias.dispose(); }
}

// a whole forward pass: runPlan vs one primitive per layer, interleaved
if (!skipForward) {
const model = await Model.random(buildArchitecture(archName), 0);
for (const batch of [1, 8]) {
  const shape = [batch, ...model.arch.input];
  const input = new Float32Array(shape.reduce((x, y) => x * y, 1)).fill(0.5);
  const modes = [{ name: 'runPlan', plan: true, ms: [] as number[], kernelMs: [] as number[] },
    { name: 'per layer', plan: false, ms: [] as number[], kernelMs: [] as number[] }];
  for (const m of modes) await model.forward(input, shape, { plan: m.plan });
  for (let i = 0; i < iters; i++) {
    for (const m of modes) {
      let kernelNs = 0;
      const start = process.hrtime.bigint();
      await model.forward(input, shape, { plan: m.plan, onLayer: (t) => { kernelNs += t.ns; } });
      m.ms.push(Number(process.hrtime.bigint() - start) / 1e6);
      m.kernelMs.push(kernelNs / 1e6);
    }
  }
  console.log(`${archName} batch ${batch} forward: ` + modes.map((m) => {
    const total = median(m.ms), kernels = median(m.kernelMs);
    return `${m.name} ${fmt(total, 2)} ms (kernels ${fmt(kernels, 2)}, outside ${fmt(total - kernels, 2)})`;
  }).join(' | '));
}
model.dispose();
}
