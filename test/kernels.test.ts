// Native kernels against the naive references in test/reference.ts, for every kernel set (ISA) the CPU
// can run, on odd shapes (sizes that are not multiples of the vector width, groups, asymmetric
// padding, strides, ceil-mode pooling, batch > 1); plus the exact errors of the argument checks.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { native, type Isa, type NativeTensor } from '../lib/native.js';
import * as ref from './reference.js';
import { checkConcurrentLinear, checkTensorReadWrite, isaSkip, tensorPool } from './native-helpers.js';
import { CONV_CASES, convCaseData, linearCaseData, type ConvCase } from './kernel-cases.js';
import { random, randomArray } from './reference.js';

const b = native();
const features = b.cpuFeatures();
// the fp32 kernel sets (avx512-vnni and avx2-vnni run avx512's and avx2's fp32 kernels; their own
// kernels are tested in test/precision.test.ts)
const ALL_ISAS: Isa[] = ['avx512', 'avx2', 'portable'];

// fp32 error bounds against the float64-accumulating reference: relative L2 error of the whole
// output, and the largest absolute error relative to the largest reference magnitude.
const REL_L2_BOUND = 1e-5;
const MAX_ABS_BOUND = 1e-5;

function assertClose(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let diff2 = 0;
  let ref2 = 0;
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= maxDiff)) maxDiff = Number.isNaN(d) ? Infinity : d;
    diff2 += d * d;
    ref2 += expected[i] * expected[i];
    maxRef = Math.max(maxRef, Math.abs(expected[i]));
  }
  const relL2 = Math.sqrt(diff2) / Math.max(Math.sqrt(ref2), 1e-30);
  assert.ok(relL2 <= REL_L2_BOUND, `${what}: relative L2 error ${relL2} > ${REL_L2_BOUND}`);
  assert.ok(maxDiff <= MAX_ABS_BOUND * Math.max(maxRef, 1e-30),
    `${what}: max abs error ${maxDiff} > ${MAX_ABS_BOUND} * ${maxRef}`);
}

const pool = tensorPool((length) => b.alloc('cpu', length));
const { live, upload, empty, dispose } = pool;
after(dispose);

// the CPU's own shapes beside the shared ones: a strided 1x1, Winograd tiles and space-to-depth phases
const CPU_CONV_CASES: ConvCase[] = [
  ...CONV_CASES,
  { name: '1x1 stride 2 padded', batch: 1, inC: 5, inH: 8, inW: 9, outC: 7, kH: 1, kW: 1, sH: 2, sW: 2, pads: [1, 1, 0, 1], groups: 1, bias: true, relu: false },
  // Winograd F(4,3) shapes: sizes that are not multiples of the 4x4 tile, groups, pad 1, batch > 1
  { name: '3x3 pad 1, 11x9, groups 2, batch 3 (Winograd)', batch: 3, inC: 8, inH: 11, inW: 9, outC: 10, kH: 3, kW: 3, sH: 1, sW: 1, pads: [1, 1, 1, 1], groups: 2, bias: true, relu: true },
  { name: '3x3 pad 1, 13x13 like conv3-5, 40 -> 20, batch 2 (Winograd)', batch: 2, inC: 40, inH: 13, inW: 13, outC: 20, kH: 3, kW: 3, sH: 1, sW: 1, pads: [1, 1, 1, 1], groups: 1, bias: true, relu: false },
  // batch 1 at 13x13 is 16 tiles: on AVX-512 the Winograd GEMM takes the 16-column AVX2 kernel set
  { name: '3x3 pad 1, 13x13, 24 -> 30, batch 1 (Winograd, 16 tiles)', batch: 1, inC: 24, inH: 13, inW: 13, outC: 30, kH: 3, kW: 3, sH: 1, sW: 1, pads: [1, 1, 1, 1], groups: 1, bias: true, relu: true },
  { name: '3x3 no pad, 7x6, 5 -> 7, batch 2 (Winograd)', batch: 2, inC: 5, inH: 7, inW: 6, outC: 7, kH: 3, kW: 3, sH: 1, sW: 1, pads: [0, 0, 0, 0], groups: 1, bias: false, relu: false },
  // Winograd F(4,5) shapes (5x5 stride 1): 27x27 like conv2, no pad with a ragged last tile, asymmetric pads and groups
  { name: '5x5 pad 2, 27x27 like conv2, 24 -> 18, batch 2 (Winograd F(4,5))', batch: 2, inC: 24, inH: 27, inW: 27, outC: 18, kH: 5, kW: 5, sH: 1, sW: 1, pads: [2, 2, 2, 2], groups: 1, bias: true, relu: true },
  { name: '5x5 no pad, 9x11, 3 -> 5, batch 3 (Winograd F(4,5))', batch: 3, inC: 3, inH: 9, inW: 11, outC: 5, kH: 5, kW: 5, sH: 1, sW: 1, pads: [0, 0, 0, 0], groups: 1, bias: true, relu: false },
  { name: '5x5 pads 2,1,0,2, 10x7, groups 2, 6 -> 8 (Winograd F(4,5))', batch: 1, inC: 6, inH: 10, inW: 7, outC: 8, kH: 5, kW: 5, sH: 1, sW: 1, pads: [2, 1, 0, 2], groups: 2, bias: false, relu: true },
  // strided convs read B from the stride phases of the input (space-to-depth): kernels not multiples of
  // the stride, pads, groups, batch > 1, outputs not multiples of 4/8/16 wide (a 16-column panel over
  // one, two or more output rows). Where ceil(kernel / stride) is 3x3 or 5x5, ALEXNET_CLI_WINOGRAD=1 runs
  // the stride-1 rewrite over the phase channels on Winograd.
  { name: '11x11 stride 4 pad 2 like torchvision conv1, 17 wide, batch 2 (space-to-depth)', batch: 2, inC: 3, inH: 61, inW: 71, outC: 19, kH: 11, kW: 11, sH: 4, sW: 4, pads: [2, 2, 2, 2], groups: 1, bias: true, relu: true },
  { name: '5x5 stride 2, asymmetric pads, groups 2, batch 3 (space-to-depth)', batch: 3, inC: 6, inH: 23, inW: 21, outC: 10, kH: 5, kW: 5, sH: 2, sW: 2, pads: [2, 1, 1, 2], groups: 2, bias: true, relu: false },
  { name: '7x8 stride 3, 8 wide, batch 2 (space-to-depth)', batch: 2, inC: 4, inH: 29, inW: 26, outC: 7, kH: 7, kW: 8, sH: 3, sW: 3, pads: [1, 3, 0, 2], groups: 1, bias: false, relu: true },
  { name: '9x6 stride 4x2, 20 channels, batch 2 (space-to-depth)', batch: 2, inC: 20, inH: 37, inW: 19, outC: 18, kH: 9, kW: 6, sH: 4, sW: 2, pads: [0, 1, 3, 0], groups: 1, bias: true, relu: true },
  { name: '10x9 stride 2 (a 5x5 rewrite: Winograd F(4,5)), batch 2', batch: 2, inC: 2, inH: 25, inW: 23, outC: 5, kH: 10, kW: 9, sH: 2, sW: 2, pads: [1, 2, 0, 1], groups: 1, bias: true, relu: false },
  { name: '4x4 stride 3 (phases, a 2x2 rewrite: GEMM only), batch 2', batch: 2, inC: 5, inH: 20, inW: 23, outC: 6, kH: 4, kW: 4, sH: 3, sW: 3, pads: [1, 0, 1, 1], groups: 1, bias: true, relu: false },
];

