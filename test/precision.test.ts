// The reduced-precision linear kernels (bf16 and int8, native/kernels/cpu/lowp*.cc) against their naive
// twins in test/reference.ts, for every kernel set the CPU can run, on odd shapes (features that are not
// multiples of the 16-feature panel, k not a multiple of the 2- or 4-wide k step, batch 1 streaming and
// batched row tiles): int8 to the integer (and to the bit after the fp32 epilogue), bf16 within the
// rounding of fp32 sums of bf16 products.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_ISAS, native, type NativeTensor } from '../lib/native.js';
import * as ref from './reference.js';
import { int8Weights, isaSkip, relativeErrors, tensorPool } from './native-helpers.js';
import { random, randomArray } from './reference.js';

const b = native();
const features = b.cpuFeatures();

const { live, upload, empty, dispose } = tensorPool((length) => b.alloc('cpu', length));
after(() => { dispose(); b.setIsa('auto'); });

async function pack(outF: number, inF: number, weight: Float32Array, precision: 'bf16' | 'int8'): Promise<NativeTensor> {
  const packed = await b.packLinear!(Int32Array.from([outF, inF]), upload(weight), precision);
  live.push(packed);
  return packed;
}

// rows, in, out: batch 1 (streamed, with its 4/2/1-panel remainders), a few rows (one tile), many rows
// (several row tiles over panel groups); k not a multiple of 4 nor 2; features not a multiple of 16
const SHAPES: Array<[number, number, number]> = [
  [1, 7, 17], [1, 130, 100], [2, 61, 33], [3, 9, 16], [4, 64, 81], [5, 257, 70], [13, 33, 45], [32, 100, 130],
];

function defineTests(): void {
  for (const [rows, inF, outF] of SHAPES) {
    test(`int8 sums, ${rows}x${inF} -> ${outF}: the same integers as the naive twin`, async () => {
      const { q, weight } = int8Weights(outF, inF, rows * 1000 + inF);
      const packed = await pack(outF, inF, weight, 'int8');
      const info = b.linearWeightInfo!(packed);
      assert.equal(info.precision, 'int8');
      assert.deepEqual(info.scales, new Float32Array(outF).fill(1 / 64));
      assert.deepEqual(b.unpackLinear!(Int32Array.from([outF, inF]), packed).read(), weight);
      const next = random(rows + inF + outF);
      const a = Uint8Array.from({ length: rows * inF }, () => Math.floor(next() * 256));
      // the row vpmaddubsw would saturate on: 255 x 127 in every pair
      a.fill(255, 0, inF);
      const dims = Int32Array.from([rows, outF, inF]);
      assert.deepEqual(b.int8GemmI32!(dims, a, packed), ref.int8GemmI32(rows, outF, inF, a, q));
    });

    test(`int8 linear, ${rows}x${inF} -> ${outF}: dynamic quantization, to the bit`, async () => {
      const weight = randomArray(outF * inF, 7 + inF, 0.3);
      const input = randomArray(rows * inF, 8 + rows);
      const bias = randomArray(outF, 9);
      const packed = await pack(outF, inF, weight, 'int8');
      const dims = Int32Array.from([rows, inF, outF]);
      for (const relu of [false, true]) {
        const out = empty(rows * outF);
        await b.linear(dims, upload(input), packed, upload(bias), out, relu);
        const expected = ref.linearInt8(dims, input, weight, bias, relu);
        assert.deepEqual(out.read(), expected);
        // and close to fp32: 8-bit inputs and weights
        const exact = ref.linear(dims, input, weight, bias, relu);
        let diff2 = 0, ref2 = 0;
        for (let i = 0; i < exact.length; i++) { diff2 += (expected[i] - exact[i]) ** 2; ref2 += exact[i] ** 2; }
        assert.ok(Math.sqrt(diff2 / ref2) < 0.03, `relative L2 error vs fp32 ${Math.sqrt(diff2 / ref2)}`);
      }
    });

    test(`bf16 linear, ${rows}x${inF} -> ${outF}: within fp32 summation of bf16 products`, async () => {
      const weight = randomArray(outF * inF, 11 + inF, 0.5);
      const input = randomArray(rows * inF, 12 + rows);
      const bias = randomArray(outF, 13);
      const packed = await pack(outF, inF, weight, 'bf16');
      assert.equal(b.linearWeightInfo!(packed).precision, 'bf16');
      assert.deepEqual(b.unpackLinear!(Int32Array.from([outF, inF]), packed).read(), ref.bf16Round(weight));
      // half the bytes of fp32, panels of 16 features and 2 k padded
      assert.equal(packed.length, Math.ceil(outF / 16) * 16 * Math.ceil(inF / 2) * 2 / 2);
      const dims = Int32Array.from([rows, inF, outF]);
      for (const relu of [false, true]) {
        const out = empty(rows * outF);
        await b.linear(dims, upload(input), packed, relu ? null : upload(bias), out, relu);
        const expected = ref.linearBf16(dims, input, weight, relu ? null : bias, relu);
        const { l2, maxRatio } = relativeErrors(out.read(), expected);
        assert.ok(l2 <= 1e-5, `relative L2 ${l2}`);
        assert.ok(maxRatio <= 1e-5, `max abs error / max |out| ${maxRatio}`);
      }
    });
  }

  test('int8 linear with a static activation scale: values past its range clamp to 0..255', async () => {
    const [rows, inF, outF] = [3, 45, 20];
    const weight = randomArray(outF * inF, 21, 0.2);
    const input = randomArray(rows * inF, 22, 2);
    const packed = await pack(outF, inF, weight, 'int8');
    const act = { scale: 1 / 100, zeroPoint: 128 };  // covers -1.28 .. 1.27 of inputs in -2 .. 2
    b.setLinearActivationQuant!(packed, act.scale, act.zeroPoint);
    const info = b.linearWeightInfo!(packed);
    assert.equal(info.activationScale, Math.fround(act.scale));
    assert.equal(info.activationZeroPoint, 128);
    const dims = Int32Array.from([rows, inF, outF]);
    const out = empty(rows * outF);
    await b.linear(dims, upload(input), packed, null, out, false);
    assert.deepEqual(out.read(), ref.linearInt8(dims, input, weight, null, false, { scale: Math.fround(act.scale), zeroPoint: 128 }));
    b.setLinearActivationQuant!(packed, 0, 0);  // back to dynamic
    await b.linear(dims, upload(input), packed, null, out, false);
    assert.deepEqual(out.read(), ref.linearInt8(dims, input, weight, null, false));
  });
}

