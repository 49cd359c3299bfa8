// Classifier.classifyEach and acceptsInputSize in process: the seed architecture (no adaptive pool: the
// input size decides fc6's width) and torchvision's (adaptive pool: many sizes fit), with the input sizes
// that fit worked out by hand from the layer table, and a stand-in forward whose scores are each
// input's first three values. Inputs that cannot be read or have a size the network cannot take fail
// on their own, in input order, each under its own name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { Classifier, isFailure, type Classification, type ClassificationFailure } from '../lib/classifier.js';
import type { Model } from '../lib/model/model.js';
import type { Preprocess } from '../lib/model/layers.js';
import { buildArchitecture } from '../lib/model/archs.js';
import { writeNpy } from '../lib/weights/npy.js';
import type { NativeTensor } from '../lib/native.js';

const scratch = mkdtempSync(join(tmpdir(), 'alexnet-classifier-each-'));

function standIn(arch = buildArchitecture('seed', 3), fail?: Error): { model: Model; calls: number[][] } {
  const calls: number[][] = [];
  const model = {
    arch,
    async forward(data: Float32Array, shape: number[]) {
      if (fail) throw fail;
      calls.push([...shape]);
      const per = data.length / shape[0];
      return Float32Array.from({ length: shape[0] * 3 }, (_, i) => data[Math.floor(i / 3) * per + (i % 3)]);
    },
    dispose() {},
  } as unknown as Model;
  return { model, calls };
}

test('acceptsInputSize: the sizes whose layer shapes give the weights their shapes, by hand', () => {
  const seed = new Classifier(standIn().model, buildArchitecture('seed', 3).preprocess, undefined, 'x');
  // conv1 11/4 no pad, pools 3/2 floor: 227 -> 55 -> 27 -> 13 -> 6 (fc6 in = 256*6*6); 235 -> 57 -> 28 -> 13 -> 6 too;
  // 224 -> 54 -> 26 -> 12 -> 5 (fc6 in 6400); 20 -> 3 -> 1 -> pool2 of 1 with kernel 3: no output
  const cases: [number, number, boolean][] = [[227, 227, true], [235, 235, true], [235, 227, true], [227, 230, true],
    [224, 224, false], [227, 224, false], [224, 227, false], [20, 20, false], [227, 20, false]];
  for (const [h, w, ok] of cases) assert.equal(seed.acceptsInputSize(h, w), ok, `seed ${h}x${w}`);
  // torchvision: conv1 11/4 pad 2 and an adaptive 6x6 pool before fc6: 63 -> 15 -> 7 -> 3 -> 1 -> 6x6 fits; 30 -> 6 -> 2 -> pool2 has no output
  const tv = new Classifier(standIn(buildArchitecture('torchvision', 3)).model, buildArchitecture('torchvision', 3).preprocess, undefined, 'x');
  for (const [h, w, ok] of [[224, 224, true], [256, 300, true], [63, 63, true], [30, 30, false], [224, 30, false]] as [number, number, boolean][]) {
    assert.equal(tv.acceptsInputSize(h, w), ok, `torchvision ${h}x${w}`);
  }
});

const scores = (first: number[], shape: number[]) => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => first[i] ?? 0);

function inputs() {
  const good = join(scratch, 'good.npy');
  writeNpy(good, [3, 227, 227], scores([0.2, 0.5, 0.3], [3, 227, 227]));
  const batch = join(scratch, 'batch.npy');
  const two = new Float32Array(2 * 3 * 227 * 227);
  two.set([0.6, 0.3, 0.1]);
  two.set([0.1, 0.1, 0.8], 3 * 227 * 227);
  writeNpy(batch, [2, 3, 227, 227], two);
  const small1 = join(scratch, 'small1.npy');
  const small2 = join(scratch, 'small2.npy');
  writeNpy(small1, [3, 224, 224], scores([1, 0, 0], [3, 224, 224]));
  writeNpy(small2, [3, 224, 224], scores([0, 1, 0], [3, 224, 224]));
  const png = join(scratch, 'tiny.png');
  const image = new PNG({ width: 2, height: 2 });
  image.data.fill(200);
  writeFileSync(png, PNG.sync.write(image));
  const missing = join(scratch, 'missing.jpg');
  return { good, batch, small1, small2, png, missing };
}

