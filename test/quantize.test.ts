// quantize: the int8 arithmetic against the naive twins of the runtime (test/reference.ts), the activation
// range methods, the file quantize writes (the layout agreed with the int8 reader), the command end to end
// with its error table, and the QDQ ONNX export run by onnxruntime against our int8 network.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { native } from '../lib/native.js';
import { RangeObserver } from '../lib/quantize/calibrate.js';
import { readInt8Model, writeInt8Model, type Int8Model } from '../lib/quantize/file.js';
import { activationQuant, dequantizeWeights, fakeQuantizeActivations, quantizeWeights } from '../lib/quantize/quant.js';
import { int8ExportInputs } from '../lib/quantize/export.js';
import { SimulatedNetwork } from '../lib/quantize/simulate.js';
import { SegmentRunner, splitSegments } from '../lib/quantize/segments.js';
import { loadCalibrationImages } from '../lib/quantize/sources.js';
import { buildArchitecture } from '../lib/model/archs.js';
import { inferShapes } from '../lib/model/shapes.js';
import { writeNpy } from '../lib/weights/npy.js';
import { encodeOnnx } from '../lib/weights/onnx-export.js';
import { onnxRoot } from '../lib/weights/onnx.js';
import { withWeightsHandle } from '../lib/weights/read.js';
import * as ref from './reference.js';
import { relativeL2 } from './reference-forward.js';
import { readSafetensorsHeader, type SafetensorsEntry, writeSafetensors } from '../lib/weights/safetensors.js';

const argmax = (row: Float32Array): number => row.reduce((best, v, i) => (v > row[best] ? i : best), 0);

const cli = fileURLToPath(new URL('../bin/alexnet-cli.js', import.meta.url));
const images = fileURLToPath(new URL('../../test/fixtures/images/', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'quantize-'));

function run(...args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
}

/** the header of a safetensors file, as JSON */
function header(path: string): Record<string, SafetensorsEntry> & { __metadata__: Record<string, string> } {
  return withWeightsHandle(path, (fd) => readSafetensorsHeader(fd, path).header) as Record<string, SafetensorsEntry> & { __metadata__: Record<string, string> };
}

describe('int8 arithmetic: the runtime\'s, to the bit', () => {
  test('weights: the same integers and scales as the naive twin of packLinear, and packLinear keeps them', async () => {
    const [outF, inF] = [37, 53];
    const weight = ref.randomArray(outF * inF, 3, 0.4);
    weight.fill(0, 5 * inF, 6 * inF); // an all-zero channel: scale 1
    const ours = quantizeWeights(weight, outF);
    const twin = ref.quantizeWeights(weight, outF, inF);
    assert.deepEqual(ours.q, twin.q);
    assert.deepEqual(ours.scales, twin.scales);
    // the int8 reader may hand q * scale to packLinear: it must give back the same integers and scales
    const b = native();
    if (!b.packLinear || !b.linearWeightInfo) return;
    const dequantized = dequantizeWeights(ours);
    const t = b.alloc('cpu', dequantized.length);
    t.write(dequantized);
    const packed = await b.packLinear(Int32Array.of(outF, inF), t, 'int8');
    const scales = b.linearWeightInfo(packed).scales!;
    for (let o = 0; o < outF; o++) if (o !== 5) assert.equal(scales[o], ours.scales[o], `channel ${o}`);
    assert.deepEqual(b.unpackLinear!(Int32Array.of(outF, inF), packed).read().subarray(0, 5 * inF), dequantized.subarray(0, 5 * inF));
    packed.dispose();
    t.dispose();
  });

  test('activations: x -> u8 -> x as the runtime quantizes (half to even, fp32 1/scale), clamped', () => {
    const values = Float32Array.from({ length: 4000 }, (_, i) => (i - 1000) * 0.00173);
    const q = activationQuant(-1.2, 3.1);
    assert.equal(q.zeroPoint, Math.round(1.2 / q.scale));
    const u8 = ref.quantizeU8(values, q);
    const fake = values.slice();
    fakeQuantizeActivations(fake, q);
    assert.deepEqual(fake, Float32Array.from(u8, (u) => (u - q.zeroPoint) * q.scale));
    // 0 stays exactly 0, and ReLU outputs (no negatives) get zero point 0
    const zero = Float32Array.of(0);
    fakeQuantizeActivations(zero, q);
    assert.equal(zero[0], 0);
    assert.equal(activationQuant(0, 6).zeroPoint, 0);
  });
});