async function checkConv(c: ConvCase): Promise<void> {
  const { dims, input, weight, bias, outputLength } = convCaseData(c);
  const output = empty(outputLength);
  const ns = await b.conv2d(dims, upload(input), upload(weight), bias ? upload(bias) : null, output, c.relu);
  assert.ok(ns > 0, 'resolves with compute nanoseconds');
  const expected = ref.conv2d(dims, input, weight, bias, c.relu);
  assertClose(output.read(), expected, `conv2d ${c.name}`);
  if (!b.packConv) return;
  // weights packed once (GEMM panels, plus Winograd-domain weights for 3x3 and 5x5 stride 1, and for strided
  // convs whose space-to-depth rewrite is such a conv): both paths
  const packed = b.packConv(dims, upload(weight));
  live.push(packed);
  const plain = b.unpackConv!(dims, packed);
  live.push(plain);
  assert.deepEqual(plain.read(), weight, `conv2d ${c.name}: unpackConv gives the weights back`);
  const saved = process.env.ALEXNET_CLI_WINOGRAD;
  try {
    for (const winograd of ['0', '1']) {
      process.env.ALEXNET_CLI_WINOGRAD = winograd;
      const packedOut = empty(outputLength);
      await b.conv2d(dims, upload(input), packed, bias ? upload(bias) : null, packedOut, c.relu);
      assertClose(packedOut.read(), expected, `conv2d ${c.name}, packed, ALEXNET_CLI_WINOGRAD=${winograd}`);
    }
  } finally {
    if (saved === undefined) delete process.env.ALEXNET_CLI_WINOGRAD;
    else process.env.ALEXNET_CLI_WINOGRAD = saved;
  }
  // packed without the Winograd-domain weights: only the panels, and the GEMM path's exact result
  const lean = b.packConv(dims, upload(weight), false);
  live.push(lean);
  // the kernel Winograd runs: the conv's own, or for a strided conv its space-to-depth rewrite's, ceil(k / stride)
  const [rH, rW] = [Math.ceil(c.kH / c.sH), Math.ceil(c.kW / c.sW)];
  const winogradApplies = rH === rW && (rH === 3 || rH === 5);
  if (winogradApplies) assert.ok(lean.length < packed.length, `conv2d ${c.name}: packConv(..., false) leaves the Winograd weights out`);
  else assert.equal(lean.length, packed.length);
  assert.deepEqual(b.unpackConv!(dims, lean).read(), weight, `conv2d ${c.name}: unpackConv of the lean packing`);
  const leanOut = empty(outputLength), gemmOut = empty(outputLength);
  await b.conv2d(dims, upload(input), lean, bias ? upload(bias) : null, leanOut, c.relu);
  process.env.ALEXNET_CLI_WINOGRAD = '0';
  try {
    await b.conv2d(dims, upload(input), packed, bias ? upload(bias) : null, gemmOut, c.relu);
  } finally {
    if (saved === undefined) delete process.env.ALEXNET_CLI_WINOGRAD;
    else process.env.ALEXNET_CLI_WINOGRAD = saved;
  }
  assert.deepEqual(leanOut.read(), gemmOut.read(), `conv2d ${c.name}: lean packing runs the GEMM path`);
}

