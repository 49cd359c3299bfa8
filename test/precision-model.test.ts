// Reduced precision through the model: loadModel({ precision }) and the quantized file `alexnet-cli quantize`
// writes (docs/precision.md: I8 weights + weight_scale, input_scale, input_zero_point; alexnet.precision int8)
// read by lib/weights/safetensors.ts. A small network with groups, pooling and two linear layers is run
// end to end and compared to the bit with the naive twins chained layer by layer (test/reference-forward.ts
// with reference.ts conv2dInt8 / linearInt8): static scales from the file, dynamic ones without; the same
// file at --precision fp32 runs q * scale; `info` shows the precision and scales.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchReport } from '../lib/commands/bench.js';
import { native } from '../lib/native.js';
import { join } from 'node:path';
import type { Architecture } from '../lib/model/layers.js';
import { inferShapes } from '../lib/model/shapes.js';
import { loadWeightsAndModel } from '../lib/model/load.js';
import { Model } from '../lib/model/model.js';
import { weightsInfo, formatInfo } from '../lib/commands/info.js';
import { readWeights } from '../lib/weights/index.js';
import { referenceForward, type Params } from './reference-forward.js';
import * as ref from './reference.js';
import { random, randomArray, TINY_INT8_ARCH } from './reference.js';

const scratch = mkdtempSync(join(tmpdir(), 'alexnet-precision-model-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const ARCH: Architecture = TINY_INT8_ARCH;
const QUANTIZED = ['conv1', 'conv2', 'fc6', 'fc8'];
/** the layer inputs' static u8 quantization, as quantize would calibrate it (conv1's input is signed) */
const INPUT_QUANT: Record<string, ref.ActQuant> = {
  conv1: { scale: 1 / 64, zeroPoint: 128 }, conv2: { scale: 1 / 32, zeroPoint: 0 }, fc6: { scale: 1 / 16, zeroPoint: 0 }, fc8: { scale: 1 / 8, zeroPoint: 0 },
};

/**
 * int8 weights q with 127 or -127 in every output channel and power-of-two scales, so that q * scale
 * quantizes back to exactly q and scale (the twins re-quantize the weights they are given)
 */
function quantizedParams(arch = ARCH): { q: Map<string, Int8Array>; scales: Map<string, Float32Array>; params: Params } {
  const q = new Map<string, Int8Array>();
  const scales = new Map<string, Float32Array>();
  const params: Params = new Map();
  const next = random(17);
  for (const layer of inferShapes(arch)) {
    for (const [name, shape] of layer.params) {
      if (name.endsWith('.bias')) { params.set(name, { shape, data: randomArray(shape[0], shape[0], 0.1) }); continue; }
      const out = shape[0];
      const k = shape.slice(1).reduce((a, b) => a * b, 1);
      const values = Int8Array.from({ length: out * k }, () => Math.floor(next() * 255) - 127);
      const s = Float32Array.from({ length: out }, (_, o) => 2 ** -(5 + (o % 3)));
      for (let o = 0; o < out; o++) values[o * k + Math.floor(next() * k)] = o % 2 ? 127 : -127;
      q.set(name, values);
      scales.set(name, s);
      params.set(name, { shape, data: Float32Array.from(values, (v, i) => v * s[Math.floor(i / k)]) });
    }
  }
  return { q, scales, params };
}

/** a safetensors file as quantize writes it: F32 tensors, then I8, then U8, and the metadata */
function writeQuantizedFile(path: string, q: Map<string, Int8Array>, scales: Map<string, Float32Array>, params: Params,
  arch = ARCH, quantized = QUANTIZED, inputQuant = INPUT_QUANT): void {
  const tensors: Array<[string, string, number[], Uint8Array]> = [];
  const bytes = (a: Float32Array | Int8Array | Uint8Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  for (const layer of quantized) {
    tensors.push([`${layer}.weight_scale`, 'F32', [scales.get(`${layer}.weight`)!.length], bytes(scales.get(`${layer}.weight`)!)]);
    tensors.push([`${layer}.bias`, 'F32', params.get(`${layer}.bias`)!.shape, bytes(params.get(`${layer}.bias`)!.data)]);
    tensors.push([`${layer}.input_scale`, 'F32', [], bytes(Float32Array.of(inputQuant[layer].scale))]);
  }
  for (const layer of quantized) tensors.push([`${layer}.weight`, 'I8', params.get(`${layer}.weight`)!.shape, bytes(q.get(`${layer}.weight`)!)]);
  for (const layer of quantized) tensors.push([`${layer}.input_zero_point`, 'U8', [], Uint8Array.of(inputQuant[layer].zeroPoint)]);
  const header: Record<string, unknown> = {
    __metadata__: {
      'alexnet.precision': 'int8', 'alexnet.architecture': JSON.stringify(arch), 'alexnet.preprocessing': JSON.stringify(arch.preprocess),
      'alexnet.calibration': JSON.stringify({ method: 'test: fixed scales' }),
      arch: arch.name, numClasses: String(arch.numClasses), preprocess: JSON.stringify(arch.preprocess), architecture: JSON.stringify(arch),
    },
  };
  let offset = 0;
  for (const [name, dtype, shape, data] of tensors) {
    header[name] = { dtype, shape, data_offsets: [offset, offset + data.length] };
    offset += data.length;
  }
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([length, json, ...tensors.map(([, , , data]) => Buffer.from(data))]));
}

const { q, scales, params } = quantizedParams();
const FILE = join(scratch, 'tiny-int8.safetensors');
writeQuantizedFile(FILE, q, scales, params);
const SHAPE = [3, ...ARCH.input];
const INPUT = randomArray(SHAPE.reduce((a, b) => a * b, 1), 5, 1.5);

const int8Kernels = (act: (layer: string) => ref.ActQuant | undefined) => ({
  conv2d: (layer: string, dims: number[], x: Float32Array, w: Float32Array, b: Float32Array | null, relu: boolean) =>
    ref.conv2dInt8(dims, x, w, b, relu, act(layer)),
  linear: (layer: string, dims: number[], x: Float32Array, w: Float32Array, b: Float32Array | null, relu: boolean) =>
    ref.linearInt8(dims, x, w, b, relu, act(layer)),
});

/**
 * A net the int8 chain runs through: conv1 -> pool1 (ceil: clipped windows) -> conv2 -> conv3 (asymmetric pads)
 * -> pool3 -> an adaptive average pool to its own size (the identity at this input) -> fc6 -> fc8
 */
const CHAIN_ARCH: Architecture = {
  name: 'tiny-chain', input: [3, 21, 19], output: 'logits', numClasses: 5,
  preprocess: { resizeMode: 'shorter', resize: [21, 21], crop: [21, 19], range: 1, mean: [0, 0, 0], std: [1, 1, 1], bgr: false },
  layers: [
    { type: 'conv2d', name: 'conv1', outChannels: 8, kernel: [5, 5], stride: [2, 2], pad: [2, 2, 2, 2], groups: 1, bias: true, relu: true },
    { type: 'maxPool2d', name: 'pool1', kernel: [3, 3], stride: [2, 2], pad: [0, 0, 0, 0], ceil: true },
    { type: 'conv2d', name: 'conv2', outChannels: 20, kernel: [3, 3], stride: [1, 1], pad: [1, 1, 1, 1], groups: 1, bias: true, relu: true },
    { type: 'conv2d', name: 'conv3', outChannels: 17, kernel: [3, 3], stride: [1, 1], pad: [1, 0, 1, 2], groups: 1, bias: true, relu: true },
    { type: 'maxPool2d', name: 'pool3', kernel: [2, 2], stride: [2, 2], pad: [0, 0, 0, 0], ceil: false },
    { type: 'adaptiveAvgPool2d', name: 'avgpool', output: [2, 2] },
    { type: 'flatten', name: 'flatten' },
    { type: 'linear', name: 'fc6', outFeatures: 20, bias: true, relu: true },
    { type: 'linear', name: 'fc8', outFeatures: 5, bias: true, relu: false },
  ],
};
const CHAIN_QUANT: Record<string, ref.ActQuant> = {
  conv1: { scale: 1 / 64, zeroPoint: 128 }, conv2: { scale: 1 / 32, zeroPoint: 0 }, conv3: { scale: 1 / 32, zeroPoint: 3 },
  fc6: { scale: 1 / 16, zeroPoint: 0 }, fc8: { scale: 1 / 8, zeroPoint: 0 },
};

describe('the int8 chain (u8 activations between int8 layers)', () => {
  const chain = quantizedParams(CHAIN_ARCH);
  const file = join(scratch, 'tiny-chain.safetensors');
  writeQuantizedFile(file, chain.q, chain.scales, chain.params, CHAIN_ARCH, Object.keys(CHAIN_QUANT), CHAIN_QUANT);
  const kernels = int8Kernels((layer) => CHAIN_QUANT[layer]);

  for (const [label, shape, producers, pools] of [
    ['at the arch\'s input: conv1 -> conv2 -> conv3 -> fc6, the adaptive pool skipped', [2, 3, 21, 19], ['conv1', 'conv2', 'conv3'], [['pool1', false], ['pool3', true]]],
    ['at a larger input the adaptive pool averages: conv3 reads u8 and writes fp32', [3, 3, 29, 27], ['conv1', 'conv2'], [['pool1', false]]],
  ] as const) {
    test(`${label}; the same outputs to the bit as fp32 between the layers and as the twins`, async () => {
      const on = await loadWeightsAndModel({ weights: file, lowpConvs: true });
      const off = await loadWeightsAndModel({ weights: file, lowpConvs: true, int8Chain: false });
      try {
        const names = (indices: Iterable<number>) => [...indices].map((i) => CHAIN_ARCH.layers[i].name);
        const c = on.model.int8ChainFor(shape[2], shape[3]);
        assert.deepEqual(names(c.producers.keys()), producers);
        assert.deepEqual([...c.pools].map(([i, nchw]) => [CHAIN_ARCH.layers[i].name, nchw]), pools);
        assert.equal(off.model.int8ChainFor(shape[2], shape[3]).producers.size, 0);
        const input = randomArray(shape.reduce((a, b) => a * b, 1), shape[2], 1.5);
        const expected = referenceForward(CHAIN_ARCH, chain.params, input, [...shape], kernels);
        // every kernel set the CPU has (the requantizing epilogue has an AVX-512 twin of the SSE2 one)
        for (const isa of native().cpuFeatures().supported) {
          native().setIsa(isa);
          assert.deepEqual(await off.model.forward(input, [...shape]), expected, isa);
          assert.deepEqual(await on.model.forward(input, [...shape]), expected, isa);
          assert.deepEqual(await on.model.forward(input, [...shape], { plan: false }), expected, isa);
        }
      } finally {
        native().setIsa('auto');
        on.model.dispose();
        off.model.dispose();
      }
    });
  }

  test('bench/int8-chain times the chain against fp32 between layers and finds the outputs equal', () => {
    const script = fileURLToPath(new URL('../bench/int8-chain.js', import.meta.url));
    const r = spawnSync(process.execPath, [script, '--weights', file, '--batch', '1,2', '--iters', '1'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout.split('\n').filter((l) => l.startsWith('batch'));
    assert.equal(rows.length, 2, r.stdout);
    for (const row of rows)
      assert.match(row, /^batch +\d+: chain [\d.]+ ms, fp32 between [\d.]+ ms, ratio [\d.]+; 3 convs write u8, 2 max pools on u8; outputs equal to the bit$/);
    for (const [args, why] of [[[], /^int8-chain: Expected a weights file for --weights but received nothing$/m],
      [['--weights', file, '--batch', '0'], /^int8-chain: Expected positive integers for --batch but received 0$/m],
      [['--weights', file, '--iters', 'x'], /^int8-chain: Expected a positive integer for --iters but received x$/m]] as const) {
      const usage = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });
      assert.equal(usage.status, 2);
      assert.match(usage.stderr, why);
      assert.match(usage.stderr, /^usage: node dist\/bench\/int8-chain\.js --weights/m);
    }
    // a truncated file: one line naming it, no stack trace
    const truncated = join(scratch, 'truncated-chain.safetensors');
    writeFileSync(truncated, readFileSync(file).subarray(0, 100));
    const bad = spawnSync(process.execPath, [script, '--weights', truncated], { encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    assert.match(bad.stderr, /^int8-chain: .*truncated-chain\.safetensors/);
  });

  test('dynamic scales (int8 on fp32 weights), bf16 and fp32 run no chain', async () => {
    const set = await readWeights(file);
    const fp32Set = { ...set, metadata: {}, tensors: new Map([...chain.params].map(([n, t]) => [n, { shape: t.shape, data: t.data }])) };
    for (const precision of ['int8', 'bf16', 'fp32'] as const) {
      const { model } = await loadWeightsAndModel({ weights: fp32Set, arch: CHAIN_ARCH, precision, lowpConvs: true });
      try {
        assert.equal(model.int8ChainFor(21, 19).producers.size, 0, precision);
      } finally {
        model.dispose();
      }
    }
  });
});

describe('int8 models', () => {
  test('a quantized file loads as int8 with its static scales, and runs to the bit as the twins chained', async () => {
    const { model } = await loadWeightsAndModel({ weights: FILE, lowpConvs: true });
    try {
      assert.equal(model.precision, 'int8');
      for (const layer of QUANTIZED) assert.deepEqual(model.layerPrecision(layer), { precision: 'int8', activations: 'static' });
      assert.equal(model.layerPrecision('pool1'), undefined);
      const out = await model.forward(INPUT, SHAPE);
      assert.deepEqual(out, referenceForward(ARCH, params, INPUT, SHAPE, int8Kernels((layer) => INPUT_QUANT[layer])));
      // held as int8 only: a quarter of the fp32 bytes plus scales, sums and panel padding
      assert.ok(model.weightBytes < 0.6 * model.parameterBytes, `weights ${model.weightBytes} B vs fp32 ${model.parameterBytes} B`);
    } finally {
      model.dispose();
    }
  });

  test('the quantized file at --precision fp32 runs q * scale (as an fp32 file of those weights)', async () => {
    const { model } = await loadWeightsAndModel({ weights: FILE, precision: 'fp32' });
    const set = await readWeights(FILE);
    const fp32 = await Model.fromWeights(ARCH, { ...set, tensors: new Map([...params].map(([n, t]) => [n, { shape: t.shape, data: t.data }])) });
    try {
      assert.equal(model.precision, 'fp32');
      assert.deepEqual(model.layerPrecision('fc6'), { precision: 'fp32' });
      assert.deepEqual(await model.forward(INPUT, SHAPE), await fp32.forward(INPUT, SHAPE));
      assert.deepEqual(model.parameters().get('conv2.weight')!.data, params.get('conv2.weight')!.data);
    } finally {
      model.dispose();
      fp32.dispose();
    }
  });

  test('int8 on fp32 weights quantizes activations per batch (dynamic), to the bit; bf16 within its rounding', async () => {
    const set = await readWeights(FILE);
    const fp32Set = { ...set, metadata: {}, tensors: new Map([...params].map(([n, t]) => [n, { shape: t.shape, data: t.data }])) };
    const int8 = await loadWeightsAndModel({ weights: fp32Set, arch: ARCH, precision: 'int8', lowpConvs: true });
    const bf16 = await loadWeightsAndModel({ weights: fp32Set, arch: ARCH, precision: 'bf16', lowpConvs: true });
    const fp32 = await loadWeightsAndModel({ weights: fp32Set, arch: ARCH });
    try {
      assert.equal(fp32.model.precision, 'fp32');
      assert.deepEqual(int8.model.layerPrecision('conv1'), { precision: 'int8', activations: 'dynamic' });
      assert.deepEqual(await int8.model.forward(INPUT, SHAPE), referenceForward(ARCH, params, INPUT, SHAPE, int8Kernels(() => undefined)));
      assert.deepEqual(bf16.model.layerPrecision('fc8'), { precision: 'bf16' });
      const expected = referenceForward(ARCH, params, INPUT, SHAPE, {
        conv2d: (_, dims, x, w, b, relu) => ref.conv2dBf16(dims, x, w, b, relu),
        linear: (_, dims, x, w, b, relu) => ref.linearBf16(dims, x, w, b, relu),
      });
      const actual = await bf16.model.forward(INPUT, SHAPE);
      let diff2 = 0, ref2 = 0;
      for (let i = 0; i < expected.length; i++) { diff2 += (actual[i] - expected[i]) ** 2; ref2 += expected[i] ** 2; }
      // each layer's input is rounded to bf16 again after the fp32 epilogue of the one before
      assert.ok(Math.sqrt(diff2 / ref2) < 1e-2, `relative L2 ${Math.sqrt(diff2 / ref2)}`);
    } finally {
      int8.model.dispose();
      bf16.model.dispose();
      fp32.model.dispose();
    }
  });

  test('by default the convs run in int8 / bf16 only where the kernel set has vpdpbusd / vdpbf16ps', async () => {
    const b = native();
    try {
      for (const isa of b.cpuFeatures().supported) {
        b.setIsa(isa);
        const kernels = b.cpuFeatures().lowpKernels;
        for (const precision of ['int8', 'bf16'] as const) {
          const { model } = await loadWeightsAndModel({ weights: FILE, precision });
          try {
            const dot = precision === 'int8' ? kernels.int8.includes('vpdpbusd') : kernels.bf16.includes('vdpbf16ps');
            assert.equal(model.layerPrecision('conv2')!.precision, dot ? precision : 'fp32', `${isa} ${precision}`);
            assert.equal(model.layerPrecision('fc6')!.precision, precision, `${isa} ${precision}`);
          } finally {
            model.dispose();
          }
        }
      }
    } finally {
      b.setIsa('auto');
    }
  });

  test('an unknown precision is a usage error', async () => {
    await assert.rejects(loadWeightsAndModel({ weights: FILE, precision: 'int4' as 'int8' }), {
      code: 'ERR_USAGE', message: 'Expected one of fp32, bf16, int8 for precision but received int4',
    });
  });

  test('info shows the precision, the dtypes and each layer\'s scales', async () => {
    const info = await weightsInfo(FILE);
    assert.equal(info.precision, 'int8');
    assert.deepEqual(info.quantized!.map((l) => [l.layer, l.inputScale, l.inputZeroPoint]),
      QUANTIZED.map((l) => [l, INPUT_QUANT[l].scale, INPUT_QUANT[l].zeroPoint]));
    assert.deepEqual(info.quantized![0].weightScaleMin, 2 ** -7);
    assert.equal(info.tensors.find((t) => t.name === 'fc6.weight')!.dtype, 'int8');
    assert.equal(info.tensors.some((t) => t.name.endsWith('.weight_scale')), false);
    const text = formatInfo(info);
    assert.match(text, /^precision +int8 \(static activation scales/m);
    assert.match(text, /^fc6 +0\.007813 \.\. 0\.03125 +0\.06250 +0$/m);
  });

  test('I8 tensors outside a quantized file, and a weight without its scales, are refused naming the tensor', async () => {
    const path = join(scratch, 'bad.safetensors');
    const write = (metadata: Record<string, string>, names: string[]) => {
      const header: Record<string, unknown> = { __metadata__: metadata };
      names.forEach((n, i) => { header[n] = { dtype: 'I8', shape: [2, 2], data_offsets: [4 * i, 4 * i + 4] }; });
      const json = Buffer.from(JSON.stringify(header));
      const length = Buffer.alloc(8);
      length.writeBigUInt64LE(BigInt(json.length));
      writeFileSync(path, Buffer.concat([length, json, Buffer.alloc(4 * names.length)]));
    };
    write({}, ['fc8.weight']);
    await assert.rejects(readWeights(path), { code: 'ERR_WEIGHTS', message: `${path}: expected tensor fc8.weight to be F32, F16, BF16 or F64 but found I8` });
    write({ 'alexnet.precision': 'int8' }, ['fc8.weight']);
    await assert.rejects(readWeights(path), {
      code: 'ERR_WEIGHTS', message: `${path}: expected int8 tensor fc8.weight to come with fc8.weight_scale [2] but found none`,
    });
  });
});

describe('bench --precision', () => {
  const cli = fileURLToPath(new URL('../bin/alexnet-cli.js', import.meta.url));
  test('times each precision with each kernel set, interleaved, with ratios to the first pair', () => {
    const isas = native().cpuFeatures().supported.slice(-2);
    const r = spawnSync(process.execPath, [cli, 'bench', '--arch', 'torchvision', '--batch', '1', '--warmup', '0', '--iters', '1',
      '--precision', 'int8,fp32,bf16', '--isa', isas.join(','), '--json'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as BenchReport;
    assert.deepEqual(report.precisions, ['int8', 'fp32', 'bf16']);
    assert.deepEqual(report.rows.map((row) => `${row.precision} ${row.isa}`),
      ['int8', 'fp32', 'bf16'].flatMap((p) => isas.map((isa) => `${p} ${isa}`)));
    for (const row of report.rows) assert.ok(Math.abs(row.isaRatio - row.ours.medianMs / report.rows[0].ours.medianMs) < 1e-12);
    assert.equal(report.rows[0].isaRatio, 1);
    // without a peer, the int8 rows quantize each batch's activations (the default on fp32 weights)
    assert.equal(report.int8Activations, 'dynamic');
    assert.equal(report.int8Calibration, null);
    assert.ok(report.rows.every((row) => row.ortInt8 === undefined));
  });

  test('with --compare onnxruntime, int8 rows are timed against ORT running the QDQ export of the same static int8 model', () => {
    const r = spawnSync(process.execPath, [cli, 'bench', '--arch', 'torchvision', '--batch', '1,2', '--warmup', '0', '--iters', '1',
      '--precision', 'fp32,int8', '--compare', 'onnxruntime', '--json'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as BenchReport;
    assert.equal(report.int8Activations, 'static');
    assert.match(report.int8Calibration!, /^8 random normal inputs/);
    assert.deepEqual(report.rows.map((row) => `${row.batch} ${row.precision} ${row.ortInt8 ? 'qdq' : '-'}`), ['1 fp32 -', '1 int8 qdq', '2 fp32 -', '2 int8 qdq']);
    for (const row of report.rows.filter((x) => x.precision === 'int8')) {
      assert.ok(row.ortInt8!.medianMs > 0 && row.ort!.medianMs > 0);
      assert.notDeepEqual(row.ortInt8, row.ort);  // two sessions: fp32 and QDQ
      assert.ok(Math.abs(row.int8TimeRatio! - row.ours.medianMs / row.ortInt8!.medianMs) < 1e-12);
    }
    const text = spawnSync(process.execPath, [cli, 'bench', '--arch', 'torchvision', '--batch', '1', '--warmup', '0', '--iters', '1',
      '--precision', 'int8', '--compare', 'onnxruntime'], { encoding: 'utf8' });
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /^int8: static activation scales, the same in the QDQ export ORT runs \(ORT QDQ columns\); calibrated on 8 random normal inputs/m);
    assert.match(text.stdout, /ORT QDQ ms +ours\/ORT QDQ/);
  });

  test('a malformed --precision list is one line of usage error', () => {
    for (const list of ['fp32,fp16', 'int8,int8', 'fp32,']) {
      const r = spawnSync(process.execPath, [cli, 'bench', '--arch', 'seed', '--batch', '1', '--iters', '1', '--precision', list], { encoding: 'utf8' });
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stderr.trim(), `alexnet-cli: Expected a comma-separated list of distinct precisions (fp32, bf16, int8) for --precision but received ${list}`);
    }
  });
});

test('profile --precision int8 shows each conv and linear layer\'s precision and kernel', (t) => {
  const cli = fileURLToPath(new URL('../bin/alexnet-cli.js', import.meta.url));
  // a kernel set with vpdpbusd (where the CPU has one), so that the convs run in int8 too
  const vnni = native().cpuFeatures().supported.find((isa) => isa.endsWith('-vnni'));
  if (!vnni) { t.skip('this CPU has no VNNI kernel set: its convs stay fp32'); return; }
  const r = spawnSync(process.execPath, [cli, 'profile', '--weights', FILE, '--warmup', '0', '--iters', '1', '--json'],
    { encoding: 'utf8', env: { ...process.env, ALEXNET_CLI_ISA: vnni } });
  assert.equal(r.status, 0, r.stderr);
  const layers = (JSON.parse(r.stdout) as { layers: { name: string; precision?: string | null; kernel?: string | null }[] }).layers;
  native().setIsa(vnni);
  const int8Kernel = native().cpuFeatures().lowpKernels.int8;
  native().setIsa('auto');
  // conv2 has groups: no int8 chain here, every layer writes fp32
  assert.deepEqual(layers.map((l) => [l.name, l.precision, l.kernel]), [
    ['conv1', 'int8 static', `patches in place + ${int8Kernel}`], ['pool1', null, null],
    ['conv2', 'int8 static', `patches in place + ${int8Kernel}`],
    ['flatten', null, null], ['fc6', 'int8 static', int8Kernel], ['fc8', 'int8 static', int8Kernel],
  ]);
  // the chain's net: conv1 -> pool1 -> conv2 -> conv3 -> pool3 -> fc6 keep u8 (a quarter of the fp32 bytes written)
  const chained = spawnSync(process.execPath, [cli, 'profile', '--weights', join(scratch, 'tiny-chain.safetensors'), '--warmup', '0',
    '--iters', '1', '--json'], { encoding: 'utf8', env: { ...process.env, ALEXNET_CLI_ISA: vnni } });
  assert.equal(chained.status, 0, chained.stderr);
  const chainLayers = (JSON.parse(chained.stdout) as { layers: { name: string; precision: string | null; kernel: string | null;
    outputShape: (number | null)[]; activationBytes: number }[] }).layers;
  const perValue = (l: (typeof chainLayers)[number]) => l.activationBytes / l.outputShape.reduce<number>((a, b) => a * (b ?? 1), 1);  // batch 1
  assert.deepEqual(chainLayers.filter((l) => l.precision !== null).map((l) => [l.name, l.precision, l.kernel, perValue(l)]), [
    ['conv1', 'int8 static, u8 out', `patches in place + ${int8Kernel}`, 1], ['pool1', 'u8', 'u8 max', 1],
    ['conv2', 'int8 static, u8 out', `patches in place + ${int8Kernel}`, 1],
    ['conv3', 'int8 static, u8 out', `patches in place + ${int8Kernel}`, 1], ['pool3', 'u8', 'u8 max', 1],
    ['fc6', 'int8 static', int8Kernel, 4], ['fc8', 'int8 static', int8Kernel, 4],
  ]);
  const fp32 = spawnSync(process.execPath, [cli, 'profile', '--weights', FILE, '--precision', 'fp32', '--warmup', '0', '--iters', '1'], { encoding: 'utf8' });
  assert.equal(fp32.status, 0, fp32.stderr);
  // the Precision and Kernel columns appear when some layer is not fp32
  assert.doesNotMatch(fp32.stdout, /Precision/);
  const int8 = spawnSync(process.execPath, [cli, 'profile', '--weights', FILE, '--warmup', '0', '--iters', '1'],
    { encoding: 'utf8', env: { ...process.env, ALEXNET_CLI_ISA: vnni, COLUMNS: '400' } });
  assert.equal(int8.status, 0, int8.stderr);
  assert.match(int8.stdout, /^Layer .* Act\. written +Precision +Kernel$/m);
  assert.match(int8.stdout, new RegExp(`^fc6 .* int8 static +${int8Kernel}$`, 'm'));
  // the Algorithm column: with Winograd forced wherever it applies, fp32 conv2 (3x3, stride 1) runs it, the
  // int8 one runs the GEMM on its patches, whose multiply-adds are the direct count
  const algorithms = (precision: string) => {
    const run = spawnSync(process.execPath, [cli, 'profile', '--weights', FILE, '--precision', precision, '--warmup', '0', '--iters', '1', '--json'],
      { encoding: 'utf8', env: { ...process.env, ALEXNET_CLI_ISA: vnni, ALEXNET_CLI_WINOGRAD: '1' } });
    assert.equal(run.status, 0, run.stderr);
    const all = (JSON.parse(run.stdout) as { layers: { name: string; algorithm: string; algorithmMacs: number; macs: number }[] }).layers;
    return Object.fromEntries(all.filter((l) => l.name === 'conv2').map((l) => [l.name, [l.algorithm, l.algorithmMacs === l.macs]]));
  };
  assert.deepEqual(algorithms('fp32'), { conv2: ['Winograd F(4,3)', false] });
  assert.deepEqual(algorithms('int8'), { conv2: ['GEMM', true] });
});