for (const isa of ALL_ISAS) {
  const skip = isaSkip(features, isa);
  describe(`bf16 and int8 linear, isa ${isa}`, { skip }, () => {
    test('the kernel set is in use', () => {
      assert.equal(b.setIsa(isa), isa);
      const kernels = b.cpuFeatures().lowpKernels;
      assert.ok(kernels.int8.length > 0 && kernels.bf16.length > 0);
    });
    defineTests();
  });
}

describe('reduced precision: which kernels run, and bad arguments', () => {
  test('each kernel set names its bf16 and int8 kernels', () => {
    const names = new Map<string, { bf16: string; int8: string }>();
    for (const isa of features.supported) {
      b.setIsa(isa);
      names.set(isa, b.cpuFeatures().lowpKernels);
    }
    b.setIsa('auto');
    if (names.has('avx512-vnni')) {
      assert.equal(names.get('avx512-vnni')!.int8, 'avx512-vnni vpdpbusd');
      assert.equal(names.get('avx512-vnni')!.bf16, features.avx512bf16 ? 'avx512-bf16 vdpbf16ps' : 'avx512 bf16->fp32 fma');
    }
    if (names.has('avx2-vnni')) assert.equal(names.get('avx2-vnni')!.int8, 'avx2-vnni vpdpbusd');
    if (names.has('avx2')) assert.equal(names.get('avx2')!.int8, 'avx2 vpmaddwd');
    assert.deepEqual(names.get('portable'), { bf16: 'portable bf16->fp32', int8: 'portable int32' });
  });

  test('packLinear rejects an unknown precision; the int8-only calls reject other weights', async () => {
    await assert.rejects(async () => b.packLinear!(Int32Array.from([2, 3]), upload(new Float32Array(6)), 'int4' as 'int8'), {
      code: 'ERR_ARG', message: "Expected one of 'fp32', 'bf16', 'int8' for precision but received 'int4'",
    });
    const bf16 = await pack(2, 3, new Float32Array(6), 'bf16');
    assert.throws(() => b.setLinearActivationQuant!(bf16, 0.1, 0), {
      code: 'ERR_ARG', message: 'Expected int8 weights packed by packLinear or packConv for weight but received other weights',
    });
    const int8 = await pack(2, 3, new Float32Array(6), 'int8');
    assert.throws(() => b.setLinearActivationQuant!(int8, -1, 0), {
      code: 'ERR_ARG', message: 'Expected a finite scale >= 0 for scale but received -1',
    });
    assert.throws(() => b.int8GemmI32!(Int32Array.from([1, 2, 4]), new Uint8Array(4), int8), {
      code: 'ERR_ARG', message: 'Expected int8 weights packed by packLinear for 2 x 4 for weight but received other weights',
    });
    // linear checks the packed length of the precision
    await assert.rejects(async () => b.linear(Int32Array.from([1, 3, 4]), upload(new Float32Array(3)), int8, null, empty(4), false), {
      code: 'ERR_SHAPE',
    });
  });
});
