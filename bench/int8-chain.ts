// The int8 chain against fp32 between the layers, on an int8 file as `alexnet-cli quantize` writes it (static
// scales): the same model loaded twice (Model int8Chain true and false), forward passes interleaved call by call,
// the median ms of each and their ratio per batch, and the outputs compared to the bit (they must be equal:
// lib/model/plan.ts int8Chain). Only the ratio from one run means anything on a shared machine.
// Run: npx tsc -p . && node dist/bench/int8-chain.js --weights model-int8.safetensors [--batch 1,32] [--iters 15]
import { loadWeightsAndModel } from '../lib/model/load.js';
import { native } from '../lib/native.js';
import { filled, option } from './common.js';

const usage = (why: string) => {
  process.stderr.write(`${why}\nusage: node dist/bench/int8-chain.js --weights MODEL-INT8.safetensors [--batch 1,32] [--iters 15]\n`);
  process.exit(2);
};
const weights = option('weights', '');
const batches = option('batch', '1,32').split(',').map(Number);
const iters = Number(option('iters', '15'));
if (!weights) usage('int8-chain: Expected a weights file for --weights but received nothing');
if (!batches.every((b) => Number.isInteger(b) && b >= 1)) usage(`int8-chain: Expected positive integers for --batch but received ${option('batch', '')}`);
if (!Number.isInteger(iters) || iters < 1) usage(`int8-chain: Expected a positive integer for --iters but received ${option('iters', '')}`);
const load = (int8Chain: boolean) => loadWeightsAndModel({ weights, int8Chain }).catch((e: Error) => {
  process.stderr.write(`int8-chain: ${e.message}\n`);
  process.exit(1);
});
const chained = await load(true);
const plain = await load(false);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const features = native().cpuFeatures();
console.log(`int8 chain vs fp32 between layers: ${weights} (${chained.model.arch.name}, ${chained.model.precision}), ` +
  `isa ${features.isa}, ${iters} interleaved iterations after 2 warm-up`);
try {
  for (const batch of batches) {
    const shape = [batch, ...chained.model.arch.input];
    const input = filled(native(), shape.reduce((a, b) => a * b, 1), batch);  // values in [-0.5, 0.5)
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
    input.dispose();
  }
} finally {
  chained.model.dispose();
  plain.model.dispose();
}
