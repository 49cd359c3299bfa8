// The int8 chain against fp32 between the layers, on an int8 file as `alexnet-cli quantize` writes it (static
// scales): the same model loaded twice (Model int8Chain true and false), forward passes interleaved call by call,
// the median ms of each and their ratio per batch, and the outputs compared to the bit (they must be equal:
// lib/model/plan.ts int8Chain). Only the ratio from one run means anything on a shared machine.
// Run: npx tsc -p . && node dist/bench/int8-chain.js --weights model-int8.safetensors [--batch 1,32] [--iters 15]
import { loadWeightsAndModel } from '../lib/model/load.js';
import { native } from '../lib/native.js';
import { option } from './common.js';

const weights = option('weights', '');
if (!weights) {
  process.stderr.write('usage: node dist/bench/int8-chain.js --weights MODEL-INT8.safetensors [--batch 1,32] [--iters 15]\n');
  process.exit(2);
}
const batches = option('batch', '1,32').split(',').map(Number);
const iters = Number(option('iters', '15'));
const chained = await loadWeightsAndModel({ weights });
const plain = await loadWeightsAndModel({ weights, int8Chain: false });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const features = native().cpuFeatures();
console.log(`int8 chain vs fp32 between layers: ${weights} (${chained.model.arch.name}, ${chained.model.precision}), ` +
  `isa ${features.isa}, ${iters} interleaved iterations after 2 warm-up`);
try {
  for (const batch of batches) {
    const shape = [batch, ...chained.model.arch.input];
    const input = new Float32Array(shape.reduce((a, b) => a * b, 1));
    let x = batch;
    for (let i = 0; i < input.length; i++) { x = (x * 1103515245 + 12345) % 2147483648; input[i] = (x / 2147483648) * 4 - 2; }
    const c = chained.model.int8ChainFor(shape[2], shape[3]);
    const times = { chain: [] as number[], plain: [] as number[] };
    let same = true;
    for (let i = 0; i < iters + 2; i++) {
      let t = performance.now();
      const a = await chained.model.forward(input, shape);
      const ta = performance.now() - t;
      t = performance.now();
      const b = await plain.model.forward(input, shape);
      const tb = performance.now() - t;
      same &&= a.length === b.length && a.every((v, j) => Object.is(v, b[j]));
      if (i >= 2) { times.chain.push(ta); times.plain.push(tb); }
    }
    const [mc, mp] = [median(times.chain), median(times.plain)];
    console.log(`batch ${String(batch).padStart(3)}: chain ${mc.toFixed(2)} ms, fp32 between ${mp.toFixed(2)} ms, ratio ` +
      `${(mc / mp).toFixed(3)}; ${c.producers.size} convs write u8, ${c.pools.size} max pools on u8; outputs ${same ? 'equal to the bit' : 'DIFFER'}`);
    if (!same) process.exitCode = 1;
  }
} finally {
  chained.model.dispose();
  plain.model.dispose();
}
