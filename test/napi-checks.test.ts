// What test/kernels.test.ts leaves to whole networks: every primitive refuses a buffer one element too
// short (a wrong length from JS is a heap overflow, not an exception), and pool, LRN, softmax,
// adaptive pool and ReLU on inputs above the single-thread threshold (native/kernels/cpu/small-op.h,
// SMALL_OP_ELEMENTS 65536), so that their split over the thread pool runs, with odd sizes.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { native, type NativeTensor } from '../lib/native.js';
import * as ref from './reference.js';
import { randomArray } from './reference.js';

const b = native();
const live: NativeTensor[] = [];
function tensor(length: number, data?: Float32Array): NativeTensor {
  const t = b.alloc('cpu', length);
  if (data) t.write(data);
  live.push(t);
  return t;
}
after(() => { for (const t of live) t.dispose(); });

const short = (what: string, needed: number, got: number, exact = false) => ({
  code: 'ERR_SHAPE',
  message: `Expected a NativeTensor of ${exact ? '' : 'at least '}${needed} elements for ${what} but received NativeTensor(${got})`,
});

test('every primitive refuses an input or output one element too short', () => {
  // 1x2x7x7, 3x3 stride 2 -> 3x3: input 98, output 18
  const pool = Int32Array.from([1, 2, 7, 7, 3, 3, 2, 2, 0, 0, 0, 0, 3, 3]);
  assert.throws(() => b.maxPool2d(pool, tensor(97), tensor(18)), short('input', 98, 97));
  assert.throws(() => b.maxPool2d(pool, tensor(98), tensor(17)), short('output', 18, 17));
  assert.throws(() => b.avgPool2d(pool, tensor(97), tensor(18), false), short('input', 98, 97));
  assert.throws(() => b.avgPool2d(pool, tensor(98), tensor(17), true), short('output', 18, 17));
  const lrn = Int32Array.from([2, 3, 4, 5, 3]);
  assert.throws(() => b.lrn(lrn, tensor(119), tensor(120), 1e-4, 0.75, 1), short('input', 120, 119));
  assert.throws(() => b.lrn(lrn, tensor(120), tensor(119), 1e-4, 0.75, 1), short('output', 120, 119));
  const linear = Int32Array.from([2, 10, 3]);
  assert.throws(() => b.linear(linear, tensor(19), tensor(30), null, tensor(6), false), short('input', 20, 19));
  assert.throws(() => b.linear(linear, tensor(20), tensor(30), null, tensor(5), false), short('output', 6, 5));
  assert.throws(() => b.linear(linear, tensor(20), tensor(30), tensor(2), tensor(6), false), short('bias', 3, 2, true));
  assert.throws(() => b.linear(linear, tensor(20), tensor(29), null, tensor(6), false), short('weight', 30, 29, true));
  const softmax = Int32Array.from([3, 7]);
  assert.throws(() => b.softmax(softmax, tensor(20), tensor(21)), short('input', 21, 20));
  assert.throws(() => b.softmax(softmax, tensor(21), tensor(20)), short('output', 21, 20));
  const adaptive = Int32Array.from([2, 3, 5, 4, 2, 3]);
  assert.throws(() => b.adaptiveAvgPool2d(adaptive, tensor(119), tensor(36)), short('input', 120, 119));
  assert.throws(() => b.adaptiveAvgPool2d(adaptive, tensor(120), tensor(35)), short('output', 36, 35));
  assert.throws(() => b.relu(tensor(10), tensor(9)), short('output', 10, 9));
  // conv2d: 1x3x7x7 -> 4x5x5, 3x3
  const conv = Int32Array.from([1, 3, 7, 7, 4, 3, 3, 1, 1, 0, 0, 0, 0, 1, 5, 5]);
  assert.throws(() => b.conv2d(conv, tensor(146), tensor(108), tensor(4), tensor(100), true), short('input', 147, 146));
  assert.throws(() => b.conv2d(conv, tensor(147), tensor(108), tensor(4), tensor(99), true), short('output', 100, 99));
  assert.throws(() => b.conv2d(conv, tensor(147), tensor(109), tensor(4), tensor(100), true), short('weight', 108, 109, true));
  assert.throws(() => b.conv2d(conv, tensor(147), tensor(108), tensor(3), tensor(100), true), short('bias', 4, 3, true));
});

