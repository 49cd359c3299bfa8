// lib/classifier.ts in isolation: top-k with tied scores, softmax against hand-computed values, and
// the batching of classifyItems checked with a stand-in model that records what it is given.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Classifier, softmaxRows, topK } from '../lib/classifier.js';
import type { ForwardOptions, Model } from '../lib/model/model.js';
import type { Architecture } from '../lib/model/layers.js';
import { PREPROCESS } from '../lib/model/archs.js';
import { writeNpy } from '../lib/weights/npy.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test('topK: best first, ties to the lower index, k capped at the row length', () => {
  // ties at 3 (indices 1, 2, 4) and at 1 (indices 0, 5)
  const row = Float32Array.from([1, 3, 3, 2, 3, 1, -1]);
  assert.deepEqual(topK(row, 1), [1]);
  assert.deepEqual(topK(row, 3), [1, 2, 4]);
  assert.deepEqual(topK(row, 4), [1, 2, 4, 3]);
  assert.deepEqual(topK(row, 6), [1, 2, 4, 3, 0, 5]);
  assert.deepEqual(topK(row, 100), [1, 2, 4, 3, 0, 5, 6]);
  assert.deepEqual(topK(Float32Array.from([0, 0, 0]), 2), [0, 1]);
  assert.deepEqual(topK(Float32Array.from([-2, 5, -3]), 3), [1, 0, 2]);
});

test('softmaxRows: each row on its own, hand-computed values, large logits stay finite', () => {
  const e = Math.E;
  const out = softmaxRows(Float32Array.from([0, 1, 2, 1000, 1000, 999]), 2, 3);
  const s1 = 1 + e + e * e;
  const s2 = 2 + 1 / e;
  const expected = [1 / s1, e / s1, (e * e) / s1, 1 / s2, 1 / s2, 1 / e / s2];
  out.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-7, `${i}: ${v} vs ${expected[i]}`));
  // all equal: uniform
  assert.deepEqual(softmaxRows(Float32Array.from([-5, -5, -5, -5]), 1, 4), Float32Array.from([0.25, 0.25, 0.25, 0.25]));
  // negative logits only: the maximum is not 0
  const neg = softmaxRows(Float32Array.from([-1000, -1001]), 1, 2);
  assert.ok(Math.abs(neg[0] - 1 / (1 + 1 / e)) < 1e-7, String(neg[0]));
});

interface Call { shape: number[]; data: Float32Array; options?: ForwardOptions }

/**
 * A 3-class stand-in: the scores of an item are its first three values; asked for probabilities, a
 * logits stand-in applies softmaxRows (as Model.forward's native softmax record does)
 */
function standIn(output: 'logits' | 'probabilities', numClasses = 3): { model: Model; calls: Call[] } {
  const calls: Call[] = [];
  const arch = { name: 'stand-in', input: [1, 2, 2], numClasses, output, layers: [], preprocess: PREPROCESS.torchvision } as unknown as Architecture;
  const model = {
    arch,
    disposed: false,
    async forward(data: Float32Array, shape: number[], options?: ForwardOptions) {
      calls.push({ shape: [...shape], data: data.slice(), options });
      const per = data.length / shape[0];
      const out = new Float32Array(shape[0] * numClasses);
      for (let i = 0; i < shape[0]; i++) for (let c = 0; c < numClasses; c++) out[i * numClasses + c] = data[i * per + c];
      return options?.probabilities && output === 'logits' ? softmaxRows(out, shape[0], numClasses) : out;
    },
    dispose() { (this as { disposed: boolean }).disposed = true; },
  } as unknown as Model;
  return { model, calls };
}

const item = (name: string, values: number[], shape: [number, number, number] = [1, 2, 2]) => ({ name, data: Float32Array.from(values), shape });

