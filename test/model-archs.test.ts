// lib/model/archs.ts and random.ts against facts from outside the code: the published parameter counts
// (torchvision's AlexNet 61,100,840; BVLC's CaffeNet-style AlexNet with groups 60,965,224; the ungrouped
// 227 net 62,378,344), every layer's output shape worked out by hand from the papers' tables, BVLC
// deploy.prototxt's LRN and pooling, the preprocessing constants as published; the random weights
// against a separate Python port of xoshiro128** (values below) and He/torch initialisation statistics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ARCH_NAMES, buildArchitecture, isArchName, PREPROCESS } from '../lib/model/archs.js';
import { initParameter, parseRandomSpec, Rng } from '../lib/model/random.js';
import { inferShapes } from '../lib/model/shapes.js';

const total = (name: 'seed' | 'caffe' | 'torchvision', classes = 1000) => inferShapes(buildArchitecture(name, classes)).reduce((s, l) => s + l.paramCount, 0);

test('parameter counts: the published totals', () => {
  assert.equal(total('torchvision'), 61_100_840); // sum(p.numel() for p in torchvision.models.alexnet().parameters())
  assert.equal(total('caffe'), 60_965_224); //       BVLC bvlc_alexnet (groups 2 in conv2, conv4, conv5)
  assert.equal(total('seed'), 62_378_344); //        the same without groups
  // a 10-class head: fc8 is 4096 x 10 + 10
  assert.equal(total('torchvision', 10), 61_100_840 - 4096 * 990 - 990);
  assert.equal(buildArchitecture('caffe').numClasses, 1000);
});

test('every layer: type, name, output shape, by hand', () => {
  const table = (name: 'seed' | 'caffe' | 'torchvision') => inferShapes(buildArchitecture(name, 1000)).map((l) => `${l.spec.type} ${l.spec.name} ${l.outShape.join('x')}`);
  // 227: conv1 11/4 -> 55; pool 3/2 -> 27; conv2 'same' 5 -> 27; pool -> 13; conv3-5 'same' 3 -> 13; pool -> 6
  assert.deepEqual(table('seed'), [
    'conv2d conv1 96x55x55', 'maxPool2d pool1 96x27x27', 'conv2d conv2 256x27x27', 'maxPool2d pool2 256x13x13', 'conv2d conv3 384x13x13',
    'conv2d conv4 384x13x13', 'conv2d conv5 256x13x13', 'maxPool2d pool5 256x6x6', 'flatten flatten 9216', 'linear fc6 4096', 'dropout drop6 4096',
    'linear fc7 4096', 'dropout drop7 4096', 'linear fc8 1000', 'softmax prob 1000',
  ]);
  // BVLC: LRN after conv1 and conv2, pools with ceil (55 -> 27, 27 -> 13, 13 -> 6 either way here), pads 2 and 1
  assert.deepEqual(table('caffe'), [
    'conv2d conv1 96x55x55', 'lrn norm1 96x55x55', 'maxPool2d pool1 96x27x27', 'conv2d conv2 256x27x27', 'lrn norm2 256x27x27', 'maxPool2d pool2 256x13x13',
    'conv2d conv3 384x13x13', 'conv2d conv4 384x13x13', 'conv2d conv5 256x13x13', 'maxPool2d pool5 256x6x6', 'flatten flatten 9216', 'linear fc6 4096',
    'dropout drop6 4096', 'linear fc7 4096', 'dropout drop7 4096', 'linear fc8 1000', 'softmax prob 1000',
  ]);
  // torchvision: 224 + 2*2 pad, 11/4 -> 55; 64/192/384/256/256 channels; AdaptiveAvgPool2d((6, 6)); dropout before fc6 and fc7; logits
  assert.deepEqual(table('torchvision'), [
    'conv2d conv1 64x55x55', 'maxPool2d pool1 64x27x27', 'conv2d conv2 192x27x27', 'maxPool2d pool2 192x13x13', 'conv2d conv3 384x13x13',
    'conv2d conv4 256x13x13', 'conv2d conv5 256x13x13', 'maxPool2d pool5 256x6x6', 'adaptiveAvgPool2d avgpool 256x6x6', 'flatten flatten 9216',
    'dropout drop6 9216', 'linear fc6 4096', 'dropout drop7 4096', 'linear fc7 4096', 'linear fc8 1000',
  ]);
});

