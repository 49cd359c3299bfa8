// lib/weights/dtypes.ts against IEEE 754 bit patterns written out by hand (binary16 and bfloat16: the
// largest, the smallest subnormal, infinities, NaN, signed zero), float64 rounding to float32, unaligned
// sources, and strided views gathered element by element from hand-written index tables.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FLOAT_DTYPE_SIZE, gatherStrided, isContiguous, isFloatDtype, toFloat32, viewExtent } from '../lib/weights/dtypes.js';

const u16 = (bits: number[]) => new Uint8Array(Uint16Array.from(bits).buffer);

test('float16: every class of bit pattern', () => {
  const bits = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x0400, 0x7c00, 0xfc00, 0x8000, 0x3555, 0x0000];
  const expected = [1, -2, 65504, 2 ** -24, 1023 * 2 ** -24, 2 ** -14, Infinity, -Infinity, -0, 0.333251953125, 0];
  const out = toFloat32(u16(bits), 'float16');
  expected.forEach((e, i) => assert.ok(Object.is(out[i], e), `0x${bits[i].toString(16)}: ${out[i]} vs ${e}`));
  assert.ok(Number.isNaN(toFloat32(u16([0x7e00]), 'float16')[0]));
  assert.ok(Number.isNaN(toFloat32(u16([0xfc01]), 'float16')[0]));
});

test('bfloat16, float64, float32: the top half of a float32, rounding to nearest, unaligned sources', () => {
  // bfloat16 0x3f80 is 1.0; 0xc2f7 is -123.5; 0x7f80 infinity; 0x0001 the smallest subnormal, 2^-133
  const bf = toFloat32(u16([0x3f80, 0xc2f7, 0x7f80, 0x0001, 0x8000]), 'bfloat16');
  assert.deepEqual(Array.from(bf), [1, -123.5, Infinity, 2 ** -133, -0]);
  const f64 = toFloat32(new Uint8Array(Float64Array.from([0.1, 1e300, -3.25, 2 ** -150]).buffer), 'float64');
  assert.deepEqual(Array.from(f64), [Math.fround(0.1), Infinity, -3.25, 0]);
  // a source at an odd offset and a trailing partial element
  const raw = new Uint8Array(1 + 8 + 3);
  raw.set(new Uint8Array(Float32Array.from([1.5, -2]).buffer), 1);
  assert.deepEqual(Array.from(toFloat32(raw.subarray(1), 'float32')), [1.5, -2]);
  assert.deepEqual(Array.from(toFloat32(raw.subarray(1, 8), 'float32')), [1.5]);
  assert.deepEqual(Array.from(toFloat32(new Uint8Array(3), 'float16')), [0]);
  assert.deepEqual(FLOAT_DTYPE_SIZE, { float32: 4, float16: 2, bfloat16: 2, float64: 8 });
  assert.deepEqual(['float32', 'float16', 'bfloat16', 'float64', 'int64', 'uint8', 'toString'].map(isFloatDtype), [true, true, true, true, false, false, false]);
});

test('gatherStrided, isContiguous, viewExtent: views by hand', () => {
  const storage = Float32Array.from({ length: 24 }, (_, i) => i);
  // a [2, 3] transpose of a [3, 2] row-major block at offset 4: element (i, j) is storage[4 + i + 2 j]
  assert.deepEqual(Array.from(gatherStrided(storage, 4, [2, 3], [1, 2])), [4, 6, 8, 5, 7, 9]);
  // [2, 2, 2] with strides (12, 1, 4): (i, j, k) -> 12 i + j + 4 k
  assert.deepEqual(Array.from(gatherStrided(storage, 0, [2, 2, 2], [12, 1, 4])), [0, 4, 1, 5, 12, 16, 13, 17]);
  // stride 0 repeats; an empty view is empty; a scalar is one element
  assert.deepEqual(Array.from(gatherStrided(storage, 3, [3], [0])), [3, 3, 3]);
  assert.deepEqual(Array.from(gatherStrided(storage, 3, [2, 0], [1, 1])), []);
  assert.deepEqual(Array.from(gatherStrided(storage, 7, [], [])), [7]);
  assert.equal(isContiguous([2, 3], [3, 1]), true);
  assert.equal(isContiguous([2, 3], [1, 2]), false);
  assert.equal(isContiguous([2, 1, 3], [3, 99, 1]), true, 'a dimension of size 1 has any stride');
  assert.equal(isContiguous([1, 4], [7, 1]), true);
  assert.equal(isContiguous([4, 1], [2, 1]), false);
  assert.equal(isContiguous([], []), true);
  assert.equal(isContiguous([3], [2]), false);
  // one past the last element touched: offset + sum (size - 1) * stride + 1
  assert.equal(viewExtent(4, [2, 3], [1, 2]), 4 + 1 + 4 + 1);
  assert.equal(viewExtent(5, [3, 0], [1, 1]), 5);
  assert.equal(viewExtent(2, [], []), 3);
  assert.equal(viewExtent(0, [1000], [0]), 1);
});
