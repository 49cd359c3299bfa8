import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildArchitecture, ARCH_NAMES } from '../lib/model/archs.js';
import { inferShapes } from '../lib/model/shapes.js';
import { layerAlgorithm } from '../lib/profile/algorithm.js';
import { loadWeightsAndModel } from '../lib/model/load.js';
import { native } from '../lib/native.js';
import {
  buildTrace, measurePeak, profileCommand, profileModel, quantile, renderHtml, renderProfile,
  type PeakMeasurement, type ProfileReport,
} from '../lib/commands/profile.js';
import type { TraceEvent } from '../lib/profile/trace.js';
import type { ForwardOptions } from '../lib/model/model.js';
import { HAND_TABLES, handMacs } from './alexnet-tables.js';
import { chromiumMissing, inkExtent, luminanceSpread, render } from './chromium.js';

const cli = fileURLToPath(new URL('../bin/alexnet-cli.js', import.meta.url));
const packageVersion = (JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version: string }).version;
const FAKE_PEAK: PeakMeasurement = { gflops: 100, method: 'linear', description: 'a test value', samples: [91.5, 100, 97.25] };

/** Checks every profile must pass: the table adds up, and the trace has one event per layer per iteration */
function checkReport(report: ProfileReport, archName: string): void {
  const arch = report.arch === archName ? buildArchitecture(archName as never) : undefined;
  if (arch) assert.deepEqual(report.layers.map((l) => l.name), arch.layers.map((l) => l.name));
  const sum = report.layers.reduce((a, l) => a + l.medianNs, 0);
  assert.ok(Math.abs(sum - report.totals.layerSumNs) < 1e-6 * sum);
  assert.ok(report.totals.endToEndMedianNs > 0);
  const off = Math.abs(report.totals.endToEndMedianNs - report.totals.layerSumNs) / report.totals.endToEndMedianNs;
  assert.ok(off <= 0.1, `per-layer sum ${report.totals.layerSumNs} ns is ${(100 * off).toFixed(1)}% off the end-to-end ${report.totals.endToEndMedianNs} ns`);
  assert.equal(report.totals.differenceNs, report.totals.endToEndMedianNs - report.totals.layerSumNs);
  assert.ok(report.totals.outsideKernelsNs >= 0, 'kernels took longer than the forward() around them');
  assert.ok(Math.abs(report.layers.reduce((a, l) => a + l.share, 0) - 1) < 1e-9);
  const hand = HAND_TABLES[archName as keyof typeof HAND_TABLES];
  for (const [i, l] of report.layers.entries()) {
    assert.ok(l.p90Ns >= l.medianNs, `${l.name}: p90 below the median`);
    if (hand) assert.equal(l.macs, report.batch * handMacs(hand[i]), `${l.name}: MACs by the direct formula`);
    assert.ok(l.algorithmMacs <= l.macs, `${l.name}: the algorithm does more than the direct count`);
    if (l.macs > 0 && l.medianNs > 0) {
      assert.ok(Math.abs(l.effectiveGflops! - (2 * l.macs) / l.medianNs) < 1e-9 * l.effectiveGflops!);
      assert.ok(Math.abs(l.algorithmGflops! - (2 * l.algorithmMacs) / l.medianNs) < 1e-9 * l.algorithmGflops!);
      assert.ok(Math.abs(l.algorithmPeakPercent! - (100 * l.algorithmGflops!) / report.peak.gflops) < 1e-9 * l.algorithmPeakPercent!);
    } else {
      assert.equal(l.effectiveGflops, null);
      assert.equal(l.algorithmPeakPercent, null);
    }
  }
  assert.equal(report.iterations.length, report.iters);

  const trace = buildTrace(report);
  const complete = trace.traceEvents.filter((e) => e.ph === 'X');
  const iterations = complete.filter((e) => e.cat === 'iteration');
  const layers = complete.filter((e) => e.cat === 'layer');
  assert.equal(iterations.length, report.iters);
  assert.equal(layers.length, report.iters * report.layers.length);
  for (const e of complete) {
    assert.equal(typeof e.name, 'string');
    assert.ok(Number.isFinite(e.ts) && e.ts! >= 0, `${e.name}: ts ${e.ts}`);
    assert.ok(Number.isFinite(e.dur) && e.dur! >= 0, `${e.name}: dur ${e.dur}`);
    assert.equal(typeof e.pid, 'number');
    assert.equal(typeof e.tid, 'number');
  }
  iterations.forEach((it, i) => {
    const inside = layers.filter((e) => e.args!.iteration === i);
    assert.deepEqual(inside.map((e) => e.name), report.layers.map((l) => l.name));
    let t = it.ts!;
    for (const e of inside) {
      assert.ok(Math.abs(e.ts! - t) < 0.01, `${e.name} in iteration ${i} does not start where the previous layer ended`);
      t = e.ts! + e.dur!;
      assert.ok(t <= it.ts! + it.dur! + 0.01, `${e.name} ends after its iteration`);
      assert.ok(Array.isArray(e.args!.inputShape) && Array.isArray(e.args!.outputShape));
      assert.equal(typeof e.args!.macs, 'number');
    }
    if (i > 0) assert.ok(it.ts! >= iterations[i - 1].ts! + iterations[i - 1].dur! - 0.01, 'iterations overlap');
  });
}

