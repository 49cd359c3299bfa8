// What the native kernel tests share (test/kernels, precision, precision-conv and cuda): the tensors a file
// allocates, kept in one list so that one `after` disposes them all; why a kernel set (ISA) is skipped on
// this machine; and the checks every backend's tensors pass.
import assert from 'node:assert/strict';
import type { Binding, CpuFeatures, Isa, NativeTensor } from '../lib/native.js';
import * as ref from './reference.js';

export interface TensorPool {
  /** every tensor made here, and any a test pushes (packed weights), disposed by dispose() */
  live: NativeTensor[];
  /** a tensor holding a copy of `data` */
  upload(data: Float32Array): NativeTensor;
  /** a tensor of `length` elements, not written */
  empty(length: number): NativeTensor;
  dispose(): void;
}

/** `alloc` makes a tensor of `length` elements on the device under test */
export function tensorPool(alloc: (length: number) => NativeTensor): TensorPool {
  const live: NativeTensor[] = [];
  const empty = (length: number): NativeTensor => {
    const t = alloc(length);
    live.push(t);
    return t;
  };
  return {
    live,
    empty,
    upload(data) {
      const t = empty(data.length);
      t.write(data);
      return t;
    },
    dispose() {
      for (const t of live) t.dispose();
    },
  };
}

/** Why the tests of `isa` cannot run here (not compiled in, or not supported by this CPU), or false */
export function isaSkip(features: CpuFeatures, isa: Isa): string | false {
  if (!features.compiled.includes(isa)) return `${isa} kernels are not compiled into this build (compiled: ${features.compiled.join(', ')})`;
  if (!features.supported.includes(isa)) return `this CPU cannot run ${isa} (it supports: ${features.supported.join(', ')})`;
  return false;
}

/** A fresh tensor of 10 elements, on any backend: zero-filled, written and read at offsets, and the messages of a write or read past its end */
export function checkTensorReadWrite(t: NativeTensor): void {
  assert.equal(t.length, 10);
  assert.deepEqual(t.read(), new Float32Array(10), 'alloc zero-fills');
  t.write(Float32Array.from([1, 2, 3]), 7);
  assert.deepEqual(t.read(6), Float32Array.from([0, 1, 2, 3]));
  assert.deepEqual(t.read(7, 2), Float32Array.from([1, 2]));
  assert.throws(() => t.write(new Float32Array(4), 7), {
    code: 'ERR_SHAPE', message: 'Expected at most 3 elements (length 10 - offset 7) for src but received Float32Array(4)',
  });
  assert.throws(() => t.read(4, 7), { code: 'ERR_ARG', message: 'Expected an integer in [0, 6] for length but received 7' });
}

/** Relative L2 error of the whole output, and the largest absolute error over the largest reference magnitude (NaN: Infinity) */
export function relativeErrors(actual: Float32Array, expected: Float32Array): { l2: number; maxRatio: number } {
  let diff2 = 0, ref2 = 0, maxDiff = 0, maxRef = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    diff2 += d * d;
    ref2 += expected[i] ** 2;
    maxDiff = Number.isNaN(d) ? Infinity : Math.max(maxDiff, d);
    maxRef = Math.max(maxRef, Math.abs(expected[i]));
  }
  return { l2: Math.sqrt(diff2 / ref2), maxRatio: maxDiff / maxRef };
}

/** 8 linear calls at once on separate buffers (one shared weight): each gives the reference's result, as one call alone would */
export async function checkConcurrentLinear(b: Pick<Binding, 'linear'>, pool: TensorPool,
  check: (actual: Float32Array, expected: Float32Array, what: string) => void): Promise<void> {
  const dims = Int32Array.from([7, 301, 45]);
  const weight = ref.randomArray(45 * 301, 19, 0.3);
  const w = pool.upload(weight);
  const inputs = Array.from({ length: 8 }, (_, i) => ref.randomArray(7 * 301, 20 + i));
  const outputs = inputs.map(() => pool.empty(7 * 45));
  await Promise.all(inputs.map((x, i) => b.linear(dims, pool.upload(x), w, null, outputs[i], false)));
  inputs.forEach((x, i) => check(outputs[i].read(), ref.linear(dims, x, weight, null, false), `linear ${i}`));
}

/**
 * int8 weights q/64, rows x k, with q in [-127, 127] and 127 or -127 in every row (output feature or channel),
 * so that packing's per-row scale is exactly 1/64
 */
export function int8Weights(rows: number, k: number, seed: number): { q: Int8Array; weight: Float32Array } {
  const next = ref.random(seed);
  const q = Int8Array.from({ length: rows * k }, () => Math.floor(next() * 255) - 127);
  for (let o = 0; o < rows; o++) q[o * k + Math.floor(next() * k)] = next() < 0.5 ? 127 : -127;
  return { q, weight: Float32Array.from(q, (v) => v / 64) };
}