interface PoolCase {
  name: string;
  batch: number; channels: number; inH: number; inW: number; kH: number; kW: number; sH: number; sW: number;
  pads: [number, number, number, number]; ceil: boolean;
}

const POOL_CASES: PoolCase[] = [
  { name: '3x3 s2 floor', batch: 2, channels: 3, inH: 13, inW: 15, kH: 3, kW: 3, sH: 2, sW: 2, pads: [0, 0, 0, 0], ceil: false },
  { name: '3x3 s2 floor, 55x55 like pool1 (the vectorized rows)', batch: 1, channels: 2, inH: 55, inW: 55, kH: 3, kW: 3, sH: 2, sW: 2, pads: [0, 0, 0, 0], ceil: false },
  { name: '3x3 s2 ceil, 2 wide (a window past the row, none inside it)', batch: 1, channels: 2, inH: 5, inW: 2, kH: 3, kW: 3, sH: 2, sW: 2, pads: [0, 0, 0, 1], ceil: true },
  { name: '3x3 s2 ceil (Caffe)', batch: 2, channels: 3, inH: 14, inW: 12, kH: 3, kW: 3, sH: 2, sW: 2, pads: [0, 0, 0, 0], ceil: true },
  { name: '2x3 s(3,2) asymmetric pads ceil', batch: 1, channels: 5, inH: 11, inW: 10, kH: 2, kW: 3, sH: 3, sW: 2, pads: [1, 0, 0, 1], ceil: true },
  { name: '3x2 s1 pads floor', batch: 3, channels: 2, inH: 7, inW: 9, kH: 3, kW: 2, sH: 1, sW: 1, pads: [1, 1, 1, 0], ceil: false },
];

function poolDims(c: PoolCase): Int32Array {
  const outH = ref.windowOutputSize(c.inH, c.kH, c.sH, c.pads[0], c.pads[2], c.ceil);
  const outW = ref.windowOutputSize(c.inW, c.kW, c.sW, c.pads[1], c.pads[3], c.ceil);
  return Int32Array.from([c.batch, c.channels, c.inH, c.inW, c.kH, c.kW, c.sH, c.sW, ...c.pads, outH, outW]);
}

