// The reduced-precision convolutions (bf16 and int8, native/kernels/cpu/lowp-conv.cc) against their naive
// twins in test/reference.ts, for every kernel set the CPU can run, on odd shapes: channels that are not
// multiples of the 16-channel panel, k not a multiple of the 2- or 4-wide k step, groups, asymmetric
// padding (windows partly and wholly in the padding), strides, batches with several pixel blocks. int8: the
// same integers, and the same output to the bit after the fp32 epilogue; bf16: within fp32 summation of
// bf16 products. Also packQuantized (the quantized file's weights) against packLinear / packConv.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_ISAS, native, type NativeTensor } from '../lib/native.js';
import * as ref from './reference.js';
import { int8Weights, isaSkip, relativeErrors, tensorPool } from './native-helpers.js';
import { random, randomArray } from './reference.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const b = native();
const features = b.cpuFeatures();

const { live, upload, empty, dispose } = tensorPool((length) => b.alloc('cpu', length));
after(() => { dispose(); b.setIsa('auto'); });

/** conv2d dims with the output size filled in */
function convDims(batch: number, inC: number, inH: number, inW: number, outC: number, kH: number, kW: number, sH: number,
  sW: number, pads: [number, number, number, number], groups: number): Int32Array {
  const [pt, pl, pb, pr] = pads;
  const outH = Math.floor((inH + pt + pb - kH) / sH) + 1;
  const outW = Math.floor((inW + pl + pr - kW) / sW) + 1;
  return Int32Array.of(batch, inC, inH, inW, outC, kH, kW, sH, sW, pt, pl, pb, pr, groups, outH, outW);
}
const weightCount = (d: Int32Array) => d[4] * (d[1] / d[13]) * d[5] * d[6];
const outCount = (d: Int32Array) => d[0] * d[4] * d[14] * d[15];
const inCount = (d: Int32Array) => d[0] * d[1] * d[2] * d[3];

const SHAPES: Array<[string, Int32Array]> = [
  ['5x3 stride 2x1, asymmetric pads', convDims(1, 3, 13, 11, 17, 5, 3, 2, 1, [2, 1, 0, 1], 1)],
  ['3x3 two groups', convDims(2, 6, 9, 9, 10, 3, 3, 1, 1, [1, 1, 1, 1], 2)],
  ['1x1, 33 channels', convDims(3, 5, 7, 8, 33, 1, 1, 1, 1, [0, 0, 0, 0], 1)],
  ['11x11 stride 4 (conv1-like)', convDims(1, 3, 23, 21, 20, 11, 11, 4, 4, [2, 2, 2, 2], 1)],
  ['3x3 groups 2, 24 per group, batch 5', convDims(5, 8, 6, 6, 48, 3, 3, 1, 1, [1, 1, 1, 1], 2)],
  ['5x5, batch 2, many pixel blocks', convDims(2, 16, 15, 15, 40, 5, 5, 1, 1, [2, 2, 2, 2], 1)],
  ['2x2 with windows wholly in the padding', convDims(1, 2, 4, 3, 5, 2, 2, 1, 1, [2, 3, 2, 3], 1)],
  ['3x3 groups 3, k = 27', convDims(2, 9, 10, 7, 21, 3, 3, 2, 2, [0, 1, 1, 0], 3)],
  // 16-channel multiples: the input's u8 16x16 transposes, with pixel runs that end past and before 16
  ['3x3, 32 channels, 19x18', convDims(2, 32, 19, 18, 24, 3, 3, 1, 1, [1, 1, 1, 1], 1)],
  ['3x3 groups 2 of 16 channels, 7x17', convDims(1, 32, 7, 17, 20, 3, 3, 1, 1, [1, 0, 1, 2], 2)],
  // int8 reads patches in place (lowp-conv.cc gather kernels): kernel rows padded to whole 4-byte k steps read
  // up to 3 bytes past their window (the next pixel, the next group's plane, or the slack after the input)
  ['1x1 stride 3, 7 channels (rows of 7 bytes in 8), no padding, batch 3', convDims(3, 7, 10, 11, 19, 1, 1, 3, 3, [0, 0, 0, 0], 1)],
  ['2x3 stride 3x4 (stride past the kernel), groups 2 of 3, batch 3, no padding', convDims(3, 6, 11, 13, 8, 2, 3, 3, 4, [0, 0, 0, 0], 2)],
  ['1x7 stride 2, groups 3 of 3 (rows of 21 bytes in 24), batch 2, last window at the input\'s end', convDims(2, 9, 5, 15, 12, 1, 7, 2, 2, [0, 0, 0, 0], 3)],
  ['5x5 larger than the 3x2 input, asymmetric pads, one output pixel, batch 2', convDims(2, 3, 3, 2, 7, 5, 5, 1, 1, [1, 2, 1, 1], 1)],
  ['3x3 stride 2, groups 2, batch 2, windows wholly in the padding on every side', convDims(2, 4, 2, 3, 6, 3, 3, 2, 2, [3, 2, 3, 2], 2)],
  ['7x1 stride 1x5, 5 channels, pads only bottom and right, batch 2', convDims(2, 5, 9, 12, 18, 7, 1, 1, 5, [0, 0, 2, 3], 1)],
  ['3x3 stride 2, 5 channels, pads only top and left, last window at the padded input\'s end', convDims(1, 5, 8, 10, 9, 3, 3, 2, 2, [3, 1, 0, 0], 1)],
  // pads only above and below: each image's rows still follow one another in the padded copy (converted whole runs at a time)
  ['3x3, 16 channels, 9x17, pads only top and bottom, batch 2', convDims(2, 16, 9, 17, 12, 3, 3, 1, 1, [1, 0, 2, 0], 1)],
  ['5x5 stride 2, RGB 12x37, pads only top and bottom', convDims(1, 3, 12, 37, 8, 5, 5, 2, 2, [2, 0, 1, 0], 1)],
  // few pixels and more than 4 panels: the threads' tasks cut the panels too, at whole 4-panel groups
  // (lowp-conv.cc), the last chunk short
  ['3x3 pad 1, 150 channels (10 panels) from 8, 9x7', convDims(1, 8, 9, 7, 150, 3, 3, 1, 1, [1, 1, 1, 1], 1)],
  ['3x3 groups 2 of 72 channels (5 panels each), 6x5, batch 2', convDims(2, 10, 6, 5, 144, 3, 3, 1, 1, [1, 1, 1, 1], 2)],
];

