import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildArchitecture } from '../lib/model/archs.js';
import { inferShapes, poolOutputSize } from '../lib/model/shapes.js';
import { renderTable } from '../lib/format.js';
import { HAND_TABLES, HAND_TOTAL_PARAMS, handMacs } from './alexnet-tables.js';

const cli = fileURLToPath(new URL('../bin/alexnet-cli.js', import.meta.url));

function summaryJson(...args: string[]) {
  return JSON.parse(execFileSync(process.execPath, [cli, 'summary', '--json', ...args], { encoding: 'utf8' }));
}

interface JsonLayer { name: string; type: string; inputShape: number[]; outputShape: number[]; params: number; macs: number }

test('the hand-written tables agree with the published totals', () => {
  // two independent sources: per-layer weights + biases, and the totals the reference tools print
  for (const name of ['seed', 'caffe', 'torchvision'] as const) {
    assert.equal(HAND_TABLES[name].reduce((a, l) => a + l.params, 0), HAND_TOTAL_PARAMS[name], name);
  }
});

for (const name of ['seed', 'caffe', 'torchvision'] as const) {
  test(`summary --arch ${name}: every layer's type, shapes, parameters and MACs as written out by hand`, () => {
    const s = summaryJson('--arch', name);
    assert.deepEqual(s.layers.map((l: JsonLayer) => [l.name, l.type, l.inputShape, l.outputShape, l.params, l.macs]),
      HAND_TABLES[name].map((l) => [l.name, l.type, l.in, l.out, l.params, handMacs(l)]));
    assert.equal(s.totalParams, HAND_TOTAL_PARAMS[name]);
  });
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
  // 105,415,200 + 447,897,600 + 149,520,384 + 224,280,576 + 149,520,384 (convs) + 58,621,952 (fc6-fc8)
  assert.equal(s.totalMacs, 1_135_256_096);
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

test('renderTable: a footer below the closing rule, and blocks that fit a width', () => {
  const header = ['Layer', 'Alpha', 'Beta', 'Gamma'];
  const rows = [['conv1', 'aaaaaaaaaa', '1', '22'], ['fc6', 'b', '333', '4']];
  const footer = [['Total', '', '334', '26']];
  const right = [false, false, true, true];
  assert.equal(renderTable(header, rows, right, { footer }), [
    'Layer  Alpha       Beta  Gamma',
    '------------------------------',
    'conv1  aaaaaaaaaa     1     22',
    'fc6    b            333      4',
    '------------------------------',
    'Total               334     26',
  ].join('\n'));
  // 18 columns: Layer + Alpha is 17, Beta and Gamma go to a second block that repeats the first column
  assert.equal(renderTable(header, rows, right, { footer, width: 18 }), [
    'Layer  Alpha',
    '-----------------',
    'conv1  aaaaaaaaaa',
    'fc6    b',
    '-----------------',
    'Total',
    '',
    'Layer  Beta  Gamma',
    '------------------',
    'conv1     1     22',
    'fc6     333      4',
    '------------------',
    'Total   334     26',
  ].join('\n'));
  // a column wider than the width alone still gets a block of its own, never an empty one
  const narrow = renderTable(header, rows, right, { width: 5 }).split('\n\n');
  assert.equal(narrow.length, 3);
  assert.ok(narrow.every((block) => block.startsWith('Layer  ')));
});

test('summary fits its table to $COLUMNS; a pipe without it gets whole lines', () => {
  const run = (env: NodeJS.ProcessEnv) => execFileSync(process.execPath, [cli, 'summary', '--arch', 'caffe'], { encoding: 'utf8', env: { ...process.env, COLUMNS: '', ...env } });
  const whole = run({}).split('\n');
  assert.ok(whole[1].length > 60, whole[1]);
  assert.equal(whole.filter((l) => l.startsWith('Layer ')).length, 1);
  const narrow = run({ COLUMNS: '50' }).split('\n');
  const table = narrow.slice(1, narrow.findIndex((l) => l.startsWith('Total params')));
  for (const line of table) assert.ok(line.length <= 50, `${line.length} > 50: ${line}`);
  const headers = table.filter((l) => l.startsWith('Layer '));
  assert.equal(headers.length, 2);
  assert.deepEqual(headers.flatMap((h) => h.split(/ {2,}/).slice(1)), ['Type', 'Output Shape', 'Param #', 'MACs']);
  assert.equal(table.filter((l) => l.startsWith('conv2 ')).length, 2);
});