function definePerIsaTests(): void {
  for (const c of CPU_CONV_CASES) test(`conv2d: ${c.name}`, () => checkConv(c));

  for (const rows of [1, 3, 7, 33]) {
    for (const relu of [false, true]) {
      test(`linear: rows ${rows}, relu ${relu}`, async () => {
        const [inF, outF] = rows === 33 ? [301, 45] : [37, 29];
        const { dims, input, weight, bias } = linearCaseData(rows, inF, outF);
        const output = empty(rows * outF);
        await b.linear(dims, upload(input), upload(weight), upload(bias), output, relu);
        assertClose(output.read(), ref.linear(dims, input, weight, bias, relu), 'linear');
      });
    }
  }

  // packed weights: rows around the micro-kernel heights (1..13), out not a multiple of the 16-wide
  // panel (a narrow last panel), in across several k blocks (1100 > 512) and odd; at 1-4 rows enough
  // panels per thread for the streams read 4, 2 and 1 panels at once (117 = 7 panels + 5, 243 = 15 + 3)
  for (const [rows, inF, outF] of [[1, 37, 29], [2, 1100, 40], [5, 301, 16], [6, 37, 7], [13, 1100, 45], [32, 65, 33],
    [1, 301, 117], [1, 67, 243], [2, 129, 243], [3, 50, 100], [4, 77, 117]]) {
    for (const relu of [false, true]) {
      test(`linear, packed weights: rows ${rows}, ${inF} -> ${outF}, relu ${relu}`, async () => {
        const dims = Int32Array.from([rows, inF, outF]);
        const input = randomArray(rows * inF, 24);
        const weight = randomArray(outF * inF, 25, 0.3);
        const bias = relu ? randomArray(outF, 26) : null;
        const packed = await b.packLinear!(Int32Array.of(outF, inF), upload(weight));
        live.push(packed);
        const output = empty(rows * outF);
        await b.linear(dims, upload(input), packed, bias && upload(bias), output, relu);
        assertClose(output.read(), ref.linear(dims, input, weight, bias, relu), 'linear packed');
      });
    }
  }

  // in 1000 spans several KC blocks; out 4100 spans more than one NC block on one thread
  test('linear: rows 7, 1000 -> 4100, no bias', async () => {
    const dims = Int32Array.from([7, 1000, 4100]);
    const input = randomArray(7 * 1000, 7);
    const weight = randomArray(4100 * 1000, 8, 0.05);
    const output = empty(7 * 4100);
    await b.linear(dims, upload(input), upload(weight), null, output, false);
    assertClose(output.read(), ref.linear(dims, input, weight, null, false), 'linear big');
  });

  for (const c of POOL_CASES) {
    test(`maxPool2d: ${c.name}`, async () => {
      const dims = poolDims(c);
      const input = randomArray(c.batch * c.channels * c.inH * c.inW, 9);
      const output = empty(c.batch * c.channels * dims[12] * dims[13]);
      await b.maxPool2d(dims, upload(input), output);
      assertClose(output.read(), ref.maxPool2d(dims, input), 'maxPool2d');
    });
    for (const countIncludePad of [false, true]) {
      test(`avgPool2d: ${c.name}, countIncludePad ${countIncludePad}`, async () => {
        const dims = poolDims(c);
        const input = randomArray(c.batch * c.channels * c.inH * c.inW, 10);
        const output = empty(c.batch * c.channels * dims[12] * dims[13]);
        await b.avgPool2d(dims, upload(input), output, countIncludePad);
        assertClose(output.read(), ref.avgPool2d(dims, input, countIncludePad), 'avgPool2d');
      });
    }
  }

  const LRN_CASES = [
    { name: 'size 5, caffe constants, activations ~100', dims: [2, 7, 5, 6, 5], alpha: 1e-4, beta: 0.75, k: 1, scale: 100 },
    { name: 'size 4 (uneven window), strong', dims: [1, 9, 3, 7, 4], alpha: 0.5, beta: 0.6, k: 2, scale: 2 },
    { name: 'size 3, fewer channels than size', dims: [3, 2, 4, 5, 3], alpha: 1, beta: 1, k: 1.5, scale: 1 },
    // planes of more than one 512-pixel work item, the last one partial
    { name: 'size 5, planes of 23x31 pixels', dims: [2, 6, 23, 31, 5], alpha: 1e-4, beta: 0.75, k: 1, scale: 50 },
    { name: 'size 3, beta 0.6, planes of 33x35 pixels', dims: [1, 4, 33, 35, 3], alpha: 0.3, beta: 0.6, k: 1.2, scale: 3 },
  ];
  for (const c of LRN_CASES) {
    test(`lrn: ${c.name}`, async () => {
      const dims = Int32Array.from(c.dims);
      const count = c.dims[0] * c.dims[1] * c.dims[2] * c.dims[3];
      const input = randomArray(count, 11, c.scale);
      const output = empty(count);
      await b.lrn(dims, upload(input), output, c.alpha, c.beta, c.k);
      assertClose(output.read(), ref.lrn(dims, input, c.alpha, c.beta, c.k), 'lrn');
    });
  }

  test('softmax: 3 rows of 1001, large logits', async () => {
    const dims = Int32Array.from([3, 1001]);
    const input = randomArray(3 * 1001, 12, 50);
    const output = empty(3 * 1001);
    await b.softmax(dims, upload(input), output);
    assertClose(output.read(), ref.softmax(dims, input), 'softmax');
  });

  test('softmax: in place, 1 row of 7', async () => {
    const dims = Int32Array.from([1, 7]);
    const input = randomArray(7, 13, 3);
    const t = upload(input);
    await b.softmax(dims, t, t);
    assertClose(t.read(), ref.softmax(dims, input), 'softmax in place');
  });

  for (const d of [[2, 3, 13, 13, 6, 6], [1, 4, 5, 7, 3, 4], [2, 2, 6, 6, 6, 6], [1, 3, 2, 3, 5, 4]]) {
    test(`adaptiveAvgPool2d: ${d[2]}x${d[3]} -> ${d[4]}x${d[5]}`, async () => {
      const dims = Int32Array.from(d);
      const input = randomArray(d[0] * d[1] * d[2] * d[3], 14);
      const output = empty(d[0] * d[1] * d[4] * d[5]);
      await b.adaptiveAvgPool2d(dims, upload(input), output);
      assertClose(output.read(), ref.adaptiveAvgPool2d(dims, input), 'adaptiveAvgPool2d');
    });
  }

  test('relu: out of place and in place', async () => {
    const input = randomArray(1003, 15);
    const output = empty(1003);
    const t = upload(input);
    await b.relu(t, output);
    assert.deepEqual(output.read(), ref.relu(input));
    await b.relu(t, t);
    assert.deepEqual(t.read(), ref.relu(input));
  });
}

for (const isa of ALL_ISAS) {
  const skip = isaSkip(features, isa);
  describe(`kernels, isa ${isa}`, { skip }, () => {
    before(() => {
      assert.equal(b.setIsa(isa), isa);
      assert.equal(b.cpuFeatures().isa, isa);
    });
    definePerIsaTests();
  });
}

