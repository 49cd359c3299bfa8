// Peak RSS while classifying one image with fp32 seed weights read from a file, in a fresh process
// (so nothing else this script does counts), against the weights' size: `alexnet-cli classify IMAGE
// --weights FILE` itself (the target), and the library calls it makes, stage by stage (where it goes).
// With --int8 the file is an int8 one as `alexnet-cli quantize` writes it (I8 weights, per-channel scales, static
// input scales: docs/precision.md), which classify runs as int8 holding only the int8 weights; the ratio is
// still against the fp32 weights' bytes (issue 15's target: <= 0.6x).
// Run: npx tsc -p . && node dist/bench/rss.js [--arch seed] [--int8]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ArchName } from '../lib/model/layers.js';

const child = process.argv[2] === '--child';
if (process.argv[2] === '--write') {
  // the weights file is written by a process of its own: Linux keeps the peak RSS (ru_maxrss) across
  // fork and exec, so a parent that had held the weights would lend the measured child its peak
  const [, , , file, archName, int8] = process.argv;
  const { buildArchitecture } = await import('../lib/model/archs.js');
  const { Model } = await import('../lib/model/model.js');
  const { writeSafetensors } = await import('../lib/weights/safetensors.js');
  const model = await Model.random(buildArchitecture(archName as ArchName), 0);
  if (int8 === 'int8') writeInt8(file, archName, model.parameters());
  else writeSafetensors(file, model.parameters(), { arch: archName });
  model.dispose();
} else if (process.argv[2] === '--cli') {
  // the CLI in this process, as a user runs it; the report goes to a file (classify prints to stdout)
  const [, , , report, file, archName, image] = process.argv;
  const { writeFileSync } = await import('node:fs');
  process.on('exit', () => writeFileSync(report, JSON.stringify({ peakRssBytes: process.resourceUsage().maxRSS * 1024 })));
  process.argv = [process.argv[0], 'alexnet-cli', 'classify', image, '--weights', file, '--arch', archName];
  await import('../bin/alexnet-cli.js');
} else if (child) {
  // classify one image: load the weights from the file (read straight into native memory), one forward
  const [, , , file, archName] = process.argv;
  const peak = () => process.resourceUsage().maxRSS * 1024;
  const stages: [string, number, number][] = [['node started', process.memoryUsage().rss, peak()]];
  const { loadWeightsAndModel } = await import('../lib/model/load.js');
  const { native } = await import('../lib/native.js');
  native();
  stages.push(['code loaded (addon, weight readers)', process.memoryUsage().rss, peak()]);
  // as classify loads for fewer than WINOGRAD_MIN_IMAGES images: no Winograd-domain conv weights
  const { model } = await loadWeightsAndModel({ arch: archName as ArchName, weights: file, winograd: false });
  stages.push(['weights loaded and packed', process.memoryUsage().rss, peak()]);
  const shape = [1, ...model.arch.input];
  const input = new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.5);
  await model.forward(input, shape);
  stages.push(['one forward pass', process.memoryUsage().rss, peak()]);
  process.stdout.write(JSON.stringify({ peakRssBytes: peak(), weightsBytes: model.parameterBytes, arenaBytes: model.arenaBytes, stages }));
} else {
  const int8 = process.argv.includes('--int8') ? 'int8' : 'fp32';
  const archIndex = process.argv.indexOf('--arch');
  const archName = (archIndex >= 0 ? process.argv[archIndex + 1] : 'seed') as ArchName;
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-rss-'));
  try {
    const file = join(dir, `${archName}.safetensors`);
    const write = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--write', file, archName, int8], { encoding: 'utf8' });
    if (write.status !== 0) throw new Error(write.stderr);
    const run = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', file, archName], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(run.stderr);
    const report = join(dir, 'cli.json');
    const image = fileURLToPath(new URL('../../test/fixtures/images/chelsea-exif6.jpg', import.meta.url));
    const cli = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--cli', report, file, archName, image], { encoding: 'utf8' });
    if (cli.status !== 0) throw new Error(cli.stderr);
    const cliPeak = (JSON.parse(readFileSync(report, 'utf8')) as { peakRssBytes: number }).peakRssBytes;
    const { peakRssBytes, weightsBytes, arenaBytes, stages } = JSON.parse(run.stdout) as {
      peakRssBytes: number; weightsBytes: number; arenaBytes: number; stages: [string, number, number][];
    };
    const mb = (n: number) => (n / 1048576).toFixed(1);
    // where the memory goes: RSS after each stage and its growth, the peak so far, and what the stage had to add
    let previousRss = 0;
    for (const [name, rss, peakSoFar] of stages) {
      console.log(`  ${name.padEnd(36)} RSS ${mb(rss).padStart(6)} MB (+${mb(rss - previousRss).padStart(6)}), peak so far ${mb(peakSoFar).padStart(6)} MB`);
      previousRss = rss;
    }
    const loaded = stages[2][1] - stages[1][1];
    console.log(`  loading took ${mb(loaded)} MB for ${mb(weightsBytes)} MB of weights (+${mb(loaded - weightsBytes)} MB besides them); ` +
      `activation arena ${mb(arenaBytes)} MB`);
    console.log(`  library (loadModel + one forward pass): peak RSS ${mb(peakRssBytes)} MB = ${(peakRssBytes / weightsBytes).toFixed(3)}x the weights`);
    console.log(`${archName}: ${int8 === 'int8' ? 'int8 ' : ''}file ${mb(statSync(file).size)} MB, weights ${mb(weightsBytes)} MB as fp32, peak RSS of \`alexnet-cli classify\` ` +
      `on one image ${mb(cliPeak)} MB = ${(cliPeak / weightsBytes).toFixed(3)}x the fp32 weights (target <= ${int8 === 'int8' ? '0.6' : '1.3'}x)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * An int8 file as `alexnet-cli quantize` writes it (docs/precision.md), from fp32 parameters: per output channel
 * symmetric weights (max |w| / 127), fixed input scales (their values do not change the memory measured)
 */
function writeInt8(path: string, archName: string, parameters: Map<string, { shape: number[]; data: Float32Array }>): void {
  const f32: Array<[string, number[], Uint8Array]> = [];
  const i8: Array<[string, number[], Uint8Array]> = [];
  const u8: Array<[string, number[], Uint8Array]> = [];
  const bytes = (a: Float32Array | Int8Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let first = true;
  for (const [name, t] of parameters) {
    if (name.endsWith('.bias')) { f32.push([name, t.shape, bytes(t.data)]); continue; }
    const layer = name.replace(/\.weight$/, '');
    const out = t.shape[0];
    const k = t.data.length / out;
    const scales = new Float32Array(out);
    const q = new Int8Array(t.data.length);
    for (let o = 0; o < out; o++) {
      let max = 0;
      for (let i = 0; i < k; i++) max = Math.max(max, Math.abs(t.data[o * k + i]));
      scales[o] = max > 0 ? max / 127 : 1;
      for (let i = 0; i < k; i++) q[o * k + i] = Math.max(-127, Math.min(127, Math.round(t.data[o * k + i] / scales[o])));
    }
    f32.push([`${layer}.weight_scale`, [out], bytes(scales)], [`${layer}.input_scale`, [], bytes(Float32Array.of(1 / 64))]);
    i8.push([name, t.shape, bytes(q)]);
    u8.push([`${layer}.input_zero_point`, [], Uint8Array.of(first ? 128 : 0)]);
    first = false;
  }
  const all = [...f32, ...i8, ...u8];
  const dtype = (i: number) => (i < f32.length ? 'F32' : i < f32.length + i8.length ? 'I8' : 'U8');
  const header: Record<string, unknown> = { __metadata__: { 'alexnet.precision': 'int8', arch: archName, 'alexnet.calibration': 'none (bench/rss.ts)' } };
  let offset = 0;
  all.forEach(([name, shape, data], i) => { header[name] = { dtype: dtype(i), shape, data_offsets: [offset, offset + data.length] }; offset += data.length; });
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([length, json, ...all.map(([, , data]) => Buffer.from(data))]));
}