// 2x2, no crop: a PNG preprocessed with it is [3,2,2], which no AlexNet takes
const TINY: Preprocess = { resizeMode: 'exact', resize: [2, 2], crop: null, range: 1, mean: [0, 0, 0], std: [1, 1, 1], bgr: false };

test('classifyEach: every good input classified, each bad one failed under its own name, input order kept', async () => {
  const f = inputs();
  const { model, calls } = standIn();
  const classifier = new Classifier(model, buildArchitecture('seed', 3).preprocess, undefined, 'x');
  const results = await classifier.classifyEach([f.good, f.missing, f.small1, f.batch, f.small2, f.png], { top: 2, batch: 2, preprocess: TINY });
  // the 227x227 inputs (good, batch#0, batch#1) in batches of 2
  assert.deepEqual(calls, [[2, 3, 227, 227], [1, 3, 227, 227]]);
  const p = Math.fround;
  const prediction = (index: number, probability: number) => ({ index, wnid: '', label: `class ${index}`, probability: p(probability) });
  const json = JSON.parse(JSON.stringify(results));
  assert.deepEqual(json, [
    { input: f.good, predictions: [prediction(1, 0.5), prediction(2, 0.3)] },
    // with TINY every image is 2x2, which the network cannot take: known before any file is read
    { input: f.missing, error: `${f.missing}: expected 227x227 input for seed but found 2x2`, code: 'ERR_IMAGE' },
    { input: f.small1, error: `${f.small1}: expected 227x227 input for seed but found 224x224`, code: 'ERR_IMAGE' },
    { input: `${f.batch}#0`, predictions: [prediction(0, 0.6), prediction(1, 0.3)] },
    { input: `${f.batch}#1`, predictions: [prediction(2, 0.8), prediction(0, 0.1)] },
    { input: f.small2, error: `${f.small2}: expected 227x227 input for seed but found 224x224`, code: 'ERR_IMAGE' },
    { input: f.png, error: `${f.png}: expected 227x227 input for seed but found 2x2`, code: 'ERR_IMAGE' },
  ]);
  assert.deepEqual(results.map((r) => isFailure(r)), [false, true, true, false, false, true, true]);
  // the Error rides along, left out of JSON: the size check's own for the first of its group, a wrapper for the second
  const small1 = results[2] as ClassificationFailure;
  const small2 = results[5] as ClassificationFailure;
  assert.equal(Object.keys(small1).join(), 'input,error,code');
  assert.equal(small1.cause!.message, small1.error);
  assert.equal((small1.cause as NodeJS.ErrnoException).code, 'ERR_IMAGE');
  assert.equal(small2.cause!.message, small2.error);
  assert.equal((small2.cause as NodeJS.ErrnoException).code, 'ERR_IMAGE');
  assert.equal((results[1] as ClassificationFailure).cause!.message, json[1].error);
});