test('quantile interpolates between closest ranks', () => {
  assert.equal(quantile([3, 1, 2], 0.5), 2);
  assert.equal(quantile([1, 2], 0.5), 1.5);
  assert.equal(quantile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.9), 91);
  assert.equal(quantile([5], 0.9), 5);
});

test('profileModel: per-layer medians, p90, shares and the trace come from the onLayer times', async () => {
  const arch = buildArchitecture('caffe');
  const count = arch.layers.length;
  // a stand-in model whose layers take (index + 1) * 1000 * (iteration + 1) ns
  let call = 0;
  const model = {
    arch, device: 'cpu', weightsSource: 'random:0', parameterBytes: 123, arenaBytes: 456,
    async forward(_input: Float32Array, shape: number[], options: ForwardOptions = {}) {
      const iteration = call++ - 1; // one warm-up call first
      for (let i = 0; i < count; i++) options.onLayer?.({ index: i, ns: (i + 1) * 1000 * (iteration + 1) });
      return new Float32Array(shape[0] * 1000);
    },
  };
  const saved = process.env.ALEXNET_CLI_WINOGRAD;
  delete process.env.ALEXNET_CLI_WINOGRAD;
  const report = await profileModel(model, { batch: 2, warmup: 1, iters: 3, peak: FAKE_PEAK, threads: 2 });
  if (saved !== undefined) process.env.ALEXNET_CLI_WINOGRAD = saved;
  assert.equal(call, 4);
  assert.deepEqual(report.inputShape, [2, 3, 227, 227]);
  const conv1 = report.layers[0];
  assert.equal(conv1.medianNs, 2000);
  assert.equal(conv1.p90Ns, 2800);
  assert.equal(conv1.macs, 2 * 96 * 3 * 11 * 11 * 55 * 55);
  assert.equal(conv1.effectiveGflops, (2 * conv1.macs) / 2000);
  assert.equal(conv1.activationBytes, 2 * 96 * 55 * 55 * 4);
  assert.equal(report.layers.find((l) => l.name === 'flatten')!.activationBytes, 0);
  assert.equal(report.layers.find((l) => l.name === 'norm1')!.effectiveGflops, null);
  assert.equal(report.totals.layerSumNs, 2000 * (count * (count + 1)) / 2);
  // caffe's direct MACs per image, from the hand-written shapes (test/alexnet-tables.ts): 724,406,816
  assert.equal(report.totals.macs, 2 * 724_406_816);
  assert.equal(HAND_TABLES.caffe.reduce((a, l) => a + handMacs(l), 0), 724_406_816);
  // the algorithm each conv runs and its multiply-adds, worked out by hand for batch 2: Winograd F(4,r) does
  // (4 + r - 1)^2 per 4x4 output tile and channel pair; conv1 runs F(4,3) over its 48 stride phases
  const algorithms = Object.fromEntries(report.layers.map((l) => [l.name, [l.algorithm, l.algorithmMacs / 2]]));
  assert.deepEqual(algorithms.conv1, ['Winograd F(4,3) s2d', 36 * (14 * 14) * 48 * 96]); // 55x55: 14x14 tiles
  assert.deepEqual(algorithms.conv2, ['Winograd F(4,5)', 2 * 64 * (7 * 7) * 48 * 128]); // two groups, 27x27: 7x7 tiles
  assert.deepEqual(algorithms.conv3, ['Winograd F(4,3)', 36 * 16 * 256 * 384]); // 13x13: 4x4 tiles
  assert.deepEqual(algorithms.conv4, ['Winograd F(4,3)', 2 * 36 * 16 * 192 * 192]);
  assert.deepEqual(algorithms.conv5, ['Winograd F(4,3)', 2 * 36 * 16 * 192 * 128]);
  assert.deepEqual(algorithms.fc6, ['GEMM', 9216 * 4096]);
  assert.deepEqual(algorithms.pool1, ['-', 0]);
  assert.equal(conv1.algorithmGflops, (2 * 2 * 32_514_048) / 2000);
  assert.equal(conv1.algorithmPeakPercent, (100 * conv1.algorithmGflops!) / FAKE_PEAK.gflops);
  assert.equal(report.memory.weightsBytes, 123);
  assert.equal(report.memory.arenaBytes, 456);
  assert.ok(report.memory.peakRssBytes > 1e6);
  assert.deepEqual(report.iterations.map((it) => it.layerNs[0]), [1000, 2000, 3000]);
  const trace = buildTrace(report);
  const layers = trace.traceEvents.filter((e: TraceEvent) => e.cat === 'layer');
  assert.equal(layers.length, 3 * count);
  assert.equal(layers[1].ts, layers[0].ts! + 1); // conv1 took 1000 ns = 1 µs in the first iteration
  assert.equal(layers[1].dur, 2);
  const text = renderProfile(report);
  assert.match(text, /^Profile: caffe, weights random:0, batch 2, 3 iterations after 1 warm-up, cpu, 2 threads$/m);
  assert.match(text, /^Peak: 100\.0 GFLOP\/s fp32 \(measured with a test value; this run's 3 measurements 91\.5-100\.0\)$/m);
  assert.match(text, /^conv1 +Conv2D\+ReLU +\(None, 96, 55, 55\) +34,944 +210,830,400 +Winograd F\(4,3\) s2d +65,028,096 +0\.002 +0\.003 /m);
  // without Winograd-domain weights, or with the kernels told not to use them, every conv is the GEMM's direct count
  for (const [options, env] of [[{ winograd: false }, undefined], [{}, '0']] as const) {
    call = 0;
    if (env !== undefined) process.env.ALEXNET_CLI_WINOGRAD = env;
    const plain = await profileModel(model, { warmup: 1, iters: 1, peak: FAKE_PEAK, ...options });
    if (saved === undefined) delete process.env.ALEXNET_CLI_WINOGRAD;
    else process.env.ALEXNET_CLI_WINOGRAD = saved;
    for (const l of plain.layers.filter((x) => x.type.startsWith('Conv2D'))) assert.deepEqual([l.algorithm, l.algorithmMacs], ['GEMM', l.macs]);
  }
  await assert.rejects(profileModel(model, { iters: 0, peak: FAKE_PEAK }), { code: 'ERR_USAGE', message: 'Expected a positive integer for iters but received 0' });
});

// the algorithm column mirrors conv2d.cc's choice per precision: bf16 runs Winograd where fp32 does, conv1's
// space-to-depth rewrite only from batch 8 (S2D_BF16_MIN_BATCH) unless ALEXNET_CLI_WINOGRAD=1; int8 never
test('the algorithm of bf16 and int8 convs: Winograd as fp32 (bf16 conv1 from batch 8), int8 the direct count', () => {
  const shapes = inferShapes(buildArchitecture('seed'));
  const conv1 = shapes.find((l) => l.spec.name === 'conv1')!, conv3 = shapes.find((l) => l.spec.name === 'conv3')!;
  const cpu = { device: 'cpu', winograd: true };
  const name = (layer: typeof conv1, options: Parameters<typeof layerAlgorithm>[1]) => layerAlgorithm(layer, options).name;
  assert.equal(name(conv1, { ...cpu, precision: 'fp32', batch: 1 }), 'Winograd F(4,3) s2d');
  assert.equal(name(conv1, { ...cpu, precision: 'bf16', batch: 1 }), 'GEMM');
  assert.equal(name(conv1, { ...cpu, precision: 'bf16', batch: 7 }), 'GEMM');
  assert.equal(name(conv1, { ...cpu, precision: 'bf16', batch: 8 }), 'Winograd F(4,3) s2d');
  assert.equal(name(conv1, { ...cpu, precision: 'bf16', batch: 1, winogradEnv: '1' }), 'Winograd F(4,3) s2d');
  assert.equal(name(conv1, { ...cpu, precision: 'bf16', batch: 32, winogradEnv: '0' }), 'GEMM');
  assert.equal(name(conv3, { ...cpu, precision: 'bf16', batch: 1 }), 'Winograd F(4,3)');
  assert.equal(name(conv3, { ...cpu, precision: 'bf16', batch: 1, winograd: false }), 'GEMM');
  for (const layer of [conv1, conv3]) assert.equal(name(layer, { ...cpu, precision: 'int8', batch: 32 }), 'GEMM');
});

let peak: PeakMeasurement | undefined;

for (const name of ARCH_NAMES) {
  test(`profile ${name} on the native kernels: the layers add up to the end-to-end time`, async () => {
    peak ??= await measurePeak(native());
    assert.ok(peak.gflops > 0 && Number.isFinite(peak.gflops));
    const { model } = await loadWeightsAndModel({ arch: name, weights: 'random:0' });
    try {
      // batch 4: each layer's dispatch costs a fixed ~0.1-1 ms (more on a loaded machine), which at batch 1
      // can reach 15% of a forward pass on 2 busy cores; 4 images keep the kernels the bulk of the time
      const options = { batch: 4, warmup: 1, iters: 2, peak, threads: native().getThreads() };
      let report = await profileModel(model, options);
      // a machine busy with other processes delays each wake-up between layers; up to two more runs tell that
      // apart from a real accounting error, which fails all three (one rerun was not enough at a load average of 20)
      for (let i = 0; i < 2 && Math.abs(report.totals.differencePercent) > 10; i++) report = await profileModel(model, options);
      checkReport(report, name);
      assert.equal(report.memory.weightsBytes, model.parameterBytes);
      assert.equal(report.memory.packedExtraBytes, model.weightBytes - model.parameterBytes);
      assert.ok(report.memory.packedExtraBytes > 1e6, 'Winograd-domain conv weights are counted');
      assert.ok(report.memory.arenaBytes > 0);
      const convs = report.layers.filter((l) => l.type.startsWith('Conv2D'));
      for (const l of convs) assert.ok(l.medianNs > 0, `${l.name} has no native time`);
    } finally {
      model.dispose();
    }
  });
}

const commandModule = new URL('../lib/commands/profile.js', import.meta.url).href;

/** Run the command's handler in a child process, as bin/alexnet-cli would; its stdout and stderr */
function runProfileCommandFull(args: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): { stdout: string; stderr: string } {
  const argv = { weights: 'random:0', batch: 1, warmup: 1, iters: 2, device: 'cpu', json: false, _: [], $0: '', ...args };
  const script = `import { profileCommand } from ${JSON.stringify(commandModule)};\nawait profileCommand.handler(${JSON.stringify(argv)});`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, COLUMNS: '', ...env } });
  assert.equal(r.status, 0, r.stderr);
  return { stdout: r.stdout, stderr: r.stderr };
}
const runProfileCommand = (args: Record<string, unknown>): string => runProfileCommandFull(args).stdout;

