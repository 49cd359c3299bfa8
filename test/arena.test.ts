// Concurrent forward passes on one Model (issue 12): each pass in flight holds its own activation arena
// (lib/model/arena.ts), so overlapping calls of mixed batch sizes give, bit for bit, what they give one
// at a time; at most `concurrency` arenas exist; dispose() lets running passes finish and rejects the
// waiting ones with ERR_DISPOSED. Each check here fails when the passes share one arena.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ArenaPool } from '../lib/model/arena.js';
import type { Architecture, LayerSpec } from '../lib/model/layers.js';
import { PREPROCESS } from '../lib/model/archs.js';
import { Model } from '../lib/model/model.js';
import { Rng } from '../lib/model/random.js';
import { inferShapes } from '../lib/model/shapes.js';
import { native, type NativeTensor } from '../lib/native.js';

/**
 * A small network with every op a plan has (conv + relu, LRN, both pools, adaptive pool, linear, softmax
 * added by `probabilities`), so 40 passes take well under a second; adaptiveAvgPool2d lets it take
 * several input sizes
 */
const layers: LayerSpec[] = [
  { type: 'conv2d', name: 'conv1', outChannels: 8, kernel: [3, 3], stride: [2, 2], pad: [1, 1, 1, 1], groups: 1, bias: true, relu: true },
  { type: 'lrn', name: 'norm1', size: 5, alpha: 1e-4, beta: 0.75, k: 2 },
  { type: 'maxPool2d', name: 'pool1', kernel: [3, 3], stride: [2, 2], pad: [0, 0, 0, 0], ceil: true },
  { type: 'conv2d', name: 'conv2', outChannels: 12, kernel: [3, 3], stride: [1, 1], pad: [1, 1, 1, 1], groups: 2, bias: true, relu: false },
  { type: 'relu', name: 'relu2' },
  { type: 'avgPool2d', name: 'pool2', kernel: [2, 2], stride: [1, 1], pad: [0, 0, 0, 0], ceil: false },
  { type: 'adaptiveAvgPool2d', name: 'avgpool', output: [3, 3] },
  { type: 'flatten', name: 'flatten' },
  { type: 'linear', name: 'fc1', outFeatures: 20, bias: true, relu: true },
  { type: 'dropout', name: 'drop1', rate: 0.5 },
  { type: 'linear', name: 'fc2', outFeatures: 7, bias: true, relu: false },
];
const small: Architecture = { name: 'small', input: [3, 31, 31], layers, preprocess: PREPROCESS.torchvision, output: 'logits', numClasses: 7 };

function randomInput(length: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length }, () => rng.normal());
}

const sameBits = (a: Float32Array, b: Float32Array): boolean => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

interface Call {
  shape: number[];
  input: Float32Array;
  probabilities: boolean;
}

/** 40 calls: batch sizes 1, 2, 3, 5, 8 in turn, two input sizes, every third asking for probabilities */
function mixedCalls(): Call[] {
  const batches = [1, 2, 3, 5, 8];
  return Array.from({ length: 40 }, (_, i) => {
    const side = i % 7 < 4 ? 31 : 27;
    const shape = [batches[i % batches.length], 3, side, side];
    return { shape, input: randomInput(shape.reduce((a, b) => a * b, 1), 100 + i), probabilities: i % 3 === 0 };
  });
}

