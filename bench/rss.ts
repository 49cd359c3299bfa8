// Peak RSS while classifying one image with fp32 seed weights read from a file, in a fresh process
// (so nothing else this script does counts), against the weights' size.
// Run: npx tsc -p . && node dist/bench/rss.js [--arch seed]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ArchName } from '../lib/model/layers.js';

const child = process.argv[2] === '--child';
if (child) {
  // classify one image: load the weights from the file (read straight into native memory), one forward
  const [, , , file, archName] = process.argv;
  const { loadWeightsAndModel } = await import('../lib/model/load.js');
  const { model } = await loadWeightsAndModel({ arch: archName as ArchName, weights: file });
  const shape = [1, ...model.arch.input];
  const input = new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.5);
  await model.forward(input, shape);
  process.stdout.write(JSON.stringify({ peakRssBytes: process.resourceUsage().maxRSS * 1024, weightsBytes: model.parameterBytes }));
} else {
  const archIndex = process.argv.indexOf('--arch');
  const archName = (archIndex >= 0 ? process.argv[archIndex + 1] : 'seed') as ArchName;
  const { buildArchitecture } = await import('../lib/model/archs.js');
  const { Model } = await import('../lib/model/model.js');
  const { writeSafetensors } = await import('../lib/weights/safetensors.js');
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-rss-'));
  try {
    const file = join(dir, `${archName}.safetensors`);
    const model = await Model.random(buildArchitecture(archName), 0);
    writeSafetensors(file, model.parameters(), { arch: archName });
    model.dispose();
    const run = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', file, archName], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(run.stderr);
    const { peakRssBytes, weightsBytes } = JSON.parse(run.stdout) as { peakRssBytes: number; weightsBytes: number };
    const mb = (n: number) => (n / 1048576).toFixed(1);
    console.log(`${archName}: file ${mb(statSync(file).size)} MB, weights ${mb(weightsBytes)} MB, peak RSS classifying one image ` +
      `${mb(peakRssBytes)} MB = ${(peakRssBytes / weightsBytes).toFixed(3)}x the weights (target <= 1.3x)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