// bf16 Winograd (stride 1, 3x3 and 5x5; ALEXNET_CLI_WINOGRAD=1 forces it below 16 channels): tiles that
// overhang the output, odd channel counts (a k pair half padding, a partial 16-channel panel), groups,
// asymmetric pads, and a batch of several 128-tile chunks with a short last one
const WINOGRAD_SHAPES: Array<[string, Int32Array]> = [
  ['3x3 pad 1, 13x13 like conv3-5, 40 -> 20, batch 2', convDims(2, 40, 13, 13, 20, 3, 3, 1, 1, [1, 1, 1, 1], 1)],
  ['3x3 no pad, 7x6, 5 -> 17', convDims(2, 5, 7, 6, 17, 3, 3, 1, 1, [0, 0, 0, 0], 1)],
  ['3x3 groups 2 of 9 -> 10, 11x9, pads 1,0,2,1, batch 3', convDims(3, 18, 11, 9, 20, 3, 3, 1, 1, [1, 0, 2, 1], 2)],
  ['5x5 pad 2, 27x27 like conv2, 24 -> 18', convDims(1, 24, 27, 27, 18, 5, 5, 1, 1, [2, 2, 2, 2], 1)],
  ['5x5 groups 2, 10x7, pads 2,1,0,2', convDims(1, 6, 10, 7, 8, 5, 5, 1, 1, [2, 1, 0, 2], 2)],
  ['3x3 pad 1, 5x5 images (4 tiles each), batch 35: chunks of 32, 3', convDims(35, 4, 5, 5, 6, 3, 3, 1, 1, [1, 1, 1, 1], 1)],
  // strided convs on their space-to-depth rewrite (conv1: 11x11 stride 4 -> 3x3 over 48 phase channels); batch 3
  // splits into one image per thread and the one left over
  ['11x11 stride 4, pads 2 (conv1-like: F(4,3) on 48 phases), 39x35, batch 3', convDims(3, 3, 39, 35, 20, 11, 11, 4, 4, [2, 2, 2, 2], 1)],
  ['10x9 stride 2, pads 1,2,0,1 (a 5x5 rewrite: F(4,5)), 25x23', convDims(1, 4, 25, 23, 6, 10, 9, 2, 2, [1, 2, 0, 1], 1)],
];
// against the twin (U and V in double, then rounded to bf16; M and the output transform in double): the kernel's
// V comes out of fp32 transforms, so a V within a few fp32 steps of a bf16 rounding midpoint may round the other
// way (more often without FMA, portable); the twin says how far each output could move by that (`flips`). Past
// it, fp32 summation: measured at most 2.2e-6 of the largest output on these shapes. bf16 Winograd itself is 2-5%
// from the fp32 conv on these zero-mean random inputs (direct bf16: ~0.2%), and a rounding that truncates instead
// fails every shape.
const WINOGRAD_BF16_SLACK = 2e-5;
function winogradExcess(actual: Float32Array, twin: Float32Array, flips: Float64Array): { worst: number; at: number; affected: number } {
  let scale = 0;
  for (const v of twin) scale = Math.max(scale, Math.abs(v));
  let worst = -Infinity, at = -1, affected = 0;
  for (let i = 0; i < twin.length; i++) {
    if (flips[i] > 0) affected++;
    const excess = Math.abs(actual[i] - twin[i]) - flips[i] - WINOGRAD_BF16_SLACK * scale;
    if (!(excess <= worst)) { worst = Number.isNaN(excess) ? Infinity : excess; at = i; }
  }
  return { worst, at, affected };
}