/** The handler's rejection for bad flags (checked before anything loads) */
async function profileCommandError(args: Record<string, unknown>): Promise<void> {
  await profileCommand.handler({ weights: 'random:0', batch: 1, warmup: 1, iters: 2, device: 'cpu', json: false, _: [], $0: '', ...args } as never);
}

test('profile --json --trace --html: stable field names, a trace and a page, and where they went', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-profile-'));
  try {
    const args = { arch: 'seed', batch: 4, json: true, trace: join(dir, 't.json'), html: join(dir, 'p.html') };
    let run = runProfileCommandFull(args);
    let report = JSON.parse(run.stdout) as ProfileReport;
    for (let i = 0; i < 2 && Math.abs(report.totals.differencePercent) > 10; i++) { // a busy machine: see above
      run = runProfileCommandFull(args);
      report = JSON.parse(run.stdout) as ProfileReport;
    }
    // one line each on stderr, stdout stays JSON
    assert.deepEqual(run.stderr.trim().split('\n'), [
      `Wrote the Chrome trace to ${join(dir, 't.json')} (open it in https://ui.perfetto.dev or chrome://tracing)`,
      `Wrote the HTML report to ${join(dir, 'p.html')}`,
    ]);
    assert.deepEqual(Object.keys(report), ['createdAt', 'version', 'cpu', 'arch', 'weights', 'device', 'isa', 'threads', 'batch', 'warmup', 'iters', 'inputShape', 'peak', 'layers', 'totals', 'memory', 'iterations']);
    assert.deepEqual(Object.keys(report.layers[0]), ['index', 'name', 'type', 'inputShape', 'outputShape', 'params', 'macs', 'algorithm', 'algorithmMacs', 'medianNs', 'p90Ns', 'share', 'effectiveGflops', 'algorithmGflops', 'algorithmPeakPercent', 'activationBytes', 'precision', 'kernel']);
    assert.deepEqual(Object.keys(report.totals), ['params', 'macs', 'algorithmMacs', 'layerSumNs', 'endToEndMedianNs', 'endToEndP90Ns', 'differenceNs', 'differencePercent', 'outsideKernelsNs', 'effectiveGflops', 'algorithmGflops', 'algorithmPeakPercent', 'activationBytes', 'imagesPerSecond']);
    assert.deepEqual(Object.keys(report.memory), ['weightsBytes', 'packedExtraBytes', 'arenaBytes', 'peakRssBytes']);
    assert.deepEqual(Object.keys(report.peak), ['gflops', 'method', 'description', 'samples']);
    assert.equal(report.peak.gflops, Math.max(...report.peak.samples));
    assert.ok(report.peak.samples.length >= 3, `${report.peak.samples.length} peak measurements`);
    assert.ok(['binding', 'linear'].includes(report.peak.method));
    assert.equal(report.batch, 4);
    assert.equal(report.weights, 'random:0');
    assert.equal(report.totals.params, 62_378_344);
    assert.equal(report.version, packageVersion);
    assert.equal(report.cpu, cpus()[0].model.trim());
    assert.ok(Math.abs(Date.parse(report.createdAt) - Date.now()) < 3600e3, `createdAt ${report.createdAt}`);
    // seed at batch 4: the direct count 4 x 1,135,256,096; the kernels do fewer (every conv is Winograd)
    assert.equal(report.totals.macs, 4 * 1_135_256_096);
    assert.ok(report.totals.algorithmMacs < 0.5 * report.totals.macs, `${report.totals.algorithmMacs} of ${report.totals.macs}`);
    checkReport(report, 'seed');
    const trace = JSON.parse(readFileSync(join(dir, 't.json'), 'utf8'));
    assert.ok(Array.isArray(trace.traceEvents));
    assert.equal(trace.traceEvents.filter((e: TraceEvent) => e.cat === 'layer').length, 2 * report.layers.length);
    assert.equal(trace.otherData.version, packageVersion);
    const html = readFileSync(join(dir, 'p.html'), 'utf8');
    assert.match(html, /^<!DOCTYPE html>/);
    assert.equal((html.match(/<g class="bar"/g) ?? []).length, report.layers.length);
    assert.doesNotMatch(html, /<script|<link|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    // date, version, CPU model and ISA on the page
    assert.ok(html.includes(`alexnet-cli ${packageVersion}`));
    assert.ok(html.includes(cpus()[0].model.trim().replace(/&/g, '&amp;')));
    assert.ok(html.includes(report.createdAt.slice(0, 10)));
    if (report.isa) assert.ok(html.includes(`(${report.isa})`));
    // the effective and the algorithm's rates, named as such
    const plain = html.replace(/<wbr>/g, ''); // the page lets text cells wrap after commas
    assert.ok(plain.includes('Eff. GFLOP/s') && plain.includes('Alg. % peak') && plain.includes('Winograd F(4,3) s2d'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('profile prints the table with a total row, both rates and the end-to-end difference', async () => {
  const out = runProfileCommand({ arch: 'torchvision' });
  assert.match(out, /^Peak: [\d.]+ GFLOP\/s fp32 \((from|measured with) .+\)$/m);
  assert.match(out, /^Machine: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, alexnet-cli [\d.]+, .+$/m);
  assert.match(out, /^Layer +Type +Output Shape +Param # +MACs +Algorithm +Alg\. MACs +Median ms +p90 ms +Share +Eff\. GFLOP\/s +Alg\. % peak +Act\. written$/m);
  assert.match(out, /^avgpool +AdaptiveAvgPool2D +\(None, 256, 6, 6\) /m);
  // torchvision conv3: 192 -> 384, 13x13: 112,140,288 MACs direct, 36 x 16 tiles x 192 x 384 = 42,467,328 as Winograd F(4,3)
  assert.match(out, /^conv3 +Conv2D\+ReLU +\(None, 384, 13, 13\) +663,936 +112,140,288 +Winograd F\(4,3\) +42,467,328 /m);
  assert.match(out, /^Total \(sum of layers\) .* 61,100,840 .* 100\.0% /m);
  assert.match(out, /^Eff\. GFLOP\/s counts the direct convolution's flops \([\d.]+ GFLOP\/s in total, [\d.]+% of the peak\); the kernels run the Algorithm column and do [\d,]+ MACs of the 714,188,480: [\d.]+ GFLOP\/s, [\d.]+% of the peak$/m);
  assert.match(out, /^Layers sum to [\d.]+ ms; difference to end-to-end -?[\d.]+ ms \(-?[\d.]+%\); per iteration [\d.]+ ms \(median\) outside the kernels/m);
  assert.match(out, /^Memory: weights 244\.4 MB \(\+[\d.]+ MB packed: Winograd-domain convs\), activation arena [\d.]+ [kM]B, peak RSS [\d.]+ [MG]B$/m);
});

test('profile fits its table to the terminal width ($COLUMNS for a forced width), whole lines in a pipe', () => {
  const wide = runProfileCommandFull({ arch: 'seed', iters: 1, warmup: 0 }).stdout.split('\n');
  const header = wide.find((l) => l.startsWith('Layer '))!;
  assert.ok(header.length > 150, `one block of ${header.length} columns without a width`);
  for (const columns of [80, 120]) {
    const lines = runProfileCommandFull({ arch: 'seed', iters: 1, warmup: 0 }, { COLUMNS: String(columns) }).stdout.split('\n');
    const start = lines.findIndex((l) => l.startsWith('Layer '));
    const end = lines.findIndex((l) => l.startsWith('Eff. GFLOP/s counts'));
    const table = lines.slice(start, end);
    for (const line of table) assert.ok(line.length <= columns, `${line.length} > ${columns}: ${line}`);
    // every column still there, in blocks that each start with the layer names
    const headers = table.filter((l) => l.startsWith('Layer '));
    assert.ok(headers.length >= 2, `${headers.length} block(s) at ${columns} columns`);
    const names = headers.flatMap((h) => h.split(/ {2,}/).slice(1));
    assert.deepEqual(names, ['Type', 'Output Shape', 'Param #', 'MACs', 'Algorithm', 'Alg. MACs', 'Median ms', 'p90 ms', 'Share', 'Eff. GFLOP/s', 'Alg. % peak', 'Act. written']);
    assert.equal(table.filter((l) => l.startsWith('Total (sum of layers)')).length, headers.length);
    assert.equal(table.filter((l) => /^conv1 /.test(l)).length, headers.length);
  }
});

test('bad profile flags are usage errors', async () => {
  await assert.rejects(profileCommandError({ batch: 0 }), { code: 'ERR_USAGE', message: 'Expected a positive integer for --batch but received 0' });
  await assert.rejects(profileCommandError({ warmup: -1 }), { code: 'ERR_USAGE', message: 'Expected a non-negative integer for --warmup but received -1' });
  await assert.rejects(profileCommandError({ iters: 1.5 }), { code: 'ERR_USAGE', message: 'Expected a positive integer for --iters but received 1.5' });
  await assert.rejects(profileCommandError({ threads: 0 }), { code: 'ERR_USAGE', message: 'Expected a positive integer for --threads but received 0' });
});

test('through the CLI: bin/alexnet-cli lists and runs the profile command', () => {
  // the CLI must list it: a command that drops out of bin/ is a failure, not a reason to skip
  const help = spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8' });
  assert.match(help.stdout, /\bprofile\b/);
  const run = () => JSON.parse(execFileSync(process.execPath, [cli, 'profile', '--arch', 'caffe', '--batch', '4', '--iters', '2', '--warmup', '1', '--json'], { encoding: 'utf8' })) as ProfileReport;
  let report = run();
  for (let i = 0; i < 2 && Math.abs(report.totals.differencePercent) > 10; i++) report = run(); // a busy machine: see above
  checkReport(report, 'caffe');
  const bad = spawnSync(process.execPath, [cli, 'profile', '--iters', '0'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, 'alexnet-cli: Expected a positive integer for --iters but received 0\n');
});

/** A caffe profile with made-up times: `gapPercent` of the end-to-end time outside the kernels */
function fakeReport(gapPercent: number): ProfileReport {
  const hand = HAND_TABLES.caffe;
  const layerNs = hand.map((_, j) => (j + 1) * 1e5);
  const layerSumNs = layerNs.reduce((a, b) => a + b, 0);
  const endToEndMedianNs = layerSumNs / (1 - gapPercent / 100);
  const iterations = [0, 1].map((i) => ({ startNs: i * 30e6, wallNs: endToEndMedianNs, layerNs }));
  return {
    createdAt: '2026-12-05T21:30:00.000Z', version: '9.8.7', cpu: 'Test CPU Model 9000', arch: 'caffe', weights: 'random:0', device: 'cpu', isa: 'avx2', threads: 2,
    batch: 1, warmup: 1, iters: 2, inputShape: [1, 3, 227, 227],
    peak: FAKE_PEAK,
    layers: hand.map((l, i) => {
      const macs = handMacs(l);
      const conv = l.kernel !== undefined;
      return {
        index: i, name: l.name, type: l.type, inputShape: l.in, outputShape: l.out, params: l.params, macs,
        algorithm: conv ? 'Winograd F(4,3)' : macs ? 'GEMM' : '-', algorithmMacs: conv ? macs / 2.5 : macs,
        medianNs: layerNs[i], p90Ns: layerNs[i] * 1.5, share: layerNs[i] / layerSumNs,
        effectiveGflops: macs ? (2 * macs) / layerNs[i] : null, algorithmGflops: macs ? (2 * macs) / layerNs[i] / (conv ? 2.5 : 1) : null,
        algorithmPeakPercent: macs ? (2 * macs) / layerNs[i] / (conv ? 2.5 : 1) : null, activationBytes: 1000,
      };
    }),
    totals: {
      params: 60_965_224, macs: 724_406_816, algorithmMacs: 400e6, layerSumNs, endToEndMedianNs, endToEndP90Ns: endToEndMedianNs * 1.1,
      differenceNs: endToEndMedianNs - layerSumNs, differencePercent: gapPercent, outsideKernelsNs: endToEndMedianNs - layerSumNs,
      effectiveGflops: 94.7, algorithmGflops: 52.3, algorithmPeakPercent: 52.3, activationBytes: 17000, imagesPerSecond: 1e9 / endToEndMedianNs,
    },
    memory: { weightsBytes: 243e6, packedExtraBytes: 56e6, arenaBytes: 3e6, peakRssBytes: 500e6 },
    iterations,
  };
}

test('the HTML page names the run and calls out a large layer-sum gap', () => {
  const quiet = renderHtml(fakeReport(4.4));
  assert.ok(quiet.includes('2026-12-05T21:30:00Z, alexnet-cli 9.8.7, Test CPU Model 9000 (avx2), 2 threads'));
  assert.match(quiet, /<div class="split" data-gap-percent="4\.4">/);
  assert.doesNotMatch(quiet, /Layer-sum gap/);
  const gap = renderHtml(fakeReport(25));
  assert.match(gap, /<div class="split warn" data-gap-percent="25\.0">/);
  assert.match(gap, /<strong>Layer-sum gap of 25\.0%, above 10%:<\/strong>/);
  assert.match(gap, /<div class="kernels" style="width:75\.00%"><\/div><div class="outside" style="width:25\.00%"><\/div>/);
});

// a person opens the page in a narrow and a wide window: it must fill each, with nothing past the right edge
for (const width of [800, 1400]) {
  test(`the HTML page fits a ${width} px window in headless Chromium`, (t) => {
    const missing = chromiumMissing();
    if (missing) {
      t.skip(missing);
      return;
    }
    const { png, layout } = render(renderHtml(fakeReport(25)), width, 1600);
    assert.equal(png.width, width);
    assert.equal(layout.innerWidth, width);
    assert.ok(layout.scrollWidth <= width, `the page is ${layout.scrollWidth} px wide in a ${width} px window`);
    assert.deepEqual(layout.overflowing, [], 'elements cut off or scrolling sideways');
    // not blank, text in the header (title and the run's line), and the content spans the window
    assert.ok(luminanceSpread(png, 0, 0, width, png.height) > 10, 'a blank page');
    assert.ok(luminanceSpread(png, 0, 0, width, 70) > 15, 'no text in the header');
    const ink = inkExtent(png, [0xfa, 0xfa, 0xfa]);
    assert.ok(ink, 'nothing drawn');
    assert.ok(ink[0] >= 4 && ink[1] <= width - 4, `drawn from ${ink[0]} to ${ink[1]}: touches the window's edge`);
    assert.ok(ink[1] - ink[0] > 0.9 * width, `content spans only ${ink[1] - ink[0]} of ${width} px`);
    // the bar chart too spans most of the width: conv bars (#1e88e5) reach past the middle of the window
    let convRight = 0;
    let conv = 0;
    let warn = 0;
    for (let i = 0; i < png.data.length; i += 4) {
      const [r, g, b] = [png.data[i], png.data[i + 1], png.data[i + 2]];
      if (r === 0x1e && g === 0x88 && b === 0xe5) {
        conv++;
        convRight = Math.max(convRight, (i / 4) % width);
      }
      if (r === 0xe5 && g === 0x39 && b === 0x35) warn++;
    }
    assert.ok(conv > 2000, `only ${conv} pixels of bar colour`);
    assert.ok(convRight > 0.6 * width, `the longest bar ends at ${convRight} of ${width} px`);
    assert.ok(warn > 500, `the 25% layer-sum gap is not called out in red (${warn} pixels)`);
  });
}