// lrn.cc's work items are 512-pixel chunks of a plane: planes of exactly one chunk, one pixel past it, a single pixel,
// and a partial last chunk; pow (beta not 0.75) and the sqrt form; windows wider than the channels; more threads than
// items. Every kernel set and thread count gives the bits of the first, and that is within fp32 of the twin.
test('lrn: chunk edges (planes of 512, 513, 1 and 1100 pixels), pow and sqrt forms, the same bits on every kernel set and thread count', async () => {
  const cases = [
    { dims: [2, 5, 16, 32, 5], alpha: 1e-4, beta: 0.75, k: 1, scale: 80 },   // 512 pixels: one whole chunk
    { dims: [1, 3, 19, 27, 4], alpha: 0.5, beta: 0.75, k: 2, scale: 3 },      // 513: a chunk and one pixel, even size
    { dims: [3, 7, 1, 1, 3], alpha: 0.7, beta: 0.6, k: 1.5, scale: 2 },       // one pixel: 3 items for 5 threads
    { dims: [1, 2, 25, 44, 7], alpha: 2, beta: 1.3, k: 0.5, scale: 4 },       // 1100: window wider than the channels
    { dims: [3, 9, 29, 37, 5], alpha: 1e-4, beta: 0.75, k: 1, scale: 20 },    // 1073 x 3 images: caffe's constants
  ];
  const saved = b.getThreads();
  try {
    for (const c of cases) {
      const dims = Int32Array.from(c.dims);
      const count = c.dims[0] * c.dims[1] * c.dims[2] * c.dims[3];
      const input = randomArray(count, 31 + c.dims[3], c.scale);
      const results: Array<[string, Float32Array]> = [];
      for (const isa of features.supported)
        for (const threads of [1, 2, 5]) {
          b.setIsa(isa);
          b.setThreads(threads);
          const output = empty(count);
          await b.lrn(dims, upload(input), output, c.alpha, c.beta, c.k);
          results.push([`${c.dims}: ${isa}, ${threads} thread(s)`, output.read()]);
        }
      assertClose(results[0][1], ref.lrn(dims, input, c.alpha, c.beta, c.k), `lrn ${c.dims}`);
      for (const [name, out] of results.slice(1)) assert.deepEqual(out, results[0][1], name);
    }
  } finally {
    b.setIsa('auto');
    b.setThreads(saved);
  }
});

// the GEMM splits work by thread count: 1 thread (no split) and 3 (more threads than this CI's cores)
for (const threads of [1, 3]) {
  describe(`kernels, best isa, ${threads} thread(s)`, () => {
    const saved = b.getThreads();
    before(() => { b.setIsa('auto'); b.setThreads(threads); assert.equal(b.getThreads(), threads); });
    after(() => b.setThreads(saved));
    for (const c of CPU_CONV_CASES) test(`conv2d: ${c.name}`, () => checkConv(c));
    test('linear, packed weights: rows 7, 1000 -> 4100', async () => {
      const dims = Int32Array.from([7, 1000, 4100]);
      const input = randomArray(7 * 1000, 16);
      const weight = randomArray(4100 * 1000, 17, 0.05);
      const bias = randomArray(4100, 18);
      const packed = await b.packLinear!(Int32Array.of(4100, 1000), upload(weight));
      live.push(packed);
      const output = empty(7 * 4100);
      await b.linear(dims, upload(input), packed, upload(bias), output, true);
      assertClose(output.read(), ref.linear(dims, input, weight, bias, true), 'linear packed big');
    });
    test('linear: rows 7, 1000 -> 4100', async () => {
      const dims = Int32Array.from([7, 1000, 4100]);
      const input = randomArray(7 * 1000, 16);
      const weight = randomArray(4100 * 1000, 17, 0.05);
      const bias = randomArray(4100, 18);
      const output = empty(7 * 4100);
      await b.linear(dims, upload(input), upload(weight), upload(bias), output, true);
      assertClose(output.read(), ref.linear(dims, input, weight, bias, true), 'linear big');
    });
  });
}