async function packConv(dims: Int32Array, weight: Float32Array, precision: 'bf16' | 'int8'): Promise<NativeTensor> {
  const packed = b.packConv!(dims, upload(weight), false, precision);
  live.push(packed);
  return packed;
}

function defineTests(): void {
  for (const [name, dims] of SHAPES) {
    const k = weightCount(dims) / dims[4];

    test(`int8 conv, ${name}: the same integers as the naive twin`, async () => {
      const { weight } = int8Weights(dims[4], k, k + dims[4]);
      const packed = await packConv(dims, weight, 'int8');
      const info = b.linearWeightInfo!(packed);
      assert.equal(info.precision, 'int8');
      assert.deepEqual(info.scales, new Float32Array(dims[4]).fill(1 / 64));
      assert.deepEqual(b.unpackConv!(dims, packed).read(), weight);
      // static quantization with scale 1: u8 = x + zeroPoint exactly, so out * 64 is the integer sum
      const zeroPoint = 37;
      b.setLinearActivationQuant!(packed, 1, zeroPoint);
      const next = random(dims[0] + dims[1] * 7);
      const input = Float32Array.from({ length: inCount(dims) }, () => Math.floor(next() * 256) - zeroPoint);
      input.fill(255 - zeroPoint, 0, Math.min(input.length, 40));  // the saturating case of vpmaddubsw: 255 x 127
      const out = empty(outCount(dims));
      await b.conv2d(dims, upload(input), packed, null, out, false);
      const expected = ref.conv2dInt8(dims, input, weight, null, false, { scale: 1, zeroPoint });
      const actual = out.read();
      assert.deepEqual(Float64Array.from(actual, (v) => v * 64), Float64Array.from(expected, (v) => v * 64));
      assert.ok(expected.every((v) => Number.isInteger(v * 64)));
    });

    test(`int8 conv, ${name}: dynamic quantization, to the bit`, async () => {
      const weight = randomArray(weightCount(dims), 7 + k, 0.3);
      const input = randomArray(inCount(dims), 8 + dims[0]);
      const bias = randomArray(dims[4], 9);
      const packed = await packConv(dims, weight, 'int8');
      for (const relu of [false, true]) {
        const out = empty(outCount(dims));
        await b.conv2d(dims, upload(input), packed, upload(bias), out, relu);
        const expected = ref.conv2dInt8(dims, input, weight, bias, relu);
        assert.deepEqual(out.read(), expected);
        // and close to fp32: 8-bit inputs and weights
        const { l2 } = relativeErrors(expected, ref.conv2d(dims, input, weight, bias, relu));
        assert.ok(l2 < 0.03, `relative L2 error vs fp32 ${l2}`);
      }
    });

    test(`bf16 conv, ${name}: within fp32 summation of bf16 products`, async () => {
      const weight = randomArray(weightCount(dims), 11 + k, 0.5);
      const input = randomArray(inCount(dims), 12 + dims[0]);
      const bias = randomArray(dims[4], 13);
      const packed = await packConv(dims, weight, 'bf16');
      assert.equal(b.linearWeightInfo!(packed).precision, 'bf16');
      assert.deepEqual(b.unpackConv!(dims, packed).read(), ref.bf16Round(weight));
      for (const relu of [false, true]) {
        const out = empty(outCount(dims));
        await b.conv2d(dims, upload(input), packed, relu ? null : upload(bias), out, relu);
        const { l2, maxRatio } = relativeErrors(out.read(), ref.conv2dBf16(dims, input, weight, relu ? null : bias, relu));
        assert.ok(l2 <= 1e-5, `relative L2 ${l2}`);
        assert.ok(maxRatio <= 1e-5, `max abs error / max |out| ${maxRatio}`);
      }
    });
  }

  for (const [name, dims] of WINOGRAD_SHAPES) {
    test(`bf16 Winograd conv, ${name}: the twin's bf16 U and V, summed in fp32`, async () => {
      const weight = randomArray(weightCount(dims), 31 + dims[1], 0.5);
      const input = randomArray(inCount(dims), 32 + dims[0]);
      const bias = randomArray(dims[4], 33);
      const packed = b.packConv!(dims, upload(weight), true, 'bf16');
      live.push(packed);
      assert.deepEqual(b.unpackConv!(dims, packed).read(), ref.bf16Round(weight), 'the direct panels come first');
      const saved = process.env.ALEXNET_CLI_WINOGRAD;
      try {
        for (const relu of [false, true]) {
          const biasOrNull = relu ? null : bias;
          process.env.ALEXNET_CLI_WINOGRAD = '1';
          const out = empty(outCount(dims));
          await b.conv2d(dims, upload(input), packed, relu ? null : upload(bias), out, relu);
          const flips = new Float64Array(outCount(dims));
          const twin = ref.conv2dBf16Winograd(dims, input, weight, biasOrNull, relu, true, flips);
          const excess = winogradExcess(out.read(), twin, flips);
          assert.ok(excess.worst <= 0, `relu ${relu}: output ${excess.at} is ${excess.worst} past what the twin allows`
            + ` (${excess.affected} of ${twin.length} outputs have a V that may round the other way)`);
          // the twin's transforms: unrounded, they give the direct conv
          const exact = ref.conv2d(dims, input, weight, biasOrNull, relu);
          const unrounded = relativeErrors(ref.conv2dBf16Winograd(dims, input, weight, biasOrNull, relu, false), exact);
          assert.ok(unrounded.l2 <= 1e-6, `the twin without bf16 rounding: relative L2 ${unrounded.l2} against the fp32 conv`);
          // bf16 Winograd is a bf16 result (not the fp32 conv), and close to it (random inputs: 2-5%)
          const vsExact = relativeErrors(out.read(), exact);
          assert.ok(vsExact.l2 > 1e-3 && vsExact.l2 < 0.08, `relu ${relu}: relative L2 ${vsExact.l2} against the fp32 conv`);
          // the same packed weights on the direct path: bf16 of the direct conv
          process.env.ALEXNET_CLI_WINOGRAD = '0';
          const direct = empty(outCount(dims));
          await b.conv2d(dims, upload(input), packed, relu ? null : upload(bias), direct, relu);
          const d = relativeErrors(direct.read(), ref.conv2dBf16(dims, input, weight, biasOrNull, relu));
          assert.ok(d.l2 <= 1e-5 && d.maxRatio <= 1e-5, `relu ${relu}: direct path relative L2 ${d.l2}, max ${d.maxRatio}`);
        }
      } finally {
        if (saved === undefined) delete process.env.ALEXNET_CLI_WINOGRAD;
        else process.env.ALEXNET_CLI_WINOGRAD = saved;
      }
    });
  }

  test('int8 conv: ties round half to even, far and NaN inputs clamp (as the twin)', async () => {
    const dims = convDims(1, 1, 4, 5, 3, 1, 1, 1, 1, [0, 0, 0, 0], 1);
    const input = Float32Array.of(0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5, -3.5, 1e9, -1e9, NaN, 300, -300, 600, -600, 254.5, 245.5, 0, 1, 2);
    const weight = Float32Array.of(1, -1, 0.5);
    const packed = await packConv(dims, weight, 'int8');
    b.setLinearActivationQuant!(packed, 1, 10);
    const out = empty(outCount(dims));
    await b.conv2d(dims, upload(input), packed, null, out, false);
    const expected = ref.conv2dInt8(dims, input, weight, null, false, { scale: 1, zeroPoint: 10 });
    assert.deepEqual(out.read(), expected);
    // channel 0 (weight 1 = 127 * (1 / 127)): u8 - 10 back, each tie to the even neighbour
    assert.deepEqual(Array.from(expected.subarray(0, 8), (v) => Math.round(v)), [0, 2, 2, 4, 0, -2, -2, -4]);
  });

  test('packQuantized: the same packed weights and outputs as packLinear / packConv of q * scale', async () => {
    const dims = SHAPES[1][1];
    const k = weightCount(dims) / dims[4];
    const { q, weight } = int8Weights(dims[4], k, 5);
    const fromQ = b.packQuantized!(dims, q, new Float32Array(dims[4]).fill(1 / 64));
    live.push(fromQ);
    const fromFloat = await packConv(dims, weight, 'int8');
    assert.deepEqual(fromQ.read(), fromFloat.read());
    const input = randomArray(inCount(dims), 3);
    const [o1, o2] = [empty(outCount(dims)), empty(outCount(dims))];
    await b.conv2d(dims, upload(input), fromQ, null, o1, true);
    await b.conv2d(dims, upload(input), fromFloat, null, o2, true);
    assert.deepEqual(o1.read(), o2.read());

    const [outF, inF] = [20, 37];
    const lin = int8Weights(outF, inF, 6);
    const linQ = b.packQuantized!(Int32Array.of(outF, inF), lin.q, new Float32Array(outF).fill(1 / 64));
    live.push(linQ);
    const linFloat = await b.packLinear!(Int32Array.of(outF, inF), upload(lin.weight), 'int8');
    live.push(linFloat);
    assert.deepEqual(linQ.read(), linFloat.read());
    assert.deepEqual(b.linearWeightInfo!(linQ).scales, new Float32Array(outF).fill(1 / 64));

    // from a file, a chunk of rows at a time (more rows than one chunk of 256, not a multiple of 16)
    const [bigOut, bigIn] = [300, 19];
    const big = int8Weights(bigOut, bigIn, 7);
    const path = join(mkdtempSync(join(tmpdir(), 'alexnet-packq-')), 'q.bin');
    writeFileSync(path, Buffer.concat([Buffer.from('header'), Buffer.from(big.q.buffer)]));
    const scales = Float32Array.from({ length: bigOut }, (_, o) => 2 ** -(6 + (o % 2)));
    const fromFile = b.packQuantized!(Int32Array.of(bigOut, bigIn), { path, byteOffset: 6 }, scales);
    const fromArray = b.packQuantized!(Int32Array.of(bigOut, bigIn), big.q, scales);
    live.push(fromFile, fromArray);
    assert.deepEqual(fromFile.read(), fromArray.read());
    assert.deepEqual(b.unpackLinear!(Int32Array.of(bigOut, bigIn), fromFile).read(), Float32Array.from(big.q, (v, i) => v * scales[Math.floor(i / bigIn)]));
    assert.throws(() => b.packQuantized!(Int32Array.of(bigOut, bigIn), { path, byteOffset: 7 }, scales), {
      code: 'ERR_WEIGHTS', message: `Expected ${bigOut * bigIn} bytes of int8 weights at offset 7 for ${path} but received a file that ends early or cannot be read`,
    });
    rmSync(dirname(path), { recursive: true });
  });
}

