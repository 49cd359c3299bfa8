// lib/model/shapes.ts against hand-written tables (not against itself): pool output sizes where ceil
// and floor rounding disagree, PyTorch's rule that drops a last window starting in the right
// padding, Keras 'same' padding with the extra row at the bottom/right, parameter counts and MACs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Architecture, LayerSpec } from '../lib/model/layers.js';
import { checkWeights, inferShapes, parameterShapes, poolOutputSize, sameShape, shapeSize, shapeText } from '../lib/model/shapes.js';
import { PREPROCESS } from '../lib/model/archs.js';

test('poolOutputSize: a hand table where ceil and floor differ', () => {
  // [in, kernel, stride, padBegin, padEnd, floor, ceil], each worked out by hand:
  // floor((in + pads - k) / s) + 1, ceil(...) + 1, then ceil drops a window starting at or past in + padBegin
  const table: number[][] = [
    [14, 3, 2, 0, 0, 6, 7], //   span 11: 5.5 -> 5/6, +1
    [13, 3, 2, 0, 0, 6, 6], //   span 10: exact
    [55, 3, 2, 0, 0, 27, 27], // caffe pool1
    [27, 3, 2, 0, 0, 13, 13],
    [6, 2, 2, 0, 0, 3, 3],
    [7, 2, 2, 0, 0, 3, 4], //    span 5: 2.5
    [5, 2, 2, 1, 1, 3, 3], //    span 5 -> ceil 4, but window 3 would start at 6 >= 5 + 1: dropped
    [5, 3, 3, 0, 1, 2, 2], //    span 3 -> 1/1, +1
    [8, 3, 3, 0, 0, 2, 3], //    span 5: 1.67 -> 1/2
    [4, 3, 2, 1, 0, 2, 2], //    span 2: exact
    [10, 4, 3, 0, 0, 3, 3], //   span 6: exact
    [11, 4, 3, 0, 0, 3, 4], //   span 7: 2.33 -> 2/3; window 3 starts at 9 < 11
    [3, 3, 1, 1, 1, 3, 3],
  ];
  for (const [inSize, k, s, p0, p1, floor, ceil] of table) {
    assert.equal(poolOutputSize(inSize, k, s, p0, p1, false), floor, `floor ${inSize},${k},${s},${p0},${p1}`);
    assert.equal(poolOutputSize(inSize, k, s, p0, p1, true), ceil, `ceil ${inSize},${k},${s},${p0},${p1}`);
  }
});

const conv = (name: string, outChannels: number, k: number, s: number, pad: [number, number, number, number] | 'same', groups = 1, bias = true): LayerSpec => ({
  type: 'conv2d', name, outChannels, kernel: [k, k], stride: [s, s], pad, groups, bias, relu: true,
});

function arch(layers: LayerSpec[], input: [number, number, number], numClasses: number): Architecture {
  return { name: 'hand', input, preprocess: PREPROCESS.torchvision, output: 'logits', numClasses, layers };
}