test('layer details: ReLUs fused where the papers put them, groups, pads, LRN and pools as published', () => {
  for (const name of ARCH_NAMES) {
    const a = buildArchitecture(name);
    const relu = a.layers.filter((l) => l.type === 'conv2d' || l.type === 'linear').map((l) => `${l.name}:${(l as { relu: boolean }).relu}`);
    assert.deepEqual(relu, ['conv1:true', 'conv2:true', 'conv3:true', 'conv4:true', 'conv5:true', 'fc6:true', 'fc7:true', 'fc8:false'], name);
    const bias = a.layers.filter((l) => l.type === 'conv2d' || l.type === 'linear').every((l) => (l as { bias: boolean }).bias);
    assert.equal(bias, true, name);
    for (const l of a.layers) {
      if (l.type === 'maxPool2d') assert.deepEqual([l.kernel, l.stride, l.pad, l.ceil], [[3, 3], [2, 2], [0, 0, 0, 0], name === 'caffe'], `${name} ${l.name}`);
      if (l.type === 'dropout') assert.equal(l.rate, 0.5);
      if (l.type === 'lrn') assert.deepEqual([l.size, l.alpha, l.beta, l.k], [5, 1e-4, 0.75, 1]); // deploy.prototxt local_size 5, alpha 0.0001, beta 0.75
    }
    assert.equal(a.output, name === 'torchvision' ? 'logits' : 'probabilities');
    assert.deepEqual(a.input, name === 'torchvision' ? [3, 224, 224] : [3, 227, 227]);
    assert.equal(a.name, name);
  }
  const convs = (name: 'seed' | 'caffe' | 'torchvision') => buildArchitecture(name).layers.filter((l) => l.type === 'conv2d')
    .map((l) => { const c = l as { kernel: number[]; stride: number[]; pad: unknown; groups: number; outChannels: number }; return `${c.outChannels} k${c.kernel} s${c.stride} p${JSON.stringify(c.pad)} g${c.groups}`; });
  assert.deepEqual(convs('caffe'), ['96 k11,11 s4,4 p[0,0,0,0] g1', '256 k5,5 s1,1 p[2,2,2,2] g2', '384 k3,3 s1,1 p[1,1,1,1] g1', '384 k3,3 s1,1 p[1,1,1,1] g2', '256 k3,3 s1,1 p[1,1,1,1] g2']);
  assert.deepEqual(convs('seed'), ['96 k11,11 s4,4 p[0,0,0,0] g1', '256 k5,5 s1,1 p"same" g1', '384 k3,3 s1,1 p"same" g1', '384 k3,3 s1,1 p"same" g1', '256 k3,3 s1,1 p"same" g1']);
  assert.deepEqual(convs('torchvision'), ['64 k11,11 s4,4 p[2,2,2,2] g1', '192 k5,5 s1,1 p[2,2,2,2] g1', '384 k3,3 s1,1 p[1,1,1,1] g1', '256 k3,3 s1,1 p[1,1,1,1] g1', '256 k3,3 s1,1 p[1,1,1,1] g1']);
  assert.deepEqual(ARCH_NAMES, ['seed', 'caffe', 'torchvision']);
  assert.deepEqual(['seed', 'caffe', 'torchvision', 'bvlc-zoo', 'vgg', ''].map(isArchName), [true, true, true, false, false, false]);
});

test('preprocessing presets: the published constants', () => {
  assert.deepEqual(PREPROCESS.torchvision, { resizeMode: 'shorter', resize: [256, 256], crop: [224, 224], range: 1, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], bgr: false });
  // ilsvrc_2012_mean.npy per channel, B 104.007 G 116.669 R 122.679, listed here in RGB order
  assert.deepEqual(PREPROCESS.caffe, { resizeMode: 'exact', resize: [256, 256], crop: [227, 227], range: 255, mean: [122.679, 116.669, 104.007], std: [1, 1, 1], bgr: true });
  assert.deepEqual(PREPROCESS.seed, { resizeMode: 'shorter', resize: [256, 256], crop: [227, 227], range: 1, mean: [0, 0, 0], std: [1, 1, 1], bgr: false });
  assert.deepEqual(PREPROCESS['bvlc-zoo'], { resizeMode: 'exact', resize: [224, 224], crop: null, range: 255, mean: [123.68, 116.779, 103.939], std: [1, 1, 1], bgr: true });
  for (const name of ARCH_NAMES) assert.equal(buildArchitecture(name).preprocess, PREPROCESS[name]);
});