for (const isa of ALL_ISAS) {
  const skip = isaSkip(features, isa);
  describe(`bf16 and int8 conv2d, isa ${isa}`, { skip }, () => {
    test('the kernel set is in use', () => {
      assert.equal(b.setIsa(isa), isa);
    });
    defineTests();
  });
}

// thread_pool::run_tasks hands the pixel blocks (conv) and 4-panel groups (linear) to whichever thread asks
// next: on 1, 3 and 5 threads (more than this machine's cores) int8 still gives the naive twin's bits, and
// bf16 the bits of the sequential run
describe('reduced precision on 1, 3 and 5 threads', () => {
  const saved = b.getThreads();
  after(() => { b.setThreads(saved); b.setIsa('auto'); });
  const convShape = convDims(3, 16, 17, 15, 40, 5, 5, 1, 1, [2, 2, 2, 2], 1);  // 765 pixels: 13+ blocks
  // 120 pixels and 13 panels: on 3 and 5 threads the tasks are (block, chunk of 4-panel groups)
  const chunkedShape = convDims(1, 24, 12, 10, 200, 3, 3, 1, 1, [1, 1, 1, 1], 1);
  const linearDims = Int32Array.of(7, 1000, 4100);  // 257 panels: 65 tasks

  test('int8 conv and linear: the naive twin\'s bits; bf16: the bits of one thread', async () => {
    b.setIsa('auto');
    const convWeight = randomArray(weightCount(convShape), 21, 0.3);
    const convInput = randomArray(inCount(convShape), 22);
    const convBias = randomArray(convShape[4], 23);
    const linearWeight = randomArray(linearDims[1] * linearDims[2], 24, 0.05);
    const linearInput = randomArray(linearDims[0] * linearDims[1], 25);
    const linearBias = randomArray(linearDims[2], 26);
    const convInt8 = await packConv(convShape, convWeight, 'int8');
    const convBf16 = await packConv(convShape, convWeight, 'bf16');
    // 5x5 stride 1, 16 channels each way: Winograd F(4,5) on the bf16 GEMMs (its tile GEMMs are the tasks)
    const convBf16Winograd = b.packConv!(convShape, upload(convWeight), true, 'bf16');
    live.push(convBf16Winograd);
    const pack = async (precision: 'int8' | 'bf16') => {
      const packed = await b.packLinear!(Int32Array.of(linearDims[2], linearDims[1]), upload(linearWeight), precision);
      live.push(packed);
      return packed;
    };
    const linearInt8 = await pack('int8');
    const linearBf16 = await pack('bf16');
    const expectedConv = ref.conv2dInt8(convShape, convInput, convWeight, convBias, true);
    const chunkedWeight = randomArray(weightCount(chunkedShape), 27, 0.2);
    const chunkedInput = randomArray(inCount(chunkedShape), 28);
    const chunkedBias = randomArray(chunkedShape[4], 29);
    const chunkedInt8 = await packConv(chunkedShape, chunkedWeight, 'int8');
    const chunkedBf16 = await packConv(chunkedShape, chunkedWeight, 'bf16');
    const expectedChunked = ref.conv2dInt8(chunkedShape, chunkedInput, chunkedWeight, chunkedBias, true);
    const expectedLinear = ref.linearInt8(linearDims, linearInput, linearWeight, linearBias, true);
    const sequential: Float32Array[] = [];
    for (const threads of [1, 3, 5]) {
      b.setThreads(threads);
      assert.equal(b.getThreads(), threads);
      const out = empty(outCount(convShape));
      await b.conv2d(convShape, upload(convInput), convInt8, upload(convBias), out, true);
      assert.deepEqual(out.read(), expectedConv, `int8 conv, ${threads} threads`);
      const linearOut = empty(linearDims[0] * linearDims[2]);
      await b.linear(linearDims, upload(linearInput), linearInt8, upload(linearBias), linearOut, true);
      assert.deepEqual(linearOut.read(), expectedLinear, `int8 linear, ${threads} threads`);
      const bf16Conv = empty(outCount(convShape));
      await b.conv2d(convShape, upload(convInput), convBf16, upload(convBias), bf16Conv, true);
      const bf16Linear = empty(linearDims[0] * linearDims[2]);
      await b.linear(linearDims, upload(linearInput), linearBf16, upload(linearBias), bf16Linear, true);
      const winogradConv = empty(outCount(convShape));
      await b.conv2d(convShape, upload(convInput), convBf16Winograd, upload(convBias), winogradConv, true);
      const chunkedOut = empty(outCount(chunkedShape));
      await b.conv2d(chunkedShape, upload(chunkedInput), chunkedInt8, upload(chunkedBias), chunkedOut, true);
      assert.deepEqual(chunkedOut.read(), expectedChunked, `int8 conv of 13 panels, ${threads} threads`);
      const chunkedBf16Out = empty(outCount(chunkedShape));
      await b.conv2d(chunkedShape, upload(chunkedInput), chunkedBf16, upload(chunkedBias), chunkedBf16Out, true);
      if (threads === 1) sequential.push(bf16Conv.read(), bf16Linear.read(), winogradConv.read(), chunkedBf16Out.read());
      else {
        assert.deepEqual(chunkedBf16Out.read(), sequential[3], `bf16 conv of 13 panels, ${threads} threads`);
        assert.deepEqual(bf16Conv.read(), sequential[0], `bf16 conv, ${threads} threads`);
        assert.deepEqual(bf16Linear.read(), sequential[1], `bf16 linear, ${threads} threads`);
        assert.deepEqual(winogradConv.read(), sequential[2], `bf16 Winograd conv, ${threads} threads`);
      }
    }
    // and the bf16 runs are bf16 results, not a copy of something else
    const { l2 } = relativeErrors(sequential[0], ref.conv2dBf16(convShape, convInput, convWeight, convBias, true));
    assert.ok(l2 <= 1e-5, `bf16 conv relative L2 ${l2}`);
    const flips = new Float64Array(outCount(convShape));
    const winograd = winogradExcess(sequential[2], ref.conv2dBf16Winograd(convShape, convInput, convWeight, convBias, true, true, flips), flips);
    assert.ok(winograd.worst <= 0, `bf16 Winograd conv: output ${winograd.at} ${winograd.worst} past the twin's bound`);
  });
});