describe('activation ranges', () => {
  // 100k ReLU-like values in [0, 1) and one outlier at 100
  const values = Float32Array.from({ length: 100_000 }, (_, i) => (i % 3 === 0 ? 0 : ((i * 7919) % 100_000) / 100_000));
  values[12345] = 100;
  const observer = new RangeObserver();
  observer.observeRange(values);
  observer.observeHistogram(values);
  const squaredError = (x: Float32Array, q: { scale: number; zeroPoint: number }) => {
    const fake = x.slice();
    fakeQuantizeActivations(fake, q);
    let e = 0;
    for (let i = 0; i < x.length; i++) e += (fake[i] - x[i]) ** 2;
    return e;
  };

  test('minmax covers the lone outlier, percentile clips it', () => {
    const minmax = observer.choose('minmax');
    assert.equal(minmax.zeroPoint, 0);
    assert.equal(minmax.scale, Math.fround(100 / 255));
    const q = observer.choose('percentile');
    assert.equal(q.zeroPoint, 0);
    assert.ok(q.scale * 255 > 0.99 && q.scale * 255 < 1.1, `percentile range ${q.scale * 255}`);
  });

  test('mse: the least squared error of the three on what it saw; it clips a light tail', (t) => {
    const error = (q: { scale: number; zeroPoint: number }) => squaredError(values, q);
    const mse = error(observer.choose('mse'));
    assert.ok(mse <= error(observer.choose('minmax')) * 1.01 && mse <= error(observer.choose('percentile')) * 1.01);
    // ReLU outputs with an exponential tail (max about 11.5): a little clipping halves everyone's step
    const tail = Float32Array.from({ length: 100_000 }, (_, i) => -Math.log(1 - (((i * 7919) % 100_000) + 0.5) / 100_000));
    const o = new RangeObserver();
    o.observeRange(tail);
    o.observeHistogram(tail);
    const q = o.choose('mse');
    t.diagnostic(`exponential tail: mse keeps 0 .. ${(q.scale * 255).toFixed(2)} of 0 .. ${o.max.toFixed(2)}`);
    assert.ok(q.scale * 255 < 0.9 * o.max, `mse range ${q.scale * 255}`);
    assert.ok(squaredError(tail, q) < 0.9 * squaredError(tail, o.choose('minmax')));
  });

  test('signed inputs (a normalized image) keep both tails with a zero point inside', () => {
    const signed = new RangeObserver();
    const image = Float32Array.from({ length: 30_000 }, (_, i) => -2.1 + 4.7 * ((i * 104729) % 30_000) / 30_000);
    signed.observeRange(image);
    signed.observeHistogram(image);
    for (const method of ['minmax', 'percentile', 'mse'] as const) {
      const q = signed.choose(method);
      assert.ok(q.zeroPoint > 100 && q.zeroPoint < 130, `${method} zero point ${q.zeroPoint}`);
      assert.ok((255 - q.zeroPoint) * q.scale > 2.4, `${method} top ${(255 - q.zeroPoint) * q.scale}`);
    }
  });
});