describe('packed linear weights', () => {
  test('packLinear consumes the weight at the call, packs off the main thread; unpackLinear gives it back exactly', async () => {
    const weight = randomArray(45 * 301, 27);
    const plain = upload(weight);
    const pending = b.packLinear!(Int32Array.of(45, 301), plain);
    assert.ok(pending instanceof Promise);
    assert.throws(() => plain.read(), { code: 'ERR_DISPOSED' });
    const packed = await pending;
    live.push(packed);
    assert.equal(packed.length, weight.length);
    assert.notDeepEqual(packed.read(), weight);
    assert.throws(() => plain.read(), { code: 'ERR_DISPOSED' });
    const back = b.unpackLinear!(Int32Array.of(45, 301), packed);
    live.push(back);
    assert.deepEqual(back.read(), weight);
  });

  test('linear rejects weights packed for other dims', async () => {
    const packed = await b.packLinear!(Int32Array.of(15, 20), upload(randomArray(300, 28)));
    live.push(packed);
    assert.throws(() => b.linear(Int32Array.of(1, 15, 20), empty(15), packed, null, empty(20), false), {
      code: 'ERR_SHAPE',
      message: 'Expected weights packed for 20 x 15 for weight but received weights packed for 15 x 20',
    });
  });

  test('packLinear checks the length and refuses packed weights', async () => {
    assert.throws(() => b.packLinear!(Int32Array.of(4, 5), empty(21)), { code: 'ERR_SHAPE' });
    const packed = await b.packLinear!(Int32Array.of(4, 5), upload(randomArray(20, 29)));
    live.push(packed);
    assert.throws(() => b.packLinear!(Int32Array.of(4, 5), packed), {
      code: 'ERR_ARG', message: 'Expected an unpacked weight for weight but received a NativeTensor packed by packLinear',
    });
  });

  test('peakGflops measures a positive rate on the kernel threads', () => {
    assert.ok(b.peakGflops!(b.getThreads()) > 0);
    assert.throws(() => b.peakGflops!(b.getThreads() + 1), { code: 'ERR_ARG' });
  });

  test('memoryBandwidth measures positive read and copy rates', () => {
    const bandwidth = b.memoryBandwidth!(8);
    assert.ok(bandwidth.readGBps > 0 && bandwidth.copyGBps > 0);
    assert.throws(() => b.memoryBandwidth!(0), { code: 'ERR_ARG', message: 'Expected an integer in [1, 65536] for megabytes but received 0' });
  });
});

test('concurrent primitives on separate buffers give the same results as one at a time', async () => {
  await checkConcurrentLinear(b, pool, assertClose);
});

describe('cpu features and ISA selection', () => {
  test('cpuFeatures reports what it can run', () => {
    const f = b.cpuFeatures();
    assert.equal(typeof f.avx2, 'boolean');
    assert.equal(typeof f.fma, 'boolean');
    assert.equal(typeof f.avx512f, 'boolean');
    assert.ok(f.supported.includes('portable'));
    assert.ok(f.compiled.includes('portable'));
    assert.ok(f.supported.every((isa) => f.compiled.includes(isa)));
    assert.equal(b.setIsa('auto'), f.supported[0]);
    assert.deepEqual(b.backends(), ['cpu']);
  });

  test('setIsa rejects unknown and unsupported kernel sets', () => {
    assert.throws(() => b.setIsa('sse' as Isa), {
      code: 'ERR_ARG', message: "Expected one of 'avx512-vnni', 'avx512', 'avx2-vnni', 'avx2', 'portable', 'auto' for isa but received 'sse'",
    });
    const unsupported = ALL_ISAS.find((isa) => !features.supported.includes(isa));
    if (unsupported) {
      assert.throws(() => b.setIsa(unsupported), {
        code: 'ERR_ISA',
        message: `Expected a kernel set this CPU supports (${features.supported.join(', ')}) for isa but received '${unsupported}'`,
      });
    }
  });

  const loadWithEnv = (value: string) => spawnSync(process.execPath, ['-e', `
    try { const b = require(${JSON.stringify(createRequire(import.meta.url).resolve('../../build/Release/alexnet_native.node'))});
      console.log(JSON.stringify({ isa: b.cpuFeatures().isa })); }
    catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`],
  { env: { ...process.env, ALEXNET_CLI_ISA: value }, encoding: 'utf8' });

  test('ALEXNET_CLI_ISA forces a kernel set at load', () => {
    const r = loadWithEnv('portable');
    assert.deepEqual(JSON.parse(r.stdout), { isa: 'portable' });
    const bad = loadWithEnv('mmx');
    assert.deepEqual(JSON.parse(bad.stdout), {
      code: 'ERR_ARG', message: "Expected one of 'avx512-vnni', 'avx512', 'avx2-vnni', 'avx2', 'portable', 'auto' for ALEXNET_CLI_ISA but received 'mmx'",
    });
  });

  test('setThreads checks its argument', () => {
    assert.throws(() => b.setThreads(0), { code: 'ERR_ARG', message: 'Expected an integer in [1, 1024] for threads but received 0' });
    assert.throws(() => b.setThreads(1.5), { code: 'ERR_ARG', message: 'Expected an integer in [1, 1024] for threads but received 1.5' });
  });
});