// Each conv2d call runs on a libuv thread of its own, its converted / padded input in that thread's buffers
// (thread_local in lowp-conv.cc) and its windows' starts in the pool threads' own: calls in flight together
// must not read one another's input
describe('int8 conv: calls in flight together', () => {
  after(() => { b.setIsa('auto'); });
  test('eight int8 convs at once (padded, unpadded, groups, batches): each the naive twin\'s bits', async () => {
    b.setIsa('auto');
    const names = ['3x3 two groups', '1x1 stride 3, 7 channels (rows of 7 bytes in 8), no padding, batch 3',
      '2x3 stride 3x4 (stride past the kernel), groups 2 of 3, batch 3, no padding', '5x5, batch 2, many pixel blocks'];
    const cases = await Promise.all(names.flatMap((name, i) => [0, 1].map(async (copy) => {
      const dims = SHAPES.find(([n]) => n === name)![1];
      const weight = randomArray(weightCount(dims), 40 + i, 0.3);
      const input = randomArray(inCount(dims), 50 + 2 * i + copy, copy ? 3 : 1);
      const bias = randomArray(dims[4], 60 + i);
      return { dims, weight, input, bias, packed: await packConv(dims, weight, 'int8') };
    })));
    const outs = cases.map((c) => empty(outCount(c.dims)));
    await Promise.all(cases.map((c, i) => b.conv2d(c.dims, upload(c.input), c.packed, upload(c.bias), outs[i], i % 2 === 0)));
    cases.forEach((c, i) => assert.deepEqual(outs[i].read(), ref.conv2dInt8(c.dims, c.input, c.weight, c.bias, i % 2 === 0), `call ${i}`));
  });
});