describe('concurrent Model.forward on one model', () => {
  for (const concurrency of [1, 2, 3]) {
    test(`40 overlapping calls of mixed batch sizes equal the sequential results bit for bit (concurrency ${concurrency})`, async () => {
      const model = await Model.random(small, 5, 'cpu', { concurrency });
      try {
        const calls = mixedCalls();
        const sequential: Float32Array[] = [];
        for (const c of calls) sequential.push(await model.forward(c.input, c.shape, { probabilities: c.probabilities }));
        // the batch items differ, so a row taken from another call cannot match by chance
        assert.ok(!sameBits(sequential[1].subarray(0, 7), sequential[1].subarray(7, 14)));
        const overlapping = await Promise.all(calls.map((c) => model.forward(c.input, c.shape, { probabilities: c.probabilities })));
        overlapping.forEach((out, i) => assert.ok(sameBits(out, sequential[i]), `call ${i} (batch ${calls[i].shape[0]}) differs from its sequential result`));
        // one arena per pass in flight, never more than `concurrency` (the largest: 8 x 8 x 16 x 16 floats, twice, plus the input)
        const largest = 2 * 8 * 8 * 16 * 16 * 4 + 8 * 3 * 31 * 31 * 4;
        assert.ok(model.arenaBytes > 0 && model.arenaBytes <= concurrency * largest, `${model.arenaBytes} bytes of arenas`);
      } finally {
        model.dispose();
      }
    });
  }

  test('overlapping calls with NativeTensor inputs and plan: false also equal the sequential results', async () => {
    const model = await Model.random(small, 6, 'cpu', { concurrency: 3 });
    const inputs: NativeTensor[] = [];
    try {
      const calls = mixedCalls().slice(0, 15);
      const sequential: Float32Array[] = [];
      for (const c of calls) sequential.push(await model.forward(c.input, c.shape));
      const tensors = calls.map((c) => {
        const t = native().alloc('cpu', c.input.length);
        t.write(c.input);
        inputs.push(t);
        return t;
      });
      const overlapping = await Promise.all(calls.map((c, i) => model.forward(i % 2 ? tensors[i] : c.input, c.shape, { plan: i % 3 !== 0 })));
      overlapping.forEach((out, i) => assert.ok(sameBits(out, sequential[i]), `call ${i} differs`));
    } finally {
      for (const t of inputs) t.dispose();
      model.dispose();
    }
  });

  test('dispose() while calls are in flight: running passes finish with their results, waiting ones reject with ERR_DISPOSED', async () => {
    const model = await Model.random(small, 7, 'cpu', { concurrency: 2 });
    const calls = mixedCalls().slice(0, 10);
    const sequential: Float32Array[] = [];
    for (const c of calls) sequential.push(await model.forward(c.input, c.shape));
    // the first two take the two arenas at the call; the other eight wait
    const pending = calls.map((c) => model.forward(c.input, c.shape));
    model.dispose();
    const settled = await Promise.allSettled(pending);
    settled.slice(0, 2).forEach((s, i) => {
      assert.equal(s.status, 'fulfilled', `call ${i}: ${s.status === 'rejected' ? (s.reason as Error).message : ''}`);
      assert.ok(sameBits((s as PromiseFulfilledResult<Float32Array>).value, sequential[i]), `call ${i} differs`);
    });
    for (const s of settled.slice(2)) {
      assert.equal(s.status, 'rejected');
      assert.equal((s as PromiseRejectedResult).reason.code, 'ERR_DISPOSED');
      assert.equal((s as PromiseRejectedResult).reason.message, 'Expected a model that is not disposed but received a call after Model.dispose()');
    }
    await assert.rejects(model.forward(calls[0].input, calls[0].shape), { code: 'ERR_DISPOSED' });
    // everything freed once the running passes are done
    assert.equal(model.arenaBytes, 0);
    assert.equal(model.weightBytes, 0);
    model.dispose(); // twice is fine
  });

  test('dispose() while a plan: false pass is between ops: it finishes, with its result', async () => {
    const model = await Model.random(small, 8, 'cpu');
    const c = mixedCalls()[4];
    const alone = await model.forward(c.input, c.shape);
    const running = model.forward(c.input, c.shape, { plan: false });
    await new Promise((resolve) => setImmediate(resolve));
    model.dispose();
    assert.ok(sameBits(await running, alone));
    assert.equal(model.weightBytes, 0);
  });
});