test('lengths that are exactly enough (or more, where "at least") are accepted', async () => {
  const pool = Int32Array.from([1, 2, 7, 7, 3, 3, 2, 2, 0, 0, 0, 0, 3, 3]);
  assert.ok(await b.maxPool2d(pool, tensor(98), tensor(18)) >= 0);
  assert.ok(await b.avgPool2d(pool, tensor(99), tensor(19), false) >= 0);
  assert.ok(await b.lrn(Int32Array.from([2, 3, 4, 5, 3]), tensor(120), tensor(121), 1e-4, 0.75, 1) >= 0);
  assert.ok(await b.softmax(Int32Array.from([3, 7]), tensor(21), tensor(21)) >= 0);
  assert.ok(await b.adaptiveAvgPool2d(Int32Array.from([2, 3, 5, 4, 2, 3]), tensor(120), tensor(36)) >= 0);
  assert.ok(await b.relu(tensor(10), tensor(10)) >= 0);
});

test('pool output sizes: the check takes floor or ceil (with PyTorch\'s last-window rule), nothing else', () => {
  // 8 in, 3x3 stride 3: floor 2, ceil 3 (worked out by hand: (8-3)/3 = 1.67)
  const dims = (outH: number, outW: number) => Int32Array.from([1, 1, 8, 8, 3, 3, 3, 3, 0, 0, 0, 0, outH, outW]);
  assert.throws(() => b.maxPool2d(dims(1, 2), tensor(64), tensor(64)), { code: 'ERR_SHAPE', message: 'Expected 2 or 3 for outHeight but received 1' });
  assert.throws(() => b.maxPool2d(dims(4, 2), tensor(64), tensor(64)), { code: 'ERR_SHAPE', message: 'Expected 2 or 3 for outHeight but received 4' });
  assert.throws(() => b.avgPool2d(dims(3, 4), tensor(64), tensor(64), false), { code: 'ERR_SHAPE', message: 'Expected 2 or 3 for outWidth but received 4' });
});

// above SMALL_OP_ELEMENTS: the work is split over the pool's threads
const REL = 1e-5;
function assertClose(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, what);
  let d2 = 0;
  let r2 = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = actual[i] - expected[i];
    if (Number.isNaN(d)) assert.fail(`${what}: NaN at ${i}`);
    d2 += d * d;
    r2 += expected[i] * expected[i];
  }
  assert.ok(Math.sqrt(d2 / r2) <= REL, `${what}: relative L2 ${Math.sqrt(d2 / r2)}`);
}

test(`threaded: max and avg pool, 2x9x61x63 (${2 * 9 * 61 * 63} input elements), ceil, asymmetric pads`, async () => {
  // hand: H 61 + 1 + 0 - 3 = 59 -> floor 30, ceil 31 (window 31 starts at 60 < 62); W 63 + 0 + 1 - 3 = 61 -> ceil 32 (starts at 62 < 63)
  const dims = Int32Array.from([2, 9, 61, 63, 3, 3, 2, 2, 1, 0, 0, 1, 31, 32]);
  const input = randomArray(2 * 9 * 61 * 63, 21);
  const out = tensor(2 * 9 * 31 * 32);
  await b.maxPool2d(dims, tensor(input.length, input), out);
  assertClose(out.read(), ref.maxPool2d(dims, input), 'maxPool2d');
  for (const includePad of [false, true]) {
    await b.avgPool2d(dims, tensor(input.length, input), out, includePad);
    assertClose(out.read(), ref.avgPool2d(dims, input, includePad), `avgPool2d ${includePad}`);
  }
});