// bf16 Winograd keeps V and M in the calling thread's buffers and each tile GEMM's bf16 rows in the pool thread's
// (thread_local in winograd.cc): calls in flight together must not read one another's
describe('bf16 Winograd conv: calls in flight together', () => {
  const saved = process.env.ALEXNET_CLI_WINOGRAD;
  after(() => {
    b.setIsa('auto');
    if (saved === undefined) delete process.env.ALEXNET_CLI_WINOGRAD;
    else process.env.ALEXNET_CLI_WINOGRAD = saved;
  });
  test('twelve at once (every Winograd shape twice, different inputs): each the bits it has alone', async () => {
    b.setIsa('auto');
    process.env.ALEXNET_CLI_WINOGRAD = '1';
    const cases = WINOGRAD_SHAPES.flatMap(([, dims], i) => [0, 1].map((copy) => {
      const weight = randomArray(weightCount(dims), 70 + i, 0.4);
      const packed = b.packConv!(dims, upload(weight), true, 'bf16');
      live.push(packed);
      return { dims, packed, input: randomArray(inCount(dims), 80 + 2 * i + copy, copy ? 2 : 1), bias: randomArray(dims[4], 90 + i) };
    }));
    const alone: Float32Array[] = [];
    for (const c of cases) {
      const out = empty(outCount(c.dims));
      await b.conv2d(c.dims, upload(c.input), c.packed, upload(c.bias), out, false);
      alone.push(out.read());
    }
    const outs = cases.map((c) => empty(outCount(c.dims)));
    await Promise.all(cases.map((c, i) => b.conv2d(c.dims, upload(c.input), c.packed, upload(c.bias), outs[i], false)));
    cases.forEach((_, i) => assert.deepEqual(outs[i].read(), alone[i], `call ${i}`));
  });
});