test('inferShapes: a small network worked out by hand (same pads, ceil pool, groups, avg pool, adaptive pool)', () => {
  const a = arch([
    conv('c1', 6, 3, 2, 'same'), //                       13x10 -> ceil(13/2)=7 x 5; pads total h (7-1)*2+3-13=2, w (5-1)*2+3-10=1
    { type: 'maxPool2d', name: 'p1', kernel: [2, 2], stride: [2, 2], pad: [0, 0, 0, 0], ceil: true }, // 7x5 -> 4x3 (floor 3x2)
    { type: 'lrn', name: 'n1', size: 3, alpha: 1e-4, beta: 0.75, k: 1 },
    conv('c2', 4, 2, 1, [1, 0, 0, 1], 2, false), //        4x3 pads t1 l0 b0 r1 -> (4+1-2)+1=4 x (3+1-2)+1=3; weight [4,3,2,2]
    { type: 'avgPool2d', name: 'p2', kernel: [3, 3], stride: [2, 2], pad: [1, 1, 1, 1], ceil: false, countIncludePad: false }, // 4x3 -> floor(3/2)+1=2 x floor(2/2)+1=2
    { type: 'adaptiveAvgPool2d', name: 'ap', output: [3, 1] },
    { type: 'flatten', name: 'f' },
    { type: 'linear', name: 'fc', outFeatures: 5, bias: true, relu: false },
    { type: 'softmax', name: 'prob' },
  ], [3, 13, 10], 5);
  const shapes = inferShapes(a);
  const table = shapes.map((s) => [s.spec.name, s.inShape, s.outShape, s.pads ?? null, s.paramCount, s.macs]);
  assert.deepEqual(table, [
    ['c1', [3, 13, 10], [6, 7, 5], [1, 0, 1, 1], 6 * 3 * 3 * 3 + 6, 6 * 3 * 3 * 3 * 7 * 5],
    ['p1', [6, 7, 5], [6, 4, 3], [0, 0, 0, 0], 0, 0],
    ['n1', [6, 4, 3], [6, 4, 3], null, 0, 0],
    ['c2', [6, 4, 3], [4, 4, 3], [1, 0, 0, 1], 4 * 3 * 2 * 2, 4 * 3 * 2 * 2 * 4 * 3],
    ['p2', [4, 4, 3], [4, 2, 2], [1, 1, 1, 1], 0, 0],
    ['ap', [4, 2, 2], [4, 3, 1], null, 0, 0],
    ['f', [4, 3, 1], [12], null, 0, 0],
    ['fc', [12], [5], null, 12 * 5 + 5, 12 * 5],
    ['prob', [5], [5], null, 0, 0],
  ]);
  assert.deepEqual([...shapes[3].params], [['c2.weight', [4, 3, 2, 2]]]);
  assert.deepEqual([...parameterShapes(a)], [['c1.weight', [6, 3, 3, 3]], ['c1.bias', [6]], ['c2.weight', [4, 3, 2, 2]], ['fc.weight', [5, 12]], ['fc.bias', [5]]]);
  // another input size: 'same' pads follow it (9x9 stride 2: out 5, total pad (5-1)*2+3-9 = 2 -> 1/1)
  assert.deepEqual(inferShapes(a, [9, 9])[0].pads, [1, 1, 1, 1]);
  assert.deepEqual(inferShapes(a, [9, 9])[0].outShape, [6, 5, 5]);
  assert.equal(shapeSize([2, 3, 4]), 24);
});

test('inferShapes refuses what cannot run, naming the layer', () => {
  assert.throws(() => inferShapes(arch([conv('c1', 6, 3, 1, [0, 0, 0, 0], 4)], [3, 5, 5], 6)), {
    code: 'ERR_SHAPE', message: 'Expected channels divisible by groups=4 for layer c1 but received 3 in, 6 out',
  });
  // the input divides, the output does not (and the other way round): either side alone is refused
  assert.throws(() => inferShapes(arch([conv('c1', 3, 3, 1, [0, 0, 0, 0], 2)], [4, 5, 5], 3)), {
    code: 'ERR_SHAPE', message: 'Expected channels divisible by groups=2 for layer c1 but received 4 in, 3 out',
  });
  assert.throws(() => inferShapes(arch([conv('c1', 4, 3, 1, [0, 0, 0, 0], 2)], [3, 5, 5], 4)), {
    code: 'ERR_SHAPE', message: 'Expected channels divisible by groups=2 for layer c1 but received 3 in, 4 out',
  });
  assert.throws(() => inferShapes(arch([conv('c1', 6, 7, 1, [0, 0, 0, 0])], [3, 5, 5], 6)), {
    code: 'ERR_SHAPE', message: 'Expected an input of at least 7x7 for layer c1 but received 5x5',
  });
  assert.throws(() => inferShapes(arch([{ type: 'maxPool2d', name: 'p', kernel: [3, 3], stride: [2, 2], pad: [0, 0, 0, 0], ceil: false }], [3, 2, 2], 3)), {
    code: 'ERR_SHAPE', message: 'Expected an input of at least 3x3 for layer p but received 2x2',
  });
  // one side too small is enough: conv 7x7 on 9x5 (out 3 x -1), on 5x9; pool 3x3/2 on 5x2 (out 2 x 0), on 2x5
  assert.throws(() => inferShapes(arch([conv('c1', 6, 7, 1, [0, 0, 0, 0])], [3, 9, 5], 6)), {
    code: 'ERR_SHAPE', message: 'Expected an input of at least 7x7 for layer c1 but received 9x5',
  });
  assert.throws(() => inferShapes(arch([conv('c1', 6, 7, 1, [0, 0, 0, 0])], [3, 5, 9], 6)), {
    code: 'ERR_SHAPE', message: 'Expected an input of at least 7x7 for layer c1 but received 5x9',
  });
  for (const [h, w] of [[5, 2], [2, 5]]) {
    assert.throws(() => inferShapes(arch([{ type: 'maxPool2d', name: 'p', kernel: [3, 3], stride: [2, 2], pad: [0, 0, 0, 0], ceil: false }], [3, h, w], 3)), {
      code: 'ERR_SHAPE', message: `Expected an input of at least 3x3 for layer p but received ${h}x${w}`,
    });
  }
  assert.throws(() => inferShapes(arch([{ type: 'flatten', name: 'f' }, { type: 'lrn', name: 'n', size: 3, alpha: 1, beta: 1, k: 1 }], [3, 2, 2], 12)), {
    code: 'ERR_SHAPE', message: 'Expected a [C,H,W] input for layer n (lrn) but received [12]',
  });
  assert.throws(() => inferShapes(arch([{ type: 'linear', name: 'fc', outFeatures: 3, bias: true, relu: false }], [3, 2, 2], 3)), {
    code: 'ERR_SHAPE', message: 'Expected a flat input for layer fc (linear) but received [3,2,2]',
  });
  assert.throws(() => inferShapes(arch([{ type: 'flatten', name: 'f' }], [3, 2, 2], 10)), {
    code: 'ERR_SHAPE', message: 'Expected the network hand to end in 10 classes but its output is [12]',
  });
});