describe('ArenaPool', () => {
  const shapes = inferShapes(small);
  /** a pool whose alloc counts the buffers alive */
  function counting(limit: number) {
    const live = new Set<object>();
    let peak = 0;
    const pool = new ArenaPool((length) => {
      const t = { device: 'cpu', length, write() {}, read: () => new Float32Array(0), dispose() { live.delete(t); } } as NativeTensor;
      live.add(t);
      peak = Math.max(peak, live.size);
      return t;
    }, limit);
    return { pool, live, peak: () => peak };
  }

  test('first come first served, at most `limit` arenas alive, an idle arena of the same key reused', async () => {
    const { pool, live, peak } = counting(2);
    const a = await pool.acquire('1', 1, shapes);
    const b = await pool.acquire('2', 2, shapes);
    const order: string[] = [];
    const c = pool.acquire('3', 3, shapes).then((x) => { order.push('3'); return x; });
    const d = pool.acquire('1', 1, shapes).then((x) => { order.push('1'); return x; });
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(order, []);
    pool.release(b); // freed for '3', the first waiting
    const third = await c;
    assert.deepEqual(order, ['3']);
    assert.equal(third.batch, 3);
    pool.release(a); // idle '1' goes to the waiting '1' as it is
    assert.equal(await d, a);
    assert.ok(peak() <= 4, `${peak()} buffers alive at once`);
    pool.close(() => undefined);
    pool.release(third);
    pool.release(a);
    assert.equal(live.size, 0);
  });

  test('close(): waiting calls rejected, onDrained once the busy arenas come back, later calls rejected', async () => {
    const { pool, live } = counting(1);
    const a = await pool.acquire('1', 1, shapes);
    const waiting = pool.acquire('1', 1, shapes);
    let drained = 0;
    pool.close(() => drained++);
    await assert.rejects(waiting, { code: 'ERR_DISPOSED' });
    assert.equal(drained, 0);
    pool.release(a);
    assert.equal(drained, 1);
    assert.equal(live.size, 0);
    await assert.rejects(pool.acquire('1', 1, shapes), { code: 'ERR_DISPOSED' });
  });

  test('close() with two passes busy: onDrained only when the last of them comes back', async () => {
    const { pool, live } = counting(2);
    const a = await pool.acquire('1', 1, shapes);
    const b = await pool.acquire('2', 2, shapes);
    let drained = 0;
    pool.close(() => drained++);
    pool.release(a);
    assert.equal(drained, 0, 'drained with a pass still busy');
    pool.release(b);
    assert.equal(drained, 1);
    assert.equal(live.size, 0);
  });

  test('a limit that is not a positive integer is refused', () => {
    assert.throws(() => new ArenaPool(() => { throw new Error('unused'); }, 0), { code: 'ERR_USAGE', message: 'Expected a positive integer for concurrency but received 0' });
  });

  test('an allocation that fails: the buffer already allocated is freed, the caller gets the error, the next call is served', async () => {
    const live = new Set<object>();
    let calls = 0;
    const failure = Object.assign(new Error('out of device memory'), { code: 'ERR_NATIVE' });
    const pool = new ArenaPool((length) => {
      // the second buffer of the first arena fails
      if (++calls === 2) throw failure;
      const t = { device: 'cpu', length, write() {}, read: () => new Float32Array(0), dispose() { live.delete(t); } } as NativeTensor;
      live.add(t);
      return t;
    }, 1);
    await assert.rejects(pool.acquire('1', 1, shapes), failure);
    assert.equal(live.size, 0, 'the first buffer is freed');
    const arena = await pool.acquire('1', 1, shapes);
    assert.equal(live.size, 2);
    // bytes: two buffers of the largest activation (conv1: 8 x 16 x 16 for a 31x31 input), float32, no input buffer yet
    assert.equal(pool.bytes, 2 * 8 * 16 * 16 * 4);
    arena.input = { device: 'cpu', length: 3 * 31 * 31, write() {}, read: () => new Float32Array(0), dispose() {} } as NativeTensor;
    assert.equal(pool.bytes, (2 * 8 * 16 * 16 + 3 * 31 * 31) * 4);
    pool.close(() => undefined);
    pool.release(arena);
    assert.equal(live.size, 0);
  });
});