// The padded copy the int8 gather kernels read grows with the padding, not with the input: a valid conv whose pads and
// strides are far larger than its input (a 3x3 output of a 1x1 input) must still run, as bf16 and fp32 do (im2col
// touches only the windows' bytes)
describe('int8 conv: padding far larger than the input', () => {
  test('pads and strides of 16777216 around a 1x1 input: the naive twin\'s 3x3 output, as bf16 runs it', async () => {
    const big = 16777216;
    const dims = Int32Array.of(1, 2, 1, 1, 3, 1, 1, big, big, big, big, big, big, 1, 3, 3);
    const weight = Float32Array.of(0.5, -0.25, 1, 0.75, -1, 0.125);
    const input = Float32Array.of(2, -1);
    const bias = Float32Array.of(0.1, -0.2, 0.3);
    const bf16 = empty(outCount(dims));
    await b.conv2d(dims, upload(input), await packConv(dims, weight, 'bf16'), upload(bias), bf16, false);
    assert.ok(relativeErrors(bf16.read(), ref.conv2dBf16(dims, input, weight, bias, false)).maxRatio <= 1e-6, 'bf16');
    const out = empty(outCount(dims));
    await b.conv2d(dims, upload(input), await packConv(dims, weight, 'int8'), upload(bias), out, false);
    const expected = ref.conv2dInt8(dims, input, weight, bias, false);
    assert.deepEqual(out.read(), expected);
    assert.ok(expected[4] !== 0.1 && expected[13] !== -0.2, 'the centre pixel sees the input');
  });
});