test('Rng: the sequence of a separate Python port of xoshiro128** with the same seeding', () => {
  // /usr/bin/python3: 32-bit arithmetic masked by hand, result = rotl(s1 * 5, 7) * 9 / 2^32
  const expected: Record<number, number[]> = {
    0: [0.8868539538234472, 0.26395898405462503, 0.012474989285692573, 0.6732365123461932, 0.0325221442617476],
    1: [0.5686059962026775, 0.753928849240765, 0.8893939366098493, 0.49002045509405434, 0.4705824111588299],
    4294967295: [0.19461841275915504, 0.44733440689742565, 0.5485967288259417, 0.4390675397589803, 0.2282790644094348],
  };
  for (const [seed, values] of Object.entries(expected)) {
    const rng = new Rng(Number(seed));
    assert.deepEqual(values.map(() => rng.next()), values, `seed ${seed}`);
  }
  // -1 is seed 2^32 - 1 (taken modulo 2^32)
  const minusOne = new Rng(-1);
  assert.equal(minusOne.next(), expected[4294967295][0]);
  // normal(): Box-Muller on two uniforms, both values used: r cos, then r sin
  const u = new Rng(1);
  const [u1, u2] = [u.next(), u.next()];
  const r = Math.sqrt(-2 * Math.log(1 - u1));
  const n = new Rng(1);
  assert.equal(n.normal(), r * Math.cos(2 * Math.PI * u2));
  assert.equal(n.normal(), r * Math.sin(2 * Math.PI * u2));
  const [u3, u4] = [u.next(), u.next()];
  assert.equal(n.normal(), Math.sqrt(-2 * Math.log(1 - u3)) * Math.cos(2 * Math.PI * u4));
});

test('initParameter: weights N(0, 2/fan_in) (He), biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (torch)', () => {
  const rng = new Rng(7);
  const w = initParameter(rng, [200, 50], 50, false);
  assert.equal(w.length, 10_000);
  const mean = w.reduce((s, v) => s + v, 0) / w.length;
  const std = Math.sqrt(w.reduce((s, v) => s + (v - mean) ** 2, 0) / w.length);
  // std 0.2 expected; over 10,000 samples the estimate is within 3% (its standard error is 0.7%)
  assert.ok(Math.abs(std - 0.2) < 0.006, String(std));
  assert.ok(Math.abs(mean) < 0.006, String(mean));
  const b = initParameter(new Rng(7), [10_000], 25, true);
  const max = Math.max(...b);
  const min = Math.min(...b);
  assert.ok(max < 0.2 && max > 0.199 && min > -0.2 && min < -0.199, `${min} ${max}`);
  // the bias is (2u - 1) / sqrt(fan_in) of the uniform sequence
  const u = new Rng(7);
  assert.deepEqual(Array.from(initParameter(new Rng(7), [3], 4, true)), [0, 1, 2].map(() => Math.fround((2 * u.next() - 1) / 2)));
  assert.deepEqual(initParameter(new Rng(1), [0, 3], 3, false), new Float32Array(0));
  // a tensor of N values takes exactly N draws from the generator, so the next tensor's values do not move:
  // N uniforms for a bias; N normals for a weight (3 normals use two Box-Muller pairs, the 4th is the spare)
  const uniforms = new Rng(7);
  const fourth = [0, 1, 2, 3].map(() => uniforms.next())[3];
  const afterBias = new Rng(7);
  initParameter(afterBias, [3], 4, true);
  assert.equal(afterBias.next(), fourth);
  const normals = new Rng(7);
  const fourthNormal = [0, 1, 2, 3].map(() => normals.normal())[3];
  const afterWeight = new Rng(7);
  initParameter(afterWeight, [3], 4, false);
  assert.equal(afterWeight.normal(), fourthNormal);
});

test('parseRandomSpec: random and random:SEED only', () => {
  assert.equal(parseRandomSpec('random'), 0);
  assert.equal(parseRandomSpec('random:42'), 42);
  assert.equal(parseRandomSpec('random:007'), 7);
  for (const spec of ['random:', 'random:x', 'random:-1', 'Random', 'random42', 'my-random', 'random:1:2', 'w.pth']) assert.equal(parseRandomSpec(spec), undefined, spec);
});