describe('quantize end to end (torchvision, random:1 weights, 4 fixture photographs)', () => {
  const calib = join(scratch, 'calib');
  const out = join(scratch, 'tv-int8.safetensors');
  let table: {
    arch: string; method: string; runtime: string; images: number; top1Agreement: number; bytes: number; fp32Bytes: number;
    layers: { name: string; inputScale: number; inputZeroPoint: number; clipped: number; weightSqnrDb: number; layerSqnrDb: number; networkSqnrDb: number }[];
    warnings: string[];
  };
  let model: Int8Model;
  let input: Float32Array;
  let batch: number;

  before(async () => {
    mkdirSync(calib, { recursive: true });
    for (const name of ['astronaut.png', 'chelsea-exif6.jpg', 'coffee-baseline.jpg', 'camera-gray.png']) copyFileSync(join(images, name), join(calib, name));
    const r = run('quantize', 'random:1', '--arch', 'torchvision', '--calibrate', calib, '--out', out, '--json');
    assert.equal(r.status, 0, r.stderr);
    table = JSON.parse(r.stdout);
    model = await readInt8Model(out);
    const loaded = await loadCalibrationImages(calib, model.preprocess, model.arch);
    batch = loaded.images.length;
    input = new Float32Array(batch * loaded.images[0].length);
    loaded.images.forEach((im, i) => input.set(im, i * im.length));
  });

  test('the error table: every conv and fc layer, each above its SQNR floor, top-1 kept', () => {
    assert.equal(table.arch, 'torchvision');
    assert.equal(table.method, 'mse');
    // measured on the native int8 runtime wherever this build has it
    assert.equal(table.runtime, (native() as { packQuantized?: unknown }).packQuantized ? 'native' : 'simulated');
    assert.equal(table.images, 4);
    assert.deepEqual(table.layers.map((l) => l.name), ['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'fc6', 'fc7', 'fc8']);
    for (const l of table.layers) {
      // 8-bit weights per channel: about 6 dB per bit less the peak-to-rms ratio of a Gaussian-like row
      assert.ok(l.weightSqnrDb > 35, `${l.name} weights ${l.weightSqnrDb} dB`);
      assert.ok(l.layerSqnrDb > 30, `${l.name} alone ${l.layerSqnrDb} dB`);
      assert.ok(l.networkSqnrDb > 20 && l.networkSqnrDb <= l.layerSqnrDb + 1, `${l.name} network ${l.networkSqnrDb} dB`);
    }
    // the image input is signed (torchvision's normalization), every later input a ReLU output
    assert.ok(table.layers[0].inputZeroPoint > 0);
    for (const l of table.layers.slice(1)) assert.equal(l.inputZeroPoint, 0, l.name);
    assert.equal(table.top1Agreement, 1);
    // photographs vary at every layer's input: nothing to warn about
    assert.deepEqual(table.warnings, []);
    // int8 weights: about a quarter of fp32
    assert.ok(table.bytes < 0.26 * table.fp32Bytes && table.bytes > 0.24 * table.fp32Bytes, `${table.bytes} of ${table.fp32Bytes}`);
  });

  test('the file: the agreed layout (I8 weights, F32 scales per channel, input scale and U8 zero point per layer, F32 aligned)', () => {
    const h = header(out);
    const meta = h.__metadata__;
    assert.equal(meta['alexnet.precision'], 'int8');
    assert.deepEqual(JSON.parse(meta['alexnet.architecture']), buildArchitecture('torchvision'));
    assert.deepEqual(JSON.parse(meta['alexnet.preprocessing']), buildArchitecture('torchvision').preprocess);
    assert.deepEqual(JSON.parse(meta['alexnet.calibration']), { method: 'mse', images: 4, source: calib });
    const expect = (name: string, dtype: string, shape: number[]) => {
      assert.equal(h[name]?.dtype, dtype, name);
      assert.deepEqual(h[name].shape, shape, name);
    };
    expect('conv1.weight', 'I8', [64, 3, 11, 11]);
    expect('conv1.weight_scale', 'F32', [64]);
    expect('conv1.bias', 'F32', [64]);
    expect('conv1.input_scale', 'F32', []);
    expect('conv1.input_zero_point', 'U8', []);
    expect('fc6.weight', 'I8', [4096, 9216]);
    expect('fc8.weight_scale', 'F32', [1000]);
    const names = Object.keys(h).filter((k) => k !== '__metadata__');
    assert.equal(names.length, 8 * 5);
    for (const name of names) if (h[name].dtype === 'F32') assert.equal(h[name].data_offsets[0] % 4, 0, name);
    for (const l of model.layers) {
      const t = table.layers.find((x) => x.name === l.name)!;
      assert.equal(l.input.scale, Math.fround(t.inputScale));
      assert.equal(l.input.zeroPoint, t.inputZeroPoint);
    }
  });

  test('writing what was read gives the same bytes', () => {
    const again = join(scratch, 'again.safetensors');
    writeInt8Model(again, model);
    assert.ok(readFileSync(again).equals(readFileSync(out)));
  });

  test('an fp32 file is not an int8 model', async () => {
    const fp32 = join(scratch, 'fp32.safetensors');
    writeSafetensors(fp32, new Map([['fc8.weight', { shape: [2, 2], data: new Float32Array(4) }]]), { arch: 'seed' });
    await assert.rejects(readInt8Model(fp32), { message: `${fp32}: expected an int8 model (alexnet.precision "int8", written by quantize) but found "none"` });
  });

  test('onnxruntime runs the QDQ export: each int8 layer within one u8 step of ours on the same input; top-1 identical', async (t) => {
    const { tensors, int8 } = int8ExportInputs(model);
    const type = onnxRoot().lookupType('onnx.ModelProto');
    const graph = (type.toObject(type.decode(encodeOnnx(model.arch, tensors, { int8 })), { defaults: false }) as {
      graph: { node: { op_type: string; name: string; input: string[]; attribute?: { name: string; i?: number }[] }[] };
    }).graph;
    const ops = graph.node.map((n) => n.op_type);
    assert.equal(ops.filter((o) => o === 'Conv').length, 5);
    assert.equal(ops.filter((o) => o === 'Gemm').length, 3);
    // per-channel weights: DequantizeLinear on axis 0 for every weight; every conv / gemm reads a dequantized input
    const weightDq = graph.node.filter((n) => n.op_type === 'DequantizeLinear' && n.name.endsWith('.weight'));
    assert.equal(weightDq.length, 8);
    for (const n of weightDq) assert.deepEqual(n.attribute?.map((a) => [a.name, Number(a.i)]), [['axis', 0]]);
    for (const l of model.layers) assert.match(graph.node.find((n) => n.name === l.name)!.input[0], /\.input_dequantized/);

    // the whole graph: the same top-1 as our int8 network on every image
    const session = await ort.InferenceSession.create(encodeOnnx(model.arch, tensors, { int8 }), { intraOpNumThreads: 2, graphOptimizationLevel: 'all' });
    const logits = (await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', input, [batch, 3, 224, 224]) }))[session.outputNames[0]].data as Float32Array;
    await session.release();
    const sim = await SimulatedNetwork.int8(model);
    const seen = new Map<string, Float32Array>();
    const ours = await sim.forward(input, batch, (layer, values) => seen.set(layer, values.slice()));
    sim.dispose();
    for (let r = 0; r < batch; r++) {
      assert.equal(argmax(logits.subarray(r * 1000, (r + 1) * 1000)), argmax(ours.subarray(r * 1000, (r + 1) * 1000)), `image ${r}`);
    }
    t.diagnostic(`whole graph: logits relative L2 ${relativeL2(ours, logits).toExponential(2)}`);
    assert.ok(relativeL2(ours, logits) < 0.05, `logits relative L2 ${relativeL2(ours, logits)}`);

    // layer by layer, each on the input our int8 network gave it (a value on a rounding boundary upstream
    // would otherwise move everything after it): the outputs within one step of the next layer's u8 grid
    const segments = splitSegments(model.arch);
    const layers = new Map(model.layers.map((l) => [l.name, l]));
    const runner = await SegmentRunner.build(segments, (name) => ({ weight: dequantizeWeights(layers.get(name)!.weight), bias: layers.get(name)!.bias }), { quantizedOnly: true });
    for (const [i, segment] of segments.entries()) {
      if (!segment.quantized) continue;
      const name = segment.quantized.name;
      const layerInput = seen.get(name)!;
      const mine = await runner.run(i, layerInput, batch);
      const part = await ort.InferenceSession.create(encodeOnnx(segment.arch!, tensors, { int8: new Map([[name, int8.get(name)!]]) }), { intraOpNumThreads: 2 });
      const theirs = (await part.run({ [part.inputNames[0]]: new ort.Tensor('float32', layerInput, [batch, ...segment.arch!.input]) }))[part.outputNames[0]].data as Float32Array;
      await part.release();
      const next = model.layers[model.layers.indexOf(layers.get(name)!) + 1];
      let lo = 0, hi = 0, worst = 0;
      for (let k = 0; k < mine.length; k++) {
        lo = Math.min(lo, mine[k]);
        hi = Math.max(hi, mine[k]);
        worst = Math.max(worst, Math.abs(mine[k] - theirs[k]));
      }
      // the last layer's output (logits) has no u8 grid: its range / 255 stands in
      const step = next ? next.input.scale : (hi - lo) / 255;
      t.diagnostic(`${name}: max difference ${(worst / step).toExponential(2)} steps`);
      // a tenth of a step: the two differ only in the order of fp32 roundings (diagnostics: about 1e-3)
      assert.ok(worst < 0.1 * step, `${name}: ours and onnxruntime ${worst} apart, a step is ${step}`);
    }
    runner.dispose();
  });

  test('convert --precision int8 writes the QDQ graph; onnxruntime loads it', async () => {
    const onnx = join(scratch, 'tv-int8.onnx');
    const r = run('convert', '--precision', 'int8', out, onnx);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /QDQ int8 graph, 8 int8 layers, architecture torchvision \(1000 classes\)/);
    const session = await ort.InferenceSession.create(onnx);
    const result = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', input.subarray(0, 3 * 224 * 224), [1, 3, 224, 224]) });
    assert.deepEqual(result[session.outputNames[0]].dims, [1, 1000]);
    await session.release();
    const bad = run('convert', '--precision', 'int8', out, join(scratch, 'x.safetensors'));
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /Expected an output file ending in \.onnx for --precision int8 but received/);
  });
});

describe('quantize: bad usage', () => {
  test('--out must be .safetensors; --images a positive integer', () => {
    const a = run('quantize', 'random:1', '--calibrate', images, '--out', join(scratch, 'x.onnx'));
    assert.equal(a.status, 2);
    assert.match(a.stderr, /Expected an --out file ending in \.safetensors but received/);
    const b = run('quantize', 'random:1', '--calibrate', join(images, 'astronaut.png'), '--images', '0', '--out', join(scratch, 'y.safetensors'));
    assert.equal(b.status, 2);
    assert.match(b.stderr, /Expected a positive integer for --images but received 0/);
  });
});

describe('quantize: calibration inputs it cannot use (the tiny network of test/reference.ts)', () => {
  const arch = ref.TINY_INT8_ARCH;
  const dir = join(scratch, 'tiny');
  const fp32 = join(dir, 'tiny-fp32.safetensors');
  /** calibration tensors [n, 3, 20, 18] */
  const npy = (name: string, n: number, value: (i: number) => number): string => {
    const path = join(dir, `${name}.npy`);
    writeNpy(path, [n, ...arch.input], Float32Array.from({ length: n * arch.input.reduce((a, b) => a * b, 1) }, (_, i) => value(i)));
    return path;
  };
  const leftovers = () => readdirSync(dir).filter((f) => /\.(unchecked|tmp)-/.test(f));

  before(() => {
    mkdirSync(dir, { recursive: true });
    const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
    let seed = 40;
    for (const layer of inferShapes(arch)) {
      for (const [name, shape] of layer.params) tensors.set(name, { shape, data: ref.randomArray(shape.reduce((a, b) => a * b, 1), seed++, 0.3) });
    }
    // as convert writes a network that is not one of the named ones
    writeSafetensors(fp32, tensors, { arch: arch.name, numClasses: String(arch.numClasses), preprocess: JSON.stringify(arch.preprocess), architecture: JSON.stringify(arch) });
  });

  test('values that overflow fp32 on the way: one line naming the layer and the images; --out kept byte for byte, or not created', () => {
    const cases: Array<[string, string, (i: number) => number, (path: string) => string]> = [
      // conv1's input range -3e38 .. 3e38 is wider than fp32: minmax's scale would be Infinity
      ['signed', 'minmax', (i) => (i % 2 ? 3e38 : -3e38), (path) => `${path}: expected calibration inputs that give conv1 an activation scale finite in fp32 (and > 0, its reciprocal finite) but its input ranges over -3.0000000054977558e+38 .. 3.0000000054977558e+38, scale Infinity`],
      // mse's range for conv1 is finite, but conv1's outputs overflow: conv2 sees Inf and NaN
      ['huge', 'mse', () => 3e38, (path) => `${path}: expected finite values at conv2's input but 40 of 128 are NaN or Inf (the fp32 network overflows on these calibration inputs)`],
    ];
    for (const [name, method, value, message] of cases) {
      const calibration = npy(name, 1, value);
      const existing = join(dir, `${name}-existing.safetensors`);
      writeFileSync(existing, 'the int8 file of an earlier run');
      const replaced = run('quantize', fp32, '-q', '--method', method, '--calibrate', calibration, '--out', existing, '--force');
      assert.equal(replaced.stderr, `alexnet-cli: ${message(calibration)}\n`);
      assert.equal(replaced.status, 1);
      assert.equal(readFileSync(existing, 'utf8'), 'the int8 file of an earlier run');
      const absent = join(dir, `${name}-absent.safetensors`);
      const created = run('quantize', fp32, '-q', '--method', method, '--calibrate', calibration, '--out', absent);
      assert.equal(created.status, 1);
      assert.equal(existsSync(absent), false);
      assert.deepEqual(leftovers(), []);
    }
  });

  test('constant input at a layer: a warning naming it and saying the images do not vary there; the summary says the layer is not calibrated', () => {
    const zeros = npy('zeros', 2, () => 0);
    const out = join(dir, 'zeros-int8.safetensors');
    const warning = `${zeros}: conv1's input is 0 everywhere on every calibration image (the images do not vary there), so its activation range is not calibrated (scale 1 and zero point 0 are a placeholder) and images unlike these will be quantized badly there; calibrate on images like those the model will classify`;
    const text = run('quantize', fp32, '-q', '--calibrate', zeros, '--out', out);
    assert.equal(text.status, 0, text.stderr);
    // a warning is not status: it prints under --quiet
    assert.equal(text.stderr, `alexnet-cli: warning: ${warning}\n`);
    const lines = text.stdout.split('\n');
    assert.equal(lines[0], `${out}: int8 tiny-int8, activations calibrated by mse on 2 images (not conv1: see below)`);
    const agreement = lines.findIndex((l) => l.startsWith('top-1 agreement with fp32 on the calibration images: '));
    assert.equal(lines[agreement + 1], 'NOT CALIBRATED: conv1 saw one input value on every calibration image (warning on stderr): the agreement above, measured on these same images, says nothing about other images');
    const json = run('quantize', fp32, '-q', '--calibrate', zeros, '--out', out, '--force', '--json');
    assert.equal(json.status, 0, json.stderr);
    const table = JSON.parse(json.stdout) as { warnings: string[]; layers: { name: string; constantInput: boolean; inputScale: number; inputZeroPoint: number }[] };
    assert.deepEqual(table.warnings, [warning]);
    assert.deepEqual(table.layers.map((l) => [l.name, l.constantInput]), [['conv1', true], ['conv2', false], ['fc6', false], ['fc8', false]]);
    // onnxruntime's fallback for a range below float32 tiny (quant_utils.compute_scale_zp), in a file every reader takes
    assert.deepEqual([table.layers[0].inputScale, table.layers[0].inputZeroPoint], [1, 0]);
    assert.deepEqual(leftovers(), []);
  });
});

describe('quantize --out: errors name it, links are written through, a signal leaves nothing behind', () => {
  const dir = join(scratch, 'out');
  const arch = ref.TINY_INT8_ARCH;
  const fp32 = join(dir, 'tiny-fp32.safetensors');
  const calibration = join(dir, 'calibration.npy');
  const PREVIOUS = 'the int8 file of an earlier run';
  /** the temporary files quantize leaves in a folder (this version's and the earlier ".unchecked-PID") */
  const leftovers = (folder: string) => readdirSync(folder).filter((f) => /\.(unchecked|tmp)-/.test(f));

  before(() => {
    mkdirSync(dir, { recursive: true });
    const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
    let seed = 60;
    for (const layer of inferShapes(arch)) {
      for (const [name, shape] of layer.params) tensors.set(name, { shape, data: ref.randomArray(shape.reduce((a, b) => a * b, 1), seed++, 0.3) });
    }
    writeSafetensors(fp32, tensors, { arch: arch.name, numClasses: String(arch.numClasses), preprocess: JSON.stringify(arch.preprocess), architecture: JSON.stringify(arch) });
    const size = 2 * arch.input.reduce((a, b) => a * b, 1);
    writeNpy(calibration, [2, ...arch.input], Float32Array.from({ length: size }, (_, i) => Math.sin(i)));
  });
  const quantize = (...args: string[]) => run('quantize', fp32, '-q', '--calibrate', calibration, ...args);

  test('a folder that does not exist, or --out a folder: one line naming --out (as classify -o), nothing left', () => {
    const missing = join(dir, 'no-such-folder', 'q.safetensors');
    const a = quantize('--out', missing);
    assert.equal(a.stderr, `alexnet-cli: ${missing}: could not write (ENOENT: no such file or directory)\n`);
    assert.equal(a.status, 1);
    const folder = join(dir, 'folder.safetensors');
    mkdirSync(folder);
    const b = quantize('--out', folder, '--force');
    assert.equal(b.stderr, `alexnet-cli: ${folder}: could not write (EISDIR: illegal operation on a directory)\n`);
    assert.equal(b.status, 1);
    assert.deepEqual(readdirSync(folder), []);
    assert.deepEqual(leftovers(dir), []);
  });

  test('--force onto a symbolic link: written through it, the link kept, the target\'s permissions kept', async () => {
    const target = join(dir, 'target.safetensors');
    const link = join(dir, 'link.safetensors');
    writeFileSync(target, PREVIOUS);
    chmodSync(target, 0o600);
    symlinkSync('target.safetensors', link);
    const r = quantize('--out', link, '--force');
    assert.equal(r.stderr, '');
    assert.equal(r.status, 0);
    assert.ok(lstatSync(link).isSymbolicLink(), 'the link is still a link');
    assert.equal(readlinkSync(link), 'target.safetensors');
    assert.equal(statSync(target).mode & 0o777, 0o600);
    assert.equal((await readInt8Model(target)).arch.name, arch.name);
    assert.deepEqual(leftovers(dir), []);
  });

  // random:1 AlexNet on 48 photographs: a run long enough to be interrupted while its int8 file is measured
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    test(`${signal} during the run: exit ${signal === 'SIGINT' ? 130 : 143}, no temporary file, --out as it was`, async () => {
      const folder = join(dir, signal);
      const photos = join(folder, 'photos');
      mkdirSync(photos, { recursive: true });
      for (let i = 0; i < 16; i++) {
        for (const name of ['astronaut.png', 'coffee-baseline.jpg', 'chelsea-progressive.jpg']) copyFileSync(join(images, name), join(photos, `${i}-${name}`));
      }
      const out = join(folder, 'q.safetensors');
      writeFileSync(out, PREVIOUS);
      const child = spawn(process.execPath, [cli, 'quantize', 'random:1', '--calibrate', photos, '--images', '48', '--method', 'minmax', '-q', '--force', '-o', out],
        { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8'); });
      let ended = false;
      const exit = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (code, sig) => { ended = true; resolve([code, sig]); }));
      // the int8 file exists under its temporary name once the calibration passes are done: the measuring pass runs
      while (!ended && leftovers(folder).length === 0) await sleep(20);
      assert.equal(ended, false, `the run ended before its int8 file was written: ${stderr}`);
      child.kill(signal);
      const [code, sig] = await exit;
      assert.equal(sig, null, `ended by ${sig}, not by its own exit`);
      assert.equal(code, signal === 'SIGINT' ? 130 : 143);
      assert.equal(stderr, `alexnet-cli: interrupted (${signal}); ${out} was left as it was\n`);
      assert.deepEqual(leftovers(folder), []);
      assert.equal(readFileSync(out, 'utf8'), PREVIOUS);
    });
  }
});
