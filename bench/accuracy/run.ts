// The accuracy study: PyTorch makes the networks and labelled sets (make_sets.py), we evaluate fp32, bf16 and
// int8 on them and print the table of docs/precision.md.
// Run: npx tsc -p . && /usr/bin/python3 bench/accuracy/make_sets.py /tmp/accuracy && node dist/bench/accuracy/run.js /tmp/accuracy [--method mse] [--json out.json]
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluateSet, renderAccuracy, renderPaired, type SetResult } from './evaluate.js';

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const dir = args[0];
if (!dir) {
  process.stderr.write('usage: node dist/bench/accuracy/run.js DIR [--method mse|percentile|minmax] [--json FILE] (DIR from bench/accuracy/make_sets.py)\n');
  process.exit(2);
}
const method = (option('method') ?? 'mse') as 'mse' | 'percentile' | 'minmax';
const results: SetResult[] = [];
for (const set of ['digits', 'photos']) {
  if (!existsSync(join(dir, set, 'meta.json'))) continue;
  results.push(await evaluateSet(join(dir, set), { method, log: (line) => process.stderr.write(`${line}\n`) }));
}
process.stdout.write(`${renderAccuracy(results)}\n`);
for (const r of results) {
  process.stdout.write(`${r.meta.set}: our fp32 top-1 equals PyTorch fp32's on ${(100 * r.torchFp32Agreement).toFixed(1)}% of ${r.images}; calibration ${r.meta.calibration} images (${r.calibrationMethod}), PyTorch ${r.meta.torch.version} int8 engine ${r.meta.torch.engine}\n`);
  const paired = renderPaired(r);
  if (paired) process.stdout.write(`${paired}\n`);
}
const json = option('json');
if (json) writeFileSync(json, `${JSON.stringify(results.map((r) => ({ set: r.meta.set, images: r.images, rows: r.rows, torchFp32Agreement: r.torchFp32Agreement, method: r.calibrationMethod, int8VsTorch: r.int8VsTorch })), null, 2)}\n`);
