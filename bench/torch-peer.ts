// PyTorch as a peer in the same run: bench/torch-peer.py as a subprocess (torchvision AlexNet, fp32, static
// int8 on fbgemm or onednn, per-channel, calibrated; bf16 autocast), alternated iteration by iteration with
// our forward passes of the same architecture, batch 1 and 32 by default. Only the ratios of one run count
// (the machine is shared): each row gives its median against PyTorch int8's and PyTorch fp32's.
// Our precisions other than fp32 are timed where loadModel takes { precision } (the int8 / bf16 runtime).
// Run: npx tsc -p . && node dist/bench/torch-peer.js [--batch 1,32] [--iters 10] [--warmup 2] [--threads 2]
//        [--ours fp32,int8] [--torch fp32,int8] [--python /usr/bin/python3]
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { buildArchitecture } from '../lib/model/archs.js';
import { Model } from '../lib/model/model.js';
import { native } from '../lib/native.js';
import { renderTable } from '../lib/format.js';
import { option } from './common.js';

const batches = option('batch', '1,32').split(',').map(Number);
const iters = Number(option('iters', '10'));
const warmup = Number(option('warmup', '2'));
const threads = Number(option('threads', '2'));
const oursPrecisions = option('ours', 'fp32,int8,bf16').split(',');
const torchPrecisions = option('torch', 'fp32,int8').split(',');
const python = option('python', '/usr/bin/python3');
const script = fileURLToPath(new URL('../../bench/torch-peer.py', import.meta.url));

/** the Python peer: one request, one reply, in order */
class TorchPeer {
  private readonly child = spawn(python, [script, `--threads=${threads}`], { stdio: ['pipe', 'pipe', 'inherit'] });
  private readonly replies: ((line: string) => void)[] = [];
  constructor() {
    createInterface({ input: this.child.stdout }).on('line', (line) => this.replies.shift()?.(line));
  }
  request(msg: Record<string, unknown>): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      this.replies.push((line) => {
        const reply = JSON.parse(line) as Record<string, unknown>;
        if (reply.error) reject(new Error(`PyTorch peer: ${reply.error}`));
        else resolve(reply);
      });
      this.child.stdin.write(`${JSON.stringify(msg)}\n`);
    });
  }
  close(): void {
    this.child.stdin.end(`${JSON.stringify({ op: 'quit' })}\n`);
  }
}

interface Case { name: string; batch: number; times: number[]; run: () => Promise<number> }

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

native().setThreads?.(threads);
const peer = new TorchPeer();
const cases: Case[] = [];
const notes: string[] = [];
const arch = buildArchitecture('torchvision');
for (const batch of batches) {
  const shape = [batch, 3, 224, 224];
  const input = Float32Array.from({ length: batch * 3 * 224 * 224 }, (_, i) => Math.sin(i * 12.9898) * 0.5);
  for (const precision of oursPrecisions) {
    let model: Model;
    if (precision === 'fp32') model = await Model.random(arch, 1);
    else {
      // the reduced-precision runtime, where this build has it
      try {
        const { loadModel } = await import('../lib/index.js');
        const classifier = await (loadModel as (o: Record<string, unknown>) => Promise<{ model: Model }>)({ arch: 'torchvision', weights: 'random:1', precision });
        model = classifier.model;
        const loaded = (model as unknown as { precision?: string }).precision;
        if (loaded !== precision) throw new Error(`this build's loadModel ignores precision (the model runs ${loaded ?? 'fp32'})`);
      } catch (e) {
        if (batch === batches[0]) notes.push(`ours ${precision}: not timed (${(e as Error).message.split('\n')[0]})`);
        continue;
      }
    }
    cases.push({ name: `ours ${precision}`, batch, times: [], run: async () => { const t = performance.now(); await model.forward(input, shape); return performance.now() - t; } });
    if (precision === 'int8') {
      // and with static scales, like PyTorch's calibrated int8 (bench's calibration: min/max over 8 random
      // inputs, the scales its QDQ export carries)
      const { staticInt8 } = await import('../lib/commands/bench.js');
      const again = await (await import('../lib/index.js')).loadModel({ arch: 'torchvision', weights: 'random:1', precision: 'int8' });
      const fp32 = await Model.random(arch, 1);
      const calibrated = (await staticInt8(undefined, fp32, again.model, 1)).model;
      fp32.dispose();
      cases.push({ name: 'ours int8 static', batch, times: [], run: async () => { const t = performance.now(); await calibrated.forward(input, shape); return performance.now() - t; } });
    }
  }
  for (const precision of torchPrecisions) {
    const key = `${precision}-${batch}`;
    const loaded = await peer.request({ op: 'load', key, precision, batch, seed: 1 });
    if (batch === batches[0]) notes.push(`PyTorch ${loaded.torch} ${precision}${loaded.engine ? ` (${loaded.engine})` : ''}, ${loaded.threads} threads`);
    cases.push({ name: `PyTorch ${precision}`, batch, times: [], run: async () => (await peer.request({ op: 'run', key })).ms as number });
  }
}
for (let i = 0; i < warmup + iters; i++) {
  for (const c of cases) {
    const ms = await c.run();
    if (i >= warmup) c.times.push(ms);
  }
}
peer.close();
const rows = cases.map((c) => {
  const m = median(c.times);
  const ref = (name: string) => cases.find((x) => x.batch === c.batch && x.name === name);
  const ratio = (name: string) => { const r = ref(name); return r ? (m / median(r.times)).toFixed(2) : '-'; };
  return [c.name, String(c.batch), m.toFixed(2), (1000 * c.batch / m).toFixed(1), ratio('PyTorch int8'), ratio('PyTorch fp32')];
});
process.stdout.write([
  `torchvision AlexNet, random weights (ours int8: scales per batch; int8 static: calibrated), ${threads} threads, ${warmup} warm-up + ${iters} timed iterations, cases interleaved`,
  ...notes,
  renderTable(['case', 'batch', 'median ms', 'img/s', 'time / PyTorch int8', 'time / PyTorch fp32'], rows, [false, true, true, true, true, true]),
  '',
].join('\n'));