test('inferShapes: an output of exactly 1x1 is an output (conv 7x7 on 7x7, pool 3x3/2 on 3x3)', () => {
  const shapes = inferShapes(arch([
    conv('c1', 4, 7, 1, [0, 0, 0, 0]), //                                                                        7x7 -> 1x1
    { type: 'flatten', name: 'f' },
  ], [3, 7, 7], 4));
  assert.deepEqual(shapes.map((s) => s.outShape), [[4, 1, 1], [4]]);
  const pooled = inferShapes(arch([
    { type: 'maxPool2d', name: 'p', kernel: [3, 3], stride: [2, 2], pad: [0, 0, 0, 0], ceil: false }, //        3x3 -> 1x1
    { type: 'flatten', name: 'f' },
  ], [2, 3, 3], 2));
  assert.deepEqual(pooled.map((s) => s.outShape), [[2, 1, 1], [2]]);
  // the head must give numClasses values in one flat vector: [4,1,1] is not [4]
  assert.throws(() => inferShapes(arch([conv('c1', 4, 7, 1, [0, 0, 0, 0])], [3, 7, 7], 4)), {
    code: 'ERR_SHAPE', message: 'Expected the network hand to end in 4 classes but its output is [4,1,1]',
  });
});

test('shapeText and sameShape, as the weights detector uses them', () => {
  assert.equal(shapeText([64, 3, 11, 11]), '[64,3,11,11]');
  assert.equal(shapeText(undefined), 'missing');
  assert.equal(sameShape([64, 3, 11, 11], [64, 3, 11, 11]), true);
  assert.equal(sameShape(undefined, [64]), false);
  assert.equal(sameShape([64, 3], [64, 4]), false);
  assert.equal(sameShape([64], [64, 1]), false);
  assert.equal(sameShape([64, 1], [64]), false);
});

test('a conv given a size with three numbers (a JavaScript caller) is refused, naming the 4-D input it got', () => {
  assert.throws(() => inferShapes(arch([conv('c1', 6, 3, 1, [0, 0, 0, 0])], [3, 5, 5], 6), [5, 5, 5] as unknown as [number, number]), {
    code: 'ERR_SHAPE', message: 'Expected a [C,H,W] input for layer c1 (conv2d) but received [3,5,5,5]',
  });
});

test('checkWeights: every parameter present with its shape passes (extra tensors ignored); each one wrong or missing is listed', () => {
  // conv 3 -> 6, 3x3 on 5x5 -> 6x3x3 -> flatten 54 -> linear 4
  const a = arch([conv('c1', 6, 3, 1, [0, 0, 0, 0]), { type: 'flatten', name: 'f' }, { type: 'linear', name: 'fc', outFeatures: 4, bias: true, relu: false }], [3, 5, 5], 4);
  const set = (shapes: Record<string, number[]>) => ({ path: 'w.bin', tensors: new Map(Object.entries(shapes).map(([k, shape]) => [k, { shape }])) });
  const right = { 'c1.weight': [6, 3, 3, 3], 'c1.bias': [6], 'fc.weight': [4, 54], 'fc.bias': [4] };
  checkWeights(a, set({ ...right, 'extra.weight': [1] }));
  assert.throws(() => checkWeights(a, set({ ...Object.fromEntries(Object.entries(right).filter(([k]) => k !== 'fc.bias')), 'c1.weight': [6, 3, 1, 1] })), {
    code: 'ERR_WEIGHTS', message: 'w.bin: expected the tensors of architecture hand: c1.weight [6,3,3,3] but found [6,3,1,1]; fc.bias [4] but found missing',
  });
});
