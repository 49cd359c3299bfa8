import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildArchitecture } from '../lib/model/archs.js';
import { inferShapes, poolOutputSize } from '../lib/model/shapes.js';

const cli = fileURLToPath(new URL('../bin/alexnet-cli.js', import.meta.url));

function summaryJson(...args: string[]) {
  return JSON.parse(execFileSync(process.execPath, [cli, 'summary', '--json', ...args], { encoding: 'utf8' }));
}

test('summary --json reports the parameter counts of the three architectures', () => {
  // seed: the reference Keras code's model.summary(); caffe: BVLC bvlc_alexnet; torchvision: models.alexnet()
  assert.equal(summaryJson('--arch', 'seed').totalParams, 62_378_344);
  assert.equal(summaryJson('--arch', 'caffe').totalParams, 60_965_224);
  assert.equal(summaryJson('--arch', 'torchvision').totalParams, 61_100_840);
});

test('summary: output shapes and MACs of the seed network', () => {
  const s = summaryJson('--arch', 'seed');
  const byName = Object.fromEntries(s.layers.map((l: { name: string }) => [l.name, l]));
  assert.deepEqual(byName.conv1.outputShape, [96, 55, 55]);
  assert.deepEqual(byName.pool1.outputShape, [96, 27, 27]);
  assert.deepEqual(byName.conv2.outputShape, [256, 27, 27]);
  assert.deepEqual(byName.pool5.outputShape, [256, 6, 6]);
  assert.deepEqual(byName.flatten.outputShape, [9216]);
  assert.equal(byName.conv1.macs, 96 * 3 * 11 * 11 * 55 * 55);
  assert.equal(s.paramBytes, 62_378_344 * 4);
  assert.equal(s.totalMacs, s.layers.reduce((a: number, l: { macs: number }) => a + l.macs, 0));
});

test('caffe pools round up (ceil) and grouped convs halve the weights', () => {
  const shapes = inferShapes(buildArchitecture('caffe'));
  const conv2 = shapes.find((s) => s.spec.name === 'conv2')!;
  assert.deepEqual(conv2.params.get('conv2.weight'), [256, 48, 5, 5]);
  const pool1 = shapes.find((s) => s.spec.name === 'pool1')!;
  assert.deepEqual(pool1.outShape, [96, 27, 27]);
  // odd case where ceil differs from floor: 14 -> ceil((14-3)/2)+1 = 7 vs floor 6
  assert.equal(poolOutputSize(14, 3, 2, 0, 0, true), 7);
  assert.equal(poolOutputSize(14, 3, 2, 0, 0, false), 6);
  // PyTorch drops a last window that would start in the right padding
  assert.equal(poolOutputSize(5, 2, 2, 1, 1, true), 3);
});

test('the number of classes is a parameter, and shapes follow the input size', () => {
  const s = summaryJson('--arch', 'torchvision', '--num-classes', '10', '--input-size', '320');
  assert.deepEqual(s.layers.at(-1).outputShape, [10]);
  assert.equal(s.totalParams, 61_100_840 - 4096 * 990 - 990);
  const avg = s.layers.find((l: { name: string }) => l.name === 'avgpool');
  assert.deepEqual(avg.outputShape, [256, 6, 6]);
  assert.deepEqual(s.layers.find((l: { name: string }) => l.name === 'pool5').outputShape, [256, 9, 9]);
});

test('an input too small for the seed network is a usage-free one-line error', () => {
  const r = spawnSync(process.execPath, [cli, 'summary', '--arch', 'seed', '--input-size', '50'], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^alexnet-cli: Expected .* but received/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});

test('bad usage exits with code 2', () => {
  const r = spawnSync(process.execPath, [cli, 'summary', '--arch', 'vgg'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  const r2 = spawnSync(process.execPath, [cli, 'summary', '--input-size', '-3'], { encoding: 'utf8' });
  assert.equal(r2.status, 2);
  assert.match(r2.stderr, /Expected a positive integer for --input-size but received -3/);
});