test('classifyItems: items of one shape batch together, in chunks of batchSize, results in input order', async () => {
  const { model, calls } = standIn('probabilities');
  const labels = [{ index: 0, wnid: 'n0', label: 'zero' }, { index: 1, wnid: 'n1', label: 'one' }, { index: 2, wnid: 'n2', label: 'two' }];
  const classifier = new Classifier(model, PREPROCESS.torchvision, labels, 'test');
  const items = [
    item('a', [0.1, 0.7, 0.2, 9]),
    item('b', [0.5, 0.2, 0.3, 9, 9, 9], [1, 2, 3]),
    item('c', [0.3, 0.3, 0.4, 9]),
    item('d', [0.6, 0.1, 0.3, 9]),
  ];
  const results = await classifier.classifyItems(items, 2, 2);
  // shape 1x2x2: a, c in one batch of 2, then d; shape 1x2x3: b
  assert.deepEqual(calls.map((c) => c.shape), [[2, 1, 2, 2], [1, 1, 2, 2], [1, 1, 2, 3]]);
  assert.deepEqual(calls[0].data, Float32Array.from([0.1, 0.7, 0.2, 9, 0.3, 0.3, 0.4, 9]));
  assert.deepEqual(calls[1].data, Float32Array.from([0.6, 0.1, 0.3, 9]));
  const f = Math.fround;
  assert.deepEqual(results, [
    { input: 'a', predictions: [{ index: 1, wnid: 'n1', label: 'one', probability: f(0.7) }, { index: 2, wnid: 'n2', label: 'two', probability: f(0.2) }] },
    { input: 'b', predictions: [{ index: 0, wnid: 'n0', label: 'zero', probability: f(0.5) }, { index: 2, wnid: 'n2', label: 'two', probability: f(0.3) }] },
    { input: 'c', predictions: [{ index: 2, wnid: 'n2', label: 'two', probability: f(0.4) }, { index: 0, wnid: 'n0', label: 'zero', probability: f(0.3) }] },
    { input: 'd', predictions: [{ index: 0, wnid: 'n0', label: 'zero', probability: f(0.6) }, { index: 2, wnid: 'n2', label: 'two', probability: f(0.3) }] },
  ]);
  // defaults: top 5 (all 3 classes here), one batch of up to 32
  calls.length = 0;
  const all = await classifier.classifyItems([items[0], items[2], items[3]]);
  assert.deepEqual(calls.map((c) => c.shape), [[3, 1, 2, 2]]);
  assert.deepEqual(all[2].predictions.map((p) => p.index), [0, 2, 1]);
});

test('probabilities: asks the model for probabilities (its plan ends in a softmax where it outputs logits)', async () => {
  const stand = standIn('logits');
  const logits = new Classifier(stand.model, PREPROCESS.torchvision, undefined, 'test');
  const p = await logits.probabilities(Float32Array.from([0, Math.log(3), 0, 5]), [1, 1, 2, 2]);
  assert.ok(Math.abs(p[0] - 0.2) < 1e-7 && Math.abs(p[1] - 0.6) < 1e-7 && Math.abs(p[2] - 0.2) < 1e-7, String(p));
  assert.deepEqual(stand.calls.map((c) => c.options), [{ probabilities: true }]);
  const probs = new Classifier(standIn('probabilities').model, PREPROCESS.torchvision, undefined, 'test');
  assert.deepEqual(await probs.probabilities(Float32Array.from([0.5, 0.25, 0.25, 5]), [1, 1, 2, 2]), Float32Array.from([0.5, 0.25, 0.25]));
  const [result] = await logits.classifyItems([item('x', [0, Math.log(3), 0, 5])], 1);
  assert.equal(result.predictions[0].index, 1);
  assert.ok(Math.abs(result.predictions[0].probability - 0.6) < 1e-7);
});

test('labels: numbered classes by default, the ImageNet list for 1000, a wrong count refused', () => {
  const { model } = standIn('logits');
  const c = new Classifier(model, PREPROCESS.torchvision, undefined, 'safetensors');
  assert.deepEqual(c.labels, [{ index: 0, wnid: '', label: 'class 0' }, { index: 1, wnid: '', label: 'class 1' }, { index: 2, wnid: '', label: 'class 2' }]);
  assert.equal(c.format, 'safetensors');
  assert.equal(c.arch, model.arch);
  assert.equal(c.preprocess, PREPROCESS.torchvision);
  const imagenet = new Classifier(standIn('logits', 1000).model, PREPROCESS.torchvision, undefined, 'x');
  assert.deepEqual(imagenet.labels[281], { index: 281, wnid: 'n02123045', label: 'tabby' });
  assert.throws(() => new Classifier(model, PREPROCESS.torchvision, [{ index: 0, wnid: '', label: 'a' }], 'x'), {
    code: 'ERR_LABELS', message: 'Expected 3 labels for a 3-class head but received 1',
  });
  c.dispose();
  assert.equal((model as unknown as { disposed: boolean }).disposed, true);
});

test('forward passes its options through to the model', async () => {
  let seen: unknown;
  const { model } = standIn('logits');
  (model as unknown as { forward: unknown }).forward = async (_d: Float32Array, _s: number[], options: unknown) => { seen = options; return new Float32Array(3); };
  const c = new Classifier(model, PREPROCESS.torchvision, undefined, 'x');
  await c.forward(new Float32Array(4), [1, 1, 2, 2], { trace: true } as never);
  assert.deepEqual(seen, { trace: true });
});