describe('argument errors', () => {
  // a valid conv2d: 1x3x7x7 -> 4 channels, 3x3, stride 1, no pad -> 5x5
  const convDims = () => Int32Array.from([1, 3, 7, 7, 4, 3, 3, 1, 1, 0, 0, 0, 0, 1, 5, 5]);
  const input = () => empty(3 * 7 * 7);
  const weight = () => empty(4 * 3 * 3 * 3);
  const bias = () => empty(4);
  const output = () => empty(4 * 5 * 5);

  test('a valid call resolves', async () => {
    assert.ok(await b.conv2d(convDims(), input(), weight(), bias(), output(), true) > 0);
  });

  test('dims must be an Int32Array of the right length', () => {
    assert.throws(() => b.conv2d(convDims().subarray(1), input(), weight(), bias(), output(), true), {
      code: 'ERR_ARG', message: 'Expected an Int32Array of 16 elements for dims but received Int32Array(15)',
    });
    assert.throws(() => b.conv2d(Float32Array.from(convDims()) as unknown as Int32Array, input(), weight(), bias(), output(), true), {
      code: 'ERR_ARG', message: 'Expected an Int32Array of 16 elements for dims but received Float32Array(16)',
    });
    assert.throws(() => b.softmax([1, 2] as unknown as Int32Array, input(), output()), {
      code: 'ERR_ARG', message: 'Expected an Int32Array of 2 elements for dims but received Array(2)',
    });
  });

  test('dims must be positive, pads non-negative', () => {
    const d = convDims(); d[0] = 0;
    assert.throws(() => b.conv2d(d, input(), weight(), bias(), output(), true), {
      code: 'ERR_SHAPE', message: 'Expected a positive integer of at most 16777216 for dims[0] (batch) but received 0',
    });
    const p = convDims(); p[9] = -1;
    assert.throws(() => b.conv2d(p, input(), weight(), bias(), output(), true), {
      code: 'ERR_SHAPE', message: 'Expected a non-negative integer of at most 16777216 for dims[9] (padTop) but received -1',
    });
    assert.throws(() => b.lrn(Int32Array.from([1, 3, 7, 7, 0]), input(), output(), 1e-4, 0.75, 1), {
      code: 'ERR_SHAPE', message: 'Expected a positive integer of at most 16777216 for dims[4] (size) but received 0',
    });
  });

  test('conv2d shape consistency', () => {
    const g = convDims(); g[13] = 2;
    assert.throws(() => b.conv2d(g, input(), weight(), bias(), output(), true), {
      code: 'ERR_SHAPE', message: 'Expected a divisor of inChannels 3 and outChannels 4 for groups but received 2',
    });
    const o = convDims(); o[14] = 6;
    assert.throws(() => b.conv2d(o, input(), weight(), bias(), output(), true), {
      code: 'ERR_SHAPE', message: 'Expected 5 for outHeight but received 6',
    });
    const k = convDims(); k[5] = 9;
    assert.throws(() => b.conv2d(k, input(), weight(), bias(), output(), true), {
      code: 'ERR_SHAPE', message: 'Expected at most 7 (inHeight + padTop + padBottom) for kernelH but received 9',
    });
  });

  test('buffer lengths are checked', () => {
    assert.throws(() => b.conv2d(convDims(), empty(146), weight(), bias(), output(), true), {
      code: 'ERR_SHAPE', message: 'Expected a NativeTensor of at least 147 elements for input but received NativeTensor(146)',
    });
    assert.throws(() => b.conv2d(convDims(), input(), empty(107), bias(), output(), true), {
      code: 'ERR_SHAPE', message: 'Expected a NativeTensor of 108 elements for weight but received NativeTensor(107)',
    });
    assert.throws(() => b.conv2d(convDims(), input(), weight(), empty(5), output(), true), {
      code: 'ERR_SHAPE', message: 'Expected a NativeTensor of 4 elements for bias but received NativeTensor(5)',
    });
    assert.throws(() => b.conv2d(convDims(), input(), weight(), bias(), empty(99), true), {
      code: 'ERR_SHAPE', message: 'Expected a NativeTensor of at least 100 elements for output but received NativeTensor(99)',
    });
    assert.throws(() => b.linear(Int32Array.from([2, 10, 3]), empty(20), empty(31), null, empty(6), false), {
      code: 'ERR_SHAPE', message: 'Expected a NativeTensor of 30 elements for weight but received NativeTensor(31)',
    });
    assert.throws(() => b.relu(empty(10), empty(9)), {
      code: 'ERR_SHAPE', message: 'Expected a NativeTensor of at least 10 elements for output but received NativeTensor(9)',
    });
  });

  test('tensor arguments are checked', () => {
    assert.throws(() => b.conv2d(convDims(), new Float32Array(147) as unknown as NativeTensor, weight(), bias(), output(), true), {
      code: 'ERR_ARG', message: 'Expected a NativeTensor for input but received Float32Array(147)',
    });
    assert.throws(() => b.conv2d(convDims(), input(), weight(), 'x' as unknown as NativeTensor, output(), true), {
      code: 'ERR_ARG', message: "Expected a NativeTensor or null for bias but received 'x'",
    });
    assert.throws(() => b.conv2d(convDims(), input(), weight(), bias(), output(), 1 as unknown as boolean), {
      code: 'ERR_ARG', message: 'Expected a boolean for relu but received 1',
    });
    const t = empty(4 * 5 * 5 * 3);
    assert.throws(() => b.conv2d(convDims(), t, weight(), bias(), t, true), {
      code: 'ERR_ARG', message: 'Expected a NativeTensor other than input for output but received the same NativeTensor',
    });
    assert.throws(() => b.lrn(Int32Array.from([1, 3, 7, 7, 5]), input(), output(), Number.NaN, 0.75, 1), {
      code: 'ERR_ARG', message: 'Expected a finite number for alpha but received NaN',
    });
  });

  test('pool output size must be the floor or ceil rounding', () => {
    // 14 in, 3x3 stride 2: floor 6, ceil 7
    const dims = Int32Array.from([1, 1, 14, 14, 3, 3, 2, 2, 0, 0, 0, 0, 8, 6]);
    assert.throws(() => b.maxPool2d(dims, empty(196), empty(64)), {
      code: 'ERR_SHAPE', message: 'Expected 6 or 7 for outHeight but received 8',
    });
    dims[12] = 7; dims[13] = 5;
    assert.throws(() => b.avgPool2d(dims, empty(196), empty(64), false), {
      code: 'ERR_SHAPE', message: 'Expected 6 or 7 for outWidth but received 5',
    });
    dims[0] = 1; dims[2] = 13; dims[12] = 7; dims[13] = 6;
    assert.throws(() => b.maxPool2d(dims, empty(196), empty(64)), {
      code: 'ERR_SHAPE', message: 'Expected 6 for outHeight but received 7',
    });
  });

  test('disposed buffers', async () => {
    const t = b.alloc('cpu', 147);
    t.dispose();
    assert.throws(() => b.conv2d(convDims(), t, weight(), bias(), output(), true), {
      code: 'ERR_DISPOSED', message: 'Expected a live NativeTensor for input but received a disposed NativeTensor',
    });
    assert.throws(() => t.read(), {
      code: 'ERR_DISPOSED', message: 'Expected a live NativeTensor for this but received a disposed NativeTensor',
    });
    t.dispose(); // twice is fine
    // disposing while a kernel runs is safe: the kernel keeps the memory until it finishes
    const i = b.alloc('cpu', 147);
    const pending = b.conv2d(convDims(), i, weight(), bias(), output(), false);
    i.dispose();
    assert.ok(await pending > 0);
  });

  test('alloc, write and read', () => {
    assert.throws(() => b.alloc('cuda', 4), { code: 'ERR_DEVICE', message: "Expected 'cpu' for device but received 'cuda'" });
    assert.throws(() => b.alloc('cpu', -1), { code: 'ERR_ARG', message: 'Expected a non-negative integer for length but received -1' });
    assert.throws(() => b.alloc('cpu', 2 ** 52), {
      code: 'ERR_ALLOC', message: 'Expected enough free memory for alloc(4503599627370496) but received an allocation failure',
    });
    const t = empty(10);
    assert.equal(t.device, 'cpu');
    checkTensorReadWrite(t);
    assert.throws(() => t.write([1, 2] as unknown as Float32Array), {
      code: 'ERR_ARG', message: 'Expected a Float32Array for src but received Array(2)',
    });
    assert.throws(() => t.read(11), { code: 'ERR_ARG', message: 'Expected an integer in [0, 10] for offset but received 11' });
  });

  test('fromFile reads float32 LE at a byte offset, ERR_IO with the path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'alexnet-kernels-'));
    try {
      const path = join(dir, 'weights.bin');
      const values = Float32Array.from([1.5, -2, 3.25, 4]);
      const bytes = Buffer.alloc(8 + 16);
      values.forEach((v, i) => bytes.writeFloatLE(v, 8 + 4 * i));
      writeFileSync(path, bytes);
      const t = await b.fromFile('cpu', path, 8, 4);
      live.push(t);
      assert.equal(t.length, 4);
      assert.deepEqual(t.read(), values);
      await assert.rejects(b.fromFile('cpu', path, 12, 4), {
        code: 'ERR_IO', message: `Expected 16 bytes at byte offset 12 for '${path}' but received 12 bytes`,
      });
      const missing = join(dir, 'missing.bin');
      await assert.rejects(b.fromFile('cpu', missing, 0, 1), {
        code: 'ERR_IO', message: `Expected a readable file for path but received '${missing}' (No such file or directory)`,
      });
      assert.throws(() => b.fromFile('cpu', path, -1, 1), {
        code: 'ERR_ARG', message: 'Expected a non-negative integer for byteOffset but received -1',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// The Winograd transforms are generated (and checked in exact arithmetic) by scripts/winograd_gen.py:
// the committed winograd-coeffs.inc must be what the script makes now.
test('native/kernels/cpu/winograd-coeffs.inc is what scripts/winograd_gen.py generates', (t) => {
  const root = join(createRequire(import.meta.url).resolve('../../package.json'), '..');
  const python = spawnSync('python3', [join(root, 'scripts/winograd_gen.py')], { encoding: 'utf8' });
  if (python.error) {
    t.skip(`python3 is not available to run the generator: ${python.error.message}`);
    return;
  }
  assert.equal(python.status, 0, python.stderr);
  assert.equal(python.stdout, readFileSync(join(root, 'native/kernels/cpu/winograd-coeffs.inc'), 'utf8'));
});