describe('reduced-precision conv: bad arguments', () => {
  test('packConv rejects an unknown precision; packQuantized checks q and scales', () => {
    const dims = SHAPES[0][1];
    assert.throws(() => b.packConv!(dims, upload(new Float32Array(weightCount(dims))), false, 'fp16' as 'int8'), {
      code: 'ERR_ARG', message: "Expected one of 'fp32', 'bf16', 'int8' for precision but received 'fp16'",
    });
    const q = new Int8Array(weightCount(dims));
    const scales = new Float32Array(dims[4]).fill(0.5);
    assert.throws(() => b.packQuantized!(dims, q.subarray(1), scales), {
      code: 'ERR_SHAPE', message: `Expected ${q.length} elements for q but received ${q.length - 1}`,
    });
    assert.throws(() => b.packQuantized!(dims, q, scales.subarray(1)), {
      code: 'ERR_SHAPE', message: `Expected ${dims[4]} elements for scales but received ${dims[4] - 1}`,
    });
    const bad = q.slice();
    bad[3] = -128;
    assert.throws(() => b.packQuantized!(dims, bad, scales), {
      code: 'ERR_ARG', message: 'Expected int8 weights in [-127, 127] for q[3] but received -128',
    });
    const zero = scales.slice();
    zero[2] = 0;
    assert.throws(() => b.packQuantized!(dims, q, zero), {
      code: 'ERR_ARG', message: 'Expected finite scales > 0 for scales[2] but received 0.000000',
    });
    assert.throws(() => b.packQuantized!(Int32Array.of(4, 3), new Uint8Array(12) as unknown as Int8Array, new Float32Array(4)), {
      code: 'ERR_ARG', message: 'Expected an Int8Array or { path, byteOffset } for q but received Uint8Array(12)',
    });
  });

  test('int8 conv weights take a static activation quantization; bf16 ones do not', async () => {
    const dims = SHAPES[0][1];
    const int8 = await packConv(dims, randomArray(weightCount(dims), 1), 'int8');
    b.setLinearActivationQuant!(int8, 0.25, 3);
    const info = b.linearWeightInfo!(int8);
    assert.equal(info.activationScale, 0.25);
    assert.equal(info.activationZeroPoint, 3);
    const bf16 = await packConv(dims, randomArray(weightCount(dims), 1), 'bf16');
    assert.throws(() => b.setLinearActivationQuant!(bf16, 0.1, 0), {
      code: 'ERR_ARG', message: 'Expected int8 weights packed by packLinear or packConv for weight but received other weights',
    });
  });
});