test('classifyEach: defaults (top 5, batch 32, the classifier\'s preprocessing); shape errors fail their inputs, other errors are thrown', async () => {
  const f = inputs();
  const { model, calls } = standIn();
  const classifier = new Classifier(model, buildArchitecture('seed', 3).preprocess, undefined, 'x');
  // the seed preprocessing makes the PNG 227x227: classified with the others, one batch, all 3 classes
  const all = await classifier.classifyEach([f.png, f.good, f.batch, f.missing]);
  // the unreadable image's row runs with the batch and its output is dropped
  assert.deepEqual(calls, [[5, 3, 227, 227]]);
  assert.deepEqual(JSON.parse(JSON.stringify(all[4])), { input: f.missing, error: `${f.missing}: expected a readable image file but found no such file`, code: 'ERR_IMAGE' });
  const results = all.slice(0, 4) as Classification[];
  assert.deepEqual(results.map((r) => r.predictions.map((x) => x.index)), [[0, 1, 2], [1, 2, 0], [0, 1, 2], [2, 0, 1]]);
  assert.deepEqual(results.map((r) => r.input), [f.png, f.good, `${f.batch}#0`, `${f.batch}#1`]);
  assert.equal(isFailure(results[0]), false);

  const shapeError = Object.assign(new Error('the network refused the batch'), { code: 'ERR_SHAPE' });
  const refusing = new Classifier(standIn(buildArchitecture('seed', 3), shapeError).model, buildArchitecture('seed', 3).preprocess, undefined, 'x');
  const failed = await refusing.classifyEach([f.good, f.batch]);
  assert.deepEqual(JSON.parse(JSON.stringify(failed)), [
    { input: f.good, error: `${f.good}: the network refused the batch`, code: 'ERR_SHAPE' },
    { input: `${f.batch}#0`, error: `${f.batch}#0: the network refused the batch`, code: 'ERR_SHAPE' },
    { input: `${f.batch}#1`, error: `${f.batch}#1: the network refused the batch`, code: 'ERR_SHAPE' },
  ]);
  assert.equal((failed[0] as ClassificationFailure).cause!.cause, shapeError);

  // classify() (stop at the first failure) throws the network's own error, not one failure per input
  await assert.rejects(refusing.classify([f.good, f.batch]), (e: Error) => e === shapeError);
  // so does classifyItems (items already in memory)
  const item = { name: 'item', data: new Float32Array(3 * 227 * 227), shape: [3, 227, 227] as [number, number, number] };
  await assert.rejects(refusing.classifyItems([item]), (e: Error) => e === shapeError);

  const other = Object.assign(new Error('out of memory'), { code: 'ERR_NATIVE' });
  const broken = new Classifier(standIn(buildArchitecture('seed', 3), other).model, buildArchitecture('seed', 3).preprocess, undefined, 'x');
  await assert.rejects(broken.classifyEach([f.good]), other);
  // an error without a code from the network is thrown too
  const plain = new Error('plain');
  await assert.rejects(new Classifier(standIn(buildArchitecture('seed', 3), plain).model, buildArchitecture('seed', 3).preprocess, undefined, 'x').classifyEach([f.good]), plain);
});

test('classifyItems: a size the network cannot take is refused naming the first input of that size', async () => {
  const classifier = new Classifier(standIn().model, buildArchitecture('seed', 3).preprocess, undefined, 'x');
  const item = (name: string, size: number) => ({ name, data: new Float32Array(3 * size * size), shape: [3, size, size] as [number, number, number] });
  await assert.rejects(classifier.classifyItems([item('a', 227), item('b', 224), item('c', 224)]), {
    code: 'ERR_IMAGE', message: 'b: expected 227x227 input for seed but found 224x224',
  });
  const results = await classifier.classifyItems([item('a', 227), item('d', 235)], 1);
  assert.deepEqual(results.map((r) => r.input), ['a', 'd']);
  assert.equal(results.length, 2);
});

// classify() stops at the first failure: what it throws and what it leaves unrun, by input order
test('classify: the failure of the lowest input is thrown and nothing after it runs, across batches, shapes and .npy files', async () => {
  const f = inputs();
  const missingNpy = join(scratch, 'missing.npy');
  const big = join(scratch, 'big.npy');
  writeNpy(big, [3, 235, 235], scores([0, 0, 1], [3, 235, 235]));
  const smallPair = join(scratch, 'small-pair.npy');
  writeNpy(smallPair, [2, 3, 224, 224], new Float32Array(2 * 3 * 224 * 224));
  const cases: [string, string[], string][] = [
    // the unreadable image and the good .npy share a batch: the batch stops before its forward pass
    ['one batch', [f.missing, f.good], `${f.missing}: expected a readable image file but found no such file`],
    // 235x235 is another shape (another batch, run after the 227 one): it does not run either
    ['a later shape', [f.missing, big], `${f.missing}: expected a readable image file but found no such file`],
    // a .npy that cannot be read is known before any batch: the good input after it does not run
    ['a .npy first', [missingNpy, f.good], `${missingNpy}: expected a readable .npy file but found no such file`],
    // so is a size the network cannot take (found before anything is decoded)
    ['a wrong size first', [f.small1, f.good], `${f.small1}: expected 227x227 input for seed but found 224x224`],
  ];
  for (const [what, paths, message] of cases) {
    const { model, calls } = standIn();
    const classifier = new Classifier(model, buildArchitecture('seed', 3).preprocess, undefined, 'x');
    await assert.rejects(classifier.classify(paths), { message }, what);
    assert.deepEqual(calls, [], `${what}: no forward pass`);
  }
  // both items of one .npy have the size the network cannot take: the first of them (#0) is thrown
  const classifier = new Classifier(standIn().model, buildArchitecture('seed', 3).preprocess, undefined, 'x');
  await assert.rejects(classifier.classify([smallPair]), { code: 'ERR_IMAGE', message: `${smallPair}#0: expected 227x227 input for seed but found 224x224` });
});