test('threaded: lrn 2x13x29x91, size 5', async () => {
  const dims = Int32Array.from([2, 13, 29, 91, 5]);
  const n = 2 * 13 * 29 * 91;
  const input = randomArray(n, 22, 10);
  const out = tensor(n);
  await b.lrn(dims, tensor(n, input), out, 1e-2, 0.75, 2);
  assertClose(out.read(), ref.lrn(dims, input, 1e-2, 0.75, 2), 'lrn');
});

test('threaded: softmax 13 rows of 1001', async () => {
  const dims = Int32Array.from([13, 1001]);
  const input = randomArray(13 * 1001, 23, 20);
  const out = tensor(13 * 1001);
  await b.softmax(dims, tensor(input.length, input), out);
  assertClose(out.read(), ref.softmax(dims, input), 'softmax');
});

test('threaded: adaptiveAvgPool2d 2x37x31x29 -> 6x5, relu of 70001', async () => {
  const dims = Int32Array.from([2, 37, 31, 29, 6, 5]);
  const input = randomArray(2 * 37 * 31 * 29, 24);
  const out = tensor(2 * 37 * 6 * 5);
  await b.adaptiveAvgPool2d(dims, tensor(input.length, input), out);
  assertClose(out.read(), ref.adaptiveAvgPool2d(dims, input), 'adaptiveAvgPool2d');
  const x = randomArray(70001, 25);
  const y = tensor(70001);
  await b.relu(tensor(70001, x), y);
  assert.deepEqual(y.read(), ref.relu(x));
});

test('softmax: the maximum in the last column, 200 above the rest (exp would overflow without subtracting it)', async () => {
  const dims = Int32Array.from([2, 5]);
  const input = Float32Array.from([0, 1, -3, 2, 200, 200, 0, 1, -3, 2]);
  const out = tensor(10);
  await b.softmax(dims, tensor(10, input), out);
  assertClose(out.read(), ref.softmax(dims, input), 'softmax, max last');
  assert.ok(out.read().every((v) => Number.isFinite(v)));
});

// The pool's shares are claimed (native/kernels/cpu/thread-pool.h): on 7 threads, more than this machine
// has cores, workers often wake after the caller has run their shares and must skip the job they were
// woken for without running a share twice, missing one, or touching the next job's. 400 jobs back to back,
// each ReLU over a fresh output (NaN-filled first), every element checked; then max pool, whose shares
// write disjoint planes.
test('thread pool: 400 jobs back to back on 7 threads, every share run exactly once', async () => {
  const saved = b.getThreads();
  b.setThreads(7);
  try {
    const n = 70001;
    const x = randomArray(n, 26);
    const expected = ref.relu(x);
    const input = tensor(n, x);
    const y = tensor(n);
    const nan = new Float32Array(n).fill(Number.NaN);
    for (let job = 0; job < 400; job++) {
      y.write(nan);
      await b.relu(input, y);
      const got = y.read();
      for (let i = 0; i < n; i++) if (got[i] !== expected[i]) assert.fail(`job ${job}: element ${i} is ${got[i]}, expected ${expected[i]}`);
    }
    const dims = Int32Array.from([2, 9, 61, 63, 3, 3, 2, 2, 1, 0, 0, 1, 31, 32]);
    const poolInput = randomArray(2 * 9 * 61 * 63, 27);
    const poolExpected = ref.maxPool2d(dims, poolInput);
    const out = tensor(2 * 9 * 31 * 32);
    for (let job = 0; job < 50; job++) {
      out.write(new Float32Array(out.length).fill(Number.NaN));
      await b.maxPool2d(dims, tensor(poolInput.length, poolInput), out);
      assert.deepEqual(out.read(), poolExpected, `max pool job ${job}`);
    }
  } finally {
    b.setThreads(saved);
  }
});