test('classifyItems: shapes whose digits run together ([1,12,3] and [1,1,23]) are still two batches', async () => {
  const { model, calls } = standIn('probabilities');
  const classifier = new Classifier(model, PREPROCESS.torchvision, undefined, 'test');
  const a = { name: 'a', data: Float32Array.from({ length: 36 }, (_, i) => (i < 3 ? [0.2, 0.5, 0.3][i] : 0)), shape: [1, 12, 3] as [number, number, number] };
  const b = { name: 'b', data: Float32Array.from({ length: 23 }, (_, i) => (i < 3 ? [0.6, 0.3, 0.1][i] : 0)), shape: [1, 1, 23] as [number, number, number] };
  const results = await classifier.classifyItems([a, b], 1);
  assert.deepEqual(calls.map((c) => c.shape), [[1, 1, 12, 3], [1, 1, 1, 23]]);
  assert.deepEqual(results.map((r) => r.predictions[0].index), [1, 0]);
});

test('classify: files to predictions, 5 by default (all 3 here), batch checked before anything is read', async () => {
  const { model, calls } = standIn('probabilities');
  const classifier = new Classifier(model, PREPROCESS.torchvision, undefined, 'test');
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-classifier-'));
  const file = join(dir, 'two.npy');
  // [2, 3, 2, 2]: the stand-in's scores are each item's first three values
  writeNpy(file, [2, 3, 2, 2], Float32Array.from({ length: 24 }, (_, i) => [0.1, 0.6, 0.3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.5, 0.2, 0.3][i] ?? 0));
  const results = await classifier.classify([file]);
  assert.deepEqual(results.map((r) => [r.input, r.predictions.map((p) => p.index)]), [[`${file}#0`, [1, 2, 0]], [`${file}#1`, [0, 2, 1]]]);
  calls.length = 0;
  await classifier.classify([file], { batch: 1, top: 1 });
  assert.deepEqual(calls.map((c) => c.shape[0]), [1, 1]);
  for (const batch of [0, 1.5, -2]) {
    await assert.rejects(classifier.classify([join(dir, 'missing.npy')], { batch }), { code: 'ERR_USAGE', message: `Expected a positive integer for batch but received ${batch}` });
  }
});

test('classify: images decode straight into the batch input NativeTensor, with the predictions of preprocessed host tensors', async () => {
  const { fileURLToPath } = await import('node:url');
  const { loadModel } = await import('../lib/index.js');
  const { loadInputs } = await import('../lib/image/preprocess.js');
  const { SMALL_ARCHS } = await import('./weights-fixtures.js');
  const images = fileURLToPath(new URL('../../test/fixtures/images/', import.meta.url));
  const inputs = ['coffee-baseline.jpg', 'astronaut.png', 'chelsea-progressive.jpg', 'coffee-baseline.jpg', 'corrupt.jpg'].map((f) => join(images, f));
  const base = SMALL_ARCHS['torchvision-small'];
  const arch = { ...base, preprocess: { ...base.preprocess, resize: [99, 99] as [number, number], crop: null, resizeMode: 'exact' as const } };
  const classifier = await loadModel({ arch, weights: 'random:4' });
  try {
    const given: unknown[] = [];
    const forward = classifier.forward.bind(classifier);
    classifier.forward = (data, shape, options) => {
      given.push(data);
      return forward(data, shape, options);
    };
    const results = await classifier.classifyEach(inputs, { batch: 2, top: 3 });
    // JPEG and PNG alike go into the NativeTensor the forward pass reads: no host batch; the third batch
    // (the corrupt JPEG alone) runs no pass
    assert.equal(given.length, 2);
    assert.ok(given.every((d) => !(d instanceof Float32Array)), 'a NativeTensor, not host data');
    assert.equal(results[4].input, inputs[4]);
    assert.ok(isFailureResult(results[4]), 'the corrupt JPEG fails on its own');
    // the same probabilities as the tensors preprocessed on the host, in the same batches of two (another
    // batch size may change the last bits: docs/score.md)
    const items = await loadInputs(inputs.slice(0, 4), arch.preprocess);
    const expected = await classifier.classifyItems(items, 3, 2);
    assert.deepEqual(results.slice(0, 4), expected);
  } finally {
    classifier.dispose();
  }
});

function isFailureResult(r: object): boolean {
  return 'error' in r;
}