test('classifyEach: a .npy that cannot be read fails in its place; an error that does not name its input is named, its code kept', async () => {
  const f = inputs();
  const missingNpy = join(scratch, 'missing.npy');
  const { model, calls } = standIn();
  const classifier = new Classifier(model, buildArchitecture('seed', 3).preprocess, undefined, 'x');
  // raw pixels whose data getter throws: the loader's own error, which names nothing
  const throwing = { width: 227, height: 227, channels: 3, get data(): Uint8Array { throw Object.assign(new Error('pixels gone'), { code: 'ERR_GONE' }); } };
  const results = await classifier.classifyEach([f.good, missingNpy, throwing, f.batch]);
  assert.deepEqual(calls, [[4, 3, 227, 227]]);
  assert.deepEqual(JSON.parse(JSON.stringify(results)).map((r: { input: string; error?: string; code?: string }) => [r.input, r.error ?? 'ok', r.code ?? 'ok']), [
    [f.good, 'ok', 'ok'],
    [missingNpy, `${missingNpy}: expected a readable .npy file but found no such file`, 'ERR_IMAGE'],
    ['<buffer 2>', '<buffer 2>: pixels gone', 'ERR_GONE'],
    [`${f.batch}#0`, 'ok', 'ok'],
    [`${f.batch}#1`, 'ok', 'ok'],
  ]);
  const named = (results[2] as ClassificationFailure).cause as NodeJS.ErrnoException;
  assert.equal(named.code, 'ERR_GONE');
  assert.equal((named.cause as Error).message, 'pixels gone');
  // classify() throws the named error, with its code
  await assert.rejects(classifier.classify([throwing]), { code: 'ERR_GONE', message: '<buffer 0>: pixels gone' });
  // an error without a code is ERR_INPUT
  const plain = { width: 227, height: 227, channels: 3, get data(): Uint8Array { throw new Error('no code'); } };
  assert.deepEqual(JSON.parse(JSON.stringify(await classifier.classifyEach([plain]))), [{ input: '<buffer 0>', error: '<buffer 0>: no code', code: 'ERR_INPUT' }]);
});

test('classify on the CPU: the batch input is one NativeTensor of min(batch, inputs) rows, freed after the run', async () => {
  const f = inputs();
  const per = 3 * 227 * 227;
  const given: { tensor: NativeTensor; length: number; rows: number }[] = [];
  const model = {
    arch: buildArchitecture('seed', 3),
    device: 'cpu',
    async forward(data: NativeTensor, shape: number[]) {
      given.push({ tensor: data, length: data.length, rows: shape[0] });
      const values = data.read(0, shape[0] * per);
      return Float32Array.from({ length: shape[0] * 3 }, (_, i) => values[Math.floor(i / 3) * per + (i % 3)]);
    },
    dispose() {},
  } as unknown as Model;
  const classifier = new Classifier(model, buildArchitecture('seed', 3).preprocess, undefined, 'x');
  // 3 inputs, batch 32 by default: 3 rows, not 32
  const results = await classifier.classify([f.good, f.batch]);
  assert.deepEqual(results.map((r) => r.predictions[0].index), [1, 0, 2]);
  assert.deepEqual(given.map((g) => [g.length, g.rows]), [[3 * per, 3]]);
  // batch 2 over 3 inputs: one tensor of 2 rows, run twice
  await classifier.classify([f.good, f.batch], { batch: 2 });
  assert.deepEqual(given.slice(1).map((g) => [g.length, g.rows]), [[2 * per, 2], [2 * per, 1]]);
  assert.equal(given[1].tensor, given[2].tensor);
  for (const g of given) assert.throws(() => g.tensor.read(0, 1), { code: 'ERR_DISPOSED' });
});
